-- The Linux side of the Windows check: runs cases.lua's operations with
-- the Linux core and writes what Windows must reproduce into dir:
--   fixture.lua   inputs and results (fixture.lua's format)
--   linux.nn      a model file with its Adam state (cases.network)
--   mnist/        a tiny MNIST in IDX files, some gzipped, with every byte
--                 value among the pixels (CR, LF and ^Z included)
-- record(nn, dir) -> the number of results recorded.  Linux only: it
-- calls gzip.
local cases = require "windows.cases"
local fixture = require "windows.fixture"
local image = require "nn.image"
local mnist = require "nn.mnist"
local unpack = table.unpack or unpack

-- an error message without the position Lua puts first
local function message(f, ...)
   local ok, err = pcall(f, ...)
   if ok then error("expected an error, got none", 2) end
   return (tostring(err):gsub("^[^\n]-:%d+: ", ""))
end

local function clones(list)
   local out = {}
   for i, m in ipairs(list) do out[i] = m:clone() end
   return out
end

-- a layer's input: normal values, and the points where layers change
-- behaviour (0, -0, the PiecewiseLinear corners, big enough to saturate)
local function layerinput(nn, rows, cols)
   local x = nn.randn(rows, cols, 2)
   local special = {0, -0.0, 0.5, -0.5, 30, -30, 1e-3}
   for k, v in ipairs(special) do
      local i, j = (k - 1) % rows + 1, (k - 1) * 3 % cols + 1
      if j <= cols then x:set(i, j, v) end
   end
   return x
end

local function writebytes(path, s)
   local f = assert(io.open(path, "wb"))
   f:write(s)
   f:close()
end

local function be32(n)
   return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
                      math.floor(n / 256) % 256, n % 256)
end

-- a 9-image 5 x 6 IDX pair per split: pixels k % 256 for k = 0..269 (every
-- byte value), labels 0..8; train's images and test's labels gzipped
local function tinymnist(dir)
   assert(os.execute("mkdir -p '" .. dir .. "'"))
   local px = {}
   for k = 0, 269 do px[#px + 1] = string.char(k % 256) end
   local images = be32(0x803) .. be32(9) .. be32(5) .. be32(6) .. table.concat(px)
   local labels = "\0\1\2\3\4\5\6\7\8"
   for split, files in pairs(mnist.files) do
      writebytes(dir .. "/" .. files[1], images)
      writebytes(dir .. "/" .. files[2], be32(0x801) .. be32(9) ..
         (split == "train" and labels or labels:reverse()))
      local gz = dir .. "/" .. files[split == "train" and 1 or 2]
      assert(os.execute("gzip -n -f '" .. gz .. "'"))
   end
end

return function(nn, dir)
   local isMatrix = nn.isMatrix
   local R = {recorder = jit and jit.version or _VERSION}
   local count = 0
   local function keep(v)
      count = count + 1
      return v
   end

   -- inputs, each from its own seed
   local I = {}
   R.inputs = I
   for k, c in ipairs(cases.inputs) do
      nn.seed(1000 + k)
      I[c[1]] = c[2](nn)
   end

   R.random = {}
   for k, c in ipairs(cases.random) do R.random[k] = keep(c[2](nn)) end
   R.matrix = {}
   for k, c in ipairs(cases.matrix) do R.matrix[k] = keep(c[2](nn, I)) end
   R.errors = {}
   for k, c in ipairs(cases.errors) do R.errors[k] = keep(message(c[2], nn, I)) end

   -- every built-in layer kind has a case
   local covered = {}
   for _, c in ipairs(cases.layers) do covered[c[1]] = true end
   for _, k in ipairs(require("nn.layers").builtin()) do
      if not covered[k.name] then
         error("spec/windows/cases.lua: no case for the layer nn." .. k.name
            .. ": add one to cases.layers", 0)
      end
   end
   R.layers = {}
   for k, c in ipairs(cases.layers) do
      local m = cases.makelayer(nn, c, 100 + k)
      local rec = {params0 = keep(clones((m:parameters())))}
      nn.seed(300 + k)
      rec.x = c[5] and c[5].ids and nn.rand(c[3], c[4], 1, c[5].ids + 1):apply(math.floor)
         or layerinput(nn, c[3], c[4])
      if c[5] and c[5].stats then
         local F = select(2, m.runningMean:shape())
         rec.stats = {nn.randn(1, F, 0.5), nn.rand(1, F, 0.5, 2)}
         m.runningMean, m.runningVar = rec.stats[1], rec.stats[2]
      end
      nn.seed(200 + k)
      rec.y = keep(m:forward(rec.x):clone())
      rec.gy = nn.randn(rec.y:shape())
      m:zeroGrad()
      rec.gx = keep(m:backward(rec.x, rec.gy):clone())
      rec.grads = keep(clones(select(2, m:parameters())))
      if c[1]:find("^BatchNorm") then
         rec.running = keep({m.runningMean:clone(), m.runningVar:clone()})
      end
      R.layers[k] = rec
   end

   R.losses = {}
   for k, c in ipairs(cases.losses) do
      local x, t = I[c[2]], type(c[3]) == "string" and I[c[3]] or c[3]
      local rec = {}
      for _, red in ipairs({"mean", "sum"}) do
         local crit = cases.makeloss(nn, c, red)
         rec[red] = keep({crit:forward(x, t), crit:backward(x, t):clone()})
      end
      R.losses[k] = rec
   end

   R.optim = {}
   for k, c in ipairs(cases.optim) do R.optim[k] = keep(cases.optimize(nn, c, I)) end

   -- the model file
   local net = cases.network(nn)
   local opt = nn.Adam(net, {lr = 0.01, weightDecay = 1e-4})
   local X, Y = cases.networkdata(nn)
   cases.trainstep(nn, net, opt, X, Y)
   cases.trainstep(nn, net, opt, X, Y)
   local path = dir .. "/linux.nn"
   assert(nn.save(net, path, {optimizer = opt}))
   local f = assert(io.open(path, "rb"))
   R.model = {bytes = f:read("*a")}
   f:close()
   R.model.out = keep(net:forward(X):clone())
   R.model.loss = keep(cases.trainstep(nn, net, opt, X, Y))
   R.model.stepped = keep(net:forward(X):clone())

   -- where run.lua writes
   assert(os.execute("mkdir -p '" .. dir .. "/out/sub'"))

   -- MNIST files, plain and gzipped
   tinymnist(dir .. "/mnist")
   local Xm, Ym = mnist.load(dir .. "/mnist", "train")
   local Xt, Yt = mnist.load(dir .. "/mnist", "test")
   R.mnist = keep({Xm, Ym, Xt, Yt})

   -- a PNG's bytes
   R.png = keep(image.png(I.A, {zoom = 2}))

   local out = assert(io.open(dir .. "/fixture.lua", "wb"))
   out:write("-- written by spec/windows/record.lua on ", R.recorder, "\n",
             "return function(M, H)\nreturn ", fixture.encode(R, isMatrix), "\nend\n")
   out:close()
   return count
end
