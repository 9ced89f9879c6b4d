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
   blas = core.blas,
}

-- layers (C userdata of type nn.Module): every kind nn.core registers;
-- nn.register adds layers written in Lua, so that models holding them save
local layers = require "nn.layers"
for _, k in ipairs(layers.builtin()) do nn[k.name] = core[k.name] end
nn.register = layers.register

-- losses (C userdata of type nn.Loss): every kind nn.core registers
for _, k in ipairs(core.losses()) do nn[k.name] = core[k.name] end

-- nn.isMatrix(x): is x an nn.Matrix?  (The one test every module uses.)
nn.isMatrix = require("nn.util").isMatrix

nn.Sequential = require("nn.Sequential").new
nn.Residual = require("nn.Residual").new
nn.Concat = require("nn.Concat").new
nn.gradcheck = require("nn.gradcheck")(nn)

-- optimizers and learning-rate schedules
for name, new in pairs(require "nn.optim") do nn[name] = new end
nn.schedule = require "nn.schedule"
-- gradient clipping, between backward and the step (torch.nn.utils')
local clip = require "nn.clip"
nn.clipGradNorm, nn.clipGradValue = clip.clipGradNorm, clip.clipGradValue

-- training, evaluation and data helpers
local train = require "nn.train"
nn.batches, nn.fit, nn.evaluate, nn.predict =
   train.batches, train.fit, train.evaluate, train.predict
nn.ConfusionMatrix = require("nn.ConfusionMatrix").new
nn.clock = core.clock

-- nn.onehot(labels, C) -> n x C with a 1 at each row's class; labels an
-- n x 1 Matrix or a Lua array of classes 1..C
function nn.onehot(labels, C)
   if type(labels) == "table" then
      for i = 1, #labels do
         if type(labels[i]) ~= "number" then
            error(("nn.onehot: label %d is %s, expected a class number"):format(i,
               type(labels[i])), 2)
         end
      end
      if #labels == 0 then error("nn.onehot: the label list is empty", 2) end
      labels = core.Matrix(#labels, 1, labels)
   end
   return core.onehot(labels, C)
end

-- model files
local serialize = require "nn.serialize"
nn.save, nn.load = serialize.save, serialize.load
nn.serialize, nn.deserialize = serialize.serialize, serialize.deserialize

-- weights to and from NumPy and PyTorch: .npy, safetensors, state dicts
nn.npy = require "nn.npy"
nn.safetensors = require "nn.safetensors"
local statedict = require "nn.statedict"
nn.stateDict, nn.loadStateDict = statedict.stateDict, statedict.loadStateDict

-- nn.export(net [, path]): the network's forward as one self-contained
-- Lua file, for where no C can go
nn.export = require("nn.export").export

-- nn.report(path, parts): a training run as one HTML file (nn.report
-- loads charts and pictures, which load nn: so on first use)
function nn.report(path, parts)
   return require("nn.report").report(path, parts)
end

-- nn.help(): every public function and class, for the REPL
nn.help = require("nn.help").help

return nn
