-- nn.export: a network's evaluation forward as one self-contained Lua file.
-- Every example of every layer kind of the registry (core.layers(): the
-- examples its descriptor gives) and the cases below, the
-- containers, the example CNN and the bench's CNN with batch normalization
-- and the main job's 784-256-128-10 MLP are exported, and each file is run
-- by a child of each of the five Luas and of Fengari (Lua 5.3's VM in
-- JavaScript, which cannot load C), with an empty environment and Lua
-- paths that lead nowhere, from a directory holding only the exported
-- files; each output must equal the C path's within 1e-5 relative: |a - b|
-- / max(|b|, a tenth of the sample's largest |b|).  The floor is the C
-- path's own rounding: its float32 sums are off by ulps of their terms,
-- which, where the terms cancel, can be 1e-5 of a small result (the
-- file computes in double).  Over 20 seeds of the network of every kind
-- the worst was 1.8e-6 with this floor, 1.1e-5 with a hundredth.
local nn = require "nn"
local H = require "helpers"
local export = require "nn.export"
local layers = require "nn.layers"

local LUAS = {"lua5.1", "lua5.2", "lua5.3", "lua5.4", "luajit"}
local TOL = 1e-5

-- ---- cases ----------------------------------------------------------------

-- n samples of width w, uniform on [lo, hi), as nested tables
local function inputs(n, w, lo, hi)
   return nn.rand(n, w, lo or -2, hi or 2):totable()
end

-- inputs for the elementwise layers: the kinks and the tails
local SPECIAL = {0, -0.5, 0.5, 1e-9, -1e-9, 1e-3, -1e-3, 0.25, -0.25, 1, -1, 3, -3,
                 10, -10, 25, -25, 80, -80}
local function special(lo, hi)
   local row = {}
   for _, v in ipairs(SPECIAL) do
      if v >= lo and v <= hi then row[#row + 1] = v end
   end
   return row
end

-- running statistics moved off 0 and 1 by training-mode forwards
local function trainstats(net, w, steps)
   net:training()
   for i = 1, steps or 5 do net:forward(nn.rand(8, w, -1, 3 + i)) end
end

local function act(make, lo, hi)
   return function()
      return {
         {"after Linear", nn.Sequential{nn.Linear(6, 7), make()}, inputs(3, 6, lo, hi)},
         {"first", nn.Sequential{make()}, {special(lo or -100, hi or 100)}},
         {"after Conv2d", nn.Sequential{nn.Conv2d(1, 2, 2, {input = {1, 3, 3}}), make()},
          inputs(2, 9, lo, hi)},
      }
   end
end

-- the examples of a kind (its descriptor's), each alone in a Sequential
local function examples(k)
   local t = {}
   for j, e in ipairs(k.examples) do
      local f = assert(H.load("return " .. e.lua, "=" .. e.lua, {nn = nn}))
      local X = e.ids and nn.rand(3, e.cols, 1, e.ids + 1):apply(math.floor):totable()
         or inputs(3, e.cols)
      t[j] = {("example %d, %s"):format(j, e.lua), nn.Sequential{f()}, X}
   end
   return t
end

-- kind -> function() -> list of {label, net, X}: more than the examples
local CASES = {
   Linear = function()
      return {
         {"unrolled", nn.Sequential{nn.Linear(5, 3)}, inputs(3, 5)},
         {"unrolled, no bias", nn.Sequential{nn.Linear(8, 3, {bias = false})}, inputs(2, 8)},
         {"loops", nn.Sequential{nn.Linear(70, 9)}, inputs(3, 70)},
         {"loops, no bias", nn.Sequential{nn.Linear(65, 80, {bias = false}), nn.ReLU()}, inputs(2, 65)},
         {"alone", nn.Linear(4, 2), inputs(2, 4)},
      }
   end,
   Softmax = function()
      return {
         {"after Linear", nn.Sequential{nn.Linear(5, 4), nn.Softmax()}, inputs(3, 5)},
         {"first, large", nn.Sequential{nn.Softmax()}, {{100, 90, -50, 3}, {1, 2, 3, 4}}},
         {"then Tanh", nn.Sequential{nn.Linear(5, 4), nn.Softmax(), nn.Tanh()}, inputs(2, 5)},
      }
   end,
   LogSoftmax = function()
      return {
         {"after Linear", nn.Sequential{nn.Linear(5, 4), nn.LogSoftmax()}, inputs(3, 5)},
         {"first, large", nn.Sequential{nn.LogSoftmax()}, {{100, 90, -50, 3}, {1, 2, 3, 4}}},
      }
   end,
   Flatten = function()
      return {{"between Conv2d and Linear",
               nn.Sequential{nn.Conv2d(2, 3, 3, {input = {2, 4, 4}}), nn.Flatten(), nn.Linear(12, 2)},
               inputs(2, 32)}}
   end,
   Dropout = function()
      -- left in training mode: the file is the evaluation forward regardless
      return {{"the identity", nn.Sequential{nn.Linear(6, 5), nn.Dropout(0.5), nn.Tanh()},
               inputs(3, 6), train = true}}
   end,
   Identity = function()
      return {{"alone", nn.Sequential{nn.Identity()}, {{1.5, -2, 3}}},
              {"empty Sequential", nn.Sequential{}, {{1, 2}}}}
   end,
   Sigmoid = act(nn.Sigmoid),
   Tanh = act(nn.Tanh),
   ReLU = act(nn.ReLU),
   LeakyReLU = act(function() return nn.LeakyReLU(0.2) end),
   ELU = act(function() return nn.ELU(0.7) end),
   Softplus = act(function() return nn.Softplus(2) end),
   Step = act(nn.Step),
   Sign = act(nn.Sign),
   PiecewiseLinear = act(nn.PiecewiseLinear, -1, 1),
   -- within [-2, 2]: below, the C kernels' own 1 + erf (1 + tanh) cancels
   -- in float32 to worse than 1e-5 of the value
   GELU = function()
      local t = act(nn.GELU, -2, 2)()
      for _, c in ipairs(act(function() return nn.GELU{approximate = "tanh"} end, -2, 2)()) do
         c[1] = "tanh, " .. c[1]
         t[#t + 1] = c
      end
      -- the tails, infinities included (NaN there, as in C: -inf times 0)
      local tails = special(-100, 100)
      tails[#tails + 1], tails[#tails + 2] = 1 / 0, -1 / 0
      t[#t + 1] = {"tails", nn.Sequential{nn.GELU()}, {tails}}
      t[#t + 1] = {"tanh, tails", nn.Sequential{nn.GELU{approximate = "tanh"}}, {tails}}
      return t
   end,
   Conv2d = function()
      return {
         {"3x3", nn.Sequential{nn.Conv2d(1, 2, 3, {input = {1, 5, 5}})}, inputs(3, 25)},
         {"3x2, stride, padding, dilation, no bias",
          nn.Sequential{nn.Conv2d(2, 3, {3, 2}, {stride = {1, 2}, padding = {1, 2}, dilation = {2, 1},
                                               bias = false, input = {2, 7, 8}})},
          inputs(2, 112)},
         {"stride 2, padding 1, then ReLU",
          nn.Sequential{nn.Conv2d(3, 4, 3, {stride = 2, padding = 1, input = {3, 6, 6}}), nn.ReLU()},
          inputs(2, 108)},
      }
   end,
   MaxPool2d = function()
      return {
         {"2x2", nn.Sequential{nn.MaxPool2d(2, {input = {2, 4, 4}})}, inputs(3, 32)},
         {"3x3, stride 2, padding 1", nn.Sequential{nn.MaxPool2d(3, {stride = 2, padding = 1, input = {1, 5, 5}})},
          inputs(2, 25)},
         {"dilation 2, stride 1", nn.Sequential{nn.MaxPool2d(2, {stride = 1, dilation = 2, input = {2, 5, 6}})},
          inputs(2, 60)},
      }
   end,
   AvgPool2d = function()
      return {
         {"2x2", nn.Sequential{nn.AvgPool2d(2, {input = {2, 4, 4}})}, inputs(3, 32)},
         {"padding counted", nn.Sequential{nn.AvgPool2d(3, {stride = 2, padding = 1, input = {1, 5, 5}})},
          inputs(2, 25)},
         {"padding not counted",
          nn.Sequential{nn.AvgPool2d(3, {stride = 2, padding = 1, countIncludePad = false, input = {2, 5, 6}})},
          inputs(2, 60)},
         {"2x3, stride 1", nn.Sequential{nn.AvgPool2d({2, 3}, {stride = 1, input = {1, 6, 7}})},
          inputs(2, 42)},
      }
   end,
   BatchNorm1d = function()
      local a = nn.Sequential{nn.Linear(5, 4), nn.BatchNorm1d(4), nn.ReLU()}
      trainstats(a, 5)
      local b = nn.Sequential{nn.BatchNorm1d(3, {affine = false, eps = 1e-3})}
      trainstats(b, 3)
      return {{"affine, after Linear", a, inputs(3, 5)}, {"not affine, first", b, inputs(2, 3)}}
   end,
   BatchNorm2d = function()
      local a = nn.Sequential{nn.Conv2d(2, 3, 3, {padding = 1, input = {2, 4, 4}}), nn.BatchNorm2d(3), nn.ReLU()}
      trainstats(a, 32)
      local b = nn.Sequential{nn.BatchNorm2d(2, {affine = false, input = {2, 3, 3}})}
      trainstats(b, 18)
      return {{"affine, after Conv2d", a, inputs(2, 32)}, {"not affine, first", b, inputs(2, 18)}}
   end,
}

-- token ids: n x T whole numbers from 1 to num
local function ids(n, T, num)
   return nn.rand(n, T, 1, num + 1):apply(math.floor):totable()
end

CASES.Embedding = function()
   return {
      {"a character model's layers, then ReLU, LayerNorm, a Linear per step and Tanh",
       nn.Sequential{nn.Embedding(12, 6, {paddingIndex = 1}), nn.ReLU(), nn.LayerNorm(6),
                     nn.Linear(6, 4, {sequence = true}), nn.Tanh()}, ids(3, 5, 12)},
      {"maxNorm with the largest magnitude", nn.Sequential{nn.Embedding(5, 3,
         {maxNorm = 0.5, normType = math.huge})}, ids(2, 4, 5)},
   }
end

CASES.LayerNorm = function()
   return {
      {"after a Linear: a known width", nn.Sequential{nn.Linear(3, 12), nn.LayerNorm(4, {eps = 1e-3}),
                                                       nn.Sigmoid()}, inputs(2, 3)},
      {"large values", nn.Sequential{nn.LayerNorm(3)}, {{1e4, -2e4, 3e4, 5, 5, 5.5}}},
   }
end

-- the networks of the examples and the bench
local function mnist_cnn()
   return nn.Sequential{
      nn.Conv2d(1, 16, 5, {padding = 2, input = {1, 28, 28}}), nn.ReLU(),
      nn.MaxPool2d(2),
      nn.Conv2d(16, 32, 5, {padding = 2}), nn.ReLU(),
      nn.MaxPool2d(2),
      nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25),
      nn.Linear(128, 10),
   }
end

local function bench_cnn()
   return nn.Sequential{
      nn.Conv2d(1, 16, 5, {padding = 2, input = {1, 28, 28}}), nn.BatchNorm2d(16), nn.ReLU(),
      nn.MaxPool2d(2),
      nn.Conv2d(16, 32, 5, {padding = 2}), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
      nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10)}
end

local function networks()
   local t = {}
   t[#t + 1] = {"nested Sequential", nn.Sequential{nn.Linear(4, 6), nn.Sequential{nn.Tanh(),
      nn.Sequential{nn.Linear(6, 3)}, nn.Sigmoid()}, nn.ReLU()}, inputs(3, 4)}
   t[#t + 1] = {"Residual", nn.Sequential{nn.Linear(4, 6),
      nn.Residual(nn.Sequential{nn.Linear(6, 6), nn.Tanh()}), nn.ReLU()}, inputs(3, 4)}
   t[#t + 1] = {"Residual of images", nn.Sequential{nn.Conv2d(1, 2, 3, {padding = 1, input = {1, 5, 5}}),
      nn.Residual(nn.Sequential{nn.Conv2d(2, 2, 3, {padding = 1}), nn.ReLU()}), nn.MaxPool2d(2)},
      inputs(2, 25)}
   t[#t + 1] = {"Residual of an identity", nn.Residual(nn.Identity()), inputs(2, 3)}
   t[#t + 1] = {"Residual of elementwise layers, first", nn.Sequential{nn.Residual(nn.Sequential{
      nn.Sigmoid(), nn.Dropout(), nn.Softplus()}), nn.Sign()}, inputs(2, 5)}
   t[#t + 1] = {"Concat", nn.Sequential{nn.Linear(4, 6), nn.Concat{nn.Linear(6, 3),
      nn.Sequential{nn.Linear(6, 2), nn.ReLU()}, nn.Identity()}, nn.Softmax()}, inputs(3, 4)}
   t[#t + 1] = {"Concat of images", nn.Sequential{nn.Conv2d(1, 2, 3, {padding = 1, input = {1, 4, 4}}),
      nn.Concat{nn.AvgPool2d(1), nn.Identity(), nn.Conv2d(2, 1, 1)}, nn.ELU(), nn.MaxPool2d(2),
      nn.Linear(20, 3)},
      inputs(2, 16)}
   -- spec/crossversion_spec.lua's network: every kind and container in one
   local every = nn.Sequential{
      nn.Linear(6, 9), nn.ReLU(), nn.Linear(9, 9, {bias = false}), nn.Tanh(),
      nn.Sequential{nn.Linear(9, 7, {init = "uniform"}), nn.Sigmoid(), nn.LeakyReLU(0.3)},
      nn.ELU(0.5), nn.Softplus(2), nn.Identity(), nn.Dropout(0.25),
      nn.Linear(7, 5), nn.PiecewiseLinear(), nn.Softmax(),
      nn.Linear(5, 4), nn.LogSoftmax(),
      nn.Linear(4, 18), nn.Conv2d(2, 3, {3, 2}, {padding = 1, input = {2, 3, 3}}),
      nn.BatchNorm2d(3), nn.GELU(), nn.MaxPool2d(2, {stride = 1}),
      nn.Residual(nn.Sequential{nn.Conv2d(3, 3, 1), nn.Tanh()}),
      nn.Concat{nn.AvgPool2d(1), nn.Identity()}, nn.Linear(36, 4), nn.BatchNorm1d(4),
   }
   trainstats(every, 6)
   t[#t + 1] = {"every kind in one", every, inputs(3, 6, -1, 1)}
   -- the large ones exercise the exporter's Lua, no C the small ones do
   -- not: left out under valgrind and the sanitizers, where they are slow
   if H.sanitized then return t end
   t[#t + 1] = {"examples/mnist_cnn.lua's CNN", mnist_cnn(), inputs(1, 784, 0, 1), train = true}
   local b = bench_cnn()
   b:training()
   for _ = 1, 3 do b:forward(nn.rand(8, 784)) end     -- MNIST-like statistics
   t[#t + 1] = {"the bench's CNN, batch normalization", b, inputs(1, 784, 0, 1)}
   t[#t + 1] = {"MLP 784-256-128-10", nn.Sequential{nn.Linear(784, 256), nn.ReLU(),
      nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)}, inputs(2, 784, 0, 1)}
   return t
end

-- ---- running the files ----------------------------------------------------

-- %.17g: the exact double of each float32
local function literal(t)
   if type(t) == "number" then
      if t ~= t then return "0/0" end
      if t == math.huge then return "1/0" end
      if t == -math.huge then return "-1/0" end
      return ("%.17g"):format(t)
   end
   local parts = {}
   for i, v in ipairs(t) do parts[i] = literal(v) end
   return "{" .. table.concat(parts, ", ") .. "}"
end

-- the driver each child runs: every case's file against its data; prints
-- "CASE i worst-error detail" per case and "DONE n"
local DRIVER = [[
assert(not pcall(require, "nn"), "nn is reachable from the child")
assert(not pcall(require, "nn.core"), "nn.core is reachable from the child")
local function err(a, b, big)
   if a ~= a and b ~= b then return 0 end
   if a == b then return 0 end
   local d = math.abs(a - b) / math.max(math.abs(a), math.abs(b), FLOOR * big)
   if d ~= d then return math.huge end
   return d
end
for i = 1, COUNT do
   local data = dofile("data" .. i .. ".lua")
   local model = dofile("case" .. i .. ".lua")
   -- a batch of one: the one-sample call (a flat array in, out)
   local Y = #data.X > 1 and model.forward(data.X) or {model.forward(data.X[1])}
   local one = #data.X > 1 and model.forward(data.X[1]) or Y[1]
   local worst, at = 0, "none"
   assert(#Y == #data.Y, "rows: " .. #Y .. " for " .. #data.Y)
   for r = 1, #data.Y do
      local want, got = data.Y[r], Y[r]
      assert(#got == #want, "sample " .. r .. ": " .. #got .. " outputs, expected " .. #want)
      local big = 0
      for c = 1, #want do
         local a = math.abs(want[c])
         if a > big and a < math.huge then big = a end      -- NaN and infinities left out
      end
      for c = 1, #want do
         local e = err(got[c], want[c], big)
         if e > worst then
            worst, at = e, string.format("sample %d output %d: %.9g for %.9g", r, c, got[c], want[c])
         end
      end
   end
   for c = 1, #Y[1] do
      if not (one[c] == Y[1][c] or (one[c] ~= one[c] and Y[1][c] ~= Y[1][c])) then
         worst, at = math.huge, "one sample differs from the batch's first at " .. c
      end
   end
   print(string.format("CASE %d %.3g %s", i, worst, at))
end
print("DONE " .. COUNT)
]]

-- the exported cases in a directory of their own: case<i>.lua (the
-- model) and data<i>.lua (inputs and the C path's outputs)
local function prepare(cases)
   local dir = H.tmpdir()
   for i, c in ipairs(cases) do
      local net, X = c[2], c[3]
      net:evaluate()
      local Y = net:forward(nn.Matrix(X)):totable()
      -- the float32 inputs the C path saw
      local X32 = nn.Matrix(X):totable()
      if c.train then net:training() end
      assert(nn.export(net, ("%s/case%d.lua"):format(dir, i)))
      H.write(("%s/data%d.lua"):format(dir, i),
         ("return {X = %s, Y = %s}\n"):format(literal(X32), literal(Y)))
   end
   H.write(dir .. "/driver.lua", ("local COUNT, FLOOR = %d, 0.1\n"):format(#cases) .. DRIVER)
   return dir
end

-- no environment but PATH: no LUA_PATH, LUA_INIT or LD_PRELOAD of the suite's
local CLEAN = "env -i PATH=/usr/bin:/bin LUA_PATH='/nonexistent/?.lua' LUA_CPATH='/nonexistent/?.so' "

local function fengari()
   local mod = H.top .. "/build/fengari/node_modules"
   if not H.sh("command -v node >/dev/null 2>&1") then
      return nil, "node is not installed (make test-deps installs nodejs, npm and fengari)"
   end
   local f = io.open(mod .. "/fengari/package.json")
   if not f then return nil, "fengari is not installed in build/fengari (make test-deps installs it)" end
   f:close()
   return ("%sNODE_PATH='%s' node '%s/tools/fengari.js'"):format(CLEAN, mod, H.top)
end

-- runs the driver under each VM; checks every case's worst error.  Under
-- a sanitizer or valgrind only the suite's own Lua runs it (the children
-- hold no C to check, and the parent's exports are slow there).
local function check(cases, dir)
   local vms = {}
   for _, lua in ipairs(H.sanitized and {H.lua} or LUAS) do vms[#vms + 1] = {lua, CLEAN .. lua} end
   local fg, why = fengari()
   if H.sanitized then fg, why = nil, "not under " .. H.sanitized end
   if fg then vms[#vms + 1] = {"fengari", fg} else print("export spec: skipping Fengari: " .. why) end
   for _, vm in ipairs(vms) do
      local ok, out = H.run(("cd '%s' && timeout 600 %s driver.lua"):format(dir, vm[2]))
      assert(ok, vm[1] .. ": " .. out)
      -- EXPORT_DEBUG=1: every VM's worst error per case, to see the margins
      if os.getenv("EXPORT_DEBUG") then io.stderr:write(vm[1], "\n", out) end
      assert(out:find("DONE " .. #cases, 1, true), vm[1] .. " did not finish: " .. out)
      for i, c in ipairs(cases) do
         local e, detail = out:match("CASE " .. i .. " (%S+) ([^\n]*)")
         assert(e, ("%s: no result for %s"):format(vm[1], c[1]))
         assert((tonumber(e) or math.huge) <= TOL, ("%s: %s: relative error %s > %g (%s)")
            :format(vm[1], c[1], e, TOL, detail))
      end
   end
   return fg ~= nil, why
end

describe("nn.export", function()
   it("has a case for every layer kind of the registry, and exports each", function()
      nn.seed(7)
      local cases, known = {}, {}
      for _, k in ipairs(export.kinds()) do known[k] = true end
      for _, k in ipairs(layers.builtin()) do
         assert(known[k.name], ("nn.export has no exporter for the layer kind %s"):format(k.name))
      end
      for _, k in ipairs(layers.builtin()) do
         local list = examples(k)
         for _, c in ipairs(CASES[k.name] and CASES[k.name]() or {}) do list[#list + 1] = c end
         for _, c in ipairs(list) do
            c[1] = k.name .. ", " .. c[1]
            cases[#cases + 1] = c
         end
      end
      local dir = prepare(cases)
      local withfengari, why = check(cases, dir)
      H.sh("rm -rf '" .. dir .. "'")
      if not withfengari then pending("Fengari not run: " .. why) end
   end)

   it("exports the containers, both CNNs and the MLP 784-256-128-10, on every Lua and Fengari", function()
      nn.seed(8)
      local cases = networks()
      local dir = prepare(cases)
      local withfengari, why = check(cases, dir)
      H.sh("rm -rf '" .. dir .. "'")
      if not withfengari then pending("Fengari not run: " .. why) end
   end)

   it("names what it cannot export", function()
      H.has(H.err(nn.export, nn.Sequential{nn.Linear(3, 2), {forward = print, backward = print}}),
         "nn.export: the network[2] (a Lua layer) is not a built-in layer; nn.export writes only those")
      local Scale = {typename = "Scale"}
      Scale.__index = Scale
      function Scale.forward(_, x) return x end
      function Scale.backward(_, _, g) return g end
      function Scale.parameters() return {}, {} end
      function Scale.config() return {} end
      nn.register("ExportScale", function() return setmetatable({typename = "ExportScale"}, Scale) end)
      local layer = setmetatable({typename = "ExportScale"}, Scale)
      H.has(H.err(nn.export, nn.Sequential{nn.ReLU(), nn.Residual(layer)}),
         "nn.export: the network[2][1] (ExportScale) is a layer written in Lua (nn.register)")
      -- a built-in kind with no exporter (as a new kind would be)
      local saved = export.STAGES.Linear
      export.STAGES.Linear = nil
      local ok, e = pcall(nn.export, nn.Sequential{nn.Tanh(), nn.Linear(3, 2)})
      export.STAGES.Linear = saved
      assert.is_false(ok)
      H.has(e, "nn.export: the network[2] (nn.Linear(3 -> 2)): no exporter for the kind Linear")
      -- the widths are checked where they are known
      -- (a Sequential refuses such a layer when it is made or added; one
      -- put into its list by hand is still caught here)
      local unchained = nn.Sequential{nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)}
      unchained.modules[3] = nn.Linear(5, 2)
      H.has(H.err(nn.export, unchained),
         "nn.export: the network[3] (nn.Linear(5 -> 2)) takes 5 values, but gets 3 from the layers before it")
      local steps = nn.Sequential{nn.Linear(4, 12)}
      steps.modules[2] = nn.LayerNorm(4)
      steps.modules[1] = nn.Linear(4, 10)
      H.has(H.err(nn.export, steps),
         "nn.export: the network[2] (nn.LayerNorm(4)) takes steps of 4 values, but gets 10")
      -- a sequence's width is checked when it runs, and ids too
      local seq = assert((loadstring or load)(nn.export(nn.Sequential{nn.Embedding(3, 2),
         nn.Linear(2, 2, {sequence = true})})))()
      H.has(H.err(seq.forward, {1, 4}), "model.forward: id 4 at 2, expected a whole number from 1 to 3")
      H.has(H.err(seq.forward, {0}), "model.forward: id 0 at 1, expected a whole number from 1 to 3")
      local ln = assert((loadstring or load)(nn.export(nn.LayerNorm(2))))()
      H.has(H.err(ln.forward, {1, 2, 3}), "model.forward: 3 values are not steps of 2")
      H.has(H.err(nn.export, nn.Sequential{nn.Conv2d(1, 2, 3)}),
         "nn.export: the network[1] (nn.Conv2d(1 -> 2, 3x3)) does not know its input's shape")
      local residual = nn.Residual(nn.Linear(3, 3))
      local outer = nn.Sequential{nn.Linear(4, 3), residual}
      residual.modules[1] = nn.Linear(3, 2)
      H.has(H.err(nn.export, outer),
         "nn.export: the network[2] (nn.Residual): its module maps 3 values to 2")
      H.has(H.err(nn.export, "net"), "nn.export: expected a network (a layer or a container), got string")
      H.has(H.err(nn.export, nn.Linear(2, 2), 5), "nn.export: path must be a string, got number")
      H.has(H.err(nn.export, nn.Linear(2, 2), "/nonexistent/dir/net.lua"), "nn.export: ")
   end)

   it("returns the source, or writes the same to a path; the file says what it is", function()
      local net = nn.Sequential{nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)}
      local src = nn.export(net)
      assert.are.equal("string", type(src))
      local dir = H.tmpdir()
      assert.is_true(nn.export(net, dir .. "/net.lua"))
      local file = H.read(dir .. "/net.lua")
      H.sh("rm -rf '" .. dir .. "'")
      local function undated(s) return (s:gsub("Made [^\n]* by", "Made by")) end
      assert.are.equal(undated(src), undated(file))
      assert.truthy(src:find("^%-%- A neural network's forward pass"))
      H.has(src, "-- Made ")
      H.has(src, " by " .. nn._VERSION .. ".")
      H.has(src, "local model = dofile(")
      H.has(src, "-- Licence: the weights are the property of whoever trained the network")
      H.has(src, "--     (1) nn.Linear(3 -> 4)")
      local model = assert((loadstring or load)(src))()
      assert.are.equal(3, model.inputSize)
      assert.are.equal(2, model.outputSize)
   end)

   it("writes only what every Lua and Luau have: no require, goto, //, bit operators or string.pack", function()
      local net = nn.Sequential{nn.Conv2d(1, 2, 3, {padding = 1, input = {1, 4, 4}}), nn.BatchNorm2d(2),
         nn.GELU(), nn.MaxPool2d(2), nn.Residual(nn.Sequential{nn.Flatten(), nn.Tanh()}),
         nn.Concat{nn.AvgPool2d(1), nn.ELU()}, nn.Linear(16, 70), nn.Softplus(), nn.Linear(70, 3),
         nn.LogSoftmax()}
      local src = nn.export(net)
      local code = src:gsub("%-%-[^\n]*", ""):gsub('"[^"\n]*"', '""')
      for _, bad in ipairs{"require", "goto", "//", "<<", ">>", "&", "|", "string.pack",
                           "string.unpack", "loadstring", "setfenv", "math.tanh", "unpack", "::"} do
         assert.falsy(code:find(bad, 1, true), "the exported code has " .. bad)
      end
      assert.falsy(code:find("~[^=]"), "the exported code has the ~ operator")
   end)

   it("prints every float32 so that it reads back to the same bits", function()
      -- 20000 random bit patterns (NaNs left out: their payloads are not
      -- numbers Lua can print) and the edges
      local bytes = {}
      nn.seed(3)
      local R = nn.rand(20000, 4, 0, 256)
      for i = 1, 20000 do
         local b = {}
         for j = 1, 4 do b[j] = math.floor(R:get(i, j)) end
         if b[4] % 128 == 127 and b[3] >= 128 then b[4] = b[4] - 1 end   -- exponent 255: inf, NaN
         bytes[i] = string.char(b[1], b[2], b[3], b[4])
      end
      -- 0, -0, 1, -1, 0.1, 1/3, the largest, the smallest normal and
      -- subnormal, infinities, 2^24 + 2
      local negzero = -(1 / math.huge)      -- not -0.0: 5.1 would make that 0
      local edges = nn.Matrix{{0, negzero, 1, -1, 0.1, 1 / 3, 0, 0, 0, 0, 0, 1 / 0, -1 / 0, 16777218}}:tobytes()
      edges = edges:sub(1, 24) .. "\255\255\127\127" .. "\255\255\127\255" .. "\0\0\128\0"
         .. "\1\0\0\0" .. "\1\0\0\128" .. edges:sub(45)
      local M = nn.Matrix.fromfloats(table.concat(bytes) .. edges, 1, 20014)
      local lits = {}
      for j = 1, 20014 do lits[j] = export.literal(M:get(1, j)) end
      local back = assert((loadstring or load)("return {" .. table.concat(lits, ", ") .. "}"))()
      assert.are.equal(20014, #back)
      assert.are.equal(M:tobytes(), nn.Matrix(1, 20014, back):tobytes())
      assert.are.equal("-1/(1/0)", export.literal(negzero))
      assert.are.equal("0/0", export.literal(0 / 0))
      assert.are.equal("1.0", export.literal(1))
      local nan = assert((loadstring or load)("return " .. export.literal(0 / 0)))()
      assert.are_not.equal(nan, nan)
   end)

   it("checks what forward is given, and returns new tables", function()
      local model = assert((loadstring or load)(nn.export(nn.Sequential{nn.Linear(3, 2), nn.Tanh()})))()
      local x = {0.5, -1, 2}
      local y1 = model.forward(x)
      local y2 = model.forward({1, 1, 1})
      assert.are_not.equal(y1, y2)
      assert.are.same(model.forward(x), y1)                -- y1 untouched by the second call
      assert.are.same({0.5, -1, 2}, x)
      local ys = model.forward({x, {1, 1, 1}})
      assert.are.same({y1, y2}, ys)
      assert.are.same({}, model.forward({}))
      H.has(H.err(model.forward, {1, 2}), "model.forward: the input has 2 values, expected 3")
      H.has(H.err(model.forward, {x, {1, 2, 3, 4}}), "model.forward: sample 2 has 4 values, expected 3")
      H.has(H.err(model.forward, {x, 7}), "model.forward: sample 2 is number, expected an array of numbers")
      H.has(H.err(model.forward, {1, "2", 3}), "model.forward: the input has string at 2, expected a number")
      H.has(H.err(model.forward, nil),
         "model.forward: expected an array of numbers (a sample) or an array of them (a batch), got nil")
      -- an identity network gives a copy, not its input
      local id = assert((loadstring or load)(nn.export(nn.Sequential{nn.Dropout()})))()
      local v = {1, 2, 3}
      local w = id.forward(v)
      assert.are.same(v, w)
      assert.are_not.equal(v, w)
      assert.is_nil(id.inputSize)
   end)
end)
