-- The rock must ship every C source and every Lua module in the tree, so
-- that `luarocks make` builds what the tests test.  (`make rock-check`
-- proves the install itself; `make rockspec` rewrites the lists.)
local H = require "helpers"

describe("lua-nn-scm-1.rockspec", function()
   local spec = {}
   assert(H.load(H.read("lua-nn-scm-1.rockspec"), "rockspec", spec))()
   local modules = spec.build.modules

   local function ls(cmd)
      local out, p = {}, io.popen(cmd)
      for line in p:lines() do out[#out + 1] = line end
      p:close()
      return out
   end

   it("builds nn.core from every C source", function()
      local listed = {}
      for _, s in ipairs(modules["nn.core"].sources) do listed[s] = true end
      local files = ls("ls csrc/*.c")
      assert.is_true(#files > 0)
      for _, f in ipairs(files) do
         assert.is_true(listed[f], f .. " is missing from the rockspec")
      end
   end)

   it("installs every Lua module", function()
      local files = ls("ls lua/nn/*.lua")
      for _, f in ipairs(files) do
         local name = f:match("lua/nn/(.-)%.lua$")
         local mod = name == "init" and "nn" or "nn." .. name
         assert.are.equal(f, modules[mod], f .. " is missing from the rockspec")
      end
   end)
end)
