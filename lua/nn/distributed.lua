-- Data-parallel training over MPI: what nn.fit and nn.evaluate do with
-- {distributed = mpi}, where mpi = require "nn.mpi" (make mpi).  P
-- processes (ranks) run the same script under mpirun; train.lua calls
-- this file at a few points and its single-process path never does.
--
--   start      the ranks' data and networks checked alike, then the
--              parameters and buffers (BatchNorm's running statistics)
--              broadcast from rank 0, so every rank starts alike
--   batches    every rank draws the shuffle a single process would draw
--              (the same seed gives the same draws), then takes rank 0's
--              order (broadcast: a rank whose generator drifted, through
--              Dropout on an uneven last batch, still agrees); each global
--              batch of batchSize rows is cut into P contiguous shards,
--              rank r taking rows floor(k r / P) + 1 .. floor(k (r + 1) / P)
--   gradients  each rank's gradients, weighted by its share of the batch
--              (dL/dout times rows / k for a mean loss), go into one flat
--              buffer: one allreduce (sum) of all of them per step; every
--              rank takes the same optimizer step, and the parameters stay
--              bit-identical
--   buffers    BatchNorm normalizes with each rank's own batch (PyTorch's
--              DDP without SyncBatchNorm); rank 0's running statistics are
--              broadcast after each epoch, before validation
--   sums       the epoch's loss and hits and validation's are summed over
--              the ranks, so every rank sees the same numbers and makes
--              the same early-stopping decision
--
-- Failures: every collective carries a status, the sum of the ranks'
-- failures.  A rank whose work failed (an error, Ctrl-C's "interrupted!")
-- still joins the next collective, with its error; then every rank
-- learns the lowest failing rank's message and raises it, "rank 1: ...",
-- and no rank is left waiting.  (An error outside nn.fit and nn.evaluate
-- ends the process with a failure status, and nn.mpi's exit handler calls
-- MPI_Abort, which ends the others.)
local core = require "nn.core"
local compat = require "nn.compat"

local function pack(...) return {n = select("#", ...), ...} end

local distributed = {}

local D = {}
D.__index = D

local MAXMSG = 2000            -- bytes of an error message passed on
local NEEDED = {"init", "rank", "size", "allreduce", "broadcast"}

-- whether the distributed option is the nn.mpi module (or a table with
-- its functions)
local function ismpi(mpi)
   if type(mpi) ~= "table" then return false end
   for _, f in ipairs(NEEDED) do
      if type(mpi[f]) ~= "function" then return false end
   end
   return true
end
distributed.ismpi = ismpi

-- distributed.new(mpi, hooks) -> the run's object.  hooks: message(err)
-- (an error's text), argerror(msg) (raises a caller's mistake as the
-- training code raises one) and isargerror(err).
function distributed.new(mpi, hooks)
   local rank, size = mpi.init()
   return setmetatable({mpi = mpi, rank = rank, size = size, hooks = hooks,
                        pending = nil}, D)
end

-- ---- failures ------------------------------------------------------------

-- f(...) in protected mode; its first error waits, as self.pending, for
-- the next collective.  Returns f's results (nothing after an error, or
-- while an earlier one waits).
function D:run(f, ...)
   if self.pending ~= nil then return end
   local r = pack(pcall(f, ...))
   if not r[1] then
      self.pending = r[2] == nil and "nil" or r[2]
      return
   end
   return compat.unpack(r, 2, r.n)
end

-- the text of an error, at most MAXMSG bytes
local function text(self, err)
   local s = self.hooks.message(err)
   if #s > MAXMSG then s = s:sub(1, MAXMSG - 3) .. "..." end
   return s
end

