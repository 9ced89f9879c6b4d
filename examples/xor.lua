-- XOR with a 2-2-1 sigmoid network, MSE loss and plain gradient descent:
-- W = W - lr * dL/dW, written out by hand.
local nn = require "nn"

nn.seed(1)
local X = nn.Matrix{{0, 0}, {0, 1}, {1, 0}, {1, 1}}
local Y = nn.Matrix{{0}, {1}, {1}, {0}}
local net = nn.Sequential{nn.Linear(2, 2, {init = "uniform"}), nn.Sigmoid(),
                          nn.Linear(2, 1, {init = "uniform"}), nn.Sigmoid()}
local crit = nn.MSELoss()
local params, grads = net:parameters()
local lr, loss = 2.0, nil

for epoch = 1, 5000 do
   net:zeroGrad()
   local out = net:forward(X)
   loss = crit:forward(out, Y)
   net:backward(X, crit:backward(out, Y))
   for i = 1, #params do params[i]:add(grads[i], -lr) end
   if epoch % 1000 == 0 then print(("epoch %4d  loss %.5f"):format(epoch, loss)) end
end

local out, ok = net:forward(X), true
for i = 1, 4 do
   local a, b, y = X:get(i, 1), X:get(i, 2), out:get(i, 1)
   print(("%d xor %d -> %.3f"):format(a, b, y))
   ok = ok and (y > 0.5) == (Y:get(i, 1) == 1)
end
print(ok and "converged: all four cases right" or "did not converge")
os.exit(ok and 0 or 1)
