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
end)
