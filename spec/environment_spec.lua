-- The sanitizer and valgrind targets must test the build they made.
local H = require "helpers"

describe("the C core under test", function()
   it("is the one the target built", function()
      local path = H.searchpath("nn.core", package.cpath)
      assert.is_string(path)
      if H.sanitized == "asan" then
         assert.truthy(path:find("build/" .. H.sanitized, 1, true), path)
      else
         local want = H.cpathof(H.lua):gsub("^%./", ""):gsub("%?", "nn/core")
         assert.truthy(path:find(want, 1, true), path .. " is not " .. want)
      end
   end)

   -- nn.lua in the top directory: `make LUA=<lua>` and then <lua> started
   -- there needs no setup
   it("is found from the top directory by every Lua built, with no LUA_PATH or LUA_CPATH", function()
      local chunk = os.tmpname()
      H.write(chunk, [[
local nn = require "nn"
for t in package.cpath:gmatch("[^;]+") do
   local p = t:gsub("%?", "nn/core")
   local f = io.open(p, "rb")
   if f then f:close() print("core " .. p) break end
end
print("sum " .. nn.Matrix{1, 2}:sum())
]])
      local unset = "env -u LUA_PATH -u LUA_CPATH"
      for _, v in ipairs{"5_1", "5_2", "5_3", "5_4"} do
         unset = unset .. " -u LUA_PATH_" .. v .. " -u LUA_CPATH_" .. v
      end
      local tried = 0
      for _, lua in ipairs{"lua5.1", "lua5.2", "lua5.3", "lua5.4", "luajit"} do
         local f = io.open(("%s/build/%s/nn/core.so"):format(H.top, lua), "rb")
         if f then
            f:close()
            tried = tried + 1
            local ok, out = H.run(("cd '%s' && %s %s '%s'"):format(H.top, unset, lua, chunk))
            assert.is_true(ok, lua .. ": " .. out)
            H.has(out, "core ./build/" .. lua .. "/nn/core.so")
            H.has(out, "sum 3")
         end
      end
      os.remove(chunk)
      assert.is_true(tried > 0, "no core in build/<lua>/ (make first)")
   end)
end)
