-- One rank of spec/mpi_spec.lua's runs: mpirun -np P <lua> spec/mpi/worker.lua
-- SCENARIO [ARG].  Every line it prints starts "R<rank> ", and its facts
-- are "R<rank> KEY value" lines the spec reads.
local nn = require "nn"
local mpi = require "nn.mpi"

local scenario, what = arg[1], arg[2]

if scenario == "preinit" then      -- before mpi.init, and after finalize
   for _, f in ipairs{"rank", "size", "barrier"} do
      local ok, e = pcall(mpi[f])
      print(("R? PREINIT %s %s %s"):format(f, tostring(ok), e))
   end
   local r1, s1 = mpi.init()
   local r2, s2 = mpi.init()
   print(("R%d IDEMPOTENT %s"):format(r1, tostring(r1 == r2 and s1 == s2 and s1 == mpi.size()
      and r1 == mpi.rank())))
   mpi.finalize()
   mpi.finalize()
   for _, f in ipairs{"rank", "barrier", "init"} do
      local ok, e = pcall(mpi[f])
      print(("R%d AFTER %s %s %s"):format(r1, f, tostring(ok), e))
   end
   local ok, e = pcall(mpi.allreduce, nn.Matrix(1, 1))
   print(("R%d AFTER allreduce %s %s"):format(r1, tostring(ok), e))
   return
end

local rank, size = mpi.init()

local function say(key, fmt, ...)
   io.write(("R%d %s "):format(rank, key), fmt:format(...), "\n")
   io.flush()
end

-- the parameters and buffers of net, as bytes
local function state(net)
   local parts = {}
   for _, p in ipairs((net:parameters())) do parts[#parts + 1] = p:tobytes() end
   if net.buffers then
      for _, b in ipairs(net:buffers()) do parts[#parts + 1] = b:tobytes() end
   end
   return table.concat(parts)
end

-- bytes in a short line (mpirun may cut a long one and put another rank's
-- output in between): their count and two polynomial hashes
local function digest(s)
   local h1, h2 = 0, 0
   for i = 1, #s do
      local c = s:byte(i)
      h1 = (h1 * 31 + c) % 4294967296
      h2 = (h2 * 131 + c) % 4294967291
   end
   return ("%d:%08x%08x"):format(#s, h1, h2)
end

-- largest |a - b| / max(1, |b|) over two nets' parameters
local function maxdiff(a, b)
   local pa, pb = a:parameters(), b:parameters()
   local worst = 0
   for i = 1, #pa do
      local d = (pa[i] - pb[i]):abs()
      local m = pb[i]:abs():clamp(1, nil)
      local r = d:div(m):max()
      if r ~= r then r = math.huge end
      worst = math.max(worst, r)
   end
   return worst
end

-- n rows of d features in c classes, the same on every rank
local function data(n, d, c)
   local X, Y = nn.Matrix(n, d), nn.Matrix(n, 1)
   for i = 1, n do
      local cls = (i * 7) % c + 1
      Y:set(i, 1, cls)
      for j = 1, d do
         X:set(i, j, math.sin(i * 0.37 + j * 1.3) + 0.5 * ((cls + j) % 3 - 1))
      end
   end
   return X, Y
end

local function mlp(bn)
   if bn then
      return nn.Sequential{nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3)}
   end
   return nn.Sequential{nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 12), nn.Tanh(),
                        nn.Linear(12, 3)}
end

local SGD = {lr = 0.05, momentum = 0.9, nesterov = true, weightDecay = 1e-4}

-- a net with rank 0's initial parameters in the end (every rank draws
-- its own at first: the broadcast at the start must even them out)
local function fresh(bn, own)
   nn.seed(own and 100 + rank or 100)
   local net = mlp(bn)
   nn.seed(7)                             -- the same shuffles everywhere
   return net
end

-- The net wrapped so that its forward raises on rank 1 at its when-th
-- call in training mode (mode "train") or the first in evaluation mode
local function faulty(net, mode, when)
   local count = 0
   local w = setmetatable({}, {__index = function(_, k)
      local v = net[k]
      if type(v) == "function" then
         return function(_, ...) return v(net, ...) end
      end
      return v
   end})
   function w.forward(_, x)
      if net.train then count = count + 1 end
      if rank == 1 and (mode == "train" and net.train and count == when
                        or mode == "eval" and not net.train) then
         error(("injected failure at %s step %d"):format(mode, count), 0)
      end
      return net:forward(x)
   end
   return w
