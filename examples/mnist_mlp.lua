-- The main job: a 784-256-128-10 ReLU network trained on MNIST with
-- cross-entropy and SGD with Nesterov momentum, then its test accuracy and
-- confusion matrix; saves the model and writes an HTML training report
-- (nn.report).  Usage: lua5.4 examples/mnist_mlp.lua [data/mnist]
local nn = require "nn"
local mnist = require "nn.mnist"

local dir = arg and arg[1] or "data/mnist"
nn.seed(1)
-- 55000 training images; the last 5000 watch over training; the test set
-- is used once, at the end
local train, validation, test = mnist.split(dir)

local net = nn.Sequential{
   nn.Linear(784, 256), nn.ReLU(),
   nn.Linear(256, 128), nn.ReLU(),
   nn.Linear(128, 10),
}
print(net)

local epochs = 12
local crit = nn.CrossEntropyLoss()
local opt = nn.SGD(net, {lr = 0.05, momentum = 0.9, nesterov = true, weightDecay = 1e-4})
local schedule = nn.schedule.cosine(opt, epochs)
local start = nn.clock()
local history = nn.fit(net, crit, opt, train.X, train.Y, {
   epochs = epochs, batchSize = 64,
   validation = validation,
   onEpoch = function(epoch) schedule(epoch) end,
})

local loss, acc = nn.evaluate(net, crit, test.X, test.Y)
local cm = nn.ConfusionMatrix(10, mnist.classes)      -- rows and columns read as digits
cm:add(nn.predict(net, test.X), test.Y)
print(cm)
print(("trained in %.1f s"):format(nn.clock() - start))
print(("test loss %.4f, test accuracy %.2f%%"):format(loss, 100 * acc))
nn.save(net, dir .. "/mnist_mlp.nn")           -- examples/predict.lua loads it
print("saved the model to " .. dir .. "/mnist_mlp.nn")
nn.report(dir .. "/report.html", {title = "MNIST: the 784-256-128-10 MLP (make mnist)",
   history = history, net = net, confusion = cm, samples = {X = test.X, Y = test.Y}})
print("wrote the training report to " .. dir .. "/report.html")
