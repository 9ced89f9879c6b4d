-- What the hidden units look for: the lecture's 784-16-16-10 sigmoid
-- network is trained for a few epochs, then each first-layer unit's 784
-- weights are drawn as a 28 x 28 picture (gray 0, white positive, black
-- negative).  As the lecture warns, they are blotches, not neat strokes.
-- Also drawn: test digits the network gets wrong (wrong.png, each labelled),
-- a grid of its confusions (confusions.png, rows and columns labelled), and,
-- if the main job has saved its model (make mnist), its 256 first-layer
-- units.
-- Usage: lua5.4 examples/weights_as_images.lua [mnist dir [output dir (out)]]
local nn = require "nn"
local mnist = require "nn.mnist"
local image = require "nn.image"

local dir = arg and arg[1] or "data/mnist"
local out = arg and arg[2] or "out"
assert(os.execute(("mkdir -p '%s'"):format(out)), "cannot make " .. out)
nn.seed(1)
local X, labels = mnist.load(dir, "train")
local Xtest, Ytest = mnist.load(dir, "test")

local net = nn.Sequential{
   nn.Linear(784, 16, {init = "xavier"}), nn.Sigmoid(),
   nn.Linear(16, 16, {init = "xavier"}), nn.Sigmoid(),
   nn.Linear(16, 10, {init = "xavier"}), nn.Sigmoid(),
}
local crit = nn.MSELoss{reduction = "sum"}
local opt = nn.SGD(net, {lr = 0.3})
nn.fit(net, crit, opt, X, nn.onehot(labels, 10),
       {epochs = 3, batchSize = 10, accuracy = true})

local function save(name, png)
   print("wrote " .. image.save(out .. "/" .. name, png))
end
save("weights_16.png", image.grid(net[1].weight, 28, 28,
   {columns = 8, symmetric = true, pad = 2, zoom = 4}))

-- the first 64 test digits it gets wrong, each labelled with what it is
-- and what the network read, and one of them up close
local pred, wrong, nwrong = nn.predict(net, Xtest), {}, 0
for i = 1, Xtest:shape() do
   if pred:get(i, 1) ~= Ytest:get(i, 1) then
      nwrong = nwrong + 1
      if #wrong < 64 then wrong[#wrong + 1] = i end
   end
end
print(("%d of %d test digits wrong"):format(nwrong, Xtest:shape()))
local W = nn.Matrix(#wrong, 784):gather(Xtest, wrong, 1, #wrong)
local tiles = {}
for k, i in ipairs(wrong) do
   tiles[k] = ("%s read %s"):format(mnist.classes[Ytest:get(i, 1)], mnist.classes[pred:get(i, 1)])
end
save("wrong.png", image.grid(W, 28, 28, {columns = 8, zoom = 3, lo = 0, hi = 1, labels = tiles,
   title = "Test digits the network gets wrong: \"4 read 9\" is a 4 it took for a 9"}))
-- confusions.png: a 10 x 10 grid whose row is what a digit was and whose
-- column is what the network read (row 5, column 3: a "4" read as a
-- "2"); each cell holds the first such test digit (black if none, as on
-- the diagonal) and how many test digits were read that way.
local C, counts = nn.Matrix(100, 784), {}
for k = 1, 100 do counts[k] = 0 end
for k = 1, Xtest:shape() do
   local t, p = Ytest:get(k, 1), pred:get(k, 1)
   local cell = (t - 1) * 10 + p
   if t ~= p then
      counts[cell] = counts[cell] + 1
      if counts[cell] == 1 then C:row(cell):copy(Xtest:row(k)) end
   end
end
local counted, rows, cols = {}, {}, {}
for k = 1, 100 do counted[k] = counts[k] > 0 and ("%d×"):format(counts[k]) or "" end
for d = 1, 10 do
   rows[d] = "a " .. mnist.classes[d]
   cols[d] = "read " .. mnist.classes[d]
end
save("confusions.png", image.grid(C, 28, 28, {columns = 10, zoom = 2, lo = 0, hi = 1,
   labels = counted, rowlabels = rows, collabels = cols,
   title = "Each confusion's first test digit and count (black: none; the diagonal is read right)"}))
print("confusions.png: row = the true digit 0..9 (top to bottom), column = what it "
   .. "was read as 0..9 (left to right); the diagonal is empty")
-- and wrong.png tile by tile, in its 8-column layout
print("wrong.png, tile by tile: read as / was")
for r = 0, math.ceil(#wrong / 8) - 1 do
   local cells = {}
   for c = 1, 8 do
      local k = wrong[r * 8 + c]
      if k then
         cells[#cells + 1] = ("%s/%s"):format(mnist.classes[pred:get(k, 1)],
            mnist.classes[Ytest:get(k, 1)])
      end
   end
   print("  " .. table.concat(cells, "  "))
end
local i = wrong[1]
print(("test digit %d: a %s, read as %s"):format(i, mnist.classes[Ytest:get(i, 1)],
   mnist.classes[pred:get(i, 1)]))
print(image.ascii(Xtest:row(i), 28, 28))

local ok, main = pcall(nn.load, dir .. "/mnist_mlp.nn")
if ok then
   save("weights_256.png", image.grid(main[1].weight, 28, 28, {symmetric = true, zoom = 2}))
   -- Why some of the 256 units look like noise.  A unit's weights change
   -- only through dL/dW = gy^T x, and gy is 0 on every image where its ReLU
   -- does not fire: a unit that fires rarely gets few updates and keeps
   -- most of its random start.  Measured here: how smooth each unit's
   -- picture is (the correlation of each weight with its right-hand
   -- neighbour: about 0 for noise, 0.35 for a typical unit), against how
   -- often the unit fires on the test digits.
   local W1 = main[1].weight
   local H = nn.ReLU():forward(main[1]:forward(Xtest))
   local nunits = (W1:shape())
   local rates, noisy, rest = {}, {}, {}
   local dead = 0
   for u = 1, nunits do
      local fired = 0
      for k = 1, (H:shape()) do if H:get(k, u) > 0 then fired = fired + 1 end end
      rates[u] = fired / H:shape()
      if fired == 0 then dead = dead + 1 end
      local sxy, sxx, syy = 0, 0, 0
      for r = 0, 27 do
         for c = 1, 27 do
            local x, y = W1:get(u, r * 28 + c), W1:get(u, r * 28 + c + 1)
            sxy, sxx, syy = sxy + x * y, sxx + x * x, syy + y * y
         end
      end
      local list = sxy / math.sqrt(sxx * syy) < 0.06 and noisy or rest
      list[#list + 1] = rates[u]
   end
   local function median(t)
      if #t == 0 then return 0 end
      table.sort(t)
      return t[math.floor((#t + 1) / 2)]
   end
   print(("%d of %d units look like noise (neighbour correlation under 0.06); they fire "
      .. "on a median %.1f%% of test digits, the other units on %.1f%%: rarely firing "
      .. "units get few updates and keep their random start"):format(#noisy, nunits,
      100 * median(noisy), 100 * median(rest)))
   print(("dead units (no test image makes them fire): %d of %d"):format(dead, nunits))
end
