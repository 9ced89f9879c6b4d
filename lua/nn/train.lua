-- Training helpers: mini-batches, the fit loop, evaluation, prediction.
--
--   for xb, yb in nn.batches(X, Y, 64, {shuffle = true}) do ... end
--   local history = nn.fit(net, crit, opt, X, Y, {epochs = 10, batchSize = 64})
--   local loss, acc = nn.evaluate(net, crit, Xtest, Ytest)
--   local classes = nn.predict(net, Xtest)
local core = require "nn.core"
local compat = require "nn.compat"
local progress = require "nn.progress"

local train = {}

local isMatrix = require("nn.util").isMatrix

local function checkmatrix(x, fn, what)
   if not isMatrix(x) then
      error(("%s: %s must be an nn.Matrix, got %s"):format(fn, what, type(x)), 3)
   end
   return x
end

-- Y as a Matrix: a Lua array of class labels becomes n x 1
local function targets(Y, n, fn)
   if type(Y) == "table" and not isMatrix(Y) then
      if #Y ~= n then
         error(("%s: Y has %d labels for %d rows of X"):format(fn, #Y, n), 3)
      end
      for i = 1, n do
         if type(Y[i]) ~= "number" then
            error(("%s: Y[%d] is %s, expected a number"):format(fn, i, type(Y[i])), 3)
         end
      end
      return core.Matrix(n, 1, Y)
   end
   checkmatrix(Y, fn, "Y")
   if (Y:shape()) ~= n then
      error(("%s: Y has %d rows, X has %d"):format(fn, (Y:shape()), n), 3)
   end
   return Y
end

local function checkopts(opts, allowed, fn)
   if opts == nil then return {} end
   if type(opts) ~= "table" then error(fn .. ": options must be a table", 3) end
   for k in pairs(opts) do
      if not allowed[k] then
         local names = {}
         for a in pairs(allowed) do names[#names + 1] = a end
         table.sort(names)
         error(("%s: unknown option '%s' (expected %s)"):format(fn, tostring(k),
            table.concat(names, ", ")), 3)
      end
   end
   return opts
end

-- something with forward and (unless forwardonly) backward: a layer, a
-- Sequential, a loss
local function checkmodule(m, fn, what, expected, forwardonly)
   local ok, f, b = pcall(function() return m.forward, m.backward end)
   if not ok or f == nil or (b == nil and not forwardonly) then
      error(("%s: %s must be %s, got %s"):format(fn, what, expected, type(m)), 3)
   end
end

local function checksize(v, fn, what)
   if not compat.isint(v) or v < 1 then
      error(("%s: %s must be a positive integer, got %s"):format(fn, what, tostring(v)), 3)
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

-- nn.batches(X [, Y], size [, {shuffle = false}]) -> iterator of xb, yb
-- (Y may be nil: then only xb).  Every row comes exactly once per pass;
-- the last batch holds the rest.  The batches are buffers reused on the
-- next pass: clone one to keep it.
function train.batches(X, Y, size, opts)
   local fn = "nn.batches"
   if compat.isint(Y) and size == nil or type(size) == "table" then
      Y, size, opts = nil, Y, size
   end
   checkmatrix(X, fn, "X")
   local n = X:shape()
   if Y ~= nil then Y = targets(Y, n, fn) end
   checksize(size, fn, "size")
   opts = checkopts(opts, {shuffle = true}, fn)
   local xs, ys = take(X), Y and take(Y)
   local order = xs.order
   if not order or #order ~= n then
      order = {}
      xs.order = order
   end
   if opts.shuffle then                            -- Fisher-Yates
      if #order ~= n then for i = 1, n do order[i] = i end end
      local random = core.random
      for i = n, 2, -1 do
         local j = random(i)
         order[i], order[j] = order[j], order[i]
      end
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
      local xb = buffer(xs, X, k):gather(X, order, first, k)
      local yb = Y and buffer(ys, Y, k):gather(Y, order, first, k)
      first = first + k
      return xb, yb
   end
end

-- ---- evaluation --------------------------------------------------------------

local classloss = {CrossEntropyLoss = true, NLLLoss = true}

-- runs f(out, xb, yb, first, k) over X in order, in evaluate mode; the
-- net's mode is restored on every way out, an error included
local function sweep(net, X, Y, size, f)
   local was = net.train
   if net.evaluate then net:evaluate() end
   local ok, err = pcall(function()
      local first = 1
      for xb, yb in train.batches(X, Y, size) do
         local k = xb:shape()
         f(net:forward(xb), xb, yb, first, k)
         first = first + k
      end
   end)
   if was and net.training then net:training() end
   if not ok then error(err, 0) end
end

-- nn.evaluate(net, crit, X, Y [, {batchSize = 1000, accuracy}]) -> mean
-- loss, accuracy (a fraction; nil unless the loss is a class loss or
-- accuracy = true)
function train.evaluate(net, crit, X, Y, opts)
   local fn = "nn.evaluate"
   opts = checkopts(opts, {batchSize = true, accuracy = true}, fn)
   checkmodule(net, fn, "net", "a network (a layer or nn.Sequential)", true)
   checkmodule(crit, fn, "crit", "a loss (nn.CrossEntropyLoss(), ...)", true)
   checkmatrix(X, fn, "X")
   local n = X:shape()
   Y = targets(Y, n, fn)
   local size = checksize(opts.batchSize or 1000, fn, "batchSize")
   local acc = opts.accuracy
   if acc == nil then acc = classloss[crit.typename] or false end
   local sum = crit.reduction == "sum"
   local total, hits = 0, 0
   sweep(net, X, Y, size, function(out, _, yb, _, k)
      local L = crit:forward(out, yb)
      total = total + (sum and L or L * k)
      if acc then hits = hits + core.correct(out, yb) end
   end)
   return total / n, acc and hits / n or nil
end

-- nn.predict(net, X [, batchSize]) -> n x 1 Matrix of class indices (the
-- largest output of each row)
function train.predict(net, X, size)
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
end

-- ---- the fit loop ----------------------------------------------------------------

local fitopts = {
   epochs = true, batchSize = true, shuffle = true, validation = true,
   validationSplit = true, progress = true, onEpoch = true, accuracy = true,
   out = true, schedule = true, patience = true, minDelta = true,
   restoreBest = true, saveBest = true, history = true,
}

local function pct(x) return x and ("%.2f%%"):format(100 * x) or nil end

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

-- the rows held out by validationSplit: the last ceil(f n), as Keras does
local function split(X, Y, f, fn)
   if type(f) ~= "number" or not (f > 0 and f < 1) then
      error(("%s: validationSplit must be a number between 0 and 1, got %s")
         :format(fn, tostring(f)), 3)
   end
   local n = X:shape()
   local nv = math.ceil(f * n)
   if nv >= n then
      error(("%s: validationSplit %g leaves no rows of %d to train on"):format(fn, f, n), 3)
   end
   return X:narrow(1, n - nv), Y:narrow(1, n - nv), X:narrow(n - nv + 1, nv),
      Y:narrow(n - nv + 1, nv)
end

-- copies of the net's parameters, and putting them back (restoreBest)
local function snapshot(net, into)
   local params = net:parameters()
   into = into or {}
   for i, p in ipairs(params) do
      if into[i] then into[i]:copy(p) else into[i] = p:clone() end
   end
   return into
end

local function restore(net, saved)
   for i, p in ipairs((net:parameters())) do p:copy(saved[i]) end
end

-- nn.fit(net, crit, opt, X, Y [, opts]) -> history
-- opts: epochs (1), batchSize (32), shuffle (true), validation {Xv, Yv} or
-- validationSplit (a fraction: the last rows of X, Y are held out),
-- progress (true: summaries, and a bar on a terminal), onEpoch(epoch,
-- stats) (return false to stop), accuracy (default: for class losses),
-- out (io.stdout), schedule (nn.schedule.*: a step, exponential, cosine or
-- warm-up schedule is called before each epoch with epoch - 1; a plateau
-- schedule after it, with the monitored loss), patience (stop when the
-- monitored loss has not improved by minDelta (0) for this many epochs),
-- restoreBest (with patience, default true: end with the best epoch's
-- weights), saveBest (a path: nn.save the net at each new best), history
-- (a table to record into, so finished epochs survive an error).
-- The monitored loss is the validation loss when there is validation, the
-- training loss otherwise.  history has lists loss, accuracy, valLoss,
-- valAccuracy, lr, time (one entry per epoch), and best = {epoch, loss},
-- stopped (why training ended early, or nil).
-- An error inside the loop (a NaN loss, Ctrl-C, a layer's error) is raised
-- as "nn.fit: ... at epoch E, batch B: ..."; history keeps every finished
-- epoch.
function train.fit(net, crit, opt, X, Y, opts)
   local fn = "nn.fit"
   opts = checkopts(opts, fitopts, fn)
   checkmodule(net, fn, "net", "a network (a layer or nn.Sequential)")
   checkmodule(crit, fn, "crit", "a loss (nn.CrossEntropyLoss(), ...)")
   checkmatrix(X, fn, "X")
   local n = X:shape()
   Y = targets(Y, n, fn)
   if type(opt) ~= "table" or type(opt.step) ~= "function" then
      error(fn .. ": opt must be an optimizer (nn.SGD, nn.Adam, ...)", 2)
   end
   if opts.validation ~= nil and (type(opts.validation) ~= "table"
                                  or isMatrix(opts.validation)) then
      error(("%s: validation must be a table {Xv, Yv}, got %s")
         :format(fn, type(opts.validation)), 2)
   end
   if opts.out ~= nil and io.type(opts.out) ~= "file" then
      error(("%s: out must be an open file (io.stdout, io.open(...)), got %s")
         :format(fn, type(opts.out)), 2)
   end
   local sched = opts.schedule
   if sched ~= nil and not (type(sched) == "function" or
                            type(sched) == "table" and getmetatable(sched)
                            and getmetatable(sched).__call) then
      error(("%s: schedule must be a schedule (nn.schedule.step(opt, ...), ...), got %s")
         :format(fn, type(sched)), 2)
   end
   local patience = opts.patience
   if patience ~= nil then checksize(patience, fn, "patience") end
   local minDelta = opts.minDelta or 0
   if type(minDelta) ~= "number" or not (minDelta >= 0) then
      error(("%s: minDelta must be a number >= 0, got %s"):format(fn, tostring(minDelta)), 2)
   end
   if opts.saveBest ~= nil and type(opts.saveBest) ~= "string" then
      error(("%s: saveBest must be a path, got %s"):format(fn, type(opts.saveBest)), 2)
   end
   if opts.history ~= nil and type(opts.history) ~= "table" then
      error(("%s: history must be a table, got %s"):format(fn, type(opts.history)), 2)
   end
   local restoreBest = opts.restoreBest
   if restoreBest == nil then restoreBest = patience ~= nil end
   local epochs = checksize(opts.epochs or 1, fn, "epochs")
   local size = checksize(opts.batchSize or 32, fn, "batchSize")
   local shuffle = opts.shuffle ~= false
   local show = opts.progress ~= false
   local acc = opts.accuracy
   if acc == nil then acc = classloss[crit.typename] or false end
   local Xv, Yv
   if opts.validationSplit ~= nil then
      if opts.validation then
         error(fn .. ": give validation or validationSplit, not both", 2)
      end
      X, Y, Xv, Yv = split(X, Y, opts.validationSplit, fn)
      n = X:shape()
   elseif opts.validation then
      Xv, Yv = opts.validation[1], opts.validation[2]
      checkmatrix(Xv, fn, "validation[1]")
      Yv = targets(Yv, Xv:shape(), fn)
   end
   local plateau = type(sched) == "table" and sched.plateau
   local sum = crit.reduction == "sum"
   local nbatches = math.floor((n + size - 1) / size)
   local history = opts.history or {}
   for _, k in ipairs{"loss", "accuracy", "valLoss", "valAccuracy", "lr", "time"} do
      history[k] = history[k] or {}
   end
   setmetatable(history, train.History)
   local best, bestEpoch, saved, waited = math.huge, nil, nil, 0

   -- one epoch; raises "... at epoch e, batch b" on any error inside
   local function epoch(e)
      if net.training then net:training() end
      local bar = show and progress.new{total = nbatches, epoch = e,
                                        epochs = epochs, out = opts.out}
      local start = core.clock()
      local total, hits, seen, b = 0, 0, 0, 0
      local ok, err = pcall(function()
         for xb, yb in train.batches(X, Y, size, {shuffle = shuffle}) do
            b = b + 1
            opt:zeroGrad()
            local out = net:forward(xb)
            local L = crit:forward(out, yb)
            if L ~= L or L == math.huge or L == -math.huge then
               error(("the loss is %s; lower the learning rate or check the data")
                  :format(L ~= L and "nan" or tostring(L)), 0)
            end
            net:backward(xb, crit:backward(out, yb), false)   -- no dL/dx needed
            opt:step()
            local k = xb:shape()
            seen = seen + k
            total = total + (sum and L or L * k)
            if acc then hits = hits + core.correct(out, yb) end
            if bar then bar:update(b, seen, total / seen) end
         end
      end)
      if bar then bar:finish() end
      if not ok then
         local done = e - 1
         history.stopped = ("at epoch %d, batch %d: %s"):format(e, b, tostring(err))
         error(("%s: stopped at epoch %d, batch %d (%d finished epoch%s kept in the "
            .. "history): %s"):format(fn, e, b, done, done == 1 and "" or "s",
            tostring(err)), 0)
      end
      local t = core.clock() - start
      return {epoch = e, loss = total / n, accuracy = acc and hits / n or nil,
              time = t, samplesPerSec = n / t, lr = opt.lr}
   end

   for e = 1, epochs do
      if sched and not plateau then sched(e - 1) end
      local stats = epoch(e)
      if Xv then
         stats.valLoss, stats.valAccuracy = train.evaluate(net, crit, Xv, Yv,
            {accuracy = acc})
      end
      for k, list in pairs(history) do
         if type(list) == "table" and k ~= "best" then list[e] = stats[k] end
      end
      if show then
         (opts.out or io.stdout):write(summary(stats, epochs), "\n")
      end
      local monitored = stats.valLoss or stats.loss
      if plateau then sched(monitored) end
      if monitored < best - minDelta then
         best, bestEpoch, waited = monitored, e, 0
         history.best = {epoch = e, loss = monitored}
         if restoreBest then saved = snapshot(net, saved) end
         if opts.saveBest then
            local ok, err = pcall(require("nn.serialize").save, net, opts.saveBest)
            if not ok then error(fn .. ": saveBest: " .. tostring(err), 0) end
         end
      else
         waited = waited + 1
      end
      if opts.onEpoch and opts.onEpoch(e, stats) == false then
         history.stopped = ("by onEpoch after epoch %d"):format(e)
         break
      end
      if patience and waited >= patience then
         history.stopped = ("early: no improvement for %d epochs after epoch %d")
            :format(patience, bestEpoch)
         break
      end
   end
   if restoreBest and saved and bestEpoch then restore(net, saved) end
   return history
end

-- A history prints as a table of its epochs.
train.History = {__tostring = function(h)
   local lines = {"epoch      loss       acc  val_loss   val_acc        lr      time"}
   local function f(v, p) return v and (p and pct(v) or ("%.4f"):format(v)) or "-" end
   for e = 1, #h.loss do
      lines[#lines + 1] = ("%5d %9s %9s %9s %9s %9s %8s"):format(e, f(h.loss[e]),
         f(h.accuracy[e], true), f(h.valLoss[e]), f(h.valAccuracy[e], true),
         h.lr[e] and ("%.3g"):format(h.lr[e]) or "-", progress.duration(h.time[e]))
   end
   if h.best then
      lines[#lines + 1] = ("best: epoch %d, loss %.4f"):format(h.best.epoch, h.best.loss)
   end
   if h.stopped then lines[#lines + 1] = "stopped " .. h.stopped end
   return table.concat(lines, "\n")
end}

return train
