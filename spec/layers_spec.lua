local nn = require "nn"
local H = require "helpers"

-- The gradient-check tolerance.  gradcheck's error is relative for
-- gradients above 1e-2 and absolute (scaled by 1e-2) below.  Central
-- differences with h = 1e-2 on float32 outputs measure about 1e-4 on these
-- layers; a wrong backward is off by O(1).  1e-2 leaves room for the
-- rounding noise and still fails any real mistake.
local TOL = 1e-2

-- inputs kept away from the kinks at 0 and +-1/2, where the derivative of
-- ReLU, Step, Sign and PiecewiseLinear does not exist
local function smooth_input(r, c)
   nn.seed(11)
   return nn.randn(r, c):apply(function(x)
      local a = math.abs(x) % 1
      if a < 0.1 then x = x + 0.15 end
      if math.abs(math.abs(x) - 0.5) < 0.1 then x = x + 0.2 end
      return x
   end)
end

describe("nn.Linear", function()
   it("computes y = x W^T + b", function()
      local l = nn.Linear(3, 2)
      l.weight = nn.Matrix{{1, 2, 3}, {4, 5, 6}}
      l.bias = nn.Matrix{10, 20}
      local y = l:forward(nn.Matrix{{1, 0, 1}, {0, 1, 0}})
      assert.are.same({{14, 30}, {12, 25}}, y:totable())
      assert.are.same({{14, 30}}, l(nn.Matrix{1, 0, 1}):totable())
   end)

   it("has weight, bias, gradWeight, gradBias as views of its storage", function()
      local l = nn.Linear(4, 3)
      assert.are.same({3, 4}, {l.weight:shape()})
      assert.are.same({1, 3}, {l.bias:shape()})
      assert.are.same({3, 4}, {l.gradWeight:shape()})
      assert.are.same({1, 3}, {l.gradBias:shape()})
      assert.are.equal(l.weight, l.weight)          -- the same userdata
      l.weight:fill(0)
      l.bias:fill(1)
      assert.are.same({{1, 1, 1}}, l:forward(nn.ones(1, 4)):totable())
      local p, g = l:parameters()
      assert.are.equal(2, #p)
      assert.are.equal(l.weight, p[1])
      assert.are.equal(l.gradBias, g[2])
      assert.are.equal(4, l.nin)
      assert.are.equal(3, l.nout)
      assert.are.equal("Linear", l.typename)
   end)

   -- for y = x W^T + b: dL/dx = gy W, dL/dW = gy^T x, dL/db = column sums of gy
   it("backpropagates as dL/dx = gy W, dL/dW = gy^T x, dL/db = sum of gy's rows", function()
      local l = nn.Linear(2, 2)
      l.weight = nn.Matrix{{1, 2}, {3, 4}}
      l.bias = nn.Matrix{0, 0}
      local x = nn.Matrix{{1, 1}, {2, 0}}
      local gy = nn.Matrix{{1, 0}, {0, 1}}
      l:zeroGrad()
      l:forward(x)
      local gx = l:backward(x, gy)
      H.near(gx, gy * l.weight)               -- dL/dx = gy W
      H.near(l.gradWeight, gy:t() * x)        -- dL/dW = gy^T x
      assert.are.same({{1, 1}}, l.gradBias:totable())
      l:backward(x, gy)                       -- gradients accumulate
      H.near(l.gradWeight, (gy:t() * x) * 2)
      l:zeroGrad()
      assert.are.equal(0, l.gradWeight:norm() + l.gradBias:norm())
   end)

   it("passes the gradient check, with and without bias", function()
      local x = smooth_input(5, 4)
      for _, init in ipairs{"kaiming", "xavier", "uniform"} do
         local err, where = nn.gradcheck(nn.Linear(4, 3, {init = init}), x)
         assert.is_true(err < TOL, where)
      end
      local l = nn.Linear(4, 3, {bias = false})
      assert.is_nil(l.bias)
      assert.are.equal(1, #l:parameters())
      local err, where = nn.gradcheck(l, x)
      assert.is_true(err < TOL, where)
      assert.are.equal("nn.Linear(4 -> 3, no bias)", tostring(l))
   end)

   it("initialises with the documented bounds", function()
      nn.seed(5)
      local k = nn.Linear(600, 50)
      local b = math.sqrt(6 / 600)
      assert.is_true(k.weight:max() < b and k.weight:min() >= -b)
      assert.is_true(k.weight:max() > 0.9 * b)
      assert.are.equal(0, k.bias:norm())
      local x = nn.Linear(600, 50, {init = "xavier"})
      assert.is_true(x.weight:max() < math.sqrt(6 / 650))
      local u = nn.Linear(600, 50, {init = "uniform"})
      assert.is_true(u.bias:norm() > 0 and u.bias:max() < 1 / math.sqrt(600))
   end)

   it("names the problem in its errors", function()
      local l = nn.Linear(784, 10)
      assert.has_error(function() l:forward(nn.Matrix(2, 783)) end,
         "Linear:forward: input has 783 columns, expected 784")
      assert.has_error(function() l:forward({}) end,
         "Linear:forward: input must be an nn.Matrix, got table")
      assert.has_error(function() nn.Linear(0, 3) end,
         "nn.Linear: argument 1 (nin) must be a whole number from 1 to 2147483647, got 0")
      assert.has_error(function() nn.Linear(3, 2.5) end,
         "nn.Linear: argument 2 (nout) must be a whole number from 1 to 2147483647, got 2.5")
      assert.has_error(function() nn.Linear(3, 2, {init = "ones"}) end,
         'nn.Linear: option init must be "kaiming", "xavier", "uniform" or "zeros"')
      assert.has_error(function() nn.Linear(3, 2, {bais = true}) end,
         "nn.Linear: unknown option 'bais' (expected bias, init, sequence)")
      assert.has_error(function() nn.Linear(100000, 100000) end)
      local s = nn.Linear(3, 2)
      assert.has_error(function() s:backward(nn.Matrix(4, 3), nn.Matrix(4, 2)) end,
         "Linear:backward: no forward on a 4 x 3 input to go back through (call forward first)")
      s:forward(nn.Matrix(4, 3))
      assert.has_error(function() s:backward(nn.Matrix(4, 3), nn.Matrix(4, 3)) end,
         "Linear:backward: gradOutput is 4 x 3, expected 4 x 2 (the output's shape)")
      assert.has_error(function() s.weight = nn.Matrix(3, 2) end,
         "Linear: weight must be a 2 x 3 nn.Matrix")
      assert.has_error(function() s.foo = 1 end, "Linear: cannot set field 'foo'")
      local sq = nn.Linear(3, 3)
      local y = sq:forward(nn.ones(2, 3))
      assert.has_error(function() sq:forward(y) end,
         "Linear:forward: the input is the layer's own output buffer; clone it first")
   end)
end)

describe("activations", function()
   local x = nn.Matrix{{-2, -0.5, 0, 0.25, 3}}
   local function f(m) return m:forward(x):totable()[1] end
   local function near(a, b)
      for i = 1, #b do
         assert.is_true(math.abs(a[i] - b[i]) < 1e-6,
            ("element %d: %g vs %g"):format(i, a[i], b[i]))
      end
   end

   it("compute their functions", function()
      local sig = function(v) return 1 / (1 + math.exp(-v)) end
      near(f(nn.Sigmoid()), {sig(-2), sig(-0.5), 0.5, sig(0.25), sig(3)})
      near(f(nn.Tanh()), {-0.9640276, -0.4621172, 0, 0.2449187, 0.9950548})
      near(f(nn.ReLU()), {0, 0, 0, 0.25, 3})
      near(f(nn.LeakyReLU(0.1)), {-0.2, -0.05, 0, 0.25, 3})
      near(f(nn.LeakyReLU()), {-0.02, -0.005, 0, 0.25, 3})
      near(f(nn.ELU()), {math.exp(-2) - 1, math.exp(-0.5) - 1, 0, 0.25, 3})
      near(f(nn.ELU(2)), {2 * (math.exp(-2) - 1), 2 * (math.exp(-0.5) - 1), 0, 0.25, 3})
      near(f(nn.Softplus()), {math.log(1 + math.exp(-2)), math.log(1 + math.exp(-0.5)),
         math.log(2), math.log(1 + math.exp(0.25)), math.log(1 + math.exp(3))})
      near(f(nn.Softplus(2)), {math.log(1 + math.exp(-4)) / 2, math.log(1 + math.exp(-1)) / 2,
         math.log(2) / 2, math.log(1 + math.exp(0.5)) / 2, math.log(1 + math.exp(6)) / 2})
      near(f(nn.Identity()), {-2, -0.5, 0, 0.25, 3})
      near(f(nn.Step()), {0, 0, 0.5, 1, 1})
      near(f(nn.Sign()), {-1, -1, 0, 1, 1})
      near(f(nn.PiecewiseLinear()), {0, 0, 0.5, 0.75, 1})
   end)

   it("compute softmax and log-softmax per row, stably", function()
      local s = nn.Softmax():forward(nn.Matrix{{1, 2, 3}, {1000, 1000, 1000}})
      local e = {math.exp(1), math.exp(2), math.exp(3)}
      local z = e[1] + e[2] + e[3]
      near(s:totable()[1], {e[1] / z, e[2] / z, e[3] / z})
      near(s:totable()[2], {1 / 3, 1 / 3, 1 / 3})
      local l = nn.LogSoftmax():forward(nn.Matrix{{1, 2, 3}, {-1e4, 0, 1e4}})
      near(l:totable()[1], {1 - math.log(z), 2 - math.log(z), 3 - math.log(z)})
      assert.is_true(l:allfinite())
      assert.are.equal(0, l:get(2, 3))
   end)

   it("stay finite at +-1e4", function()
      local big = nn.Matrix{{-1e4, -100, 100, 1e4}}
      for _, m in ipairs{nn.Sigmoid(), nn.Tanh(), nn.Softplus(), nn.ELU(),
                         nn.Softmax(), nn.LogSoftmax()} do
         local y = m:forward(big)
         assert.is_true(y:allfinite(), tostring(m))
         assert.is_true(m:backward(big, nn.ones(1, 4)):allfinite(), tostring(m))
      end
      local sp = nn.Softplus():forward(big)
      assert.are.same({0, 100, 1e4}, {sp:get(1), sp:get(3), sp:get(4)})
      assert.is_true(sp:get(2) > 0 and sp:get(2) < 1e-40)   -- exp(-100)
   end)

   it("pass the gradient check", function()
      local x = smooth_input(4, 6)
      for _, m in ipairs{nn.Sigmoid(), nn.Tanh(), nn.ReLU(), nn.LeakyReLU(0.2),
                         nn.ELU(), nn.ELU(0.5), nn.Softplus(), nn.Softplus(3),
                         nn.Identity(), nn.Step(), nn.Sign(), nn.PiecewiseLinear(),
                         nn.Softmax(), nn.LogSoftmax(), nn.Dropout(0.4)} do
         local err, where = nn.gradcheck(m, x)
         assert.is_true(err < TOL, tostring(m) .. ": " .. where)
      end
   end)

   it("give Step and Sign zero gradient and PiecewiseLinear 1 inside", function()
      local x = nn.Matrix{{-0.7, -0.3, 0.2, 0.8}}
      local g = nn.ones(1, 4)
      for _, m in ipairs{nn.Step(), nn.Sign()} do
         m:forward(x)
         assert.are.equal(0, m:backward(x, g):norm())
      end
      local p = nn.PiecewiseLinear()
      p:forward(x)
      assert.are.same({{0, 1, 1, 0}}, p:backward(x, g):totable())
   end)

   it("print their names and parameters", function()
      assert.are.equal("nn.ReLU", tostring(nn.ReLU()))
      assert.are.equal("nn.LeakyReLU(0.01)", tostring(nn.LeakyReLU()))
      assert.are.equal("nn.ELU(1)", tostring(nn.ELU()))
      assert.are.equal("nn.Softplus(2)", tostring(nn.Softplus(2)))
      assert.are.equal("nn.Dropout(0.5)", tostring(nn.Dropout()))
      assert.are.equal("PiecewiseLinear", nn.PiecewiseLinear().typename)
      assert.are.equal(0.25, nn.LeakyReLU(0.25).slope)
   end)

   it("reject bad arguments", function()
      assert.has_error(function() nn.ReLU(true) end, "nn.ReLU: takes no arguments")
      assert.has_error(function() nn.LeakyReLU("x") end,
         "nn.LeakyReLU: argument 1 (slope) must be a finite float32 number, got string 'x'")
      assert.has_error(function() nn.ELU(0 / 0) end)
      assert.has_error(function() nn.Softplus(0) end, "nn.Softplus: beta must be > 0")
      assert.has_error(function() nn.Tanh():forward(3) end,
         "Tanh:forward: input must be an nn.Matrix, got number")
      local r = nn.ReLU()
      r:forward(nn.Matrix(2, 2))
      assert.has_error(function() r:backward(nn.Matrix(2, 2), "g") end,
         "ReLU:backward: gradOutput must be an nn.Matrix, got string")
      assert.has_error(function() r:backward(nn.Matrix(2, 2), nn.Matrix(2, 3)) end,
         "ReLU:backward: gradOutput is 2 x 3, expected 2 x 2 (the output's shape)")
   end)
end)

describe("nn.Dropout", function()
   it("zeroes about p of the inputs and scales the rest by 1/(1-p)", function()
      nn.seed(3)
      local d = nn.Dropout(0.25)
      local y = d:forward(nn.ones(200, 100))
      local zeros, kept = 0, 0
      for _, row in ipairs(y:totable()) do
         for _, v in ipairs(row) do
            if v == 0 then zeros = zeros + 1
            else kept = kept + 1; assert.is_true(math.abs(v - 4 / 3) < 1e-6) end
         end
      end
      assert.is_true(math.abs(zeros / 20000 - 0.25) < 0.02)
      local gx = d:backward(nn.ones(200, 100), nn.ones(200, 100))
      assert.are.same(y:totable(), gx:totable())
   end)

   it("is the identity in evaluate mode and when p is 0", function()
      local d = nn.Dropout(0.9)
      assert.is_true(d.train)
      d:evaluate()
      assert.is_false(d.train)
      local x = nn.randn(3, 3)
      assert.are.same(x:totable(), d:forward(x):totable())
      assert.are.same(x:totable(), nn.Dropout(0):forward(x):totable())
      d:training()
      assert.are_not.same(x:totable(), d:forward(x):totable())
   end)

   it("checks p", function()
      assert.has_error(function() nn.Dropout(1) end, "nn.Dropout: p must be in [0, 1), got 1.0")
      assert.has_error(function() nn.Dropout(-0.1) end)
      local d = nn.Dropout()
      d.p = 0.2
      assert.is_true(math.abs(d.p - 0.2) < 1e-7)
      assert.has_error(function() d.p = 2 end, "Dropout: p must be in [0, 1), got 2.0")
   end)
end)

describe("buffer reuse", function()
   it("a steady forward/backward loop allocates nothing", function()
      local net = nn.Sequential{nn.Linear(20, 30), nn.ReLU(), nn.Dropout(0.2),
                                nn.Linear(30, 5), nn.LogSoftmax()}
      local crit = nn.NLLLoss()
      local x, t = nn.randn(16, 20), {}
      for i = 1, 16 do t[i] = (i % 5) + 1 end
      local function step()
         net:zeroGrad()
         local y = net:forward(x)
         crit:forward(y, t)
         net:backward(x, crit:backward(y, t))
      end
      step()
      local out1 = net.modules[1].output
      local grown = H.growth(step)
      -- measured: 0 bytes; one small Matrix per step would be > 20 KB here
      assert.is_true(grown < 1, ("grew %.2f KB over 200 steps"):format(grown))
      assert.are.equal(out1, net.modules[1].output)
   end)
end)
