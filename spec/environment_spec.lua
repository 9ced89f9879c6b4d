-- The sanitizer and valgrind targets must test the build they made.
local H = require "helpers"

describe("the C core under test", function()
   it("is the one the target built", function()
      local path = package.searchpath("nn.core", package.cpath)
      assert.is_string(path)
      if H.sanitized == "asan" then
         assert.truthy(path:find("build/" .. H.sanitized, 1, true), path)
      else
         assert.truthy(path:find("lua/nn/core.so", 1, true), path)
      end
   end)
end)
