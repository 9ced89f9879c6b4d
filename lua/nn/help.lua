-- nn.help: a signature and a line or two for every public function and
-- class, for the REPL.  One table, checked by spec/help_spec.lua against
-- the README's API tables, so the two cannot drift.
--
--   nn.help()                 the list, by topic
--   nn.help(nn.Linear)        one entry (a function or a class)
--   nn.help "Linear"          by name: "nn.Linear", "Linear", "Matrix:get", "get"
--                             (any case: "linear" too)
-- A name or value with no entry prints so, the names that contain it, and
-- the list: nn.help never raises.
local help = {}

-- {key, signature, text}; keys are what the README's tables name
local entries = {
   -- Matrix: construction
   {"nn.Matrix", "nn.Matrix(r, c [, x | {flat}]) | nn.Matrix{{...}, ...} | nn.Matrix{...}",
    "A 2-D float32 matrix: r x c zeros, filled with x, from r*c numbers row by row, from nested rows, or a 1 x n row."},
   {"nn.zeros", "nn.zeros(r, c)", "An r x c matrix of zeros."},
   {"nn.ones", "nn.ones(r, c)", "An r x c matrix of ones."},
   {"nn.eye", "nn.eye(n [, m])", "The identity, n x n (or n x m)."},
   {"nn.rand", "nn.rand(r, c [, lo, hi])", "Uniform on [lo, hi), default [0, 1), from nn's generator."},
   {"nn.randn", "nn.randn(r, c [, std [, mean]])", "Normal with the given std (1) and mean (0)."},
   {"nn.seed", "nn.seed(n)", "Seeds the state's generator: the same seed gives the same numbers."},
   {"nn.threads", "nn.threads([n])", "Sets the threads this state's layers, losses and optimizers split their work across (its own pool; 1, the default, starts none) and returns the count in force; results are the same bits on any count."},
   {"nn.blas", "nn.blas()", "The build's BLAS and its kernels: \"openblas\" and OpenBLAS's core name, or \"none\" and the own SGEMM's micro-kernel (\"avx512\", \"avx2\", \"portable\")."},
   {"nn.Matrix.frombytes", "nn.Matrix.frombytes(s, r, c [, offset [, scale]])",
    "Unsigned bytes of s from byte offset (0-based), times scale, as an r x c matrix."},
   -- Matrix: access and views
   {"Matrix:shape", "A:shape()", "Rows and columns."},
   {"Matrix:numel", "A:numel()", "The element count."},
   {"Matrix:get", "A:get(i, j) | v:get(k)", "One element (1-based); one index on a vector."},
   {"Matrix:set", "A:set(i, j, x) | v:set(k, x)", "Sets one element; returns A."},
   {"Matrix:row", "A:row(i)", "Row i as a 1 x c view: writing it writes A."},
   {"Matrix:narrow", "A:narrow(first, n) | A:narrow(1, first, n)", "Rows first..first+n-1 as a view (the second form is Torch7's)."},
   {"Matrix:reshape", "A:reshape(r, c)", "A view of the same elements as r x c."},
   {"Matrix:clone", "A:clone()", "A new matrix with A's elements."},
   {"Matrix:copy", "A:copy(B)", "B's elements into A, row by row (equal element counts); returns A."},
   {"Matrix:fill", "A:fill(x)", "Every element to x; returns A."},
   {"Matrix:zero", "A:zero()", "Every element to 0; returns A."},
   {"Matrix:t", "A:t()", "The transpose, a new matrix."},
   {"Matrix:totable", "A:totable()", "Nested Lua tables of rows."},
   {"Matrix:col", "A:col(j)", "Column j as a new r x 1 matrix (a copy)."},
   {"Matrix:getcols", "A:getcols(j, w [, out])", "Columns j..j+w-1 as an r x w matrix (a copy), into out if given."},
   {"Matrix:setcols", "A:setcols(j, B)", "B (r x w) into A's columns j..j+w-1; returns A."},
   {"Matrix operators", "A + B, A - B, -A, A * B, A * 2, A / B, 2 / A, A ^ p, #A, tostring(A)",
    "Elementwise + - / (B broadcasts: a 1 x c row, an r x 1 column or a 1 x 1), A * B the matrix product, #A the rows, tostring the shape and rows."},
   -- Matrix: arithmetic
   {"Matrix:add", "A:add(B [, alpha]) | A:add(x)", "A += alpha B (B broadcasting) or A += x, in place; returns A."},
   {"Matrix:mul", "A:mul(B) | A:mul(x)", "A .*= B (B broadcasting) or A *= x, in place; returns A."},
   {"Matrix:div", "A:div(B) | A:div(x)", "A ./= B (B broadcasting) or A /= x, in place; returns A."},
   {"Matrix:scale", "A:scale(x)", "A *= x in place; returns A."},
   {"Matrix:exp", "A:exp()", "exp of each element, a new matrix."},
   {"Matrix:log", "A:log()", "The natural log of each element, a new matrix."},
   {"Matrix:sqrt", "A:sqrt()", "The square root of each element, a new matrix."},
   {"Matrix:abs", "A:abs()", "The absolute value of each element, a new matrix."},
   {"Matrix:pow", "A:pow(p) | A ^ p", "Each element to the power p, a new matrix."},
   {"Matrix:clamp", "A:clamp(lo, hi)", "Each element into [lo, hi] (either may be nil), a new matrix; NaN stays NaN."},
   {"nn.matmul", "nn.matmul(A, B [, transA, transB])", "op(A) op(B) as a new matrix, op transposing when asked."},
   {"Matrix:gemm", "C:gemm(A, B [, alpha, beta, transA, transB])", "C = alpha op(A) op(B) + beta C, in place (sgemm); returns C."},
   -- Matrix: reductions
   {"Matrix:sum", "A:sum([dim])", "The sum: a number, or dim 1 a 1 x c row, dim 2 an r x 1 column."},
   {"Matrix:mean", "A:mean([dim])", "The mean, as sum."},
   {"Matrix:var", "A:var([dim])", "The unbiased variance (n - 1), as sum."},
   {"Matrix:std", "A:std([dim])", "The unbiased standard deviation, as sum."},
   {"Matrix:max", "A:max([dim])", "The largest value and its row and column; with dim, values and indices as matrices."},
   {"Matrix:min", "A:min([dim])", "The smallest, as max."},
   {"Matrix:argmax", "A:argmax([dim])", "Where the largest is: row, col; dim 2 an r x 1 column of column indices."},
   {"Matrix:argmin", "A:argmin([dim])", "Where the smallest is, as argmax."},
   {"Matrix:norm", "A:norm()", "The Frobenius norm."},
   {"Matrix:dot", "A:dot(B)", "The sum of elementwise products (equal element counts)."},
   {"Matrix:allfinite", "A:allfinite()", "Whether no element is NaN or infinite."},
   {"Matrix:equal", "A:equal(B [, tol])", "Same shape and every element within tol (0) of B's. (A == B compares identity.)"},
   {"Matrix:apply", "A:apply(f)", "A[i][j] = f(A[i][j], i, j) for every element; the slow path, for the REPL."},
   {"Matrix:quantize", "A:quantize(lo, hi)", "One byte per element: lo to 0, hi to 255, clamped (8-bit pixels)."},
   -- layers
   "layers",           -- every kind nn.core registers: its sig and doc (module.h)
   {"nn.Residual", "nn.Residual(m)", "y = x + m(x), the skip connection of a residual network; m keeps its input's shape."},
   {"nn.Concat", "nn.Concat{m1, m2, ...}", "Every module on the same input, outputs side by side (for images: along the channels); dL/dx sums the branches'."},
   {"nn.Sequential", "nn.Sequential{m1, m2, ...}", "Layers one after another; seq:add(m), seq[i], seq:size() (#seq from Lua 5.2 on); print(seq) shows a summary."},
   -- losses
   "losses",           -- every loss nn.core registers (loss.c)
   -- optimizers
   {"nn.SGD", "nn.SGD(net | params, grads, {lr, momentum, dampening, nesterov, weightDecay})", "Stochastic gradient descent; opt:zeroGrad(), opt:step(), opt:state(), opt:setState(s)."},
   {"nn.Adam", "nn.Adam(net, {lr = 1e-3, betas, eps, weightDecay, amsgrad})", "Adam (Kingma & Ba)."},
   {"nn.AdamW", "nn.AdamW(net, {lr = 1e-3, betas, eps, weightDecay = 1e-2, amsgrad})", "Adam with decoupled weight decay."},
   {"nn.RMSprop", "nn.RMSprop(net, {lr = 1e-2, alpha, eps, weightDecay, momentum, centered})", "RMSprop."},
   {"nn.Adagrad", "nn.Adagrad(net, {lr = 1e-2, lrDecay, weightDecay, initialAccumulatorValue, eps})", "Adagrad."},
   {"nn.clipGradNorm", "nn.clipGradNorm(net | grads, maxNorm [, normType = 2 [, {errorIfNonfinite = false}]])", "Returns the gradients' total norm; above maxNorm scales them all to it, in place (torch.nn.utils.clip_grad_norm_)."},
   {"nn.clipGradValue", "nn.clipGradValue(net | grads, v)", "Every gradient element into [-v, v], in place (torch.nn.utils.clip_grad_value_)."},
   -- training and data
   {"nn.fit", "nn.fit(net, crit, opt, X, Y [, opts])", "Trains: epochs, batchSize, shuffle, validation or validationSplit, schedule, patience, saveBest, onEpoch, clip, distributed (require \"nn.mpi\": data-parallel under mpirun), ...; returns the history."},
   {"nn.evaluate", "nn.evaluate(net, crit, X, Y [, {batchSize, accuracy, distributed}])", "The mean loss and the accuracy over X, in evaluate mode; distributed (nn.mpi): each rank takes a part, every rank gets the totals."},
   {"nn.predict", "nn.predict(net, X [, batchSize])", "An n x 1 matrix of each row's class (its largest output)."},
   {"nn.batches", "nn.batches(X [, Y], size [, {shuffle = false}])", "An iterator of mini-batches xb, yb: every row once per pass."},
   {"nn.ConfusionMatrix", "nn.ConfusionMatrix(C [, names])", "Counts of (true, predicted): cm:add(pred, target), cm:accuracy(), cm:recall(c), cm:precision(c), print(cm)."},
   {"nn.onehot", "nn.onehot(labels, C)", "n x C with a 1 at each row's class; labels n x 1 or a Lua array."},
   {"nn.clock", "nn.clock()", "Seconds from a monotonic clock."},
   {"mnist.load", "mnist.load(dir, \"train\" | \"test\")", "X (n x 784, [0, 1]) and Y (n x 1, classes 1..10) from IDX files, plain or .gz; mnist.classes names the digits."},
   {"mnist.split", "mnist.split(dir [, {validation = 5000, train = n}])", "train, validation, test sets ({X, Y}, also .X, .Y): the training images less the last 5000, those 5000 (nn.fit's validation as it is), and the test images."},
   {"plot.lines", "require(\"nn.plot\").lines(series [, {width, height, log}])", "A line chart in characters, for the terminal."},
   {"plot.chart", "require(\"nn.plot\").chart([{title, xlabel, ylabel, caption, width, height, xlog, ylog, xrange, yrange, legend}])", "A chart drawn as SVG or PNG: add c:line, c:points, c:field, then c:save(path). Its cost is bounded by the picture: lines are thinned to what the pixels show, and a drawing over 64 pixel visits per pixel is refused."},
   {"plot.figure", "require(\"nn.plot\").figure([{columns, title}])", "Charts side by side in one picture: f:add(chart), then f:save(path), f:svg() or f:png()."},
   {"chart:line", "c:line([xs,] ys [, {name, color, width, dash}])", "A line on the chart; NaN or infinity breaks it."},
   {"chart:points", "c:points(xs, ys [, {classes, names, name, color, radius}])", "A scatter plot, coloured by class."},
   {"chart:field", "c:field(f [, {levels, classes, batch, resolution, label, colorbar}])", "f(x, y) as colour, with a colour bar: a heat map, bands (a filled contour) or class regions."},
   {"chart:save", "c:save(path) | c:svg() | c:png()", "The chart as an SVG or PNG file, or its bytes."},
   {"nn.report", "nn.report(path, {history, confusion, net, samples, title})", "A training run as one self-contained HTML file."},
   {"image.png", "image.png(M [, {lo, hi, symmetric, zoom}])", "The bytes of a grayscale PNG of M."},
   {"image.grid", "image.grid(M, h, w [, opts])", "The bytes of a PNG tiling each row of M as an h x w picture; labels, rowlabels, collabels and title add text."},
   {"image.save", "image.save(path, png)", "Writes PNG bytes to path, atomically."},
   {"image.ascii", "image.ascii(v, h, w [, {lo, hi}])", "The h*w values of v as characters."},
   {"nn.gradcheck", "nn.gradcheck(module, x [, crit, target [, opts]])", "The worst relative error between backward and central differences, where, the loss, and the kink elements skipped."},
   {"nn.npy", "nn.npy.load(path) | nn.npy.save(path, M [, {shape = {n}}]) | nn.npy.decode(s) | nn.npy.encode(M)",
    "NumPy .npy files to and from a Matrix: 1-D and 2-D, every float and integer type and byte order read, float32 written."},
   {"nn.safetensors", "nn.safetensors.load(path) -> tensors, info, metadata | nn.safetensors.save(path, tensors [, {metadata}])",
    "safetensors files: F32/F64/F16/BF16 and integers read (first dimension as rows), F32 written; tensors[name] a Matrix or {M, shape = {...}}."},
   {"nn.stateDict", "nn.stateDict(m) | net:stateDict()", "PyTorch's state dict of a network: torch.nn.Sequential's keys (\"0.weight\", ...) and shapes, views of the tensors."},
   {"nn.loadStateDict", "nn.loadStateDict(m, t [, {strict = true}]) | net:loadStateDict(t)", "Copies a state dict in (from stateDict or safetensors.load); a missing, extra or wrong-shaped key is an error naming it."},
   {"nn.save", "nn.save(net, path [, {optimizer = opt}])", "Writes the architecture and parameters (and an optimizer's state), atomically. Inside LÖVE a relative path is in the save directory."},
   {"nn.load", "nn.load(path)", "A saved network, and the optimizer state if one was saved. Inside LÖVE a relative path is a love.filesystem path (the save directory, then the game)."},
   {"nn.export", "nn.export(net [, path])",
    "The network's evaluation forward as one self-contained Lua file (no require, no C; Lua 5.1 to 5.4, LuaJIT, Fengari): the source, or written to path; dofile(path).forward(x) takes a sample or a batch."},
   {"nn.schedule", "nn.schedule.step | exponential | cosine | warmup | plateau (opt, ...)", "Learning-rate schedules; nn.fit's schedule option runs them."},
   {"nn.help", "nn.help([name | value])", "This: the list, or one entry."},
   -- everything else
   {"nn._VERSION", "nn._VERSION", "The version string, \"lua-nn scm\"."},
   {"nn.random", "nn.random([n])", "From nn's generator: uniform [0, 1), or an integer 1..n."},
   {"nn.isMatrix", "nn.isMatrix(x)", "Whether x is an nn.Matrix."},
   {"Matrix:isview", "A:isview()", "Whether A is a view of another matrix."},
   {"Matrix:gather", "A:gather(src, idx, first, n)", "Row k of A becomes row idx[first + k - 1] of src (k = 1..n)."},
   {"Matrix:tobytes", "A:tobytes()", "The elements as little-endian float32 bytes."},
   {"nn.Matrix.fromfloats", "nn.Matrix.fromfloats(s, r, c [, offset])", "r*c little-endian float32 from byte offset of s."},
   {"nn.Matrix.fromfile", "nn.Matrix.fromfile(path, r, c [, offset [, scale]])", "frombytes on a file's bytes (gunzipped), streamed, its size checked first."},
   {"module:outputSize", "m:outputSize([nin])", "A layer's output width for inputs of nin columns."},
   {"module:config", "m:config()", "A layer's constructor arguments, as a list."},
   {"module:tensors", "m:tensors()", "A built-in layer's parameters then buffers: {name, torch, shape, value} each (field, PyTorch's name and shape, the Matrix), grad and gradient for a parameter."},
   {"module:buffers", "m:buffers()", "A layer's saved state that is not trained (BatchNorm's running statistics), as a list."},
   {"module:setInputShape", "m:setInputShape(C, H, W)", "What an image layer's rows are; nn.Sequential calls it for a layer made without {input = ...}."},
   {"recurrent:setState", "m:setState([h [, c]])", "nn.RNN, LSTM, GRU: the state forward starts from (copied in; none: zeros), each n x (layers*dirs*H): per sample, layer 1's forward state, its reverse one, layer 2's, ... (PyTorch's h_n transposed); an LSTM's is h and c. Returns m."},
   {"recurrent:state", "m:state()", "nn.RNN, LSTM, GRU: the state the last forward or step ended in (or setState's): h [, c], the layer's own matrices; nil if none."},
   {"recurrent:step", "m:step(x)", "nn.RNN, LSTM, GRU: forward from m:state() instead of the initial state: x the next steps (often one) of the same sequences, as in generation a token at a time."},
   {"recurrent:gradState", "m:gradState()", "nn.RNN, LSTM, GRU: dL/dh0 [, dL/dc0] of the last backward, as setState's layout; nil before one."},
   {"nn.register", "nn.register(name, constructor)", "Makes a layer written in Lua savable: nn.load rebuilds it by constructor(table.unpack(m:config())) and copies its parameters() in; the file holds data only."},
   {"ConfusionMatrix:zero", "cm:zero()", "Empties a ConfusionMatrix."},
   {"optimizer fields", "opt.lr, opt.t, opt.params, opt.grads", "Every option by name (settable between steps), the step count, the parameter and gradient lists."},
   {"nn.core", "require \"nn.core\"", "The C module under nn; its extras (readfile, writefile, deflate, crc32, ...) are internal."},
   {"progress", "require(\"nn.progress\").new{total, epoch, epochs, out}", "The progress bar nn.fit draws: bar:update(done, samples, loss), bar:finish([summary])."},
}

