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

-- Hostile inputs of issue #21, as seeds (the corpus spec runs them too):
-- shapes whose products wrap, a JSON header with DEL in a name, a model
-- file holding 2^53 + 1, and models with a registered Lua layer.
local compat = require "nn.compat"
local core = require "nn.core"
local function write(name, s)
   local h = assert(io.open(dir .. "/" .. name, "wb"))
   h:write(s)
   h:close()
end
local function safetensors(name, shape, nbytes)
   local h = ('{"%s":{"dtype":"F32","shape":[%s],"data_offsets":[0,%d]}}'):format(name, shape, nbytes)
   return compat.strpack("<I8", #h) .. h .. ("\0"):rep(nbytes)
end
local function npy(shape, nbytes)
   local d = ("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }"):format(shape)
   return "\147NUMPY\1\0" .. compat.strpack("<I2", #d) .. d .. ("\0"):rep(nbytes)
end
write("wrap3.safetensors", safetensors("t", "1,3,6148914691236517206", 8))
write("wrap2.safetensors", safetensors("t", "2,4611686018427387904", 0))
write("huge.safetensors", safetensors("t", "99999999999999999999999", 4))
write("del.safetensors", safetensors("a\127b", "1", 4))
write("wrap.npy", npy("(3, 6148914691236517206)", 8))
write("huge.npy", npy("(99999999999999999999999,)", 8))
write("del.json", '{"a\127": [1, -2.5e-1, "\\ud83d\\ude00", true, null]}')

-- a registered Lua layer, alone and in a network
local FuzzScale = dofile((arg[0]:gsub("seeds%.lua$", "layer.lua")))(nn)
nn.save(nn.Sequential{nn.Linear(3, 4), FuzzScale(4, {note = "x"})}, dir .. "/registered.nn")
nn.save(FuzzScale(2), dir .. "/registered_single.nn")

-- 2^53 + 1 in the registered layer's options: the integer's 8 bytes
-- written over a placeholder's, and the checksum made right
local s = nn.serialize(FuzzScale(2, {big = 123456789}))
local at = assert(s:find("\3" .. compat.strpack("<i8", 123456789), 25, true))
s = s:sub(1, at) .. "\1\0\0\0\0\0\32\0" .. s:sub(at + 9)
write("int2p53.nn", s:sub(1, 12) .. compat.strpack("<I4", core.crc32(s, 25)) .. s:sub(17))
