-- nn: what `require "nn"` returns.  The C core (nn.core) provides Matrix,
-- the layers, the losses and the optimizer kernels; the Lua files beside
-- this one provide containers, training helpers and data loaders.
local core = require "nn.core"

local nn = {
   _VERSION = "lua-nn scm",
   Matrix = core.Matrix,
   zeros = core.zeros, ones = core.ones, eye = core.eye,
   rand = core.rand, randn = core.randn,
   matmul = core.Matrix.matmul,
   seed = core.seed, random = core.random, threads = core.threads,
}

-- layers (C userdata of type nn.Module)
for _, name in ipairs{
   "Linear", "Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU",
   "Softplus", "Step", "Sign", "PiecewiseLinear", "Softmax", "LogSoftmax",
   "Dropout",
} do
   nn[name] = core[name]
end

-- losses (C userdata of type nn.Loss)
for _, name in ipairs{
   "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCELoss",
   "BCEWithLogitsLoss",
} do
   nn[name] = core[name]
end

local matrix_mt = getmetatable(core.Matrix(1, 1))

-- nn.isMatrix(x): is x an nn.Matrix?
function nn.isMatrix(x)
   return getmetatable(x) == matrix_mt
end

nn.Sequential = require("nn.Sequential").new
nn.gradcheck = require("nn.gradcheck")(nn)

-- optimizers and learning-rate schedules
for name, new in pairs(require "nn.optim") do nn[name] = new end
nn.schedule = require "nn.schedule"

-- training, evaluation and data helpers
local train = require "nn.train"
nn.batches, nn.fit, nn.evaluate, nn.predict =
   train.batches, train.fit, train.evaluate, train.predict
nn.ConfusionMatrix = require("nn.ConfusionMatrix").new
nn.onehot, nn.clock = core.onehot, core.clock

-- model files
local serialize = require "nn.serialize"
nn.save, nn.load = serialize.save, serialize.load
nn.serialize, nn.deserialize = serialize.serialize, serialize.deserialize

return nn
