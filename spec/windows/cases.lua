-- What the Windows build is checked on: the same operations run on Linux
-- (record.lua, inside spec/windows_spec.lua) and on Windows (run.lua,
-- under wine), and their results must agree.  The inputs cross in the
-- fixture, so a difference in one place (the random generator, a kernel)
-- fails one check, not all of them.  Plain Lua 5.1: this file runs under
-- LuaJIT on Windows and under every Lua on Linux.
local unpack = table.unpack or unpack

local cases = {}

-- ---- inputs ---------------------------------------------------------------

-- a named input: Linux makes it with nn's generator (seeded per name);
-- Windows receives it
local function randn(r, c, std) return function(nn) return nn.randn(r, c, std) end end
local function rand(r, c, lo, hi) return function(nn) return nn.rand(r, c, lo, hi) end end

cases.inputs = {
   {"A", randn(5, 7)}, {"B", randn(7, 4)}, {"C", randn(5, 4)},
   {"Bt", randn(4, 7)}, {"At", randn(7, 5)}, {"v", randn(1, 7)},
   {"P", rand(5, 7, 0.1, 3)}, {"big", randn(40, 50)}, {"big2", randn(50, 30)},
   {"logits", randn(6, 5, 2)}, {"probs", rand(6, 5, 0.02, 0.98)},
   {"bits", rand(6, 5)}, {"reals", randn(6, 5)},
   {"p0", randn(3, 4)}, {"g1", randn(3, 4)}, {"g2", randn(3, 4)}, {"g3", randn(3, 4)},
   -- 6 sequences of 3 steps of 5 logits, and a class a step (0: padding)
   {"steplogits", randn(6, 15, 2)},
   {"steps", function(nn)
      local t = nn.rand(6, 3, 1, 6):apply(math.floor)
      t:set(2, 3, 0)
      t:set(5, 1, 0)
      return t
   end},
}

-- ---- the random generator: must agree bit for bit -------------------------

cases.random = {
   {"nn.rand after nn.seed(7)", function(nn) nn.seed(7); return nn.rand(3, 5) end},
   {"nn.randn after nn.seed(7)", function(nn) nn.seed(7); return nn.randn(4, 3, 2, 1) end},
   {"nn.random after nn.seed(9)", function(nn)
      nn.seed(9)
      local t = {}
      for i = 1, 8 do t[i] = nn.random(1000) end
      t[9] = nn.random()
      return t
   end},
   {"nn.Linear's kaiming init after nn.seed(3)", function(nn)
      nn.seed(3)
      return nn.Linear(6, 4).weight
   end},
}

-- ---- Matrix ---------------------------------------------------------------

