-- nn.gradcheck itself: it passes correct networks across kinks (ReLU,
-- Step, ...) and still catches a wrong backward (issue #12).
local nn = require "nn"

describe("nn.gradcheck across kinks", function()
   it("passes a correct ReLU network at its default step, skipping kink elements", function()
      nn.seed(3)
      local net = nn.Sequential{nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                                nn.Linear(16, 3)}
      local x = nn.randn(8, 4)
      local err, where, _, skipped = nn.gradcheck(net, x, nn.CrossEntropyLoss(),
         {1, 2, 3, 1, 2, 3, 1, 2})
      assert.is_true(err < 1e-2, where)   -- the README's threshold; 0.57 before
      assert.is_true(skipped > 0 and skipped < 20, tostring(skipped))
   end)

   it("holds the threshold for every built-in layer inside a network", function()
      for _, m in ipairs{nn.Sigmoid(), nn.Tanh(), nn.ReLU(), nn.LeakyReLU(0.1), nn.ELU(),
                         nn.Softplus(), nn.Step(), nn.Sign(), nn.PiecewiseLinear(),
                         nn.Softmax(), nn.LogSoftmax(), nn.Identity(), nn.Dropout(0.3)} do
         nn.seed(5)
         local err, where = nn.gradcheck(nn.Sequential{nn.Linear(3, 5), m, nn.Linear(5, 2)},
            nn.randn(6, 3))
         assert.is_true(err < 1e-2, tostring(m) .. ": " .. where)
      end
   end)

   it("holds the threshold for every example of every kind in the registry, alone", function()
      local checked = 0
      local function check(e)
         nn.seed(6)
         local f = (loadstring or load)("return " .. e.lua)
         if setfenv then setfenv(f, {nn = nn}) else f = load("return " .. e.lua, "=ex", "t", {nn = nn}) end
         local m = f()
         local x = e.ids and nn.rand(3, e.cols, 1, e.ids + 1):apply(math.floor) or nn.randn(3, e.cols)
         local err, where = nn.gradcheck(m, x, nil, nil, {input = not e.ids})
         assert.is_true(err < 1e-2, e.lua .. ": " .. where)
         checked = checked + 1
      end
      for _, k in ipairs(require("nn.core").layers()) do
         for _, e in ipairs(k.examples) do
            -- PyTorch's paddingIndex and maxNorm are not derivatives: the
            -- padding row learns nothing and the renormalization is not
            -- differentiated (spec/sequence_spec.lua checks them)
            if not e.lua:find("paddingIndex") then check(e) end
         end
      end
      assert.is_true(checked >= 25, checked .. " examples")
   end)

   it("still catches a wrong backward", function()
      local bad = {
         forward = function(self, x) self.output = x:clone():mul(x); return self.output end,
         backward = function(_, x, gy) return gy:clone():mul(x) end,   -- misses the 2
         parameters = function() return {}, {} end,
         zeroGrad = function() end,
      }
      local err = nn.gradcheck(nn.Sequential{nn.Linear(3, 4), bad}, nn.randn(5, 3))
      assert.is_true(err > 0.3, tostring(err))
   end)
end)
