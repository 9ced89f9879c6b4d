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
-- NN_SWEEP_STRIDE=k tries every k-th argument pair (make test: 10; 5.4
-- in CI and check-asan: 1, all of them; valgrind is slow: 40), starting
-- at pair NN_SWEEP_OFFSET (0 to k - 1): CI's other four Luas take stride
-- 4 at offsets 0 to 3, so that between them they try every pair (the
-- entry points are listed in sorted order, the same on every Lua).  The
-- count runs on across entry points, so a stride samples every one of
-- them (each has hundreds of pairs), not a prefix; paired counts the entry
-- points that got two-argument calls, and all of them must have.
local stride = tonumber(os.getenv("NN_SWEEP_STRIDE")) or 1
local pair = -(tonumber(os.getenv("NN_SWEEP_OFFSET")) or 0) % stride
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
                       "evaluate", "outputSize", "config", "buffers", "setInputShape",
                       "tensors"}
-- every example of every kind the registry lists (core.layers(): a new
-- kind is swept without a line here), and an image layer that does not
-- know its input's shape yet
local function example(e)
   local f
   if setfenv then
      f = assert(loadstring("return " .. e.lua, "=" .. e.lua))
      setfenv(f, {nn = nn})
   else
      f = assert(load("return " .. e.lua, "=" .. e.lua, "t", {nn = nn}))
   end
   return f()
