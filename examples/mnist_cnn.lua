-- A LeNet-style convolutional network on MNIST (make cnn): two 5 x 5
-- convolutions with ReLU and 2 x 2 max pooling, then two dense layers;
-- Adam with a cosine schedule.  Prints the training time and the test
-- accuracy, saves the model, and draws the first layer's filters and the
-- feature maps of one test digit as PNGs.
-- Usage: lua5.4 examples/mnist_cnn.lua [mnist dir [output dir (out)] [epochs [training images (55000)]]]
local nn = require "nn"
local mnist = require "nn.mnist"
local image = require "nn.image"

local dir = arg and arg[1] or "data/mnist"
local out = arg and arg[2] or "out"
local epochs = tonumber(arg and arg[3]) or 9
assert(os.execute(("mkdir -p '%s'"):format(out)), "cannot make " .. out)
nn.seed(1)
-- the first 55000 training images (or as many as the 4th argument says),
-- the last 5000 for validation
local train, validation, test = mnist.split(dir, {train = tonumber(arg and arg[4])})

-- one image per row, 1 x 28 x 28 in (C, H, W) order; the layers after
-- the first learn their input's shape from the layer before
local net = nn.Sequential{
   nn.Conv2d(1, 16, 5, {padding = 2, input = {1, 28, 28}}), nn.ReLU(),
   nn.MaxPool2d(2),                                       -- 16 x 14 x 14
   nn.Conv2d(16, 32, 5, {padding = 2}), nn.ReLU(),
   nn.MaxPool2d(2),                                       -- 32 x 7 x 7
   nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25),
   nn.Linear(128, 10),
}
print(net)

local crit = nn.CrossEntropyLoss()
local opt = nn.Adam(net, {lr = 1e-3})
local schedule = nn.schedule.cosine(opt, epochs)
local start = nn.clock()
nn.fit(net, crit, opt, train.X, train.Y, {
   epochs = epochs, batchSize = 64,
   validation = validation,
   onEpoch = function(epoch) schedule(epoch) end,
})
local trained = nn.clock() - start

local loss, acc = nn.evaluate(net, crit, test.X, test.Y)
print(("trained in %.1f s (%d epochs, %d threads)"):format(trained, epochs, nn.threads()))
print(("test loss %.4f, test accuracy %.2f%%"):format(loss, 100 * acc))
nn.save(net, dir .. "/mnist_cnn.nn")
print("saved the model to " .. dir .. "/mnist_cnn.nn")

-- the 16 first-layer filters (5 x 5 each), and what the two convolutions
-- make of the first test digit: its 16 and 32 feature maps after ReLU
local function save(name, png)
   print("wrote " .. image.save(out .. "/" .. name, png))
end
save("cnn_filters.png", image.grid(net[1].weight, 5, 5,
   {columns = 8, symmetric = true, pad = 1, zoom = 8}))
net:evaluate()
net:forward(test.X:narrow(1, 1))
save("cnn_maps1.png", image.grid(net[2].output:reshape(16, 28 * 28), 28, 28,
   {columns = 8, pad = 2, zoom = 2}))
save("cnn_maps2.png", image.grid(net[5].output:reshape(32, 14 * 14), 14, 14,
   {columns = 8, pad = 2, zoom = 3}))