end

if scenario == "api" then
   local M = nn.Matrix(2, 3, rank + 1)
   mpi.allreduce(M)
   say("SUM", "%s", tostring(M:get(2, 3)))
   M = nn.Matrix(2, 3, rank + 1)
   mpi.allreduce(M, "mean")
   say("MEAN", "%s", tostring(M:get(1, 2)))
   M = nn.Matrix(2, 3, rank)
   M:set(1, 1, -rank - 1)
   mpi.allreduce(M, "max")
   say("MAX", "%s %s", tostring(M:get(1, 1)), tostring(M:get(2, 2)))
   local V = nn.Matrix(4, 2, rank * 10 + 1)
   mpi.allreduce(V:narrow(2, 2))                 -- a view: rows 2 and 3 only
   say("VIEW", "%s %s %s", tostring(V:get(1, 1)), tostring(V:get(2, 1)), tostring(V:get(4, 2)))
   local B = nn.Matrix(1, 3, rank + 5)
   mpi.broadcast(B, size - 1)
   say("BCAST", "%s", tostring(B:get(1, 3)))
   B = nn.Matrix(1, 3, rank + 5)
   mpi.broadcast(B)
   say("BCAST0", "%s", tostring(B:get(1, 3)))
   local function e(f, ...)
      local ok, msg = pcall(f, ...)
      return ok and "no error" or msg
   end
   say("E1", "%s", e(mpi.allreduce, {}))
   say("E2", "%s", e(mpi.allreduce, nil))
   say("E3", "%s", e(mpi.allreduce, M, "min"))
   say("E4", "%s", e(mpi.allreduce, M, 3))
   say("E5", "%s", e(mpi.broadcast, M, size))
   say("E6", "%s", e(mpi.broadcast, M, 0.5))
   say("E7", "%s", e(mpi.broadcast, M, "0"))
   say("E8", "%s", e(mpi.broadcast, io.stdout))
   say("E9", "%s", e(mpi.allreduce, nn.Matrix(1, rank + 1)))
   say("E10", "%s", e(mpi.allreduce, nn.Matrix(1, 1), rank == 0 and "sum" or "max"))
   say("E11", "%s", e(mpi.broadcast, nn.Matrix(1, 1), rank))
   local fake = setmetatable({}, getmetatable(M))
   say("E12", "%s", e(mpi.allreduce, fake))
   mpi.barrier()
   say("DONE", "%d of %d", rank, size)