end
-- a kind's own methods (the recurrent layers' state) are swept too
local kind_methods = {"setState", "state", "step", "gradState"}
for _, k in ipairs(core.layers()) do
   for _, e in ipairs(k.examples) do
      local m = example(e)
      methods(tostring(m), m, layer_methods)
      local own = {}
      for _, name in ipairs(kind_methods) do
         if m[name] then own[#own + 1] = name end
      end
      if #own > 0 then
         -- after a forward and a backward: a state to keep, and to read
         local x = nn.randn(2, e.cols)
         local y = m:forward(x)
         m:backward(x, nn.randn(y:shape()))
         methods(tostring(m), m, own)
      end
   end
end
methods("Conv2d without its input's shape", nn.Conv2d(1, 1, 2), layer_methods)
methods("Sequential", nn.Sequential{nn.Linear(4, 3), nn.Tanh()},
   {"forward", "backward", "add", "zeroGrad", "parameters", "buffers", "training", "evaluate",
    "outputSize", "stateDict", "loadStateDict", "setInputShape"})
methods("Residual", nn.Residual(nn.Linear(3, 3)), {"forward", "backward", "stateDict", "loadStateDict",
   "buffers", "outputSize", "setInputShape"})
methods("Concat", nn.Concat{nn.Linear(3, 2), nn.ReLU()}, {"forward", "backward", "add", "outputSize",
   "buffers", "setInputShape"})
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

-- ---- containers of every layer kind -------------------------------------
-- Each kind the registry lists (core.layers(), so a new kind is covered
-- without a line here), its first example between two Linear layers so
-- that the whole takes 4 columns and gives 4 (a kind whose input is token
-- ids takes its own, and gives as many columns), in each container: a
-- forward and a backward on good input must work and the summary print,
-- then each method takes every value of the pool once.
local function make4(k)
   local e = k.examples[1]
   local m = example(e)
   local width = e.ids and e.cols or 4
   local out = m:outputSize(e.cols) or e.cols
   if e.ids then return nn.Sequential{m, nn.Linear(out, width)} end
   return nn.Sequential{nn.Linear(4, e.cols), m, nn.Linear(out, 4)}
end

-- an input for make4(k): 3 rows of 4 numbers, or of token ids
local function input4(k)
   local e = k.examples[1]
   if not e.ids then return nn.randn(3, 4) end
   return nn.rand(3, e.cols, 1, e.ids + 1):apply(math.floor)
end

local containermethods = {"forward", "backward", "add", "zeroGrad", "parameters", "buffers",
   "training", "evaluate", "outputSize", "setInputShape", "stateDict", "loadStateDict"}
local kinds = 0
for _, k in ipairs(core.layers()) do
   kinds = kinds + 1
   for _, build in ipairs{
      function()
         if k.examples[1].ids then return "Sequential", nn.Sequential{make4(k), nn.Linear(k.examples[1].cols, 2)} end
         return "Sequential", nn.Sequential{nn.Linear(4, 4), make4(k), nn.Linear(4, 2)}
      end,
      function() return "Residual", nn.Residual(make4(k)) end,
      function() return "Concat", nn.Concat{make4(k), nn.Identity()} end,
      function()
         local after = k.examples[1].ids and nn.Linear(k.examples[1].cols, 4) or make4(k)
         return "nested", nn.Sequential{nn.Residual(nn.Sequential{make4(k)}), nn.Concat{after}}
      end,
   } do
      local kind, net = build()
      local label = ("%s of %s"):format(kind, k.name)
      calls = calls + 1
      local x = input4(k)
      local y = net:forward(x)
      net:backward(x, nn.ones(y:shape()))
      local text = tostring(net)
      assert(text:find(kind == "Residual" and "^nn.Residual" or kind == "Concat" and "^nn.Concat"
         or "total parameters"), label .. ": " .. text)
      for _, m in ipairs(containermethods) do
         local f = net[m]
         for _, s in ipairs{net, NIL} do
            for _, v in ipairs(P) do
               if v ~= REENTER then try(label .. ":" .. m, f, {s ~= NIL and s or nil, v ~= NIL and v or nil}, 2) end
            end
         end
      end
      try(label .. " tostring", tostring, {net}, 1)
   end
end
assert(kinds >= 21, "core.layers() lists " .. kinds .. " kinds")

-- ---- the repros of issue #21's container and training items -------------
-- Each must raise an error saying this, or (nil) return.
local function fitdata(n)
   nn.seed(2)
   local X, Y = nn.randn(n, 4), nn.Matrix(n, 1, 1)
   for i = 1, n, 2 do Y:set(i, 1, 2) end
   return X, Y
end
local function fit(net, X, Y, opts)
   opts = opts or {}
   opts.progress = false
   return nn.fit(net, nn.CrossEntropyLoss(), nn.SGD(net, {lr = 0.1}), X, Y, opts)
end
local repros = {
   {"Residual(strided Conv2d) after 4x8x8", function()
      return nn.Sequential{nn.Conv2d(1, 4, 3, {padding = 1, input = {1, 8, 8}}),
                           nn.Residual(nn.Conv2d(4, 16, 1, {stride = 2}))}
   end, "maps 4x8x8 images to 16x4x4"},
   {"input = {16, 4, 4} after 4x8x8", function()
      return nn.Sequential{nn.Conv2d(1, 4, 3, {padding = 1, input = {1, 8, 8}}),
                           nn.Conv2d(16, 2, 1, {input = {16, 4, 4}})}
   end, "takes 16x4x4 images, gets 4x8x8"},
   {"a model file with input = {16, 4, 4} after 4x8x8", function()
      local net = nn.Sequential{nn.Conv2d(1, 4, 3, {padding = 1, input = {1, 8, 8}})}
      net.modules[2] = nn.Conv2d(16, 2, 1, {input = {16, 4, 4}})
      return nn.deserialize(nn.serialize(net))
   end, "takes 16x4x4 images, gets 4x8x8"},
   {"Linear(2, 8) then Linear(9, 1)", function()
      return nn.Sequential{nn.Linear(2, 8), nn.Linear(9, 1)}
   end, "takes 9 columns, gets 8"},
   {"Linear(9, 1) added after Linear(2, 8)", function()
      return nn.Sequential{nn.Linear(2, 8)}:add(nn.Linear(9, 1))
   end, "takes 9 columns, gets 8"},
   {"Concat of branches that take 3 and 4 columns", function()
      return nn.Concat{nn.Linear(3, 2), nn.Linear(4, 2)}
   end, "takes 4 columns, gets 3"},
   {"a second setInputShape", function()
      return nn.Sequential{nn.Conv2d(1, 2, 3)}:setInputShape(1, 8, 8):setInputShape(1, 10, 10)
   end, "takes 1x8x8 images, gets 1x10x10"},
   {"Concat:backward with a wider gradOutput", function()
      local c = nn.Concat{nn.Linear(3, 2), nn.Linear(3, 2)}
      c:forward(nn.ones(2, 3))
      return c:backward(nn.ones(2, 3), nn.ones(2, 6))
   end, "gradOutput is 2 x 6, expected 2 x 4"},
   {"print a network whose layers do not fit", function()
      local net = nn.Sequential{nn.Linear(3, 4)}
      net.modules[2] = nn.Linear(5, 2)
      assert(tostring(net):find("does not fit: takes 5 columns, gets 4", 1, true))
   end},
   {"print Flatten's output", function()
      assert(tostring(nn.Sequential{nn.Conv2d(1, 8, 3, {padding = 1, input = {1, 14, 14}}),
         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(392, 10)}):find("nn.Flatten%s+out 392 "))
   end},
   {"restoreBest with BatchNorm", function()
      local X, Y = fitdata(40)
      local net = nn.Sequential{nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Linear(6, 2)}
      local h = fit(net, X, Y, {epochs = 8, validationSplit = 0.25, patience = 2})
      local L = nn.evaluate(net, nn.CrossEntropyLoss(), X:narrow(31, 10), Y:narrow(31, 10))
      assert(math.abs(L - h.best.loss) < 1e-6, "restoreBest: not the best epoch's network")
   end},
   {"validationSplit = 0.07 of 100 rows", function()
      local X, Y = fitdata(100)
      local net = nn.Sequential{nn.Linear(4, 2)}
      local h = fit(net, X, Y, {validationSplit = 0.07})
      assert(nn.evaluate(net, nn.CrossEntropyLoss(), X:narrow(94, 7), Y:narrow(94, 7)) == h.valLoss[1])
   end},
   {"a 0-based label", function()
      local X, Y = fitdata(30)
      return fit(nn.Sequential{nn.Linear(4, 2)}, X, Y - 1)
   end, "row 2 of Y is 0: classes start at 1"},
   {"a 1 x n label row", function()
      local X, Y = fitdata(30)
      nn.evaluate(nn.Sequential{nn.Linear(4, 2)}, nn.CrossEntropyLoss(), X, Y:t())
   end},
   {"an error inside nn.fit", function()
      local X = fitdata(30)
      local net = nn.Sequential{nn.Linear(4, 2)}
      local ok, e = pcall(nn.fit, net, nn.MSELoss(), nn.SGD(net, {lr = 0.1}), X, nn.randn(30, 3),
         {progress = false})
      assert(not ok and not e:find("train.lua", 1, true), e)
   end},
   {"a misspelt nn.fit option", function()
      local X, Y = fitdata(30)
      return fit(nn.Sequential{nn.Linear(4, 2)}, X, Y, {epoch = 3})
   end, "unknown option 'epoch' (did you mean 'epochs'?"},
   {"print a 300-epoch history", function()
      local X, Y = fitdata(10)
      local h = fit(nn.Sequential{nn.Linear(4, 2)}, X, Y, {epochs = 300, batchSize = 10})
      local lines = select(2, tostring(h):gsub("\n", ""))
      assert(lines < 20, "print(history) prints " .. lines .. " lines")
   end},
}
for _, r in ipairs(repros) do
   calls = calls + 1
   local ok, e = pcall(r[2])
   if r[3] then
      if ok then error(("sweep: %s: no error, expected %q"):format(r[1], r[3]), 0) end
      errors = errors + 1
      if not tostring(e):find(r[3], 1, true) then
         error(("sweep: %s: %s, expected %q"):format(r[1], tostring(e), r[3]), 0)
      end
   elseif not ok then
      error(("sweep: %s: %s"):format(r[1], tostring(e)), 0)
   end
end

-- ---- charts, the canvas and the report (issue #21 §1 and §2) -------------------
-- Every entry point of nn.chart, nn.canvas and nn.report: their free
-- functions and a surface's, a figure's and a chart's methods over the
-- pool; then the inputs that once hung, grew without limit, wrote NaN or
-- invalid SVG or raised a raw Lua error, each drawn both ways.  Those must
-- end in a result or an error that names the function.
do
   local canvas = require "nn.canvas"
   local chartmod = require "nn.chart"
   functions(canvas, "canvas.")
   functions(chartmod, "nn.chart.")
   local calls_of_a_surface = {"rect", "polyline", "disc", "text", "cells", "clip", "unclip", "panel",
                               "endpanel"}
   methods("canvas.svg", canvas.svg(64, 48), calls_of_a_surface)
   methods("canvas.raster", canvas.raster(64, 48), calls_of_a_surface)
   local fig = plot.figure()
   methods("figure", fig, {"add", "svg", "png", "save"})

   local NAMED = {"^plot%.chart: ", "^chart:", "^plot%.figure: ", "^figure:", "^canvas", "^nn%.report: "}
   local function named(what, f)
      calls = calls + 1
      local ok, err = pcall(f)
      if ok then return end
      errors = errors + 1
      local msg = type(err) == "string" and err:gsub("^[^:]*:%d+: ", "") or tostring(err)
      for _, p in ipairs(NAMED) do
         if msg:find(p) then return end
      end
      error(("%s: an error that names no function: %s"):format(what, msg), 0)
   end
   local function zigzag(n, wander)
      n = stride > 1 and n / 10 or n           -- under valgrind, fewer
      local xs, ys = {}, {}
      for i = 1, n do xs[i], ys[i] = wander and (i * 7919) % 1000 or i, i % 2 end
      return xs, ys
   end
   local huge = math.huge
   local seeds = {
      {"constant 1e16", function() return plot.chart():line({1e16, 1e16}) end},
      {"constant x", function() return plot.chart():points({1e16, 1e16}, {1, 2}) end},
      {"one ulp", function() return plot.chart():line({0.9, 0.9000000000000001}) end},
      {"subnormals", function() return plot.chart():line({0, 5e-324, 1e-323}) end},
      {"log to 1e300", function() return plot.chart{ylog = true}:line({1, 1e300}) end},
      {"log from 0", function() return plot.chart{ylog = true, yrange = {0, 1}} end},
      {"log subnormal", function() return plot.chart{xlog = true, ylog = true}:line({5e-324, 1e308}, {1e308, 5e-324}) end},
      {"dash 0", function() return plot.chart():line({1, 2, 3}, {dash = "0"}) end},
      {"dash blank", function() return plot.chart():line({1, 2, 3}, {dash = " "}) end},
      {"dash tiny", function() return plot.chart():line({1, 2, 3}, {dash = "0.001 0.001"}) end},
      {"dash huge", function() return plot.chart():line({1, 2, 3}, {dash = ("9"):rep(400)}) end},
      {"-1e308..1e308", function() return plot.chart():line({-1e308, 1e308}) end},
      {"inf and nan", function() return plot.chart():line({huge, -huge, 0 / 0, 1, huge}) end},
      {"nan class", function() return plot.chart():points({1, 2}, {1, 2}, {classes = {0 / 0, 1}}) end},
      {"inf class", function() return plot.chart():points({1, 2}, {1, 2}, {classes = {huge, 1}}) end},
      {"titel", function() return plot.chart{titel = "x"} end},
      {"widht", function() return plot.chart{widht = 300} end},
      {"colour", function() return plot.chart():line({1, 2}, {colour = {1, 0, 0}}) end},
      {"control text", function()
         return plot.chart{title = "\0\1\27\255", caption = "\237\160\128\n\n"}:line({1, 2}, {name = "\239\191\190"})
      end},
      {"zigzag", function() return plot.chart():line(zigzag(1e5)) end},
      {"wandering", function() return plot.chart():line(zigzag(1e5, true)) end},
      {"far points", function() return plot.chart{xrange = {0, 1}, yrange = {0, 1}}:points({-1e308, 1e308, 0.5}, {1e308, 0.5, -1e308}) end},
      {"nan field", function()
         return plot.chart{xrange = {-1e308, 1e308}, yrange = {0, 1}, width = 160, height = 120}
            :field(function() return 0 / 0 end, {resolution = 2})
      end},
      {"class field", function()
         return plot.chart{xrange = {0, 1}, yrange = {0, 1}, width = 160, height = 120}
            :field(function(x) return x < 0.5 and 0 / 0 or 1e300 end, {classes = true, resolution = 3})
      end},
   }
   for _, seed in ipairs(seeds) do
      for _, draw in ipairs{"svg", "png"} do
         named(seed[1] .. " " .. draw, function() local c = seed[2](); return c[draw](c) end)
      end
   end
   local X = nn.Matrix(3, 4)
   local net = nn.Sequential{nn.Linear(4, 2)}
   local loop = {forward = function() end, modules = {}}
   loop.modules[1] = loop
   for _, parts in ipairs{
      {history = {loss = {1e16, 1e16}}}, {history = {loss = {0.9, 0.9000000000000001}}},
      {history = {loss = {-1e308, 1e308}, accuracy = {0 / 0, huge}}},
      {net = net, samples = {X = X, Y = {1, 2, 1}, shape = {3, 3}}},
      {net = net, samples = {X = X, Y = {1, 2, 1}, count = "x"}},
      {net = net, samples = {X = X, Y = {1, 2, 1}, count = 0 / 0}},
      {net = net, samples = {X = X, Y = {1, 2}}}, {net = loop}, {histroy = {}},
      {confusion = {C = 1e9, counts = {}}}, {title = "\0\255"},
   } do
      named("nn.report", function() return nn.report("report.html", parts) end)
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
