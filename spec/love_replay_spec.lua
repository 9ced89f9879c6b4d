-- The LÖVE demo's command line: a --replay that names no test digit (MNIST's
-- are numbered 1 to 10000, as Lua counts) is a usage message and exit
-- status 2, never a traceback.  Runs LÖVE under Xvfb, as love_spec does.
local H = require "helpers"

describe("the LÖVE demo's --replay", function()
   local test = (H.sanitized or not H.have_mnist()) and pending or it
   test("refuses a number that is not a test digit's, with a usage message", function()
      for _, case in ipairs{
         {"0", "--replay takes a test digit's number, 1 (the first) or more; got 0"},
         {"-3", "got -3"},
         {"2.5", "got 2.5"},
         {"seven", "got seven"},
         {"10001", "--replay 10001: there are 10000 test digits (1 to 10000)"},
         {"", "--replay needs a test digit's number"},
      } do
         local ok, out, code = H.run(("cd '%s' && timeout 120 " .. H.xvfb(130)
            .. " love examples/love --replay %s"):format(H.top, case[1]))
         assert.is_false(ok, out)
         assert.are.equal(2, code, out)
         assert.truthy(out:find("^love%-digit: ") or out:find("\nlove%-digit: "), out)
         assert.truthy(out:find(case[2], 1, true), out)
         assert.truthy(out:find("usage: love examples/love [--replay N", 1, true), out)
         assert.is_nil(out:find("traceback", 1, true), out)
      end
   end)
end)
