-- The lecture's sin(pi x) fit with 100 hidden units, drawn: the training
-- points and the network's curve after 10, 100, 1000 and 5000 epochs of
-- gradient descent with momentum (MSE, full batch).
-- Usage: lua5.4 examples/sine_fit.lua [output dir (out)]
-- writes sine_fit.svg and sine_fit.png.
local nn = require "nn"
local plot = require "nn.plot"

local dir = arg and arg[1] or "out"
os.execute(("mkdir -p '%s'"):format(dir))

nn.seed(7)
local m = 40
local X, Y = nn.Matrix(m, 1), nn.Matrix(m, 1)
local xs, ys = {}, {}
for i = 1, m do
   local x = -1 + 2 * (i - 1) / (m - 1)
   X:set(i, 1, x)
   Y:set(i, 1, math.sin(math.pi * x))
   xs[i], ys[i] = x, math.sin(math.pi * x)
end
-- a fine grid to draw the network's curve on
local n = 201
local G, gx = nn.Matrix(n, 1), {}
for i = 1, n do
   gx[i] = -1.1 + 2.2 * (i - 1) / (n - 1)
   G:set(i, 1, gx[i])
end

local net = nn.Sequential{nn.Linear(1, 100), nn.Tanh(), nn.Linear(100, 1)}
local crit = nn.MSELoss()
local opt = nn.SGD(net, {lr = 0.05, momentum = 0.9})
local c = plot.chart{title = "Fitting sin(pi x) with 100 hidden tanh units", xlabel = "x",
                     ylabel = "y", xrange = {-1.1, 1.1}, yrange = {-1.6, 1.6},
                     width = 720, height = 420, legend = "bottom-right"}
local snapshots = {[10] = true, [100] = true, [1000] = true, [5000] = true}
for epoch = 1, 5000 do
   opt:zeroGrad()
   local out = net:forward(X)
   local loss = crit:forward(out, Y)
   net:backward(X, crit:backward(out, Y))
   opt:step()
   if snapshots[epoch] then
      local curve = net:forward(G)
      local cy = {}
      for i = 1, n do cy[i] = curve:get(i, 1) end
      c:line(gx, cy, {name = ("after %d epochs"):format(epoch)})
      print(("epoch %4d: training loss %.5f"):format(epoch, loss))
   end
end
c:points(xs, ys, {name = "training points", color = {0.1, 0.1, 0.1}, radius = 3})
for _, ext in ipairs{"svg", "png"} do
   local path = ("%s/sine_fit.%s"):format(dir, ext)
   c:save(path)
   print("wrote " .. path)
end
