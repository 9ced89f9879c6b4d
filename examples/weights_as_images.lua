-- What the hidden units look for: the lecture's 784-16-16-10 sigmoid
-- network is trained for a few epochs, then each first-layer unit's 784
-- weights are drawn as a 28 x 28 picture (gray 0, white positive, black
-- negative).  As the lecture warns, they are blotches, not neat strokes.
-- Also drawn: test digits the network gets wrong, and, if the main job has
-- saved its model (make mnist), its 256 first-layer units.
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

-- the first 64 test digits it gets wrong, and one of them up close
local pred, wrong, nwrong = nn.predict(net, Xtest), {}, 0
for i = 1, Xtest:shape() do
   if pred:get(i, 1) ~= Ytest:get(i, 1) then
      nwrong = nwrong + 1
      if #wrong < 64 then wrong[#wrong + 1] = i end
   end
end
print(("%d of %d test digits wrong"):format(nwrong, Xtest:shape()))
local W = nn.Matrix(#wrong, 784):gather(Xtest, wrong, 1, #wrong)
save("wrong.png", image.grid(W, 28, 28, {columns = 8, zoom = 2}))
local i = wrong[1]
print(("test digit %d: a %d, read as %d"):format(i, Ytest:get(i, 1) - 1, pred:get(i, 1) - 1))
print(image.ascii(Xtest:row(i), 28, 28))

local ok, main = pcall(nn.load, dir .. "/mnist_mlp.nn")
if ok then
   save("weights_256.png", image.grid(main[1].weight, 28, 28, {symmetric = true, zoom = 2}))
end
