-- Bounded memory and no hangs: files that claim more than they hold or are
-- not regular files, gzip streams that inflate past their header, deep
-- nesting, oversized pictures (found by the hostile-input review, issue
-- #16).
local nn = require "nn"
local mnist = require "nn.mnist"
local image = require "nn.image"
local H = require "helpers"
local err, has = H.err, H.has

local write, read = H.write, H.read

local function sh(cmd) assert(H.sh(cmd), cmd) end

describe("bounded memory and no hangs", function()
   local dir
   before_each(function() dir = H.tmpdir() end)
   after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

   local function idx(magic, sizes, body)
      local h = H.strpack(">I4", magic)
      for _, n in ipairs(sizes) do h = h .. H.strpack(">I4", n) end
      return h .. (body or "")
   end

   it("a gzip label file that inflates far past its header stops at the header's size", function()
      write(dir .. "/train-images-idx3-ubyte", idx(0x803, {3, 1, 1}, "abc"))
      -- a valid header for 3 labels, then 200 MB of zeros (200 KB gzipped)
      sh(("(printf '\\000\\000\\010\\001\\000\\000\\000\\003\\001\\002\\003'; head -c 200000000 /dev/zero) "
         .. "| gzip -1 > '%s/train-labels-idx1-ubyte.gz'"):format(dir))
      local msg = err(mnist.load, dir, "train")
      has(msg, "declares 3 labels but holds more")
   end)

   it("an IDX header that claims 2^31-1 images is checked against the file before allocating", function()
      write(dir .. "/train-images-idx3-ubyte", idx(0x803, {2147483647, 1, 1}, "ab"))
      has(err(mnist.load, dir, "train"), "holds 18 bytes, expected 2147483663")
      os.remove(dir .. "/train-images-idx3-ubyte")
      sh(("printf 'x' | gzip > '%s/x.gz'"):format(dir))
      local gz = read(dir .. "/x.gz")
      write(dir .. "/train-images-idx3-ubyte.gz", gz)
      -- the gzip's header is valid; claim 2^31-1 images in a 21-byte file
      write(dir .. "/h", idx(0x803, {2147483647, 1, 1}))
      sh(("gzip -c '%s/h' > '%s/train-images-idx3-ubyte.gz'"):format(dir, dir))
      has(err(mnist.load, dir, "train"), "more than a gzip file of")
   end)

   it("nn.load refuses what is not a regular file: /dev/zero, a FIFO, a directory", function()
      has(err(nn.load, "/dev/zero"), "nn.load: cannot read /dev/zero: not a regular file")
      has(err(nn.load, dir), "it is a directory")
      sh(("mkfifo '%s/fifo'"):format(dir))
      -- in a child under a timeout: on the old main this open blocked forever
      local ok, out = H.child(([[
         local nn = require "nn"
         local ok, e = pcall(nn.load, %q)
         print(e)
         local ok2, e2 = pcall(nn.Matrix.fromfile, %q, 1, 1)
         print(e2)
         local ok3, e3 = pcall(require("nn.core").readfile, %q)
         print(ok3 and e3 ~= nil and "no error" or tostring(e3))
      ]]):format(dir .. "/fifo", dir .. "/fifo", "/dev/zero"), nil, nil, 60)
      assert.is_true(ok, out)
      has(out, "fifo: not a regular file")
      has(out, "Matrix.fromfile: cannot read " .. dir .. "/fifo: not a regular file")
   end)

   it("nn.load never reads more than the header declares", function()
      local good = nn.serialize(nn.Sequential{nn.Linear(2, 2)})
      write(dir .. "/m.nn", good .. ("\0"):rep(1000))
      has(err(nn.load, dir .. "/m.nn"), "truncated or padded")
   end)

   it("deeply nested Sequentials give a short error, fast; a container cannot hold itself", function()
      local net = nn.Linear(4, 3)
      for _ = 1, 150 do net = nn.Sequential{net} end
      local msg = err(net.forward, net, nn.ones(2, 5))
      assert.is_true(#msg < 2000, ("a %d-byte message"):format(#msg))
      has(msg, "Sequential[1][1][1]")
      has(msg, "Linear:forward: input has 5 columns, expected 4")
      local s = nn.Sequential{nn.ReLU()}
      has(err(s.add, s, s), "a container cannot hold itself")
      local a, b = nn.Sequential(), nn.Sequential()
      a:add(b)
      has(err(b.add, b, a), "a container cannot hold itself")
      assert.are.equal(3, nn.Sequential{nn.ReLU(), a, a}:size())   -- shared, not a cycle
   end)

   it("image.grid checks the picture's size before building it", function()
      local M = nn.Matrix(100000, 1)
      has(err(image.grid, M, 1, 1, {columns = 100000, pad = 64}), "is too big")
   end)
end)