cases.matrix = {
   {"A * B (sgemm)", function(nn, I) return I.A * I.B end},
   {"matmul(A, Bt, false, true)", function(nn, I) return nn.matmul(I.A, I.Bt, false, true) end},
   {"matmul(At, B, true, false)", function(nn, I) return nn.matmul(I.At, I.B, true, false) end},
   {"matmul(At, Bt, true, true)", function(nn, I) return nn.matmul(I.At, I.Bt, true, true) end},
   {"C:gemm(A, B, 0.5, 2)", function(nn, I) return I.C:clone():gemm(I.A, I.B, 0.5, 2) end},
   {"v * B (one row: sgemv)", function(nn, I) return I.v * I.B end},
   {"big * big2 (40 x 50 x 30)", function(nn, I) return I.big * I.big2 end},
   {"A + v, A - 2, 2 / P, -A", function(nn, I)
      return {I.A + I.v, I.A - 2, 2 / I.P, -I.A}
   end},
   {"A:add, mul, div in place", function(nn, I)
      return I.A:clone():add(I.v, 0.5):mul(I.A):div(I.P)
   end},
   {"exp, log, sqrt, abs, pow, clamp", function(nn, I)
      return {I.A:exp(), I.P:log(), I.P:sqrt(), I.A:abs(), I.P:pow(1.7), I.A ^ 2,
              I.A:clamp(-0.5, 0.5)}
   end},
   {"sum, mean, max, min, argmax", function(nn, I)
      local mx, mr, mc = I.A:max()
      local vals, idx = I.A:max(2)
      return {I.A:sum(), I.A:mean(), mx, mr, mc, I.A:sum(1), I.A:mean(2), vals, idx,
              I.A:min(1), I.A:argmax(2)}
   end},
   {"var, std, norm, dot", function(nn, I)
      return {I.A:var(), I.A:std(1), I.A:var(2), I.A:norm(), I.A:dot(I.A)}
   end},
   {"views: row, narrow, reshape, t, col, getcols", function(nn, I)
      local X = I.A:clone()
      X:row(2):fill(3)
      X:narrow(4, 2):mul(-1)
      return {X, X:reshape(7, 5), X:t(), X:col(3), X:getcols(2, 3), X:isview(),
              X:row(1):isview()}
   end},
   {"tostring of a Matrix", function(nn, I) return tostring(I.A) end},
   {"totable, fromfloats(tobytes)", function(nn, I)
      local t = I.A:totable()
      local B = nn.Matrix.fromfloats(I.A:tobytes(), 5, 7)
      return {nn.Matrix(t), B, #I.A:tobytes()}
   end},
   {"frombytes, quantize", function(nn, I)
      local s = I.A:quantize(-2, 2)
      return {nn.Matrix.frombytes(s, 5, 7, 0, 1 / 255), #s}
   end},
}

-- ---- error messages: the same words ----------------------------------------

cases.errors = {
   {"multiply mismatched shapes", function(nn, I) return I.A * I.A end},
   {"get out of range", function(nn, I) return I.A:get(6, 1) end},
   {"Linear: wrong input width", function(nn, I) return nn.Linear(8, 2):forward(I.A) end},
   {"a label out of range", function(nn, I)
      return nn.CrossEntropyLoss():forward(I.logits, {1, 2, 3, 4, 5, 6})
   end},
   {"a non-integer label", function(nn, I)
      return nn.onehot(nn.Matrix(2, 1, {1, 2.5}), 3)
   end},
   {"a Matrix of -1 rows", function(nn) return nn.Matrix(-1, 3) end},
   {"A[1] points at row", function(nn, I) return I.A[1] end},
   {"Sequential names the layer", function(nn, I)
      return nn.Sequential{nn.Linear(7, 3), nn.Linear(4, 2)}:forward(I.A)
   end},
}

-- ---- every layer: forward, backward, parameter gradients --------------------
-- {kind, constructor arguments, input rows, input columns [, opts]};
-- opts: evaluate (run in evaluate mode), stats = {mean, var} (running
-- statistics set before running), ids (the input is token ids, whole
-- numbers from 1 to ids).  Every built-in kind needs at least one.

cases.layers = {
   {"Linear", {7, 4}, 5, 7},
   {"Linear", {7, 3, {bias = false, init = "xavier"}}, 1, 7},
   {"Softmax", {}, 4, 6},
   {"LogSoftmax", {}, 4, 6},
   {"Flatten", {}, 3, 6},
   {"Dropout", {0.3}, 4, 9},
   {"Dropout", {0.3}, 4, 9, {evaluate = true}},
   {"Identity", {}, 3, 5},
   {"Sigmoid", {}, 4, 8},
   {"Tanh", {}, 4, 8},
   {"ReLU", {}, 4, 8},
   {"LeakyReLU", {0.2}, 4, 8},
   {"ELU", {0.7}, 4, 8},
   {"Softplus", {2}, 4, 8},
   {"Step", {}, 4, 8},
   {"Sign", {}, 4, 8},
   {"PiecewiseLinear", {}, 4, 8},
   {"GELU", {}, 4, 8},
   {"GELU", {{approximate = "tanh"}}, 4, 8},
   {"Conv2d", {2, 3, 3, {padding = 1, input = {2, 5, 5}}}, 3, 50},
   {"Conv2d", {2, 4, {3, 2}, {stride = {2, 1}, padding = {1, 0}, dilation = {1, 2},
                              input = {2, 6, 7}}}, 2, 84},
   {"Conv2d", {3, 2, 1, {bias = false, input = {3, 4, 4}}}, 1, 48},
   {"MaxPool2d", {2, {input = {2, 4, 6}}}, 3, 48},
   {"MaxPool2d", {3, {stride = 2, padding = 1, dilation = 1, input = {1, 7, 7}}}, 2, 49},
   {"AvgPool2d", {2, {input = {2, 4, 6}}}, 3, 48},
   {"AvgPool2d", {3, {stride = 2, padding = 1, countIncludePad = false,
                      input = {1, 7, 7}}}, 2, 49},
   {"BatchNorm1d", {5}, 6, 5},
   {"BatchNorm1d", {5, {affine = false, momentum = 0.3}}, 6, 5},
   {"BatchNorm1d", {5}, 6, 5, {evaluate = true, stats = true}},
   {"BatchNorm2d", {2, {input = {2, 3, 4}}}, 4, 24},
   {"BatchNorm2d", {2, {eps = 1e-3, input = {2, 3, 4}}}, 4, 24, {evaluate = true, stats = true}},
   {"Linear", {4, 3, {sequence = true}}, 3, 12},
   {"Embedding", {10, 3, {paddingIndex = 2}}, 3, 5, {ids = 10}},
   {"Embedding", {6, 4, {maxNorm = 1.5, normType = 3}}, 2, 4, {ids = 6}},
   {"LayerNorm", {4}, 3, 12},
   {"LayerNorm", {3, {eps = 1e-3, bias = false}}, 2, 9},
   {"LayerNorm", {5, {affine = false}}, 2, 15},
}

-- the loss of a case with the reduction red
function cases.makeloss(nn, c, red)
   local opts = {reduction = red}
   for k, v in pairs(c[4] or {}) do opts[k] = v end
   return nn[c[1]](opts)
end

-- the layer of a case, made after nn.seed(seed)
function cases.makelayer(nn, c, seed)
   nn.seed(seed)
   local m = nn[c[1]](unpack(c[2]))
   if c[5] and c[5].evaluate then m:evaluate() else m:training() end
   return m
end

-- ---- every loss, both reductions ------------------------------------------
-- {kind, input, target (an input's name, or a Lua list of classes) [,
-- options besides the reduction]}

local classes = {3, 1, 5, 2, 2, 4}
cases.losses = {
   {"CrossEntropyLoss", "logits", classes},
   {"CrossEntropyLoss", "logits", "probs"},
   {"NLLLoss", "logits", classes},
   {"CrossEntropyLoss", "logits", {3, -100, 5, 2, -100, 4}},
   {"CrossEntropyLoss", "steplogits", "steps", {sequence = true, ignoreIndex = 0}},
   {"NLLLoss", "steplogits", "steps", {sequence = true, ignoreIndex = 0}},
   {"MSELoss", "logits", "reals"},
   {"L1Loss", "logits", "reals"},
   {"BCELoss", "probs", "bits"},
   {"BCEWithLogitsLoss", "logits", "bits"},
}

-- ---- every optimizer: three steps from p0 with gradients g1, g2, g3 --------
-- {kind, options [, the step count to start from]}

cases.optim = {
   {"SGD", {lr = 0.1}},
   {"SGD", {lr = 0.1, momentum = 0.9, nesterov = true, weightDecay = 1e-3}},
   {"SGD", {lr = 0.05, momentum = 0.8, dampening = 0.2}},
   {"Adam", {lr = 0.01}},
   {"Adam", {lr = 0.01, amsgrad = true, weightDecay = 1e-2}},
   {"AdamW", {lr = 0.01, betas = {0.8, 0.99}}},
   -- a step count past 2^31: Adam's bias correction reads it whole
   {"Adam", {lr = 0.01}, 2 ^ 31 + 3},
   {"RMSprop", {lr = 0.01}},
   {"RMSprop", {lr = 0.01, centered = true, momentum = 0.5, weightDecay = 1e-3}},
   {"Adagrad", {lr = 0.1, lrDecay = 0.01, initialAccumulatorValue = 0.1}},
}

function cases.optimize(nn, c, I)
   local p, g = I.p0:clone(), nn.zeros(3, 4)
   local opt = nn[c[1]]({p}, {g}, c[2])
   if c[3] then opt.t = c[3] end
   local out = {}
   for k, gk in ipairs({I.g1, I.g2, I.g3}) do
      g:copy(gk)
      opt:step()
      out[k] = p:clone()
   end
   return out
end

-- ---- a model file written on Linux ----------------------------------------
-- a network with every kind of container and most layers (no Step or
-- Sign: a kernel's rounding could flip them and the outputs after them);
-- Linux saves it with its Adam state after two steps, and the outputs
-- before and after a third step are recorded

function cases.network(nn)
   nn.seed(21)
   return nn.Sequential{
      nn.Linear(6, 18), nn.Tanh(),
      nn.Conv2d(2, 3, {3, 2}, {padding = 1, input = {2, 3, 3}}),
      nn.BatchNorm2d(3), nn.GELU(), nn.MaxPool2d(2, {stride = 1}),
      nn.Residual(nn.Sequential{nn.Conv2d(3, 3, 1), nn.Sigmoid()}),
      nn.Concat{nn.AvgPool2d(1), nn.Identity()}, nn.Flatten(),
      nn.Linear(36, 8), nn.BatchNorm1d(8), nn.ELU(), nn.Dropout(0.2),
      nn.Sequential{nn.Linear(8, 7, {init = "uniform"}), nn.Softplus(), nn.LeakyReLU(0.1)},
      nn.Linear(7, 4), nn.LogSoftmax(),
   }
end

function cases.networkdata(nn)
   local X = nn.Matrix(11, 6)
   for i = 1, 11 do
      for j = 1, 6 do X:set(i, j, ((i * 6 + j) % 13) / 13 - 0.5) end
   end
   return X, {1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3}
end

function cases.trainstep(nn, net, opt, X, Y)
   local crit = nn.CrossEntropyLoss()
   net:training()
   nn.seed(5)                                    -- Dropout's mask
   opt:zeroGrad()
   local out = net:forward(X)
   local loss = crit:forward(out, Y)
   net:backward(X, crit:backward(out, Y))
   opt:step()
   net:evaluate()
   return loss
end

return cases
