local nn = require "nn"
local H = require "helpers"

local TOL = 1e-2   -- see layers_spec.lua for why

local function logsumexp(row)
   local m = -math.huge
   for _, v in ipairs(row) do m = math.max(m, v) end
   local s = 0
   for _, v in ipairs(row) do s = s + math.exp(v - m) end
   return m + math.log(s)
end

describe("nn.CrossEntropyLoss", function()
   local x = nn.Matrix{{1, 2, 3}, {0.5, -1, 2}}
   local rows = x:totable()

   it("is the mean of -log softmax at the label", function()
      local want = ((logsumexp(rows[1]) - 3) + (logsumexp(rows[2]) - 0.5)) / 2
      local crit = nn.CrossEntropyLoss()
      assert.is_true(math.abs(crit:forward(x, {3, 1}) - want) < 1e-6)
      assert.is_true(math.abs(crit(x, nn.Matrix{{3}, {1}}) - want) < 1e-6)
      assert.is_true(math.abs(crit(x, nn.Matrix{{0, 0, 1}, {1, 0, 0}}) - want) < 1e-6)
      local sum = nn.CrossEntropyLoss{reduction = "sum"}
      assert.is_true(math.abs(sum:forward(x, {3, 1}) - 2 * want) < 1e-6)
      assert.is_true(math.abs(crit:forward(nn.Matrix{1, 2, 3}, 3)
         - (logsumexp{1, 2, 3} - 3)) < 1e-6)
   end)

   it("has gradient (P - Y)/n", function()
      local crit = nn.CrossEntropyLoss()
      local g = crit:backward(x, {3, 1})
      local P = nn.Softmax():forward(x)
      H.near(g, (P - nn.Matrix{{0, 0, 1}, {1, 0, 0}}) / 2)
      H.near(crit:backward(x, nn.Matrix{{0, 0, 1}, {1, 0, 0}}), g)
   end)

   it("passes the gradient check with labels and with probabilities", function()
      nn.seed(2)
      local z = nn.randn(5, 4)
      local err, where = nn.gradcheck(nn.Identity(), z, nn.CrossEntropyLoss(), {1, 4, 2, 3, 4})
      assert.is_true(err < TOL, where)
      local probs = nn.Softmax():forward(nn.randn(5, 4)):clone()
      err, where = nn.gradcheck(nn.Identity(), z, nn.CrossEntropyLoss{reduction = "sum"}, probs)
      assert.is_true(err < TOL, where)
   end)

   it("stays finite for logits of +-1e4", function()
      local big = nn.Matrix{{1e4, -1e4, 0}, {-1e4, 1e4, 1e4}}
      local crit = nn.CrossEntropyLoss()
      local L = crit:forward(big, {2, 1})
      assert.is_true(L == L and L < math.huge)
      assert.is_true(math.abs(L - (2e4 + 2e4 + math.log(2)) / 2) < 1)
      assert.is_true(crit:backward(big, {2, 1}):allfinite())
   end)

   -- the softmax takes a float polynomial exp a row at a time
   -- (csrc/k_loss.c): a masked logit (-inf, or 100 below the row's
   -- largest) must get exactly 0, not the polynomial's floor of e^-87
   it("gives masked logits no probability and a gradient of exactly 0", function()
      local m = nn.Matrix{{2, -math.huge, 1, -1e4}, {0, 1, -200, 3}}
      local crit = nn.CrossEntropyLoss()
      local L = crit:forward(m, {1, 4})
      local want = ((logsumexp{2, 1} - 2) + (logsumexp{0, 1, 3} - 3)) / 2
      assert.is_true(math.abs(L - want) < 1e-6, L .. " vs " .. want)
      local g = crit:backward(m, {1, 4})
      for _, ij in ipairs{{1, 2}, {1, 4}, {2, 3}} do
         assert.are.equal(0, g:get(ij[1], ij[2]))
      end
   end)

   -- rows wider than the 256 exponentials kept on the stack take them
   -- twice, 256 at a time: against plain Lua in double
   it("matches softmax in double on rows of 1, 255, 256, 257 and 600 classes", function()
      nn.seed(9)
      for _, c in ipairs{1, 255, 256, 257, 600} do
         local z = nn.randn(3, c) * 4
         local t = {1, c, math.floor((c + 1) / 2)}
         local crit = nn.CrossEntropyLoss{reduction = "sum"}
         local L, g = crit:forward(z, t), crit:backward(z, t)
         local want = 0
         for i, row in ipairs(z:totable()) do
            local lse = logsumexp(row)
            want = want + lse - row[t[i]]
            for j = 1, c do
               local p = math.exp(row[j] - lse) - (j == t[i] and 1 or 0)
               assert.is_true(math.abs(g:get(i, j) - p) < 1e-6,
                  ("c %d: g[%d][%d] = %.9g, expected %.9g"):format(c, i, j, g:get(i, j), p))
            end
         end
         assert.is_true(math.abs(L - want) < 1e-5 * (1 + math.abs(want)), c .. ": " .. L .. " vs " .. want)
      end
   end)

   it("rejects bad targets clearly", function()
      local crit = nn.CrossEntropyLoss()
      assert.has_error(function() crit:forward(x, {1, 4}) end,
         "CrossEntropyLoss:forward: target 2 is 4.0, expected a class index from 1 to 3")
      assert.has_error(function() crit:forward(x, {0, 1}) end,
         "CrossEntropyLoss:forward: target 1 is 0.0, expected a class index from 1 to 3")
      assert.has_error(function() crit:forward(x, {1.5, 1}) end,
         "CrossEntropyLoss:forward: target 1 is 1.5, expected a class index from 1 to 3")
      assert.has_error(function() crit:forward(x, {0 / 0, 1}) end)
      assert.has_error(function() crit:forward(x, nn.Matrix{{1}, {0 / 0}}) end)
      assert.has_error(function() crit:backward(x, {1, "a"}) end,
         "CrossEntropyLoss:backward: target 2 is string, expected a class index from 1 to 3")
      assert.has_error(function() crit:forward(x, {1, 2, 3}) end,
         "CrossEntropyLoss:forward: target has 3 labels, expected 2 (one per input row)")
      assert.has_error(function() crit:forward(x, nn.Matrix{{1}, {2}, {3}}) end,
         "CrossEntropyLoss:forward: target is 3 x 1, expected 2 x 1 class indices or 2 x 3 probabilities")
      assert.has_error(function() crit:forward(x, nn.Matrix{{0, 0 / 0, 1}, {1, 0, 0}}) end,
         "CrossEntropyLoss:forward: target contains NaN or infinity")
      assert.has_error(function() crit:forward(x, 2) end,
         "CrossEntropyLoss:forward: a single label needs a 1-row input, got 2 rows")
      assert.has_error(function() crit:forward(x) end,
         "CrossEntropyLoss:forward: target is missing")
      assert.has_error(function() crit:forward({}, {1}) end,
         "CrossEntropyLoss:forward: input must be an nn.Matrix, got table")
      assert.has_error(function() crit:forward(x, "1") end)
      assert.has_error(function() nn.CrossEntropyLoss{reduction = "avg"} end,
         'nn.CrossEntropyLoss: option reduction must be "mean" or "sum"')
      assert.has_error(function() nn.CrossEntropyLoss{weights = 1} end,
         "nn.CrossEntropyLoss: unknown option 'weights' (expected reduction, ignoreIndex, sequence)")
   end)
end)

