-- The lecture's softmax classifier with L2 regularization, by hand in
-- matrix algebra and then by the library, on MNIST: scores S = X W + b,
-- P = softmax(S) (stable: the row max is subtracted), loss = cross-entropy
-- + lambda sum(W^2), gradient dL/dW = X^T (P - Y) / m + 2 lambda W.
-- Usage: lua5.4 examples/softmax_regression.lua [mnist dir]
local nn = require "nn"
local mnist = require "nn.mnist"

local dir = arg and arg[1] or "data/mnist"
local X, labels = mnist.load(dir, "train")
local Xt, Yt = mnist.load(dir, "test")
local Y = nn.onehot(labels, 10)
local lambda, lr, m, epochs = 1e-4, 0.5, 100, 3

-- by hand: W is 784 x 10 as in the notes (x is a row: s = x W)
local W, b, softmax = nn.Matrix(784, 10), nn.Matrix(1, 10), nn.Softmax()
for _ = 1, epochs do
   for xb, yb in nn.batches(X, Y, m) do
      local G = softmax:forward(xb * W + b) - yb              -- P - Y
      W:add(nn.matmul(xb, G, true, false) / m + W * (2 * lambda), -lr)
      b:add(G:sum(1), -lr / m)
   end
end

-- the library: Linear keeps W^T (10 x 784); weight decay 2 lambda is the
-- L2 term's gradient, on the weights only, so they get their own SGD
local lin = nn.Linear(784, 10, {init = "zeros"})
local crit = nn.CrossEntropyLoss()
local optW = nn.SGD({lin.weight}, {lin.gradWeight}, {lr = lr, weightDecay = 2 * lambda})
local optB = nn.SGD({lin.bias}, {lin.gradBias}, {lr = lr})
for _ = 1, epochs do
   for xb, yb in nn.batches(X, labels, m) do
      lin:zeroGrad()
      lin:backward(xb, crit:backward(lin:forward(xb), yb))
      optW:step()
      optB:step()
   end
end

local diff = (W:t() - lin.weight):norm() / W:norm()
print(("by hand and by the library, W differs by %.2g (relative)"):format(diff))
local _, acc1 = nn.evaluate({forward = function(_, x) return x * W + b end},
                            crit, Xt, Yt)
local _, acc2 = nn.evaluate(lin, crit, Xt, Yt)
print(("test accuracy: by hand %.2f%%, by the library %.2f%%"):format(100 * acc1, 100 * acc2))
