-- Writes the fuzzer's seed corpus: real model files, into the directory
-- given as the first argument.
local nn = require "nn"
local dir = assert(arg[1], "usage: lua5.4 fuzz/seeds.lua DIR")

nn.seed(1)
local nets = {
   mlp = nn.Sequential{nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)},
   every = nn.Sequential{
      nn.Linear(4, 4), nn.Sigmoid(), nn.Tanh(), nn.LeakyReLU(0.1), nn.ELU(0.5),
      nn.Softplus(2), nn.Identity(), nn.Step(), nn.Sign(), nn.PiecewiseLinear(),
      nn.Dropout(0.2), nn.Softmax(), nn.Linear(4, 3, {bias = false}), nn.LogSoftmax(),
   },
   nested = nn.Sequential{nn.Sequential{nn.Linear(3, 2)}, nn.Sequential{nn.ReLU()}},
   image = nn.Sequential{
      nn.Conv2d(1, 2, 3, {input = {1, 5, 5}}), nn.BatchNorm2d(2), nn.GELU(), nn.MaxPool2d(2),
      nn.Residual(nn.Conv2d(2, 2, 1)), nn.Concat{nn.AvgPool2d(1), nn.Identity()},
      nn.Linear(4, 3), nn.BatchNorm1d(3),
   },
   single = nn.Linear(2, 2),
}
-- 13 containers deep: a container is two value levels (a map and its list
-- of modules), so this is as deep as the format's limit of 32 allows
local deep = nn.Linear(2, 2)
for _ = 1, 13 do deep = nn.Sequential{deep} end
nets.deep = deep
for name, net in pairs(nets) do
   nn.save(net, ("%s/%s.nn"):format(dir, name))
end
local opt = nn.Adam(nets.mlp, {amsgrad = true})
local x = nn.randn(2, 6)
nets.mlp:forward(x)
nets.mlp:backward(x, nn.ones(2, 3))
opt:step()
nn.save(nets.mlp, dir .. "/with_optimizer.nn", {optimizer = opt})

-- the weight readers see the same inputs: seeds of theirs too
local f = assert(io.open(dir .. "/weights.npy", "wb"))
f:write(nn.npy.encode(nn.randn(3, 4)))
f:close()
f = assert(io.open(dir .. "/weights.safetensors", "wb"))
f:write(nn.safetensors.encode(nets.image:stateDict(), {metadata = {format = "pt"}}))
f:close()
