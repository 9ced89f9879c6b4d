-- examples/embed/host.c, built by the Makefile as build/<lua>/embed-host: a C
-- program that embeds Lua and nn the way a game does.  It checks, and this
-- spec requires, that states in separate threads train at once with the
-- same results as alone, each with a pool of threads of its own too
-- (nn.threads), that a host's memory budget gives a Lua error
-- instead of an abort, that a per-frame forward allocates nothing, and that
-- two states saving to one path from two threads never lose or mix a file.
local H = require "helpers"

-- (make check-asan builds its own, all of it under the sanitizers)
local host = os.getenv("NN_EMBED_HOST") or ("%s/build/%s/embed-host"):format(H.top, H.lua)

-- runs the host with this tree's nn on its paths; ok, output, exit code
local function run(args)
   return H.run(("%s'%s' %s"):format(H.env(), host, args))
end

describe("embedding nn in a C host (examples/embed/host.c)", function()
   it("is built by make (make test depends on it)", function()
      local f = io.open(host, "rb")
      assert.is_not_nil(f, host .. " is missing: run make test (or make embed)")
      f:close()
   end)

   it("trains in two threads at once, keeps to a budget, runs frames without allocating, saves safely", function()
      local ok, out = run("2 100")
      assert.is_true(ok, out)
      assert.truthy(out:find("threads: 2 networks trained at once, each bit-identical", 1, true), out)
      -- two states, each with a pool of its own (nn.threads(2)), at once
      assert.truthy(out:find("pools: 2 states trained at once, each on a pool of 2 threads of "
         .. "its own, each bit-identical to its seed on 1 thread", 1, true), out)
      assert.truthy(out:find("budget: a 4 MB state asked for", 1, true), out)
      assert.truthy(out:find("not enough memory", 1, true), out)
      assert.truthy(out:find("0 bytes left after lua_close", 1, true), out)
      assert.truthy(out:find("0 allocations in 10000 frames", 1, true), out)
      assert.truthy(out:find("preload: with no search path", 1, true), out)
      assert.truthy(out:find("saves: two states saved to one path 1000 times each; every "
         .. "file read back was whole and one of the two networks", 1, true), out)
      assert.truthy(out:find("embed-host: ok", 1, true), out)
   end)

   it("trains one network in each of four threads", function()
      local ok, out = run("4 30")
      assert.is_true(ok, out)
      assert.truthy(out:find("threads: 4 networks trained at once", 1, true), out)
      assert.truthy(out:find("pools: 4 states trained at once", 1, true), out)
   end)

   it("refuses bad arguments with a usage line and exit code 2", function()
      for _, args in ipairs{"0", "17", "2 0", "1 2 3"} do
         local ok, out, code = run(args)
         assert.is_false(ok == true, args)
         assert.are.equal(2, code, args .. ": " .. out)
         assert.truthy(out:find("usage: ", 1, true), out)
      end
   end)

   it("needs no files: run from an empty directory with no Lua paths, nn comes from package.preload", function()
      local dir = H.tmpdir()
      local ok, out = H.run(("cd '%s' && LUA_PATH='/nonexistent/?.lua' LUA_CPATH='/nonexistent/?.so' '%s' 1 20")
         :format(dir, host))
      os.remove(dir)
      assert.is_true(ok, out)
      local n, names = out:match("preload: with no search path, (%d+) modules loaded from package.preload %((.-)%)")
      assert.truthy(n, out)
      -- every Lua module in the tree, and the C core
      local want = {"nn", "nn.core"}
      local p = io.popen("ls lua/nn/*.lua")
      for file in p:lines() do
         local base = file:match("([%w_]+)%.lua$")
         if base ~= "init" then want[#want + 1] = "nn." .. base end
      end
      p:close()
      table.sort(want)
      assert.are.equal(table.concat(want, " "), names)
      assert.truthy(out:find("embed-host: ok", 1, true), out)
   end)

   it("hands the network the host's own floats and reads the outputs back (lua_nn.h)", function()
      local ok, out = run("1 50")
      assert.is_true(ok, out)
      assert.truthy(out:find("frame: one%-sample forward on the host's floats [%d.]+ us, the first "
         .. "bit%-identical to Lua's; 0 allocations in 10000 frames"), out)
      assert.truthy(out:find("api: lua_nn.h refuses a 0-row shape, a too-large one and a table, "
         .. "with Lua errors; tomatrix gives NULL for a non-Matrix", 1, true), out)
   end)
end)