-- Called on every rank once a collective's status says a rank failed:
-- the lowest failing rank's error is raised on every rank.
function D:fail()
   local mpi, mine = self.mpi, self.pending
   self.pending = nil
   if self.size == 1 then error(mine, 0) end
   local who = core.Matrix(1, 1, mine ~= nil and self.size - self.rank or 0)
   mpi.allreduce(who, "max")
   local root = self.size - who:get(1, 1)
   -- kind (1 an error, 2 a caller's mistake), length, the bytes
   local buf = core.Matrix(1, MAXMSG + 2, 0)
   if self.rank == root then
      local isarg = self.hooks.isargerror(mine)
      local s = isarg and mine.msg or text(self, mine)
      buf:set(1, 1, isarg and 2 or 1)
      buf:set(1, 2, #s)
      if #s > 0 then buf:setcols(3, core.Matrix.frombytes(s, 1, #s)) end
   end
   mpi.broadcast(buf, root)
   local n = buf:get(1, 2)
   local s = n > 0 and buf:getcols(3, n):quantize(0, 255) or ""
   if buf:get(1, 1) == 2 then self.hooks.argerror(s) end
   error(("rank %d: %s"):format(root, s), 0)
end

-- allreduce (sum) of M, whose last element is the status slot: this
-- rank's failure (1 if an error waits); raises on every rank if any failed
local function collective(self, M, slot)
   slot:fill(self.pending ~= nil and 1 or 0)
   self.mpi.allreduce(M, "sum")
   if slot:get(1, 1) ~= 0 then self:fail() end
   return M
end

-- ---- sums ------------------------------------------------------------------

-- The sums over the ranks of values (a list of Lua numbers); kinds[i] is
-- "count" (whole numbers: exact to 2^36) or "real".  A float32 holds
-- each in two parts: a count as a * 4096 + b, a real as its float32
-- rounding and the rest.  One rank returns values unchanged.  Raises if a
-- rank failed.
function D:sum(values, kinds)
   if self.size == 1 then
      if self.pending ~= nil then self:fail() end
      return values
   end
   local n = #kinds
   local M = core.Matrix(2 * n + 1, 1)
   for i = 1, n do
      local x = values[i] or 0
      local hi, lo
      if kinds[i] == "count" then
         hi = math.floor(x / 4096)
         lo = x - 4096 * hi
      else
         M:set(2 * i - 1, 1, x)                   -- rounded to float32
         hi = M:get(2 * i - 1, 1)
         lo = x - hi
      end
      M:set(2 * i - 1, 1, hi)
      M:set(2 * i, 1, lo)
   end
   collective(self, M, M:narrow(2 * n + 1, 1))
   local out = {}
   for i = 1, n do
      local hi, lo = M:get(2 * i - 1, 1), M:get(2 * i, 1)
      out[i] = kinds[i] == "count" and 4096 * hi + lo or hi + lo
   end
   return out
end

-- whether flag is true on any rank (onEpoch may stop one rank only);
-- raises if a rank failed
function D:any(flag)
   return self:sum({flag and 1 or 0}, {"count"})[1] > 0
end

-- ---- the state: parameters and buffers -----------------------------------

-- a flat n x 1 buffer for the matrices of list (plus extra elements), and
-- a view of it per matrix
local function flat(list, extra)
   local n = 0
   for _, m in ipairs(list) do n = n + m:numel() end
   local F = core.Matrix(n + extra, 1)
   local views, off = {}, 1
   for i, m in ipairs(list) do
      views[i] = F:narrow(off, m:numel())
      off = off + m:numel()
   end
   return F, views, n
end

local function statelist(net)
   local list = {}
   for _, p in ipairs((net:parameters())) do list[#list + 1] = p end
   if net.buffers then
      for _, b in ipairs(net:buffers()) do list[#list + 1] = b end
   end
   return list
end

-- rank 0's matrices of list on every rank, in one broadcast
local function broadcast(self, list)
   if #list == 0 or self.size == 1 then return end
   local F, views = flat(list, 0)
   if self.rank == 0 then
      for i, m in ipairs(list) do views[i]:copy(m) end
   end
   self.mpi.broadcast(F, 0)
   for i, m in ipairs(list) do m:copy(views[i]) end
end

-- The first of sizes (a list of {what, whole number}) in which the ranks
-- differ, and this rank's number; nil if they agree everywhere.  One
-- allreduce (max) of each number and its negative, in two parts (a count
-- as a * 4096 + b) so that float32 holds them exactly.
local function differ(self, sizes)
   if self.size == 1 then return nil end
   local n = #sizes
   local M = core.Matrix(1, 4 * n)
   for i, s in ipairs(sizes) do
      local a = math.floor(s[2] / 4096)
      local b = s[2] - 4096 * a
      M:set(1, 4 * i - 3, a)
      M:set(1, 4 * i - 2, -a)
      M:set(1, 4 * i - 1, b)
      M:set(1, 4 * i, -b)
   end
   self.mpi.allreduce(M, "max")
   for i, s in ipairs(sizes) do
      if M:get(1, 4 * i - 3) ~= -M:get(1, 4 * i - 2) or M:get(1, 4 * i - 1) ~= -M:get(1, 4 * i) then
         return s[1], s[2]
      end
   end
end

-- The start of training: the ranks' data and networks checked alike (the
-- same error on every rank), then rank 0's parameters and buffers
-- everywhere.  X and Xv (nil without validation) are this rank's.
function D:start(net, opt, X, Xv)
   local list = statelist(net)
   local numel = 0
   for _, m in ipairs(list) do numel = numel + m:numel() end
   local rows, cols = X:shape()
   local what, mine = differ(self, {{"rows of X", rows}, {"columns of X", cols},
      {"rows of the validation data", Xv and (Xv:shape()) or 0},
      {"parameters and buffers of the network", numel}})
   if what then
      error(("the ranks' %s differ (this rank has %d); every rank must pass the same data "
         .. "and network"):format(what, mine), 0)
   end
   broadcast(self, list)
   self.grads = opt.grads
   local hasbuffers = net.buffers and #net:buffers() > 0
   self.buffers = hasbuffers and net:buffers() or nil
end

-- after an epoch: rank 0's running statistics everywhere
function D:syncbuffers()
   if self.buffers then broadcast(self, self.buffers) end
end

-- The gradients summed over the ranks, in one allreduce of one flat
-- buffer: each rank's are already weighted by its share of the batch
-- (train.lua scales dL/dout by rows / k for a mean loss), so the sum is
-- what one process with the whole batch computes.  Raises on every rank
-- if a rank failed.
function D:reducegrads()
   local grads = self.grads
   if not self.G then
      local n
      self.G, self.gviews, n = flat(grads, 1)
      self.gslot = self.G:narrow(n + 1, 1)
   end
   local views = self.gviews
   for i, g in ipairs(grads) do views[i]:copy(g) end
   collective(self, self.G, self.gslot)
   for i, g in ipairs(grads) do g:copy(views[i]) end
end

-- ---- the data ------------------------------------------------------------

-- A pass's row order (train.lua's, which every rank drew alike from the
-- same seed) made rank 0's on every rank: a rank whose generator drifted
-- (Dropout on an uneven last batch) still takes the same rows.  Row
-- numbers travel as floats: exact below 2^24, else in two parts.
function D:agreeorder(o)
   if self.size == 1 then return end
   local n = #o
   local wide = n > 2^24
   local M = core.Matrix(n, wide and 2 or 1)
   for i = 1, n do
      if wide then
         M:set(i, 1, math.floor(o[i] / 4096))
         M:set(i, 2, o[i] % 4096)
      else
         M:set(i, 1, o[i])
      end
   end
   self.mpi.broadcast(M, 0)
   for i = 1, n do
      o[i] = wide and 4096 * M:get(i, 1) + M:get(i, 2) or M:get(i, 1)
   end
end

-- the rows first .. first + k - 1 of a batch of k that are this rank's:
-- their first and count (0 when k < P leaves this rank none)
function D:shard(first, k)
   local lo = math.floor(k * self.rank / self.size)
   local hi = math.floor(k * (self.rank + 1) / self.size)
   return first + lo, hi - lo
end

-- this rank's contiguous part of X and Y (nil, nil if it has none), for
-- evaluation
function D:part(X, Y)
   local from, rows = self:shard(1, (X:shape()))
   if rows == 0 then return nil, nil end
   return X:narrow(from, rows), Y and Y:narrow(from, rows)
end

return distributed
