-- Training helpers: mini-batches, the fit loop, evaluation, prediction.
--
--   for xb, yb in nn.batches(X, Y, 64, {shuffle = true}) do ... end
--   local history = nn.fit(net, crit, opt, X, Y, {epochs = 10, batchSize = 64})
--   local loss, acc = nn.evaluate(net, crit, Xtest, Ytest)
--   local classes = nn.predict(net, Xtest)
local core = require "nn.core"
local compat = require "nn.compat"
local progress = require "nn.progress"
local distributed = require "nn.distributed"
local clip = require "nn.clip"

local train = {}

local isMatrix = require("nn.util").isMatrix

-- ---- errors ------------------------------------------------------------------
-- A mistake in what the caller passed is raised inside as an ArgError and
-- re-raised by the public function (api below) at its caller, however deep
-- the check sits.  Any other error keeps its message; one raised by a C
-- function (a loss, a layer) that train.lua called carries this file's
-- line, which says nothing to the caller and is taken off.

local ArgError = {}

local function argerror(fmt, ...)
   error(setmetatable({msg = fmt:format(...)}, ArgError), 0)
end

local here = debug and debug.getinfo and debug.getinfo(1, "S").short_src
local herepat = here and "^" .. here:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0") .. ":%d+: "

-- an error's message, without a position inside this file
local function message(err)
   err = tostring(err)
   return herepat and (err:gsub(herepat, "")) or err
end

local function raise(err)
   if getmetatable(err) == ArgError then error(err.msg, 3) end
   error(err, 0)
end

local function pack(...) return {n = select("#", ...), ...} end

-- what distributed.lua needs to pass a rank's error to every rank
local hooks = {
   message = message,
   argerror = function(msg) error(setmetatable({msg = msg}, ArgError), 0) end,
   isargerror = function(err) return getmetatable(err) == ArgError end,
}

-- f as a public function: an ArgError inside is raised at its caller
local function api(f)
   return function(...)
      local r = pack(pcall(f, ...))
      if not r[1] then raise(r[2]) end
      return compat.unpack(r, 2, r.n)
   end
end

local function checkmatrix(x, fn, what)
   if not isMatrix(x) then
      argerror("%s: %s must be an nn.Matrix, got %s", fn, what, type(x))
   end
   return x
end

local classloss = {CrossEntropyLoss = true, NLLLoss = true}

