-- The lecture's "effect of the learning rate": the same network trained
-- from the same start with plain gradient descent at several rates.  Too
-- small crawls, a good one falls fast, too large bounces, and larger still
-- diverges (its curve leaves the chart, then stops where the loss is no
-- longer a number).  Usage: lua5.4 examples/lr_effect.lua [output dir (out)]
-- writes lr_effect.svg and lr_effect.png.
local nn = require "nn"
local plot = require "nn.plot"

local dir = arg and arg[1] or "out"
os.execute(("mkdir -p '%s'"):format(dir))

-- 200 points of sin(pi x) on [-1, 1], a 1-32-1 tanh network, MSE
local m = 200
local X, Y = nn.Matrix(m, 1), nn.Matrix(m, 1)
for i = 1, m do
   local x = -1 + 2 * (i - 1) / (m - 1)
   X:set(i, 1, x)
   Y:set(i, 1, math.sin(math.pi * x))
end

local c = plot.chart{title = "Effect of the learning rate (gradient descent, 1-32-1 tanh net, MSE)",
                     xlabel = "epoch", ylabel = "training loss (log scale)", ylog = true,
                     yrange = {1e-3, 1e3}, width = 720, height = 420}
local epochs = 150
for _, lr in ipairs{0.003, 0.03, 0.1, 0.15, 0.3} do
   nn.seed(3)                                   -- the same start for every rate
   local net = nn.Sequential{nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 1)}
   local crit, opt = nn.MSELoss(), nil
   opt = nn.SGD(net, {lr = lr})
   local losses = {}
   for e = 1, epochs do
      opt:zeroGrad()
      local out = net:forward(X)
      losses[e] = crit:forward(out, Y)
      net:backward(X, crit:backward(out, Y))
      opt:step()
   end
   local last = losses[epochs]
   print(("lr %-6g loss after %d epochs: %s"):format(lr, epochs,
      last == last and ("%.4g"):format(last) or "not a number (diverged)"))
   c:line(losses, {name = ("lr %g%s"):format(lr, last == last and "" or " (diverged)")})
end
for _, ext in ipairs{"svg", "png"} do
   local path = ("%s/lr_effect.%s"):format(dir, ext)
   c:save(path)
   print("wrote " .. path)
end
