-- A small CNN with batch normalization on Fashion-MNIST (Debian's
-- dataset-fashion-mnist: the same IDX layout, gzipped): ten kinds of
-- clothing, harder than digits.  Prints the time and the test accuracy,
-- and draws the first layer's filters and the feature maps of one test
-- image as PNGs.
-- Usage: lua5.4 examples/fashion_cnn.lua [fashion dir [output dir (out)] [epochs [training images (55000)]]]
local nn = require "nn"
local mnist = require "nn.mnist"
local image = require "nn.image"

local dir = arg and arg[1] or "/usr/share/datasets/fashion-mnist"
local out = arg and arg[2] or "out"
local epochs = tonumber(arg and arg[3]) or 10
assert(os.execute(("mkdir -p '%s'"):format(out)), "cannot make " .. out)
nn.seed(1)
-- the first 55000 training images (or as many as the 4th argument says),
-- the last 5000 for validation
local train, validation, test = mnist.split(dir, {train = tonumber(arg and arg[4])})

local net = nn.Sequential{
   nn.Conv2d(1, 16, 5, {padding = 2, input = {1, 28, 28}}), nn.BatchNorm2d(16), nn.ReLU(),
   nn.MaxPool2d(2),                                       -- 16 x 14 x 14
   nn.Conv2d(16, 32, 5, {padding = 2}), nn.BatchNorm2d(32), nn.ReLU(),
   nn.MaxPool2d(2),                                       -- 32 x 7 x 7
   nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3),
   nn.Linear(128, 10),
}
print(net)

local crit = nn.CrossEntropyLoss()
local opt = nn.Adam(net, {lr = 2e-3})
local schedule = nn.schedule.cosine(opt, epochs)
local start = nn.clock()
nn.fit(net, crit, opt, train.X, train.Y, {
   epochs = epochs, batchSize = 64,
   validation = validation,
   onEpoch = function(epoch) schedule(epoch) end,
})
local trained = nn.clock() - start

local loss, acc = nn.evaluate(net, crit, test.X, test.Y)
local cm = nn.ConfusionMatrix(10, mnist.fashionClasses)
cm:add(nn.predict(net, test.X), test.Y)
print(cm)
print(("trained in %.1f s (%d epochs, %d threads)"):format(trained, epochs, nn.threads()))
print(("test loss %.4f, test accuracy %.2f%%"):format(loss, 100 * acc))

local function save(name, png)
   print("wrote " .. image.save(out .. "/" .. name, png))
end
save("fashion_filters.png", image.grid(net[1].weight, 5, 5,
   {columns = 8, symmetric = true, pad = 1, zoom = 8}))
net:evaluate()
net:forward(test.X:narrow(1, 1))
save("fashion_input.png", image.grid(test.X:narrow(1, 1), 28, 28, {zoom = 4}))
save("fashion_maps1.png", image.grid(net[3].output:reshape(16, 28 * 28), 28, 28,
   {columns = 8, pad = 2, zoom = 2}))
save("fashion_maps2.png", image.grid(net[7].output:reshape(32, 14 * 14), 14, 14,
   {columns = 8, pad = 2, zoom = 3}))