describe("nn.NLLLoss", function()
   it("is -mean of the log-probability at the label, and matches CE after LogSoftmax", function()
      local x = nn.Matrix{{1, 2, 3}, {0.5, -1, 2}}
      local lp = nn.LogSoftmax():forward(x)
      local nll = nn.NLLLoss()
      assert.is_true(math.abs(nll:forward(nn.Matrix{{-1, -2}, {-3, -4}}, {2, 1}) - 2.5) < 1e-7)
      assert.is_true(math.abs(nll:forward(lp, {3, 1}) - nn.CrossEntropyLoss():forward(x, {3, 1})) < 1e-6)
      assert.are.same({{0, -0.5}, {-0.5, 0}},
         nll:backward(nn.Matrix{{-1, -2}, {-3, -4}}, {2, 1}):totable())
      local err, where = nn.gradcheck(nn.LogSoftmax(), nn.randn(4, 3), nll, {1, 2, 3, 1})
      assert.is_true(err < TOL, where)
      err, where = nn.gradcheck(nn.Identity(), nn.randn(2, 3), nll, nn.Matrix{{0.2, 0.3, 0.5}, {1, 0, 0}})
      assert.is_true(err < TOL, where)
   end)
end)

describe("regression losses", function()
   local x = nn.Matrix{{1, 2}, {3, 5}}
   local y = nn.Matrix{{0, 2}, {4, 2}}

   it("MSELoss is the mean squared error over every element", function()
      assert.are.equal((1 + 0 + 1 + 9) / 4, nn.MSELoss():forward(x, y))
      assert.are.equal(11, nn.MSELoss{reduction = "sum"}:forward(x, y))
      assert.are.same({{0.5, 0}, {-0.5, 1.5}}, nn.MSELoss():backward(x, y):totable())
   end)

   it("L1Loss is the mean absolute error", function()
      assert.are.equal(5 / 4, nn.L1Loss():forward(x, y))
      assert.are.same({{0.25, 0}, {-0.25, 0.25}}, nn.L1Loss():backward(x, y):totable())
   end)

   it("BCELoss and BCEWithLogitsLoss agree through a sigmoid", function()
      local z = nn.Matrix{{-2, 0.5}, {3, -0.1}}
      local t = nn.Matrix{{0, 1}, {1, 0}}
      local p = nn.Sigmoid():forward(z):clone()
      local a = nn.BCELoss():forward(p, t)
      local b = nn.BCEWithLogitsLoss():forward(z, t)
      local want = 0
      for i, row in ipairs(p:totable()) do
         for j, v in ipairs(row) do
            local tv = t:get(i, j)
            want = want - (tv * math.log(v) + (1 - tv) * math.log(1 - v))
         end
      end
      assert.is_true(math.abs(a - want / 4) < 1e-6)
      assert.is_true(math.abs(b - want / 4) < 1e-6)
      H.near(nn.BCEWithLogitsLoss():backward(z, t), (p - t) / 4, 1e-6)
   end)

   it("BCE clamps its logs, BCEWithLogits is stable at +-1e4", function()
      local L = nn.BCELoss():forward(nn.Matrix{{0, 1}}, nn.Matrix{{1, 0}})
      assert.are.equal(100, L)
      assert.is_true(nn.BCELoss():backward(nn.Matrix{{0, 1}}, nn.Matrix{{1, 0}}):allfinite())
      local big = nn.Matrix{{1e4, -1e4}}
      local b = nn.BCEWithLogitsLoss():forward(big, nn.Matrix{{1, 0}})
      assert.are.equal(0, b)
      assert.is_true(nn.BCEWithLogitsLoss():forward(big, nn.Matrix{{0, 1}}) >= 1e4 - 1)
   end)

   it("pass the gradient check", function()
      nn.seed(4)
      local z = nn.randn(4, 3)
      local t = nn.rand(4, 3)
      local cases = {
         {nn.MSELoss(), z, t}, {nn.MSELoss{reduction = "sum"}, z, t},
         {nn.L1Loss(), z, t + 0.5}, {nn.BCEWithLogitsLoss(), z, t},
         {nn.BCELoss(), nn.rand(4, 3, 0.25, 0.75), t},  -- log is curved near 0
      }
      for _, c in ipairs(cases) do
         local err, where = nn.gradcheck(nn.Identity(), c[2], c[1], c[3])
         assert.is_true(err < TOL, tostring(c[1]) .. ": " .. where)
      end
   end)

   it("check targets and inputs", function()
      assert.has_error(function() nn.MSELoss():forward(x, nn.Matrix(2, 3)) end,
         "MSELoss:forward: target is 2 x 3, expected 2 x 2 (the input's shape)")
      assert.has_error(function() nn.L1Loss():backward(x, {1, 2}) end,
         "L1Loss:backward: target must be an nn.Matrix, got table")
      assert.has_error(function() nn.BCELoss():forward(x, y) end,
         "BCELoss:forward: input element 2 is 2.0, expected a probability in [0, 1]")
      assert.has_error(function() nn.BCELoss():forward(nn.Matrix{0 / 0}, nn.Matrix{1}) end)
   end)

   it("print and report their settings", function()
      assert.are.equal("nn.MSELoss", tostring(nn.MSELoss()))
      assert.are.equal('nn.L1Loss{reduction = "sum"}', tostring(nn.L1Loss{reduction = "sum"}))
      assert.are.equal("sum", nn.BCELoss{reduction = "sum"}.reduction)
      assert.are.equal("CrossEntropyLoss", nn.CrossEntropyLoss().typename)
   end)
end)
