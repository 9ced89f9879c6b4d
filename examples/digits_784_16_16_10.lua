-- The lecture's digit network: 784 inputs, two hidden layers of 16
-- sigmoid units, 10 sigmoid outputs (13,002 weights and biases).  The cost
-- of one image is the sum of squared differences between the outputs and
-- the one-hot label, averaged over each mini-batch; plain mini-batch SGD
-- follows the negative gradient.  Usage: lua5.4 examples/digits_784_16_16_10.lua [dir]
local nn = require "nn"
local mnist = require "nn.mnist"

local dir = arg and arg[1] or "data/mnist"
nn.seed(1)
local X, labels = mnist.load(dir, "train")
local Xtest, Ytest = mnist.load(dir, "test")
local Y = nn.onehot(labels, 10)                 -- 60000 x 10 targets

local net = nn.Sequential{
   nn.Linear(784, 16, {init = "xavier"}), nn.Sigmoid(),
   nn.Linear(16, 16, {init = "xavier"}), nn.Sigmoid(),
   nn.Linear(16, 10, {init = "xavier"}), nn.Sigmoid(),
}
print(net)

local batch = 10
local crit = nn.MSELoss{reduction = "sum"}      -- sum over the batch ...
local opt = nn.SGD(net, {lr = 3.0 / batch})     -- ... so divide the rate by it
local history = nn.fit(net, crit, opt, X, Y, {epochs = 10, batchSize = batch, accuracy = true})
print(require("nn.plot").lines({cost = history.loss}, {height = 8, width = 40}))

local _, acc = nn.evaluate(net, crit, Xtest, nn.onehot(Ytest, 10), {accuracy = true})
print(("test accuracy %.2f%%"):format(100 * acc))
