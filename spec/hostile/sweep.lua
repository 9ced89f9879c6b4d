-- The hostile-input sweep: every public function and method called with
-- wrong types, nil, NaN, infinities, zero, negative and huge sizes,
-- mismatched shapes, views of collected parents, out-of-range indices and
-- labels, tables whose metamethods call the function under test again (and
-- collect garbage) while it reads them, files that are not regular (a
-- FIFO, a directory, FIFOs under MNIST's names) and deep nesting.  Each
-- call must return or raise a Lua error with a message; a crash kills this
-- process, and a hang the spec's timeout, which the spec that runs it
-- reports.
-- Prints "sweep: N calls, E errors" at the end.
local nn = require "nn"
local core = require "nn.core"
local mnist = require "nn.mnist"
local progress = require "nn.progress"
local image = require "nn.image"
local plot = require "nn.plot"

nn.seed(1)
nn.threads(1)
local NIL, REENTER = {}, {}

-- loaders must refuse these without blocking (an open FIFO blocks)
assert(os.execute("mkfifo fifo && mkdir -p fifos && cd fifos && mkfifo "
   .. "train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte "
   .. "t10k-labels-idx1-ubyte"))

local function nested(depth)
   local m = nn.ReLU()
   for _ = 1, depth do m = nn.Sequential{m} end
   return m
end

local function freed_view()
   local v = nn.Matrix(3, 4):row(2)
   collectgarbage()
   collectgarbage()
   return v
end

local function pool()
   local net = nn.Sequential{nn.Linear(4, 3), nn.ReLU()}
   local lin = nn.Linear(4, 3)
   local ps, gs = lin:parameters()
   return {
      NIL, true, false, "", "/nonexistent-dir/x", {}, {1, 2, 3}, {{1, 2}, {3}},
      {0 / 0}, function() end, coroutine.create(function() end), io.stdout,
      0, -1, 1, 3, 4, 1.5, 0 / 0, math.huge, -math.huge, 2 ^ 31, 2 ^ 53, 1e308,
      math.maxinteger or 2^63, math.mininteger or -2^63, 2147483648, -2147483648,
      nn.Matrix(3, 4), nn.Matrix(1, 4), nn.Matrix(4, 1), nn.Matrix(1, 1),
      nn.Matrix(3, 3, 0 / 0), nn.Matrix(3, 1, 11), freed_view(),
      nn.Matrix(4, 4):narrow(2, 2), nn.ReLU(), lin, nn.Dropout(0.5),
      nn.LogSoftmax(), nn.MSELoss(), nn.CrossEntropyLoss(), net,
      nn.SGD(ps, gs, {lr = 0.1, momentum = 0.9}), nn.ConfusionMatrix(3),
      "fifo", "fifos", ".", nested(60), REENTER,
   }
end

local calls, errors = 0, 0
-- NN_SWEEP_STRIDE=k tries every k-th argument pair (make test: 10; CI,
-- check-asan: 1, all of them; valgrind is slow: 10).  The count runs on
-- across entry points, so a stride samples every one of them (each has
-- hundreds of pairs), not a prefix; paired counts the entry points that
-- got two-argument calls, and all of them must have.
local stride, pair = tonumber(os.getenv("NN_SWEEP_STRIDE")) or 1, 0
local entries, paired = 0, 0
local function try(name, f, args, n)
   calls = calls + 1
   local ok, err = pcall(f, (table.unpack or unpack)(args, 1, n))
   if not ok then
      errors = errors + 1
      if type(err) ~= "string" or #err < 8 then
         error(("%s: an unhelpful error: %s"):format(name, tostring(err)), 0)
      end
   end
end

-- f with every arity 0..2 over the pool, and (self, v, w) for methods
local function sweep(name, f, selves)
   if os.getenv("NN_SWEEP_TRACE") then io.stderr:write(("%8.2f %s\n"):format(os.clock(), name)) end
   local P = pool()
   local args, depth = {}, 0
   -- a table of three entries whose __index and __len call f again with
   -- the same arguments (once) and collect garbage, while f reads it
   local reenter = setmetatable({}, {
      __len = function() return 3 end,
      __index = function(_, k)
         if depth < 1 and k == 1 then    -- once per read, not per entry
            depth = depth + 1
            pcall(f, (table.unpack or unpack)(args, 1, 3))
            collectgarbage("step", 64)
            depth = depth - 1
         end
         return type(k) == "number" and 1 or nil
      end,
   })
   local function unwrap(v)
      if v == NIL then return nil end
      if v == REENTER then return reenter end
      return v
   end
   local heads = selves or {NIL}
   local got = false
   entries = entries + 1
   for _, s in ipairs(heads) do
      local base = selves and 1 or 0
      args = {unwrap(s)}
      try(name, f, args, base)
      for _, v in ipairs(P) do
         args[base + 1] = unwrap(v)
         try(name, f, args, base + 1)
         for _, w in ipairs(P) do
            pair = pair + 1
            if pair % stride == 0 then
               args[base + 2] = unwrap(w)
               try(name, f, args, base + 2)
               got = true
            end
         end
         args[base + 2] = nil
      end
   end
   if got then paired = paired + 1 end
end

-- free functions of nn, nn.core and the helpers
local skip = {seed = true, threads = true}      -- they reset the run, not break it
local function functions(t, prefix)
   local names = {}
   for k, v in pairs(t) do
      if type(v) == "function" and not skip[k] then names[#names + 1] = k end
   end
   table.sort(names)
   for _, k in ipairs(names) do sweep(prefix .. k, t[k]) end
end
functions(nn, "nn.")
functions(core, "nn.core.")
functions(core.optim, "nn.core.optim.")
functions(nn.schedule, "nn.schedule.")
functions(mnist, "mnist.")
functions(progress, "progress.")
functions(image, "image.")
functions(nn.npy, "nn.npy.")
functions(nn.safetensors, "nn.safetensors.")
functions(require "nn.json", "nn.json.")
functions(plot, "plot.")
sweep("nn.Matrix()", nn.Matrix)

-- methods, with good and bad selves
local P = pool()
local function methods(label, obj, list)
   for _, m in ipairs(list) do
      local f = obj[m]
      local selves = {obj, NIL, 5, "x", {}}
      for _, other in ipairs(P) do
         if other ~= obj and type(other) == "userdata" then selves[#selves + 1] = other end
      end
      sweep(label .. ":" .. m, f, {obj, NIL, 5, {}, P[31], P[38]})
   end
end

local M = nn.Matrix(3, 4)
local mnames = {}
for k, v in pairs(nn.Matrix) do
   if type(v) == "function" then mnames[#mnames + 1] = k end
end
table.sort(mnames)
methods("Matrix", M, mnames)
methods("Matrix(view)", freed_view(), {"get", "set", "copy", "t", "add", "gemm", "sum", "tobytes"})
local layer_methods = {"forward", "backward", "zeroGrad", "parameters", "training",
                       "evaluate", "outputSize", "config", "buffers", "setInputShape"}
for _, m in ipairs{nn.Linear(4, 3), nn.Linear(3, 3, {bias = false}), nn.ReLU(), nn.Softmax(),
                   nn.LogSoftmax(), nn.Dropout(0.5), nn.PiecewiseLinear(), nn.GELU(),
                   nn.Conv2d(1, 2, 3, {input = {1, 4, 4}}), nn.Conv2d(2, 1, 1, {input = {2, 2, 2}}),
                   nn.Conv2d(1, 1, 2), nn.MaxPool2d(2, {input = {1, 4, 4}}),
                   nn.AvgPool2d({1, 2}, {input = {2, 2, 2}}), nn.BatchNorm1d(4),
                   nn.BatchNorm2d(2, {input = {2, 2, 2}})} do
   methods(tostring(m), m, layer_methods)
end
methods("Sequential", nn.Sequential{nn.Linear(4, 3), nn.Tanh()},
   {"forward", "backward", "add", "zeroGrad", "parameters", "training", "evaluate", "outputSize",
    "stateDict", "loadStateDict", "setInputShape"})
methods("Residual", nn.Residual(nn.Linear(3, 3)), {"forward", "backward", "stateDict", "loadStateDict"})
methods("Concat", nn.Concat{nn.Linear(3, 2), nn.ReLU()}, {"forward", "backward", "add", "outputSize"})
for _, c in ipairs{nn.CrossEntropyLoss(), nn.NLLLoss(), nn.MSELoss(), nn.L1Loss(), nn.BCELoss(),
                   nn.BCEWithLogitsLoss()} do
   methods(tostring(c), c, {"forward", "backward"})
end
local lin = nn.Linear(4, 3)
for _, kind in ipairs{"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"} do
   local opt = nn[kind](lin, {lr = 0.01})
   methods("nn." .. kind, opt, {"step", "zeroGrad", "state", "setState", "buffer"})
end
methods("ConfusionMatrix", nn.ConfusionMatrix(3), {"add", "accuracy", "recall", "precision", "zero"})
-- a chart takes whatever the sweep gives its layers, then still draws (or
-- says why not)
local chart = plot.chart{xrange = {0, 1}, yrange = {0, 1}}
methods("chart", chart, {"line", "points", "field", "save"})
for _, draw in ipairs{"svg", "png"} do
   calls = calls + 1
   local ok, err = pcall(chart[draw], chart)
   if not ok then
      errors = errors + 1
      assert(type(err) == "string" and err ~= "", "chart:" .. draw .. " raised no message")
   end
end

-- field writes on layers
for _, k in ipairs{"weight", "bias", "p", "train", "foo", 1} do
   for _, v in ipairs(P) do
      calls = calls + 1
      local ok = pcall(function() lin[k] = v end)
      if not ok then errors = errors + 1 end
   end
end

-- the state must still work after all that
local y = nn.Linear(4, 2):forward(nn.ones(2, 4))
assert(select(1, y:shape()) == 2)
assert(paired == entries, ("sweep: only %d of %d entry points got two-argument calls at stride %d")
   :format(paired, entries, stride))
print(("sweep: %d calls, %d errors; %d entry points, every one with two-argument calls (stride %d)")
   :format(calls, errors, entries, stride))
