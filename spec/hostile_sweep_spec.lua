-- Hostile input: about four and a half million calls of every public
-- function and method with wrong types, nil, NaN, infinities, zero,
-- negative and huge sizes, mismatched shapes, views of collected parents,
-- bad indices and labels (spec/hostile/sweep.lua).  It runs in a child of
-- the suite's Lua, in a scratch directory (some calls write files named by
-- their arguments), so a crash fails this spec instead of killing the
-- runner.  NN_SWEEP_STRIDE=k makes it try every k-th argument pair of
-- every entry point (make test: 10, a tenth of the time; CI and
-- check-asan: 1, all of them).
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
      assert.truthy(out:find("every one with two-argument calls", 1, true), out)
      local stride = tonumber(os.getenv("NN_SWEEP_STRIDE")) or 1
      assert.is_true(tonumber(calls) > 2000000 / stride, out)
      assert.is_true(tonumber(errors) > 0 and tonumber(errors) < tonumber(calls), out)
   end)
end)