local byname, order = {}, {}
local function add(e)
   byname[e[1]] = e
   order[#order + 1] = e[1]
end
for _, e in ipairs(entries) do
   if e == "layers" or e == "losses" then
      local kinds = e == "layers" and require("nn.layers").builtin() or require("nn.core").losses()
      for _, k in ipairs(kinds) do add{"nn." .. k.name, k.sig, k.doc} end
   else
      add(e)
   end
end
help.entries = byname
help.order = order

local PREFIXES = {"", "nn.", "Matrix:", "mnist.", "image.", "plot.", "nn.Matrix."}

-- the entry for a name: exact, or "Linear" -> "nn.Linear", "get" ->
-- "Matrix:get"; failing that, the one entry that is so in another case
-- ("linear")
local function find(name)
   for _, prefix in ipairs(PREFIXES) do
      if byname[prefix .. name] then return byname[prefix .. name] end
   end
   local found
   for _, k in ipairs(order) do
      for _, prefix in ipairs(PREFIXES) do
         if k:lower() == (prefix .. name):lower() then
            if found and found ~= byname[k] then return nil end   -- ambiguous
            found = byname[k]
         end
      end
   end
   return found
end

-- the entry for a value: a function or class of nn (or a Matrix method)
local function byvalue(v)
   local nn = require "nn"
   for k, x in pairs(nn) do
      if x == v and find(k) then return find(k) end
   end
   for k, x in pairs(nn.Matrix) do
      if x == v and byname["Matrix:" .. k] then return byname["Matrix:" .. k] end
   end
end

-- every name, wrapped to the terminal
local function list()
   local lines = {}
   local line = " "
   for _, k in ipairs(order) do
      if #line + #k > 76 then lines[#lines + 1] = line; line = " " end
      line = line .. " " .. k
   end
   lines[#lines + 1] = line
   return table.concat(lines, "\n")
end

-- what nn.help prints when what has no entry: so, the names containing it,
-- and every name
local function notfound(what)
   local lines = {}
   if type(what) == "string" then
      lines[1] = ("nn.help: there is no topic %q."):format(what)
      local near, lower = {}, what:lower()
      for _, k in ipairs(order) do
         if lower ~= "" and k:lower():find(lower, 1, true) then near[#near + 1] = k end
      end
      if #near > 0 and #near <= 20 then
         lines[2] = "Names that contain it: " .. table.concat(near, ", ")
      end
   else
      lines[1] = ("nn.help: %s is not a function or class of nn, and has no entry.")
         :format(type(what) == "table" and "this table" or type(what) == "userdata"
            and "this userdata" or tostring(what))
   end
   lines[#lines + 1] = "These topics exist (nn.help \"name\" for one):"
   lines[#lines + 1] = list()
   return table.concat(lines, "\n")
end

-- help.text([what]) -> the text nn.help prints
function help.text(what)
   if what == nil then
      return "lua-nn: nn.help(name) for one of these (e.g. nn.help \"Linear\")\n" .. list()
   end
   local e
   if type(what) == "string" then
      e = find(what)
   else
      local ok, found = pcall(byvalue, what)    -- a value's __eq may raise
      e = ok and found or nil
   end
   if not e then return notfound(what) end
   return e[2] .. "\n  " .. e[3]
end

-- nn.help([what]): prints help.text(what)
function help.help(what)
   print(help.text(what))
end

return help
