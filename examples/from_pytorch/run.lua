-- Runs the MLP that train.py trained in PyTorch: loads its state dict
-- from safetensors into the lua-nn network of the same layers, reports the
-- test accuracy, and compares every prediction with PyTorch's (which
-- train.py saved as .npy).
-- Usage: lua5.4 examples/from_pytorch/run.lua [mnist dir [dir of train.py's output (out)]]
local nn = require "nn"
local mnist = require "nn.mnist"

local dir = arg and arg[1] or "data/mnist"
local out = arg and arg[2] or "out"

-- torch.nn.Sequential(Linear(784, 128), ReLU(), Linear(128, 64), ReLU(),
-- Linear(64, 10)): the same layers give the same keys, "0.weight", ...
local net = nn.Sequential{
   nn.Linear(784, 128), nn.ReLU(),
   nn.Linear(128, 64), nn.ReLU(),
   nn.Linear(64, 10),
}
local tensors, info = nn.safetensors.load(out .. "/mlp.safetensors")
for _, key in ipairs{"0.weight", "0.bias"} do
   print(("%s: %s %s"):format(key, info[key].dtype, table.concat(info[key].shape, " x ")))
end
net:loadStateDict(tensors)
net:evaluate()

local Xtest, Ytest = mnist.load(dir, "test")
local pred = nn.predict(net, Xtest)                     -- classes 1..10
local torch = nn.npy.load(out .. "/torch_pred.npy")     -- 1 x 10000, 0-based
local right, same = 0, 0
for i = 1, Xtest:shape() do
   local p = pred:get(i, 1)
   if p == Ytest:get(i, 1) then right = right + 1 end
   if p == torch:get(1, i) + 1 then same = same + 1 end
end
print(("lua-nn test accuracy %.2f%%"):format(100 * right / Xtest:shape()))
print(("predictions equal to PyTorch's: %d of %d"):format(same, Xtest:shape()))