elseif scenario == "equal" then
   -- P ranks with global batch 15 (shards of 7 and 8 on 2) against one
   -- process with batch 15: 375 rows, 25 steps an epoch, 2 epochs
   local X, Y = data(375, 8, 3)
   local Xv, Yv = data(101, 8, 3)
   local crit = nn.CrossEntropyLoss()
   local function run(dist)
      local net = fresh(false, dist)
      local opt = nn.SGD(net, SGD)
      -- (copies: nn.batches keeps each matrix's last order to shuffle again)
      local h = nn.fit(net, crit, opt, X:clone(), Y:clone(), {epochs = 2, batchSize = 15,
         progress = false,
         validation = {Xv, Yv}, distributed = dist and mpi or nil})
      return net, h, opt
   end
   local net, h, opt = run(true)
   say("STEPS", "%d", opt.t)
   say("STATE", "%s", digest(state(net)))
   local ref, href = run(false)
   say("DIFF", "%.3g", maxdiff(net, ref))
   local exact = state(net) == state(ref)
   for _, k in ipairs{"loss", "accuracy", "valLoss", "valAccuracy"} do
      for e = 1, 2 do
         exact = exact and h[k][e] == href[k][e]
         say("HIST", "%s %d %.17g %.17g", k, e, h[k][e], href[k][e])
      end
   end
   say("EXACT", "%s", tostring(exact))
   -- one process doing the P shards' arithmetic in turn: each shard's
   -- gradients (from dL/dout times rows / k), added up (on 2 ranks one
   -- addition per element, whose order does not matter)
   local emu = fresh(false, false)
   local eopt = nn.SGD(emu, SGD)
   local n = X:shape()
   local order = {}
   for i = 1, n do order[i] = i end
   for _ = 1, 2 do
      for i = n, 2, -1 do
         local j = nn.random(i)
         order[i], order[j] = order[j], order[i]
      end
      emu:training()
      for first = 1, n, 15 do
         local k = math.min(15, n - first + 1)
         local sum = {}
         for r = 0, size - 1 do
            local lo, hi = math.floor(k * r / size), math.floor(k * (r + 1) / size)
            local rows = hi - lo
            eopt:zeroGrad()
            if rows > 0 then
               local xb = nn.Matrix(rows, 8):gather(X, order, first + lo, rows)
               local yb = nn.Matrix(rows, 1):gather(Y, order, first + lo, rows)
               local out = emu:forward(xb)
               crit:forward(out, yb)
               local gy = crit:backward(out, yb)
               if rows ~= k then gy:scale(rows / k) end
               emu:backward(xb, gy, false)
            end
            for i, g in ipairs(eopt.grads) do
               if sum[i] then sum[i]:add(g) else sum[i] = g:clone() end
            end
         end
         for i, g in ipairs(eopt.grads) do g:copy(sum[i]) end
         eopt:step()
      end
   end
   say("EMULATED", "%s", tostring(state(emu) == state(net)))

elseif scenario == "bn" then
   -- BatchNorm: each rank's own batch statistics; rank 0's running ones
   local X, Y = data(200, 8, 3)
   local net = fresh(true, true)
   local opt = nn.Adam(net, {lr = 0.01})
   io.stdout:write(("R%d "):format(rank))
   -- saveBest on rank 0 only: a path per rank shows who saved
   nn.fit(net, nn.CrossEntropyLoss(), opt, X, Y, {epochs = 2, batchSize = 20,
      validationSplit = 0.2, distributed = mpi, out = io.stdout,
      saveBest = what and ("%s/best%d.nn"):format(what, rank)})
   io.stdout:write("\n")
   say("STATE", "%s", digest(state(net)))

elseif scenario == "evaluate" then
   -- nn.evaluate over the ranks against one process
   local X, Y = data(101, 8, 3)
   nn.seed(3)
   local net = mlp(false)
   local crit = nn.CrossEntropyLoss()
   local l1, a1 = nn.evaluate(net, crit, X, Y, {distributed = mpi, batchSize = 7})
   local l0, a0 = nn.evaluate(net, crit, X, Y, {batchSize = 7})
   say("EVAL", "%.9g %.9g %.17g %.17g", l1, l0, a1, a0)
   local ok, e = pcall(nn.evaluate, net, crit, X, Y, {distributed = "mpi"})
   say("EARG", "%s %s", tostring(ok), e)
   ok, e = pcall(nn.fit, net, crit, nn.SGD(net, {lr = 1}), X, Y, {distributed = true})
   say("FARG", "%s %s", tostring(ok), e)
   -- the ranks' data or networks differ: the same error on every rank
   local n = rank == 1 and 100 or 101
   ok, e = pcall(nn.fit, net, crit, nn.SGD(net, {lr = 1}), X:narrow(1, n), Y:narrow(1, n),
      {distributed = mpi, progress = false})
   say("FROWS", "%s %s", tostring(ok), e)
   local other = rank == 1 and nn.Sequential{nn.Linear(8, 4), nn.Linear(4, 3)} or mlp(false)
   ok, e = pcall(nn.fit, other, crit, nn.SGD(other, {lr = 1}), X, Y,
      {distributed = mpi, progress = false})
   say("FNET", "%s %s", tostring(ok), e)
   -- a caller's mistake seen by one rank's data is an argument error on all
   local Ybad = Y:clone()
   Ybad:set(101, 1, 7)        -- the last rank's part: more classes than the net has
   ok, e = pcall(nn.evaluate, net, crit, X, Ybad, {distributed = mpi})
   say("CLASSES", "%s %s", tostring(ok), e)

elseif scenario == "fail" then
   -- what = step (rank 1 fails at step 5, uncaught), caught (the same in a
   -- pcall), eval (rank 1 fails in validation, caught), onepoch (rank 1's
   -- onEpoch fails after epoch 2, caught), stop (rank 1's onEpoch stops),
   -- outside (rank 1 fails outside nn.fit while rank 0 waits in a barrier)
   local X, Y = data(300, 8, 3)
   local net = fresh(false, false)
   local opt = nn.SGD(net, SGD)
   local opts = {epochs = 4, batchSize = 10, progress = false, distributed = mpi,
      validation = {X:narrow(1, 50), Y:narrow(1, 50)}}
   local model = net
   if what == "step" or what == "caught" then model = faulty(net, "train", 5) end
   if what == "eval" then model = faulty(net, "eval") end
   if what == "onepoch" then
      opts.onEpoch = function(e)
         if rank == 1 and e == 2 then error("injected failure in onEpoch", 0) end
      end
   end
   if what == "stop" then
      opts.onEpoch = function(e) if rank == 1 and e == 2 then return false end end
   end
   say("PID", "%s", io.open("/proc/self/stat"):read("*l"):match("^%d+"))
   if what == "outside" then
      if rank == 1 then error("injected failure outside nn.fit", 0) end
      mpi.barrier()
      say("PASSED", "the barrier")
   elseif what == "step" then
      nn.fit(model, nn.CrossEntropyLoss(), opt, X, Y, opts)
      say("FINISHED", "training")
   else
      local h = {}
      opts.history = h
      local ok, e = pcall(nn.fit, model, nn.CrossEntropyLoss(), opt, X, Y, opts)
      say("CAUGHT", "%s %s", tostring(ok), tostring(e))
      say("EPOCHS", "%d %s", #h.loss, tostring(h.stopped))
      mpi.barrier()                  -- every rank is still in step
      say("STATE", "%s", digest(state(net)))
   end

elseif scenario == "ignore" then
   -- a class loss's ignored labels, spread unevenly over the shards: the
   -- first batch's second half (rank 1's shard) ignored whole, then every
   -- seventh row: one process' numbers all the same
   local X, Y = data(100, 8, 3)
   for i = 6, 10 do Y:set(i, 1, -100) end
   for i = 11, 100, 7 do Y:set(i, 1, -100) end
   local crit = nn.CrossEntropyLoss()
   local function run(dist)
      local net = fresh(false, dist)
      local h = nn.fit(net, crit, nn.SGD(net, SGD), X:clone(), Y:clone(), {epochs = 3,
         batchSize = 10, shuffle = false, progress = false, distributed = dist and mpi or nil})
      return net, h
   end
   local net, h = run(true)
   local ref, href = run(false)
   say("DIFF", "%.3g", maxdiff(net, ref))
   say("STATE", "%s", digest(state(net)))
   for e = 1, 3 do
      say("HIST", "%d %.17g %.17g %.17g %.17g", e, h.loss[e], href.loss[e], h.accuracy[e],
         href.accuracy[e])
   end

elseif scenario == "rows" then
   -- every row once per pass over all ranks, though Dropout on shards of 7
   -- and 8 rows draws unlike counts on the two ranks (their generators
   -- drift apart after the first batch)
   local n = 75
   local X, Y = data(n, 8, 3)
   for i = 1, n do X:set(i, 1, i) end                 -- column 1: the row's number
   nn.seed(7)
   local net = nn.Sequential{nn.Linear(8, 6), nn.ReLU(), nn.Dropout(0.5), nn.Linear(6, 3)}
   local seen = nn.Matrix(n, 1)
   local w = setmetatable({}, {__index = function(_, k)
      local v = net[k]
      if type(v) == "function" then return function(_, ...) return v(net, ...) end end
      return v
   end})
   function w.forward(_, x)
      if net.train then
         for i = 1, x:shape() do
            local r = x:get(i, 1)
            seen:set(r, 1, seen:get(r, 1) + 1)
         end
      end
      return net:forward(x)
   end
   local bad = 0
   nn.fit(w, nn.CrossEntropyLoss(), nn.SGD(net, {lr = 0.01}), X, Y, {epochs = 4, batchSize = 15,
      progress = false, distributed = mpi, onEpoch = function()
         mpi.allreduce(seen)
         for i = 1, n do if seen:get(i, 1) ~= 1 then bad = bad + 1 end end
         seen:zero()
      end})
   say("ROWS", "%d rows not seen exactly once", bad)
   say("RANDOM", "%.17g", nn.random())               -- the generators did drift

elseif scenario == "long" then
   -- trains for minutes unless stopped (the Ctrl-C spec)
   local X, Y = data(2000, 8, 3)
   local net = fresh(false, false)
   say("PID", "%s", io.open("/proc/self/stat"):read("*l"):match("^%d+"))
   nn.fit(net, nn.CrossEntropyLoss(), nn.SGD(net, SGD), X, Y, {epochs = 100000,
      batchSize = 4, progress = false, distributed = mpi})

else
   error("worker.lua: unknown scenario " .. tostring(scenario))
end
