-- Cross-check against PyTorch: the same forward outputs and gradients for
-- fixed weights and inputs, within 1e-4 relative.  Runs where
-- /usr/bin/python3 has torch (make test installs python3-torch); pending
-- elsewhere.
local nn = require "nn"
local H = require "helpers"

local xerr = H.xerr

-- XCHECK_VERBOSE=1 prints the worst error of each comparison
local verbose = os.getenv("XCHECK_VERBOSE")
local function report(what, e)
   if verbose then io.stderr:write(("xcheck %-40s %.3g\n"):format(what, e)) end
   return e
end

local function layer_cases()
   nn.seed(2024)
   local cases = {}
   local function add(op, module, x, a)
      local y = module:forward(x)
      cases[#cases + 1] = {kind = "layer", op = op, module = module, x = x:clone(),
                           gy = nn.randn(y:shape()), a = a}
   end
   local l = nn.Linear(13, 7, {init = "uniform"})
   add("Linear", l, nn.randn(8, 13))
   cases[#cases].w, cases[#cases].b = l.weight:clone(), l.bias:clone()
   local big = nn.Linear(784, 64)
   add("Linear", big, nn.rand(32, 784))
   cases[#cases].w, cases[#cases].b = big.weight:clone(), big.bias:clone()
   local x = nn.randn(6, 9, 2)
   add("Sigmoid", nn.Sigmoid(), x)
   add("Tanh", nn.Tanh(), x)
   add("ReLU", nn.ReLU(), x)
   add("LeakyReLU", nn.LeakyReLU(0.1), x, 0.1)
   add("ELU", nn.ELU(0.7), x, 0.7)
   add("Softplus", nn.Softplus(2), x, 2)
   add("Softmax", nn.Softmax(), x)
   add("LogSoftmax", nn.LogSoftmax(), x)
   add("Identity", nn.Identity(), x)
   add("Sign", nn.Sign(), x)
   add("Step", nn.Step(), x)
   add("PiecewiseLinear", nn.PiecewiseLinear(), nn.rand(6, 9, -1, 1))
   add("GELU", nn.GELU(), x * 3)
   cases[#cases].approximate = "none"
   add("GELU", nn.GELU{approximate = "tanh"}, x * 3)
   cases[#cases].approximate = "tanh"
   return cases
end

-- a grid over kernel sizes, strides, paddings, dilations, odd image sizes,
-- channel counts and batch sizes 1 and 7, for Conv2d and the two pools
local function image_cases()
   nn.seed(7)
   local cases = {}
   local sizes = {{1, 7, 5}, {3, 9, 9}, {2, 6, 11}, {1, 28, 28}, {4, 5, 4}}
   local windows = {  -- kh, kw, sh, sw, ph, pw, dh, dw
      {1, 1, 1, 1, 0, 0, 1, 1}, {3, 3, 1, 1, 1, 1, 1, 1}, {2, 2, 2, 2, 0, 0, 1, 1},
      {5, 5, 1, 1, 2, 2, 1, 1}, {3, 2, 2, 1, 1, 0, 1, 1}, {3, 3, 2, 2, 0, 1, 2, 1},
      {2, 3, 1, 2, 1, 1, 1, 2}, {4, 4, 3, 3, 2, 1, 1, 1},
   }
   local k = 0
   for _, s in ipairs(sizes) do
      for wi, w in ipairs(windows) do
         k = k + 1
         local C, Hh, W = s[1], s[2], s[3]
         local kh, kw, sh, sw, ph, pw, dh, dw = H.unpack(w)
         local fits = Hh + 2 * ph >= dh * (kh - 1) + 1 and W + 2 * pw >= dw * (kw - 1) + 1
         if fits then
            local n = (k % 2 == 0) and 1 or 7
            local conf = {C = C, H = Hh, W = W, kh = kh, kw = kw, sh = sh, sw = sw,
                          ph = ph, pw = pw, dh = dh, dw = dw, inpad = (wi % 2 == 0)}
            local x = nn.randn(n, C * Hh * W)
            local o = (k % 3) + 1
            local bias = k % 4 ~= 0
            local conv = nn.Conv2d(C, o, {kh, kw}, {stride = {sh, sw}, padding = {ph, pw},
               dilation = {dh, dw}, bias = bias, input = {C, Hh, W}, init = "uniform"})
            local y = conv:forward(x)
            cases[#cases + 1] = {kind = "layer", op = "Conv2d", module = conv, x = x,
               gy = nn.randn(y:shape()), conf = conf, w = conv.weight:clone(),
               b = bias and conv.bias:clone() or nil}
            -- pools: padding at most half the window
            if 2 * ph <= kh and 2 * pw <= kw then
               local mp = nn.MaxPool2d({kh, kw}, {stride = {sh, sw}, padding = {ph, pw},
                  dilation = {dh, dw}, input = {C, Hh, W}})
               cases[#cases + 1] = {kind = "layer", op = "MaxPool2d", module = mp, x = x,
                  gy = nn.randn(mp:forward(x):shape()), conf = conf}
               local ap = nn.AvgPool2d({kh, kw}, {stride = {sh, sw}, padding = {ph, pw},
                  countIncludePad = conf.inpad, input = {C, Hh, W}})
               local c2 = {}
               for key, v in pairs(conf) do c2[key] = v end
               c2.dh, c2.dw = 1, 1
               if dh == 1 and dw == 1 then
                  cases[#cases + 1] = {kind = "layer", op = "AvgPool2d", module = ap, x = x,
                     gy = nn.randn(ap:forward(x):shape()), conf = c2}
               end
            end
         end
      end
   end
   -- batch normalization, features and channels, training and evaluation
   for _, b in ipairs{{"BatchNorm1d", 7, 5, 1}, {"BatchNorm1d", 2, 3, 1}, {"BatchNorm2d", 7, 3, 20},
                      {"BatchNorm2d", 1, 2, 35}, {"BatchNorm2d", 4, 1, 9}} do
      for _, train in ipairs{true, false} do
         for _, affine in ipairs{true, false} do
            local kind, n, C, S = b[1], b[2], b[3], b[4]
            local opts = {affine = affine, momentum = 0.3, eps = 1e-3}
            if kind == "BatchNorm2d" then opts.input = {C, S == 35 and 5 or 3, S == 35 and 7 or S / 3} end
            if S == 20 then opts.input = {C, 4, 5} elseif S == 9 then opts.input = {C, 3, 3} end
            local m = nn[kind](C, opts)
            if affine then m.weight = nn.rand(1, C, 0.5, 1.5); m.bias = nn.randn(1, C) end
            m.runningMean = nn.randn(1, C)
            m.runningVar = nn.rand(1, C, 0.5, 2)
            if not train then m:evaluate() end
            local x = nn.randn(n, C * S) * 2 + 1
            cases[#cases + 1] = {kind = "layer", op = "BatchNorm", module = m, x = x,
               gy = nn.randn(n, C * S), rm = m.runningMean:clone(), rv = m.runningVar:clone(),
               w = affine and m.weight:clone() or nil, b = affine and m.bias:clone() or nil,
               conf = {C = C, S = S, eps = 1e-3, momentum = 0.3, affine = affine, train = train}}
         end
      end
   end
   return cases
end

local function loss_cases()
   nn.seed(99)
   local labels = {3, 1, 4, 4, 2, 1, 3}
   local probs = nn.Softmax():forward(nn.randn(7, 4)):clone()
   local z, t = nn.randn(7, 4), nn.rand(7, 4)
   local cases = {}
   local function add(crit, x, target)
      cases[#cases + 1] = {kind = "loss", op = crit.typename, crit = crit,
                           reduction = crit.reduction, x = x, target = target}
   end
   for _, red in ipairs{"mean", "sum"} do
      local o = {reduction = red}
      add(nn.CrossEntropyLoss(o), z, labels)
      add(nn.CrossEntropyLoss(o), z, probs)
      add(nn.NLLLoss(o), nn.LogSoftmax():forward(z):clone(), labels)
      add(nn.MSELoss(o), z, t)
      add(nn.L1Loss(o), z, t)
      add(nn.BCELoss(o), nn.rand(7, 4, 0.05, 0.95), t)
      add(nn.BCEWithLogitsLoss(o), z * 3, t)
      -- class indices ignored: PyTorch's default -100, or 0 given
      add(nn.CrossEntropyLoss(o), z, {3, -100, 4, 4, -100, 1, 3})
      add(nn.NLLLoss{reduction = red, ignoreIndex = 0}, nn.LogSoftmax():forward(z):clone(),
         {0, 1, 4, 0, 2, 1, 3})
      cases[#cases].ignore = 0
      -- over each step of sequences: 7 rows of 5 steps of 4 classes
      local zs = nn.randn(7, 20)
      local ys = nn.rand(7, 5, 1, 5):apply(math.floor)
      add(nn.CrossEntropyLoss{reduction = red, sequence = true}, zs, ys)
      cases[#cases].steps = 5
      local yi = ys:clone()
      for i = 1, 7 do yi:set(i, (i % 5) + 1, 0) end
      add(nn.CrossEntropyLoss{reduction = red, sequence = true, ignoreIndex = 0}, zs, yi)
      cases[#cases].steps, cases[#cases].ignore = 5, 0
      add(nn.NLLLoss{reduction = red, sequence = true}, nn.LogSoftmax():forward(zs):clone(), ys)
      cases[#cases].steps = 5
   end
   return cases
end

-- ---- every example of every kind the registry lists ----------------------
-- Each kind's descriptor gives examples: a constructor call and the same
-- layer in PyTorch.  The layer's state dict (its descriptor's PyTorch
-- names and shapes) goes into PyTorch's module, and outputs, dL/dx, every
-- parameter's gradient and every buffer after the forward must agree.

local function example(e)
   local f = assert(H.load("return " .. e.lua, "=" .. e.lua, {nn = nn}))
   return f()
end

local function flat(M)
   local t = {}
   for _, row in ipairs(M:totable()) do
      for _, v in ipairs(row) do t[#t + 1] = v end
   end
   return t
end

-- the input's shape for PyTorch (-1: the batch): images (N, C, H, W),
-- sequences (N, T, D), token ids (N, T), others (N, cols)
local function torchview(m, e)
   local img = m.inputShape
   if img then return {-1, img[1], img[2], img[3]} end
   local d = m.inputStep
   if d and not e.ids then return {-1, math.floor(e.cols / d), d} end
   return {-1, e.cols}
end

local function registry_cases()
   local cases = {}
   for _, k in ipairs(require("nn.core").layers()) do
      for j, e in ipairs(k.examples) do
         if e.torch then
            nn.seed(100 + #cases)
            local m = example(e)
            -- parameters off their initial values (LayerNorm's weight is 1)
            for _, p in ipairs((m:parameters())) do p:add(nn.randn(p:shape()), 0.5) end
            local state = {}
            for key, v in pairs(nn.stateDict(m)) do
               if v.int then state[key] = {int = v.int}
               else state[key] = {v = flat(v[1]), shape = v.shape} end
            end
            local x = e.ids and nn.rand(4, e.cols, 1, e.ids + 1):apply(math.floor)
               or nn.randn(4, e.cols)
            local y = m:forward(x)
            cases[#cases + 1] = {name = ("%s example %d: %s"):format(k.name, j, e.lua), module = m,
               torch = e.torch, state = state, x = x, ids = e.ids ~= nil, view = torchview(m, e),
               gy = nn.randn(y:shape()), train = true}
         end
      end
   end
   return cases
end

describe("PyTorch cross-check", function()
   if not H.have_torch() then
      pending("/usr/bin/python3 with torch is not installed (apt-get install python3-torch)")
      return
   end

   local TOL = 1e-4

   it("layers: outputs, input gradients and parameter gradients", function()
      local cases = layer_cases()
      local ref = H.torch("spec/xcheck/torch_ref.py", cases)
      assert.are.equal(#cases, #ref)
      for i, c in ipairs(cases) do
         local m = c.module
         m:zeroGrad()
         local y = m:forward(c.x)
         local e = report(c.op .. " forward", xerr(y, ref[i].y))
         assert.is_true(e < TOL, ("%s forward: %g"):format(c.op, e))
         local gx = m:backward(c.x, c.gy)
         e = report(c.op .. " backward", xerr(gx, ref[i].gx))
         assert.is_true(e < TOL, ("%s backward: %g"):format(c.op, e))
         if ref[i].gw then
            e = report(c.op .. " parameter gradients",
               math.max(xerr(m.gradWeight, ref[i].gw), xerr(m.gradBias, ref[i].gb)))
            assert.is_true(e < TOL, ("%s parameter gradients: %g"):format(c.op, e))
         end
      end
   end)

   it("image layers: a grid of shapes, windows and batch sizes", function()
      local cases = image_cases()
      assert.is_true(#cases > 60, #cases .. " cases")
      local ref = H.torch("spec/xcheck/torch_ref.py", cases)
      assert.are.equal(#cases, #ref)
      for i, c in ipairs(cases) do
         local m, name = c.module, tostring(c.module) .. " batch " .. c.x:shape()
         m:zeroGrad()
         local e = report(name, xerr(m:forward(c.x), ref[i].y))
         assert.is_true(e < TOL, ("%s forward: %g"):format(name, e))
         e = xerr(m:backward(c.x, c.gy), ref[i].gx)
         assert.is_true(e < TOL, ("%s backward: %g"):format(name, e))
         if ref[i].gw then
            e = xerr(m.gradWeight, ref[i].gw)
            if ref[i].gb then e = math.max(e, xerr(m.gradBias, ref[i].gb)) end
            assert.is_true(e < TOL, ("%s parameter gradients: %g"):format(name, e))
         end
         if ref[i].rm then      -- one forward has moved them as PyTorch's
            e = math.max(xerr(m.runningMean, ref[i].rm), xerr(m.runningVar, ref[i].rv))
            assert.is_true(e < TOL, ("%s running statistics: %g"):format(name, e))
         end
      end
   end)

   it("every kind's examples from the registry: outputs and every gradient, by PyTorch's names", function()
      local cases = registry_cases()
      assert.is_true(#cases >= 25, #cases .. " cases")
      -- the forward ran once already (the output's shape): run again from
      -- the saved state, so that running statistics move once, as PyTorch's
      for _, c in ipairs(cases) do
         for key, v in pairs(c.state) do
            if v.v then
               local t = nn.stateDict(c.module)[key][1]
               local r, cc = t:shape()
               t:copy(nn.Matrix(r, cc, v.v))
            end
         end
      end
      local ref = H.torch("spec/xcheck/torch_registry.py", cases)
      assert.are.equal(#cases, #ref)
      for i, c in ipairs(cases) do
         local m = c.module
         m:zeroGrad()
         local y = m:forward(c.x)
         local e = report(c.name, xerr(y, ref[i].y))
         assert.is_true(e < TOL, ("%s forward: %g"):format(c.name, e))
         local gx = m:backward(c.x, c.gy)
         if ref[i].gx then
            e = xerr(gx, ref[i].gx)
            assert.is_true(e < TOL, ("%s dL/dx: %g"):format(c.name, e))
         end
         for _, t in ipairs(m:tensors()) do
            if t.gradient then
               local want = ref[i].grads[t.torch]
               assert(want, c.name .. ": PyTorch has no parameter " .. t.torch)
               e = xerr({flat(t.gradient)}, want)
               assert.is_true(e < TOL, ("%s gradient of %s: %g"):format(c.name, t.torch, e))
               e = xerr({flat(t.value)}, ref[i].values[t.torch])
               assert.is_true(e < TOL, ("%s %s after the forward: %g"):format(c.name, t.torch, e))
            elseif t.buffer then
               local want = ref[i].buffers[t.torch]
               assert(want, c.name .. ": PyTorch has no buffer " .. t.torch)
               e = xerr({flat(t.value)}, want)
               assert.is_true(e < TOL, ("%s buffer %s: %g"):format(c.name, t.torch, e))
            end
         end
      end
   end)

   it("gradient clipping: the total norm and the gradients after, as torch.nn.utils'", function()
      nn.seed(5)
      local cases = {}
      local function grads(scale)
         return {nn.randn(3, 4, scale), nn.randn(1, 4, scale), nn.randn(5, 2, scale)}
      end
      for _, p in ipairs{2, 1, 3, 0.5, "inf"} do
         for _, max in ipairs{0.5, 1e3} do
            cases[#cases + 1] = {kind = "clip", p = p, max = max, gs = grads(2)}
         end
      end
      cases[#cases + 1] = {kind = "clip", value = 0.3, gs = grads(1)}
      local ref = H.torch("spec/xcheck/torch_ref.py", cases)
      for i, c in ipairs(cases) do
         local name = c.value and "clipGradValue" or ("clipGradNorm(p %s, max %g)"):format(c.p, c.max)
         if c.value then
            nn.clipGradValue(c.gs, c.value)
         else
            local total = nn.clipGradNorm(c.gs, c.max, c.p == "inf" and math.huge or c.p)
            assert.is_true(math.abs(total - ref[i].norm) <= TOL * ref[i].norm,
               ("%s: norm %.8g vs torch %.8g"):format(name, total, ref[i].norm))
         end
         for j, g in ipairs(c.gs) do
            local e = report(name, xerr(g, ref[i].gs[j]))
            assert.is_true(e < TOL, ("%s gradient %d: %g"):format(name, j, e))
         end
      end
   end)

   it("losses: values and gradients, mean and sum", function()
      local cases = loss_cases()
      local ref = H.torch("spec/xcheck/torch_ref.py", cases)
      for i, c in ipairs(cases) do
         local name = ("%s(%s) %s%s"):format(c.op, c.reduction,
            (type(c.target) == "table" or c.steps) and "labels" or "dense",
            c.steps and " per step" or "")
         local L = c.crit:forward(c.x, c.target)
         local want = ref[i].loss
         assert.is_true(math.abs(L - want) <= TOL * math.max(1, math.abs(want)),
            ("%s: %.8g vs torch %.8g"):format(name, L, want))
         report(name, math.abs(L - want) / math.max(1, math.abs(want)))
         local e = report(name .. " gradient", xerr(c.crit:backward(c.x, c.target), ref[i].gx))
         assert.is_true(e < TOL, ("%s gradient: %g"):format(name, e))
      end
   end)
end)
