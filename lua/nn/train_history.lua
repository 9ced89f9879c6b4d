-- nn.fit's record of a run (lua/nn/train.lua has the loop): the history
-- (a list per statistic, and how it prints), the line printed after each
-- epoch, and early stopping (the best epoch, its weights and buffers,
-- saveBest).
local progress = require "nn.progress"
local check = require "nn.train_check"

check.mine()
local message = check.message

local history = {}

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
   return setmetatable(h, history.History)
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

-- A history prints as a table of its epochs: all of them up to 12, else
-- the first and last five and the best, with the count.
local SHOWN = 5

history.History = {__tostring = function(h)
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

history.newwatch, history.newhistory, history.endepoch = newwatch, newhistory, endepoch

return history
