-- nn: what `require "nn"` returns.  The C core (nn.core) provides Matrix,
-- the layers, losses and optimizer kernels; the Lua files beside this one
-- provide containers, training helpers and data loaders.
local core = require "nn.core"

local nn = {
   _VERSION = "lua-nn scm",
   Matrix = core.Matrix,
   zeros = core.zeros, ones = core.ones, eye = core.eye,
   rand = core.rand, randn = core.randn,
   matmul = core.Matrix.matmul,
   seed = core.seed, random = core.random, threads = core.threads,
}

-- nn.isMatrix(x): is x an nn.Matrix?
function nn.isMatrix(x)
   return getmetatable(x) == getmetatable(core.Matrix(1, 1))
end

return nn