-- crit's labels are checked here, and accuracy is counted, for a class
-- loss with one label a row (a loss over each step of a sequence checks
-- its own targets; its accuracy is not a row's): false, or the class
-- index the loss ignores
local function classof(crit)
   if not classloss[crit.typename] or crit.sequence then return false end
   return {ignore = crit.ignoreIndex}
end

-- Labels (class indices): whole numbers from 1 (or the loss's
-- ignoreIndex); names the first that is not, by its row.  Returns the
-- largest and its row (the network's width is known at the first batch:
-- see checkclasses).
local function checklabels(Y, fn, what, ignore)
   local n = Y:shape()
   local top, toprow = -math.huge, nil
   for i = 1, n do
      local v = Y:get(i, 1)
      if v == ignore then
         v = -math.huge
      elseif not (v >= 1) or v ~= math.floor(v) or v == math.huge then
         local hint = v == 0 and "classes start at 1 (Lua's convention: for labels "
            .. "from 0, pass Y + 1)" or "expected a class index 1, 2, ..."
         argerror("%s: row %d of %s is %s: %s", fn, i, what,
            v ~= v and "nan" or compat.toint(v) and tostring(compat.toint(v)) or tostring(v), hint)
      end
      if v > top then top, toprow = v, i end
   end
   return {top = compat.toint(top), row = toprow, what = what}
end

-- the labels' largest against the network's output width C
local function checkclasses(labels, C, fn)
   if labels and labels.top and labels.top > C then
      argerror("%s: row %d of %s is %d, but the network gives %d classes (its output has %d columns)",
         fn, labels.row, labels.what, labels.top, C, C)
   end
end

-- Y as an n x 1 or n x k Matrix for the n rows of X (xwhat): a Lua array
-- of labels becomes n x 1, and a 1 x n row (a 1-D .npy of labels) is
-- read as n x 1.  With class set (a class loss), n x 1 targets are
-- labels and are checked (returned second).
local function targets(Y, n, fn, what, xwhat, class)
   what, xwhat = what or "Y", xwhat or "X"
   if type(Y) == "table" and not isMatrix(Y) then
      if #Y ~= n then
         argerror("%s: %s has %d labels for %d rows of %s", fn, what, #Y, n, xwhat)
      end
      for i = 1, n do
         if type(Y[i]) ~= "number" then
            argerror("%s: %s[%d] is %s, expected a number", fn, what, i, type(Y[i]))
         end
      end
      Y = core.Matrix(n, 1, Y)
   end
   checkmatrix(Y, fn, what)
   local r, c = Y:shape()
   if r == 1 and c == n and n > 1 then
      Y = Y:reshape(n, 1)                       -- one target per row of X
      r, c = n, 1
   end
   if r ~= n then
      argerror("%s: %s has %d rows, %s has %d%s", fn, what, r, xwhat, n,
         r == 1 and (" (%s is 1 x %d: one target per row of %s is %d x 1)")
            :format(what, c, xwhat, n) or "")
   end
   local labels = class and c == 1 and checklabels(Y, fn, what, class.ignore) or nil
   return Y, labels
end

-- the closest of names to k, if it is a slip of the keyboard away
local function closest(k, names)
   local function distance(a, b)               -- Levenshtein, case-insensitively
      a, b = a:lower(), b:lower()
      local prev = {}
      for j = 0, #b do prev[j] = j end
      for i = 1, #a do
         local cur = {[0] = i}
         for j = 1, #b do
            local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
            cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
         end
         prev = cur
      end
      return prev[#b]
   end
   local best, bestd
   for _, name in ipairs(names) do
      local d = distance(k, name)
      if not bestd or d < bestd then best, bestd = name, d end
   end
   if bestd and bestd <= math.max(1, math.floor(#k / 3)) then return best end
end

local function checkopts(opts, allowed, fn)
   if opts == nil then return {} end
   if type(opts) ~= "table" then argerror("%s: options must be a table, got %s", fn, type(opts)) end
   for k in pairs(opts) do
      if not allowed[k] then
         local names = {}
         for a in pairs(allowed) do names[#names + 1] = a end
         table.sort(names)
         local guess = type(k) == "string" and #names > 1 and closest(k, names)
         argerror("%s: unknown option '%s' (%sexpected %s)", fn, tostring(k),
            guess and ("did you mean '%s'? "):format(guess) or "", table.concat(names, ", "))
      end
   end
   return opts
end

-- something with forward and (unless forwardonly) backward: a layer, a
-- Sequential, a loss
local function checkmodule(m, fn, what, expected, forwardonly)
   local ok, f, b = pcall(function() return m.forward, m.backward end)
   if not ok or f == nil or (b == nil and not forwardonly) then
      argerror("%s: %s must be %s, got %s", fn, what, expected, type(m))
   end
end

local function checksize(v, fn, what)
   if not compat.isint(v) or v < 1 then
      argerror("%s: %s must be a positive integer, got %s", fn, what, tostring(v))
   end
   return v
end

-- ---- mini-batches ----------------------------------------------------------

-- Per data matrix (weakly held): a spare set of batch buffers and a row
-- order.  A pass takes the set while it runs and gives it back when it
-- ends, so epoch after epoch reuses it; a second pass over the same matrix
-- while one runs (nested loops) finds none and makes its own, instead of
-- reordering the first pass's rows under it.
local spare = setmetatable({}, {__mode = "k"})

local function take(M)
   local set = spare[M]
   spare[M] = nil
   return set or {buffers = {}}
end

local function buffer(set, M, rows)
   local b = set.buffers[rows]
   if not b then
      b = core.Matrix(rows, select(2, M:shape()))
      set.buffers[rows] = b
   end
   return b
end

-- A pass over X (and Y, if not nil) in batches of size rows, the order
-- shuffled (the last pass's order shuffled again) or not: an iterator of
-- xb, yb.  With dist (distributed.lua), every rank takes rank 0's order
-- and its own shard of each batch of k rows: an iterator of k, xb, yb
-- (xb and yb nil when the shard is empty), and with whole the batch's
-- rows of Y too.
local function pass(X, Y, size, shuffle, dist, whole)
   local n = X:shape()
   local xs, ys = take(X), Y and take(Y)
   local order = xs.order
   if not order or #order ~= n then
      order = {}
      xs.order = order
   end
   if shuffle then                                 -- Fisher-Yates
      if #order ~= n then for i = 1, n do order[i] = i end end
      local random = core.random
      for i = n, 2, -1 do
         local j = random(i)
         order[i], order[j] = order[j], order[i]
      end
      if dist then dist:agreeorder(order) end
   else
      for i = 1, n do order[i] = i end
   end
   local first = 1
   return function()
      if first > n then
         if xs then                   -- the pass is over: give the sets back
            spare[X] = xs
            if Y then spare[Y] = ys end
            xs = nil
         end
         return nil
      end
      local k = math.min(size, n - first + 1)
      local from, rows = first, k
      local all = whole and buffer(ys, Y, k):gather(Y, order, first, k)
      if dist then from, rows = dist:shard(first, k) end
      local xb = rows > 0 and buffer(xs, X, rows):gather(X, order, from, rows) or nil
      local yb = Y and rows > 0 and buffer(ys, Y, rows):gather(Y, order, from, rows) or nil
      first = first + k
      if dist then return k, xb, yb, all end
      return xb, yb
   end
end

-- nn.batches(X [, Y], size [, {shuffle = false}]) -> iterator of xb, yb
-- (Y may be nil: then only xb).  Every row comes exactly once per pass;
-- the last batch holds the rest.  The batches are buffers reused on the
-- next pass: clone one to keep it.
local function batches(X, Y, size, opts)
   local fn = "nn.batches"
   if compat.isint(Y) and size == nil or type(size) == "table" then
      Y, size, opts = nil, Y, size
   end
   checkmatrix(X, fn, "X")
   local n = X:shape()
   if Y ~= nil then Y = targets(Y, n, fn) end
   checksize(size, fn, "size")
   opts = checkopts(opts, {shuffle = true}, fn)
   return pass(X, Y, size, opts.shuffle)
end
train.batches = api(batches)

-- ---- evaluation --------------------------------------------------------------

-- runs f(out, xb, yb, first, k) over X in order, in evaluate mode; the
-- net's mode is restored on every way out, an error included
local function sweep(net, X, Y, size, f)
   local was = net.train
   if net.evaluate then net:evaluate() end
   local ok, err = pcall(function()
      local first = 1
      for xb, yb in batches(X, Y, size) do
         local k = xb:shape()
         f(net:forward(xb), xb, yb, first, k)
         first = first + k
      end
   end)
   if was and net.training then net:training() end
   if not ok then
      if getmetatable(err) == ArgError then error(err, 0) end
      error(message(err), 0)
   end
end

-- the mean loss (and the fraction of correct classes, if acc) of net on
-- X, Y; labels (checktargets') are checked against the network's width.
-- Distributed (dist), each rank sweeps its part of the rows and the sums
-- are summed over the ranks.
local function evaluate(net, crit, X, Y, size, acc, labels, fn, dist)
   local sum = crit.reduction == "sum"
   local total, hits, counted = 0, 0, 0
   local ignore = classof(crit) and crit.ignoreIndex or nil
   local function part(Xp, Yp)
      sweep(net, Xp, Yp, size, function(out, _, yb, first, k)
         if first == 1 then checkclasses(labels, select(2, out:shape()), fn) end
         local L = crit:forward(out, yb)
         total = total + (sum and L or L * k)
         if acc then
            local h, c = core.correct(out, yb, ignore)
            hits, counted = hits + h, counted + c
         end
      end)
   end
   if dist then
      local Xp, Yp = dist:part(X, Y)
      if Xp then dist:run(part, Xp, Yp) end
      total, hits, counted = compat.unpack(dist:sum({total, hits, counted},
         {"real", "count", "count"}))
   else
      part(X, Y)
   end
   local n = X:shape()
   return total / n, acc and hits / counted or nil
end

-- the distributed option (nn.mpi) checked, and the run's object
local function newdist(mpi, fn)
   if not distributed.ismpi(mpi) then
      argerror("%s: distributed must be the nn.mpi module (require \"nn.mpi\", built by "
         .. "make mpi), got %s", fn, type(mpi))
   end
   return distributed.new(mpi, hooks)
end

-- nn.evaluate(net, crit, X, Y [, {batchSize = 1000, accuracy,
-- distributed}]) -> mean loss, accuracy (a fraction; nil unless the loss
-- is a class loss or accuracy = true).  distributed = require "nn.mpi":
-- each rank evaluates its part of the rows, and every rank gets the
-- totals.
train.evaluate = api(function(net, crit, X, Y, opts)
   local fn = "nn.evaluate"
   opts = checkopts(opts, {batchSize = true, accuracy = true, distributed = true}, fn)
   checkmodule(net, fn, "net", "a network (a layer or nn.Sequential)", true)
   checkmodule(crit, fn, "crit", "a loss (nn.CrossEntropyLoss(), ...)", true)
   checkmatrix(X, fn, "X")
   local labels
   Y, labels = targets(Y, X:shape(), fn, "Y", "X", classof(crit))
   local size = checksize(opts.batchSize or 1000, fn, "batchSize")
   local acc = opts.accuracy
   if acc == nil then acc = classof(crit) and true or false end
   local dist = opts.distributed ~= nil and newdist(opts.distributed, fn) or nil
   return evaluate(net, crit, X, Y, size, acc, labels, fn, dist)
end)

-- nn.predict(net, X [, batchSize]) -> n x 1 Matrix of class indices (the
-- largest output of each row)
train.predict = api(function(net, X, size)
   local fn = "nn.predict"
   checkmodule(net, fn, "net", "a network (a layer or nn.Sequential)", true)
   checkmatrix(X, fn, "X")
   local n = X:shape()
   size = checksize(size or 1000, fn, "batchSize")
   local P = core.Matrix(n, 1)
   sweep(net, X, nil, size, function(out, _, _, first, k)
      P:narrow(first, k):copy(out:argmax(2))
   end)
   return P
end)

-- ---- the fit loop ----------------------------------------------------------------
--
-- nn.fit(net, crit, opt, X, Y [, opts]) -> history, in the steps a reader
-- expects: the options checked (fitoptions), the data split (fitdata),
-- then per epoch: the schedule, a training pass (trainepoch), validation,
-- the history (record), the summary line, early stopping (Watch: the best
-- epoch, its weights and buffers, saveBest), onEpoch.
--
-- opts: epochs (1), batchSize (32), shuffle (true), validation {Xv, Yv}
-- or validationSplit (a fraction: the last rows of X, Y are held out),
-- progress (true: summaries, and a bar on a terminal), onEpoch(epoch,
-- stats) (return false to stop), accuracy (default: for class losses),
-- out (io.stdout), schedule (nn.schedule.*: a step, exponential, cosine
-- or warm-up schedule is called before each epoch with epoch - 1; a
-- plateau schedule after it, with the monitored loss), patience (stop
-- when the monitored loss has not improved by minDelta (0) for this many
-- epochs), restoreBest (with patience, default true: end with the best
-- epoch's weights and buffers), saveBest (a path: nn.save the net at each
-- new best), history (a table to record into, so finished epochs survive
-- an error), clip (the gradients clipped before each step: a number is
-- nn.clipGradNorm's maxNorm; {maxNorm, normType} the same, {value = v}
-- nn.clipGradValue's), distributed (require "nn.mpi": data-parallel over
-- the ranks of mpirun; distributed.lua).  The monitored loss is the
-- validation loss when there is validation, the training loss otherwise.
-- history has lists loss, accuracy, valLoss, valAccuracy, lr, time (one
-- entry per epoch), and best = {epoch, loss}, stopped (why training ended
-- early, or nil).
-- An error inside the loop (a NaN loss, Ctrl-C, a layer's error) is raised
-- as "nn.fit: stopped at epoch E, batch B (...): ..."; history keeps every
-- finished epoch.

local fitopts = {
   epochs = true, batchSize = true, shuffle = true, validation = true,
   validationSplit = true, progress = true, onEpoch = true, accuracy = true,
   out = true, schedule = true, patience = true, minDelta = true,
   restoreBest = true, saveBest = true, history = true, clip = true,
   distributed = true,
}

-- nn.fit's clip option as a function of the optimizer's gradients, or nil
local function clipper(c, fn)
   if c == nil then return nil end
   local spec = type(c) == "number" and {maxNorm = c} or c
   if type(spec) ~= "table" then
      argerror("%s: clip must be a number (the largest gradient norm) or a table {maxNorm "
         .. "[, normType]} or {value}, got %s", fn, type(c))
   end
   checkopts(spec, {maxNorm = true, normType = true, value = true}, fn .. ": clip")
   if (spec.maxNorm == nil) == (spec.value == nil) or spec.value ~= nil and spec.normType ~= nil then
      argerror("%s: clip must give maxNorm (and normType) or value", fn)
   end
   local ok, err = pcall(spec.value ~= nil and clip.clipGradValue or clip.clipGradNorm, {},
      spec.value or spec.maxNorm, spec.normType)
   if not ok then argerror("%s: clip: %s", fn, (tostring(err):gsub("^nn%.clipGrad%a+: ", ""))) end
   if spec.value ~= nil then
      return function(grads) clip.clipGradValue(grads, spec.value) end
   end
   return function(grads) clip.clipGradNorm(grads, spec.maxNorm, spec.normType) end
end

local function callable(v)
   local mt = getmetatable(v)
   return type(v) == "function" or type(v) == "table" and type(mt) == "table"
      and mt.__call ~= nil
end

-- the arguments and options, checked: what the loop reads, defaults filled in
local function fitoptions(net, crit, opt, X, opts, fn)
   opts = checkopts(opts, fitopts, fn)
   checkmodule(net, fn, "net", "a network (a layer or nn.Sequential)")
   checkmodule(crit, fn, "crit", "a loss (nn.CrossEntropyLoss(), ...)")
   checkmatrix(X, fn, "X")
   if type(opt) ~= "table" or type(opt.step) ~= "function" then
      argerror("%s: opt must be an optimizer (nn.SGD, nn.Adam, ...)", fn)
   end
   local o = {
      epochs = checksize(opts.epochs or 1, fn, "epochs"),
      batchSize = checksize(opts.batchSize or 32, fn, "batchSize"),
      shuffle = opts.shuffle ~= false,
      show = opts.progress ~= false,
      out = opts.out, onEpoch = opts.onEpoch, schedule = opts.schedule,
      patience = opts.patience, minDelta = opts.minDelta or 0,
      saveBest = opts.saveBest, history = opts.history,
      validation = opts.validation, validationSplit = opts.validationSplit,
      accuracy = opts.accuracy, restoreBest = opts.restoreBest,
      clip = clipper(opts.clip, fn),
      class = classof(crit), distributed = opts.distributed,
   }
   if o.validation ~= nil and (type(o.validation) ~= "table" or isMatrix(o.validation)) then
      argerror("%s: validation must be a table {Xv, Yv}, got %s", fn, type(o.validation))
   end
   if o.validation ~= nil and o.validationSplit ~= nil then
      argerror("%s: give validation or validationSplit, not both", fn)
   end
   if o.out ~= nil and io.type(o.out) ~= "file" then
      argerror("%s: out must be an open file (io.stdout, io.open(...)), got %s", fn, type(o.out))
   end
   if o.onEpoch ~= nil and not callable(o.onEpoch) then
      argerror("%s: onEpoch must be a function, got %s", fn, type(o.onEpoch))
   end
   if o.schedule ~= nil and not callable(o.schedule) then
      argerror("%s: schedule must be a schedule (nn.schedule.step(opt, ...), ...), got %s",
         fn, type(o.schedule))
   end
   o.plateau = type(o.schedule) == "table" and o.schedule.plateau
   if o.patience ~= nil then checksize(o.patience, fn, "patience") end
   if type(o.minDelta) ~= "number" or not (o.minDelta >= 0) then
      argerror("%s: minDelta must be a number >= 0, got %s", fn, tostring(o.minDelta))
   end
   if o.saveBest ~= nil and type(o.saveBest) ~= "string" then
      argerror("%s: saveBest must be a path, got %s", fn, type(o.saveBest))
   end
   if o.history ~= nil and type(o.history) ~= "table" then
      argerror("%s: history must be a table, got %s", fn, type(o.history))
   end
   if o.distributed ~= nil then o.dist = newdist(o.distributed, fn) end
   if o.restoreBest == nil then o.restoreBest = o.patience ~= nil end
   if o.accuracy == nil then o.accuracy = o.class and true or false end
   return o
end

-- How many of n rows validationSplit f holds out: ceil(f n), as the
-- README promises, exactly for a fraction written in decimals (0.07 of
-- 100 rows is 7, where math.ceil(0.07 * 100) is 8: 0.07 is a hair above
-- 7/100 in binary).  f * n is within n 2^-51 of the decimal fraction's
-- product, so that much below it is never above an integer product and
-- rounds up to the next integer otherwise (for fractions of up to about
-- 15 - log10(n) decimals).
function train.holdout(f, n)
   return math.ceil(f * n - n * 2^-50)
end

-- the training and validation data: X, Y, Xv, Yv (Xv nil without
-- validation), and the labels' checks (checklabels) of Y and Yv
local function fitdata(X, Y, o, fn)
   local n = X:shape()
   local labels, vlabels
   Y, labels = targets(Y, n, fn, "Y", "X", o.class)
   if o.validationSplit ~= nil then
      local f = o.validationSplit
      if type(f) ~= "number" or not (f > 0 and f < 1) then
         argerror("%s: validationSplit must be a number between 0 and 1, got %s", fn, tostring(f))
      end
      local nv = train.holdout(f, n)
      if nv >= n then
         argerror("%s: validationSplit %g leaves no rows of %d to train on", fn, f, n)
      end
      return X:narrow(1, n - nv), Y:narrow(1, n - nv), X:narrow(n - nv + 1, nv),
         Y:narrow(n - nv + 1, nv), labels, labels
   elseif o.validation then
      local Xv = checkmatrix(o.validation[1], fn, "validation[1]")
      local Yv
      Yv, vlabels = targets(o.validation[2], Xv:shape(), fn, "validation[2]", "validation[1]", o.class)
      return X, Y, Xv, Yv, labels, vlabels
   end
   return X, Y, nil, nil, labels
end

-- What a mean loss divides by, for the targets yb: a class loss's class
-- indices that are not its ignoreIndex (one a row, or one a step of a
-- sequence), else the rows (the other losses divide by the element
-- count, the rows times a fixed width).  nil for a sum.
local function denominator(crit, yb)
   if crit.reduction == "sum" then return nil end
   if classloss[crit.typename] and (crit.sequence or select(2, yb:shape()) == 1) then
      -- whole numbers: |y - ignore| clamped to 1 is 1 where y is not ignored
      return (yb - (crit.ignoreIndex or -100)):abs():clamp(0, 1):sum()
   end
   return (yb:shape())
end

-- one batch's forward, loss (which must be finite) and backward; returns
-- the loss and the output.  share (distributed: the part of the batch's
-- mean a shard makes) scales dL/dout, and so every gradient.
local function forwardbackward(net, crit, xb, yb, b, labels, fn, share)
   local out = net:forward(xb)
   if b == 1 then checkclasses(labels, select(2, out:shape()), fn) end
   local L = crit:forward(out, yb)
   if L ~= L or L == math.huge or L == -math.huge then
      error(("the loss is %s; lower the learning rate or check the data")
         :format(L ~= L and "nan" or tostring(L)), 0)
   end
   local gy = crit:backward(out, yb)
   if share then gy:scale(share) end
   net:backward(xb, gy, false)                       -- no dL/dx needed
   return L, out
end

-- One pass over X, Y in shuffled batches: forward, loss, backward, step.
-- Returns the epoch's stats; an error inside is raised as "nn.fit:
-- stopped at epoch e, batch b ..." and recorded in history.stopped.
-- Distributed (o.dist), each rank goes through its shard of every batch,
-- the gradients are averaged over the ranks before the step, and the
-- sums over the ranks make the stats (distributed.lua).
local function trainepoch(e, net, crit, opt, X, Y, o, labels, history, fn)
   local n = X:shape()
   local dist = o.dist
   if net.training then net:training() end
   local bar = o.show and progress.new{total = math.floor((n + o.batchSize - 1) / o.batchSize),
                                       epoch = e, epochs = o.epochs, out = o.out}
   local sum = crit.reduction == "sum"
   local start = core.clock()
   local total, hits, counted, seen, b, seenk = 0, 0, 0, 0, 0, 0
   local ignore = o.class and o.class.ignore or nil
   local ok, err = pcall(function()
      if dist then
         local mine, L, out, xb, yb, rows, share = 0, nil, nil, nil, nil, 0, nil
         local function after()               -- this rank's part after the allreduce
            if o.clip then o.clip(opt.grads or select(2, net:parameters())) end
            opt:step()
            mine = mine + rows
            if L then
               total = total + (sum and L or L * (share and share * seenk or rows))
               if o.accuracy then
                  local h, c = core.correct(out, yb, ignore)
                  hits, counted = hits + h, counted + c
               end
            end
            if bar then bar:update(b, seen, total / math.max(mine, 1)) end
         end
         -- a class loss's mean counts the labels it does not ignore: where Y
         -- has ignored ones, every rank counts the whole batch's (it has all
         -- of Y) and its own
         local counts = not sum and dist.size > 1 and classloss[crit.typename]
            and (crit.sequence or select(2, Y:shape()) == 1)
            and denominator(crit, Y) < Y:numel()
         for k, xbr, ybr, yall in pass(X, Y, o.batchSize, o.shuffle, dist, counts) do
            b, xb, yb, L, out, seenk = b + 1, xbr, ybr, nil, nil, k
            rows = xb and xb:shape() or 0
            seen = seen + k
            opt:zeroGrad()
            -- a mean loss's gradient, weighted by this shard's part of the
            -- batch's mean: its rows / k, or its counted labels / the batch's
            share = nil
            if not sum and rows ~= k then
               if counts then
                  local D = denominator(crit, yall)
                  share = D > 0 and (xb and denominator(crit, yb) or 0) / D or rows / k
               else
                  share = rows / k
               end
            end
            -- (a shard whose labels are all ignored adds nothing, as one
            -- process' batch would take nothing from them)
            if xb and share ~= 0 then
               L, out = dist:run(forwardbackward, net, crit, xb, yb, b, labels, fn, share)
            end
            dist:reducegrads()                      -- raises if a rank failed
            dist:run(after)
         end
         total, hits, counted = compat.unpack(dist:sum({total, hits, counted},
            {"real", "count", "count"}))
         dist:syncbuffers()
         return
      end
      for xb, yb in batches(X, Y, o.batchSize, {shuffle = o.shuffle}) do
         b = b + 1
         opt:zeroGrad()
         local L, out = forwardbackward(net, crit, xb, yb, b, labels, fn)
         if o.clip then o.clip(opt.grads or select(2, net:parameters())) end
         opt:step()
         local k = xb:shape()
         seen = seen + k
         total = total + (sum and L or L * k)
         if o.accuracy then
            local h, c = core.correct(out, yb, ignore)
            hits, counted = hits + h, counted + c
         end
         if bar then bar:update(b, seen, total / seen) end
      end
   end)
   if bar then bar:finish() end
   if not ok then
      if getmetatable(err) == ArgError then error(err, 0) end      -- the labels
      local done = e - 1
      history.stopped = ("at epoch %d, batch %d: %s"):format(e, b, message(err))
      error(("%s: stopped at epoch %d, batch %d (%d finished epoch%s kept in the "
         .. "history): %s"):format(fn, e, b, done, done == 1 and "" or "s", message(err)), 0)
   end
   local t = core.clock() - start
   return {epoch = e, loss = total / n, accuracy = o.accuracy and hits / counted or nil,
           time = t, samplesPerSec = n / t, lr = opt.lr}
end

-- a net's state: its parameters and its buffers (running statistics),
-- copied into saved (made the first time), and put back
local function state(net)
   local list = {}
   for _, p in ipairs((net:parameters())) do list[#list + 1] = p end
   if net.buffers then
      for _, b in ipairs(net:buffers()) do list[#list + 1] = b end
   end
   return list
end

local function snapshot(net, saved)
   saved = saved or {}
   for i, m in ipairs(state(net)) do
      if saved[i] then saved[i]:copy(m) else saved[i] = m:clone() end
   end
   return saved
end

local function restore(net, saved)
   for i, m in ipairs(state(net)) do m:copy(saved[i]) end
end

-- Early stopping: the best monitored loss so far, its epoch and (for
-- restoreBest) the net's state then; saveBest writes the net at each new
-- best.  watch:epoch(e, loss) returns whether to stop.
local Watch = {}
Watch.__index = Watch

local function newwatch(net, o, history, fn)
   return setmetatable({net = net, o = o, history = history, fn = fn, best = math.huge,
                        waited = 0}, Watch)
end

function Watch:epoch(e, loss)
   local o = self.o
   if loss < self.best - o.minDelta then
      self.best, self.bestEpoch, self.waited = loss, e, 0
      self.history.best = {epoch = e, loss = loss}
      if o.restoreBest then self.saved = snapshot(self.net, self.saved) end
      if o.saveBest then
         local ok, err = pcall(require("nn.serialize").save, self.net, o.saveBest)
         if not ok then error(("%s: saveBest: %s"):format(self.fn, message(err)), 0) end
      end
   else
      self.waited = self.waited + 1
   end
   if o.patience and self.waited >= o.patience then
      self.history.stopped = ("early: no improvement for %d epochs after epoch %d")
         :format(o.patience, self.bestEpoch)
      return true
   end
   return false
end

function Watch:finish()
   if self.o.restoreBest and self.saved then restore(self.net, self.saved) end
end

-- the history: opts.history or a new table, with a list per statistic
local STATS = {"loss", "accuracy", "valLoss", "valAccuracy", "lr", "time"}

local function newhistory(h)
   h = h or {}
   for _, k in ipairs(STATS) do h[k] = h[k] or {} end
   return setmetatable(h, train.History)
end

local function record(history, e, stats)
   for _, k in ipairs(STATS) do history[k][e] = stats[k] end
end

local function pct(x) return x and ("%.2f%%"):format(100 * x) or nil end

-- the line printed after each epoch
local function summary(s, epochs)
   local parts = {("epoch %d/%d"):format(s.epoch, epochs), ("loss %.4f"):format(s.loss)}
   if s.accuracy then parts[#parts + 1] = "acc " .. pct(s.accuracy) end
   if s.valLoss then parts[#parts + 1] = ("val_loss %.4f"):format(s.valLoss) end
   if s.valAccuracy then parts[#parts + 1] = "val_acc " .. pct(s.valAccuracy) end
   if s.lr then parts[#parts + 1] = ("lr %.3g"):format(s.lr) end
   parts[#parts + 1] = ("%s (%.0f samples/s)"):format(progress.duration(s.time),
      s.samplesPerSec)
   return table.concat(parts, "  ")
end

-- after an epoch: the history, the summary line, a plateau schedule,
-- early stopping, onEpoch; returns whether to stop
local function endepoch(e, stats, history, watch, o)
   record(history, e, stats)
   if o.show then (o.out or io.stdout):write(summary(stats, o.epochs), "\n") end
   local monitored = stats.valLoss or stats.loss
   if o.plateau then o.schedule(monitored) end
   local stop = watch:epoch(e, monitored)
   if o.onEpoch and o.onEpoch(e, stats) == false then
      history.stopped = ("by onEpoch after epoch %d"):format(e)
      return true
   end
   return stop
end

-- Distributed: rank 0's parameters and buffers on every rank; rank 0
-- alone prints and saves (saveBest).  The line it prints first says how
-- the batches are cut, and that BatchNorm sees each rank's own rows.
local function startdist(dist, net, opt, o, X, Xv, fn)
   local ok, err = pcall(dist.start, dist, net, opt, X, Xv)
   if not ok then error(("%s: distributed: %s"):format(fn, message(err)), 0) end
   if dist.rank ~= 0 then
      o.show, o.saveBest = false, nil
   elseif o.show and dist.size > 1 then
      local per, out = o.batchSize / dist.size, o.out or io.stdout
      out:write(("nn.fit: distributed over %d ranks: each takes %s rows of "
         .. "every batch of %d%s\n"):format(dist.size, per == math.floor(per)
         and ("%d"):format(per) or ("about %.1f"):format(per), o.batchSize,
         dist.buffers and "; BatchNorm normalizes with each rank's own rows (as "
         .. "PyTorch's DDP without SyncBatchNorm) and keeps rank 0's running statistics"
         or ""))
   end
end

train.fit = api(function(net, crit, opt, X, Y, opts)
   local fn = "nn.fit"
   local o = fitoptions(net, crit, opt, X, opts, fn)
   local Xv, Yv, labels, vlabels
   X, Y, Xv, Yv, labels, vlabels = fitdata(X, Y, o, fn)
   local dist = o.dist
   if dist then startdist(dist, net, opt, o, X, Xv, fn) end
   local history = newhistory(o.history)
   local watch = newwatch(net, o, history, fn)
   for e = 1, o.epochs do
      if o.schedule and not o.plateau then o.schedule(e - 1) end
      local stats = trainepoch(e, net, crit, opt, X, Y, o, labels, history, fn)
      if Xv then
         stats.valLoss, stats.valAccuracy = evaluate(net, crit, Xv, Yv, 1000, o.accuracy,
            vlabels, fn, dist)
      end
      local stop
      if dist then         -- every rank stops if one does (onEpoch); errors reach all
         stop = dist:any(dist:run(endepoch, e, stats, history, watch, o))
         if stop and not history.stopped then
            history.stopped = ("by onEpoch on another rank after epoch %d"):format(e)
         end
      else
         stop = endepoch(e, stats, history, watch, o)
      end
      if stop then break end
   end
   watch:finish()
   return history
end)

-- A history prints as a table of its epochs: all of them up to 12, else
-- the first and last five and the best, with the count.
local SHOWN = 5

train.History = {__tostring = function(h)
   local lines = {"epoch      loss       acc  val_loss   val_acc        lr      time"}
   local function f(v, p) return v and (p and pct(v) or ("%.4f"):format(v)) or "-" end
   local function row(e)
      lines[#lines + 1] = ("%5d %9s %9s %9s %9s %9s %8s"):format(e, f(h.loss[e]),
         f(h.accuracy[e], true), f(h.valLoss[e]), f(h.valAccuracy[e], true),
         h.lr[e] and ("%.3g"):format(h.lr[e]) or "-",
         h.time[e] and progress.duration(h.time[e]) or "-")
   end
   local n = #h.loss
   local best = h.best and h.best.epoch
   local show = {}
   for e = 1, n do
      show[e] = n <= 2 * SHOWN + 2 or e <= SHOWN or e > n - SHOWN or e == best
   end
   local gap = 0
   for e = 1, n do
      if show[e] then
         if gap > 0 then lines[#lines + 1] = ("  ... %d epoch%s"):format(gap, gap == 1 and "" or "s") end
         gap = 0
         row(e)
      else
         gap = gap + 1
      end
   end
   if n > 2 * SHOWN + 2 then
      lines[#lines + 1] = ("%d epochs (history.loss and the other lists hold every one)"):format(n)
   end
   if h.best then
      lines[#lines + 1] = ("best: epoch %d, loss %.4f"):format(h.best.epoch, h.best.loss)
   end
   if h.stopped then lines[#lines + 1] = "stopped " .. h.stopped end
   return table.concat(lines, "\n")
end}

return train
