-- Training helpers: mini-batches, the fit loop, evaluation, prediction.
--
--   for xb, yb in nn.batches(X, Y, 64, {shuffle = true}) do ... end
--   local history = nn.fit(net, crit, opt, X, Y, {epochs = 10, batchSize = 64})
--   local loss, acc = nn.evaluate(net, crit, Xtest, Ytest)
--   local classes = nn.predict(net, Xtest)
--
-- Here: mini-batches, evaluation, one epoch and nn.fit's loop; the
-- arguments and options are checked in train_check.lua, the history and
-- early stopping kept in train_history.lua.
local core = require "nn.core"
local compat = require "nn.compat"
local progress = require "nn.progress"
local check = require "nn.train_check"
local trainhistory = require "nn.train_history"

check.mine()

local train = {}

local api, message, isargerror = check.api, check.message, check.isargerror
local checkmatrix, checkmodule, checksize, checkopts = check.checkmatrix, check.checkmodule,
   check.checksize, check.checkopts
local classloss, classof, checkclasses, targets = check.classloss, check.classof,
   check.checkclasses, check.targets

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
      if isargerror(err) then error(err, 0) end
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
   local dist = opts.distributed ~= nil and check.newdist(opts.distributed, fn) or nil
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
      if isargerror(err) then error(err, 0) end      -- the labels
      local done = e - 1
      history.stopped = ("at epoch %d, batch %d: %s"):format(e, b, message(err))
      error(("%s: stopped at epoch %d, batch %d (%d finished epoch%s kept in the "
         .. "history): %s"):format(fn, e, b, done, done == 1 and "" or "s", message(err)), 0)
   end
   local t = core.clock() - start
   return {epoch = e, loss = total / n, accuracy = o.accuracy and hits / counted or nil,
           time = t, samplesPerSec = n / t, lr = opt.lr}
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
   local o = check.fitoptions(net, crit, opt, X, opts, fn)
   local Xv, Yv, labels, vlabels
   X, Y, Xv, Yv, labels, vlabels = check.fitdata(X, Y, o, fn)
   local dist = o.dist
   if dist then startdist(dist, net, opt, o, X, Xv, fn) end
   local history = trainhistory.newhistory(o.history)
   local watch = trainhistory.newwatch(net, o, history, fn)
   for e = 1, o.epochs do
      if o.schedule and not o.plateau then o.schedule(e - 1) end
      local stats = trainepoch(e, net, crit, opt, X, Y, o, labels, history, fn)
      if Xv then
         stats.valLoss, stats.valAccuracy = evaluate(net, crit, Xv, Yv, 1000, o.accuracy,
            vlabels, fn, dist)
      end
      local stop
      if dist then         -- every rank stops if one does (onEpoch); errors reach all
         stop = dist:any(dist:run(trainhistory.endepoch, e, stats, history, watch, o))
         if stop and not history.stopped then
            history.stopped = ("by onEpoch on another rank after epoch %d"):format(e)
         end
      else
         stop = trainhistory.endepoch(e, stats, history, watch, o)
      end
      if stop then break end
   end
   watch:finish()
   return history
end)

train.holdout = check.holdout
train.History = trainhistory.History

return train
