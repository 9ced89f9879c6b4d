-- Saving files: atomic, no data loss, no planted link followed, what would
-- save but not load refused, a file closed when reading it runs out of
-- memory (found by the hostile-input review, issue #16).
local nn = require "nn"
local image = require "nn.image"
local H = require "helpers"
local err, has = H.err, H.has

local write, read = H.write, H.read

local function sh(cmd) assert(H.sh(cmd), cmd) end

describe("saves: no data loss, no link followed", function()
   local dir
   before_each(function() dir = H.tmpdir() end)
   after_each(function() os.execute("rm -rf '" .. dir .. "'") end)
   local net = nn.Sequential{nn.Linear(3, 2)}

   local function pid()
      return read("/proc/self/stat"):match("^(%d+)")
   end

   it("does not follow a link planted at the old predictable temporary name", function()
      write(dir .. "/victim", "precious")
      sh(("ln -s '%s/victim' '%s/model.nn.tmp-%s'"):format(dir, dir, pid()))
      nn.save(net, dir .. "/model.nn")
      assert.are.equal("precious", read(dir .. "/victim"))
      assert.are.equal(nn.serialize(net), read(dir .. "/model.nn"))
   end)

   it("writes through a symlink, keeps the file's mode, leaves no temporary", function()
      write(dir .. "/real.nn", "old")
      sh(("chmod 600 '%s/real.nn' && ln -s real.nn '%s/link.nn'"):format(dir, dir))
      nn.save(net, dir .. "/link.nn")
      local p = io.popen(("find '%s' -maxdepth 1 -printf '%%f %%y %%m\\n' | sort"):format(dir))
      local listing = p:read("*a")
      p:close()
      has(listing, "link.nn l")
      has(listing, "real.nn f 600")
      assert.is_nil(listing:find("tmp", 1, true), listing)
      assert.are.equal(nn.serialize(net), read(dir .. "/real.nn"))
      sh(("ln -s missing '%s/dangling.nn'"):format(dir))
      has(err(nn.save, net, dir .. "/dangling.nn"), "symbolic link to a missing file")
   end)

   it("refuses a target that is not a regular file", function()
      sh(("mkfifo '%s/fifo'"):format(dir))
      has(err(nn.save, net, dir .. "/fifo"), "not a regular file")
      has(err(nn.save, net, dir), "it is a directory")
      has(err(image.save, dir .. "/fifo", image.png(nn.ones(2, 2))), "not a regular file")
   end)

   it("refuses constructor arguments that would save but not load", function()
      for _, name in ipairs{"ELU", "LeakyReLU", "Softplus"} do
         has(err(nn[name], 1e39), "must be a finite float32 number")
      end
   end)

   local limit_test = H.sanitized and pending or it
   limit_test("closes the file when reading it runs out of memory"
      .. (H.sanitized and " (not under " .. H.sanitized .. ": it reserves memory itself)" or ""), function()
      local ok, out = H.child([[
         local core = require "nn.core"
         local stat = io.open("/proc/self/stat")
         local pid = stat:read("*a"):match("^(%d+)")
         stat:close()
         -- the descriptors open on big.bin (counting them all raced with
         -- popen: the pipe's other end is still open in this process for
         -- a moment after the shell starts, and a busy machine let ls see it)
         local function fds()
            local p = io.popen("ls -l /proc/" .. pid .. "/fd | grep -c big.bin")
            local n = tonumber(p:read("*a"))
            p:close()
            return n
         end
         local f = io.open("big.bin", "wb")
         local mb = ("x"):rep(2^20)
         for _ = 1, 64 do f:write(mb) end
         f:close()
         local failed = 0
         assert(fds() == 0)
         for _ = 1, 20 do
            if not pcall(core.readfile, "big.bin") then failed = failed + 1 end
         end
         collectgarbage() collectgarbage()
         print("failed", failed, "leaked", fds())
      ]], "ulimit -v 200000; OPENBLAS_NUM_THREADS=1 ", dir)
      assert.is_true(ok, out)
      local failed, leaked = out:match("failed%s+(%d+)%s+leaked%s+(%-?%d+)")
      assert.truthy(failed, out)
      assert.is_true(tonumber(failed) > 0, out)
      assert.are.equal("0", leaked)
   end)
end)
