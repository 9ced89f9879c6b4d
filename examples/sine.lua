-- Fit sin(pi x) on [-1, 1] with one hidden layer of 100 units, as in the
-- lecture notes: loss L = sum_i |f(x_i) - sin(pi x_i)| over evenly spaced
-- points, minimised by gradient descent (here with momentum, by hand).
local nn = require "nn"

nn.seed(7)
local m = 200
local X, Y = nn.Matrix(m, 1), nn.Matrix(m, 1)
for i = 1, m do
   local x = -1 + 2 * (i - 1) / (m - 1)
   X:set(i, 1, x)
   Y:set(i, 1, math.sin(math.pi * x))
end

local net = nn.Sequential{nn.Linear(1, 100), nn.Tanh(), nn.Linear(100, 1)}
local crit = nn.L1Loss{reduction = "sum"}
local params, grads = net:parameters()
local velocity = {}
for i, p in ipairs(params) do velocity[i] = nn.zeros(p:shape()) end
local steps, mu = 4000, 0.9

for step = 1, steps do
   -- the L1 gradient does not shrink near the optimum: decay the rate
   local lr = 1e-4 * (1 - step / steps)
   net:zeroGrad()
   local out = net:forward(X)
   local loss = crit:forward(out, Y)
   net:backward(X, crit:backward(out, Y))
   for i, p in ipairs(params) do            -- v = mu v - lr g;  p = p + v
      velocity[i]:scale(mu):add(grads[i], -lr)
      p:add(velocity[i])
   end
   if step % 1000 == 0 then
      print(("step %4d  mean |f(x) - sin(pi x)| = %.4f"):format(step, loss / m))
   end
end

local err = (net:forward(X) - Y):apply(math.abs)
print(("final error: mean %.4f, max %.4f"):format(err:mean(), err:max()))
