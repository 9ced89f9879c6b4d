-- Loads the model examples/mnist_mlp.lua saved, draws a few test digits
-- with what it reads in them, and measures it on the whole test set.
-- Usage: lua5.4 examples/predict.lua [data/mnist]
local nn = require "nn"
local mnist = require "nn.mnist"
local image = require "nn.image"

local dir = arg and arg[1] or "data/mnist"
local net = nn.load(dir .. "/mnist_mlp.nn")
net:evaluate()
local X, Y = mnist.load(dir, "test")
local P = nn.predict(net, X)

for _, i in ipairs{1, 2, 3} do
   print(image.ascii(X:row(i), 28, 28, {lo = 0, hi = 1}))
   -- classes are 1..10; mnist.classes names them: class 8 is the digit "7"
   print(("test image %d: the model reads a %s, the label is %s\n")
      :format(i, mnist.classes[P:get(i)], mnist.classes[Y:get(i)]))
end

local cm = nn.ConfusionMatrix(10, mnist.classes)
cm:add(P, Y)
print(("test accuracy of the loaded model: %.2f%%"):format(100 * cm:accuracy()))
