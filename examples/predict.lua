-- Loads the model examples/mnist_mlp.lua saved, draws a few test digits
-- with what it reads in them, and measures it on the whole test set.
-- Usage: lua5.4 examples/predict.lua [data/mnist]
local nn = require "nn"
local mnist = require "nn.mnist"

local dir = arg and arg[1] or "data/mnist"
local net = nn.load(dir .. "/mnist_mlp.nn")
net:evaluate()
local X, Y = mnist.load(dir, "test")
local P = nn.predict(net, X)

local shades = {" ", ".", ":", "o", "@"}
for _, i in ipairs{1, 2, 3} do
   local img = X:row(i)
   for r = 0, 27, 2 do                     -- every other row keeps it square
      local line = {}
      for c = 1, 28 do line[c] = shades[math.floor(img:get(r * 28 + c) * 4.99) + 1] end
      print(table.concat(line))
   end
   print(("test image %d: the model reads %d, the label is %d\n")
      :format(i, P:get(i) - 1, Y:get(i) - 1))
end

local cm = nn.ConfusionMatrix(10)
cm:add(P, Y)
print(("test accuracy of the loaded model: %.2f%%"):format(100 * cm:accuracy()))
