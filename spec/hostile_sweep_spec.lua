-- Hostile input: about two million calls of every public function and
-- method with wrong types, nil, NaN, infinities, zero, negative and huge
-- sizes, mismatched shapes, views of collected parents, bad indices and
-- labels (spec/hostile/sweep.lua).  It runs in a child lua5.4, in a
-- scratch directory (some calls write files named by their arguments),
-- so a crash fails this spec instead of killing the runner.
local H = require "helpers"

describe("the hostile-input sweep", function()
   it("gets a result or a Lua error from every call, never a crash", function()
      local dir = H.tmpdir()
      -- under a timeout: a hang (a FIFO opened for reading) fails, not stalls
      local ok, out = H.child(("dofile(%q)"):format(H.top .. "/spec/hostile/sweep.lua"),
         nil, dir, 1800)
      os.execute("rm -rf '" .. dir .. "'")
      assert.is_true(ok, out:sub(-3000))
      local calls, errors = out:match("sweep: (%d+) calls, (%d+) errors")
      assert.truthy(calls, out:sub(-3000))
      assert.is_true(tonumber(calls) > 100000, out)
      assert.is_true(tonumber(errors) > 0 and tonumber(errors) < tonumber(calls), out)
   end)
end)
