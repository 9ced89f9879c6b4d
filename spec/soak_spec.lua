-- Long-run memory: thousands of training steps must not grow the
-- process.  Resident memory is read from /proc after a warm-up; `make
-- soak` runs the same loop far longer (NN_SOAK_STEPS).
local nn = require "nn"

local function rss_kb()
   local f = io.open("/proc/self/statm")
   if not f then return nil end
   local pages = f:read("*n")
   pages = f:read("*n")          -- the second field: resident pages
   f:close()
   return pages * 4
end

describe("a long training loop", function()
   if not rss_kb() then
      pending("/proc/self/statm is not available")
      return
   end

   it("does not grow after warm-up", function()
      local steps = tonumber(os.getenv("NN_SOAK_STEPS")) or 5000
      nn.seed(1)
      local net = nn.Sequential{nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.2),
                                nn.Linear(128, 10)}
      local crit, opt = nn.CrossEntropyLoss(), nn.Adam(net, {lr = 1e-3})
      local X, Y = nn.randn(512, 64), nn.Matrix(512, 1)
      for i = 1, 512 do Y:set(i, 1, i % 10 + 1) end
      local batches = nn.batches
      local function epoch()
         for xb, yb in batches(X, Y, 32, {shuffle = true}) do
            opt:zeroGrad()
            local out = net:forward(xb)
            crit:forward(out, yb)
            net:backward(xb, crit:backward(out, yb))
            opt:step()
         end
      end
      for _ = 1, 20 do epoch() end                   -- warm-up: 320 steps
      collectgarbage()
      local before = rss_kb()
      local lua_before = collectgarbage("count")
      for _ = 1, math.floor(steps / 16) do epoch() end
      collectgarbage()
      local grown = rss_kb() - before
      local lua_grown = collectgarbage("count") - lua_before
      assert.is_true(grown < 2048, ("resident memory grew %d KB over %d steps"):format(grown, steps))
      assert.is_true(lua_grown < 256, ("Lua heap grew %.0f KB"):format(lua_grown))
   end)
end)
