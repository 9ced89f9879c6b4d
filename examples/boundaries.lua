-- Decision boundaries, as coloured regions with the points: the perceptron
-- rule on separable points, XOR learnt by a hidden layer (a single unit
-- cannot: its boundary is a line), and two overlapping blobs with a small
-- MLP.  Usage: lua5.4 examples/boundaries.lua [output dir (out)]
-- writes boundary_perceptron, boundary_xor and boundary_blobs (.svg, .png).
local nn = require "nn"
local plot = require "nn.plot"

local dir = arg and arg[1] or "out"
os.execute(("mkdir -p '%s'"):format(dir))

local function save(c, name)
   for _, ext in ipairs{"svg", "png"} do
      local path = ("%s/%s.%s"):format(dir, name, ext)
      c:save(path)
      print("wrote " .. path)
   end
end

-- points as lists for the chart, and as a Matrix and labels for the net
local function dataset(n, gen)
   local X, xs, ys, labels = nn.Matrix(n, 2), {}, {}, {}
   for i = 1, n do
      local x, y, k = gen(i)
      X:set(i, 1, x)
      X:set(i, 2, y)
      xs[i], ys[i], labels[i] = x, y, k
   end
   return X, xs, ys, labels
end

-- a network's class at every point of the grid, in one batch
local function classes(net)
   return function(P) return net:forward(P) end
end

local function train(net, X, labels, epochs, lr)
   local crit, opt = nn.CrossEntropyLoss(), nn.Adam(net, {lr = lr})
   local loss
   for _ = 1, epochs do
      opt:zeroGrad()
      local out = net:forward(X)
      loss = crit:forward(out, labels)
      net:backward(X, crit:backward(out, labels))
      opt:step()
   end
   return loss
end

-- 1. the perceptron: o = step(w . x + b), w += eta (t - o) x
nn.seed(3)
local X, xs, ys, labels = dataset(120, function()
   local x, y, s
   repeat
      x, y = 2 * nn.random() - 1, 2 * nn.random() - 1
      s = 0.8 * x - 0.5 * y + 0.1
   until math.abs(s) > 0.05
   return x, y, s > 0 and 2 or 1
end)
local unit, step = nn.Linear(2, 1), nn.Step()
unit.weight:zero()
unit.bias:zero()
for epoch = 1, 100 do
   local mistakes = 0
   for i = 1, #xs do
      local x = X:row(i)
      local err = (labels[i] - 1) - step:forward(unit:forward(x)):get(1, 1)
      if err ~= 0 then
         mistakes = mistakes + 1
         unit.weight:add(x, 0.1 * err)
         unit.bias:add(0.1 * err)
      end
   end
   if mistakes == 0 then print(("perceptron: no mistakes after epoch %d"):format(epoch)) break end
end
local c = plot.chart{title = "The perceptron rule: a line between separable classes",
                     xrange = {-1, 1}, yrange = {-1, 1}, xlabel = "x1", ylabel = "x2",
                     width = 560, height = 460}
c:field(function(P) return step:forward(unit:forward(P)) + 1 end, {classes = true, batch = true})
c:points(xs, ys, {classes = labels, names = {"class 0", "class 1"}})
save(c, "boundary_perceptron")

-- 2. XOR: four corners, two classes; a 2-4-2 tanh network
nn.seed(1)
local corners = {{0, 0, 1}, {1, 1, 1}, {0, 1, 2}, {1, 0, 2}}
X, xs, ys, labels = dataset(80, function(i)
   local k = corners[(i - 1) % 4 + 1]
   return k[1] + 0.12 * nn.randn(1, 1):get(1, 1), k[2] + 0.12 * nn.randn(1, 1):get(1, 1), k[3]
end)
local xor = nn.Sequential{nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2)}
print(("XOR: cross-entropy %.4f after training"):format(train(xor, X, labels, 2000, 0.05)))
c = plot.chart{title = "XOR with one hidden layer (2-4-2, tanh)", xrange = {-0.5, 1.5},
               yrange = {-0.5, 1.5}, xlabel = "x1", ylabel = "x2", width = 560, height = 460}
c:field(classes(xor), {classes = true, batch = true})
c:points(xs, ys, {classes = labels, names = {"x1 = x2", "x1 ~= x2"}})
save(c, "boundary_xor")

-- 3. two overlapping Gaussian blobs; a 2-16-2 ReLU network
nn.seed(4)
X, xs, ys, labels = dataset(200, function(i)
   local k = i % 2 + 1
   local cx, cy = k == 1 and -0.8 or 0.8, k == 1 and -0.5 or 0.5
   return cx + nn.randn(1, 1):get(1, 1), cy + 0.8 * nn.randn(1, 1):get(1, 1), k
end)
local blobs = nn.Sequential{nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2)}
print(("blobs: cross-entropy %.4f after training"):format(train(blobs, X, labels, 1500, 0.02)))
c = plot.chart{title = "Two overlapping blobs, a 2-16-2 ReLU network", xrange = {-4, 4},
               yrange = {-3.5, 3.5}, xlabel = "x1", ylabel = "x2", width = 560, height = 460}
c:field(classes(blobs), {classes = true, batch = true})
c:points(xs, ys, {classes = labels, names = {"blob A", "blob B"}})
save(c, "boundary_blobs")
