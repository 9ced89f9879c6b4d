-- Decision boundaries, as coloured regions with the points: the perceptron
-- rule on separable points, XOR learnt by a hidden layer (a single unit
-- cannot: its boundary is a line), and two overlapping blobs: an MLP
-- trained until it gets every training point right (overfitted: its
-- boundary bends round single points, and new points fare worse) beside
-- the same MLP with weight decay (a smooth boundary, better on new points).
-- Usage: lua5.4 examples/boundaries.lua [output dir (out)]
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

local function train(net, X, labels, epochs, opt)
   local crit = nn.CrossEntropyLoss()
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

-- the share of points the network classifies right
local function accuracy(net, X, labels)
   local pred, right = nn.predict(net, X), 0
   for i = 1, #labels do
      if pred:get(i, 1) == labels[i] then right = right + 1 end
   end
   return right / #labels
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
print(("XOR: cross-entropy %.4f after training"):format(train(xor, X, labels, 2000,
   nn.Adam(xor, {lr = 0.05}))))
c = plot.chart{title = "XOR with one hidden layer (2-4-2, tanh)", xrange = {-0.5, 1.5},
               yrange = {-0.5, 1.5}, xlabel = "x1", ylabel = "x2", width = 560, height = 460}
c:field(classes(xor), {classes = true, batch = true})
c:points(xs, ys, {classes = labels, names = {"x1 = x2", "x1 ≠ x2"}})
save(c, "boundary_xor")

-- 3. two overlapping Gaussian blobs (200 training points, 2000 new ones
-- from the same blobs to test on); a 2-64-2 ReLU network trained long
-- enough to get every training point right, and the same network with
-- weight decay (AdamW), which keeps its weights small and its boundary
-- smooth
local function blob(i)
   local k = i % 2 + 1
   local cx, cy = k == 1 and -0.8 or 0.8, k == 1 and -0.5 or 0.5
   return cx + nn.randn(1, 1):get(1, 1), cy + 0.8 * nn.randn(1, 1):get(1, 1), k
end
nn.seed(4)
X, xs, ys, labels = dataset(200, blob)
nn.seed(99)
local Xnew, _, _, lnew = dataset(2000, blob)
local fig = plot.figure{columns = 2, title = "Two overlapping blobs, a 2-64-2 ReLU network: "
   .. "no line gets every point right"}
for _, run in ipairs{
   {"5000 epochs of Adam: overfitted", function(net) return nn.Adam(net, {lr = 0.02}) end},
   {"the same with weight decay (AdamW, 3)", function(net) return nn.AdamW(net, {lr = 0.02, weightDecay = 3}) end},
} do
   nn.seed(4)
   local blobs = nn.Sequential{nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 2)}
   local loss = train(blobs, X, labels, 5000, run[2](blobs))
   local seen, new = accuracy(blobs, X, labels), accuracy(blobs, Xnew, lnew)
   print(("blobs, %s: cross-entropy %.4f, %.1f%% of the training points right, %.1f%% of new ones")
      :format(run[1], loss, 100 * seen, 100 * new))
   c = plot.chart{title = run[1], xrange = {-4, 4}, yrange = {-3.5, 3.5}, xlabel = "x1",
                  ylabel = "x2", width = 560, height = 490, legend = "bottom-right",
                  caption = ("%.1f%% of these 200 training points right, %.1f%% of 2000 new ones")
                     :format(100 * seen, 100 * new)}
   c:field(classes(blobs), {classes = true, batch = true})
   c:points(xs, ys, {classes = labels, names = {"blob A", "blob B"}})
   fig:add(c)
end
save(fig, "boundary_blobs")
