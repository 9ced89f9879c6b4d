-- mnist.split: the training, validation and test sets the examples share
-- (examples/mnist_mlp.lua, mnist_cnn.lua, fashion_cnn.lua).
local nn = require "nn"
local mnist = require "nn.mnist"
local H = require "helpers"

describe("mnist.split", function()
   local test = H.have_mnist() and it or pending
   test("gives the first 55000 training images, the last 5000 and the test set", function()
      local X, Y = mnist.load("data/mnist", "train")
      local train, val, tst = mnist.split("data/mnist")
      assert.are.same({55000, 784}, {train.X:shape()})
      assert.are.same({5000, 1}, {val.Y:shape()})
      assert.are.same({10000, 784}, {tst[1]:shape()})
      assert.are.equal(train.X, train[1])
      assert.are.equal(val.Y, val[2])
      assert.is_true(train.X:isview() and val.X:isview())
      assert.is_true(val.X:equal(X:narrow(55001, 5000)))
      assert.is_true(val.Y:equal(Y:narrow(55001, 5000)))
      assert.is_true(train.Y:equal(Y:narrow(1, 55000)))
      -- fewer training images, another validation size
      local small, v2 = mnist.split("data/mnist", {train = 1000, validation = 100})
      assert.are.same({1000, 784}, {small.X:shape()})
      assert.is_true(v2.X:equal(X:narrow(59901, 100)))
      -- a set is what nn.fit's validation option takes
      local net = nn.Sequential{nn.Linear(784, 10)}
      local h = nn.fit(net, nn.CrossEntropyLoss(), nn.SGD(net, {lr = 0.1}), small.X, small.Y,
         {validation = v2, progress = false})
      assert.are.equal(1, #h.valLoss)
      local function err(...)
         local ok, e = pcall(mnist.split, ...)
         assert.is_false(ok)
         return e
      end
      H.has(err("data/mnist", {train = 56000}),
         "mnist.split: train must be a whole number from 1 to 55000 (60000 images, 5000 held out")
      H.has(err("data/mnist", {validation = 60000}), "validation must be a whole number from 1 to 59999")
      H.has(err("data/mnist", {valid = 10}), "unknown option 'valid' (expected train, validation)")
      H.has(err("/nonexistent"), "mnist.load: ")
   end)
end)
