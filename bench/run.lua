-- Benchmarks: lua-nn against PyTorch (CPU, same thread count), the GEMM
-- limit and the machine's peak, in one run.  Every figure is the median
-- of REPEATS rounds (3 for the epochs).  A round of a workload times
-- lua-nn and PyTorch (bench/torch_mlp.py, a process that answers one
-- request at a time) in turn on each thread count, one timing each, and
-- each ratio is the median of the rounds' ratios: on a shared machine
-- the speed drifts for seconds at a time, and timings taken side by side
-- keep their ratio where blocks of them taken minutes apart do not.
-- The GEMM limit is the time of the bare matrix products a workload
-- needs (through C:gemm, so on the core's BLAS); the peak is one core's
-- FMA loop (bench/peak.c, NN_PEAK names the program), and "of peak" is
-- the workload's FLOPs over its time and the peak of as many cores as
-- threads.  After each round's timing on n > 1 threads the same loop
-- runs on n threads at once (bench/peak.c n, about 5 ms), and "FMA loop
-- 1 / n threads" is the median of what they did over one core's peak:
-- what the host let n threads gain just then (a host that puts two
-- virtual CPUs on one core's two hyperthreads gives 1.0x); "CPU to CPU
-- round trip" is the median of the same runs' round trip of a cache line
-- between the first two CPUs (about 56 ns within one L3 here, 330 when
-- the host had put them on two dies).  That round trip is also measured
-- just before each n-thread timing, and the rounds where the host had
-- moved the CPUs apart are left out of every median and ratio of the
-- row and counted beside its gain (NEAR, below); a row runs up to twice
-- its rounds while fewer than its rounds were near.
--   lua5.4 bench/run.lua [threads]                     (make bench)
--   lua5.4 bench/run.lua threads name=cpath name=cpath  (make bench BLAS=none)
-- threads is a count or a list, "1,2" (the default): each workload on
-- each count, side by side, and PyTorch the same.  With cores named, each
-- workload runs in a child process per core, in BENCH_ROUNDS (3) rounds
-- (A B A B A B), and the table shows the cores side by side: the median
-- of the rounds, each a median of REPEATS.  Without, the one core on
-- LUA_CPATH runs them in this process.  BENCH_CLOCK=cpu times lua-nn by
-- the process's CPU time (os.clock) instead of the wall clock: steadier
-- on a shared machine, meaningful with 1 thread only.  BENCH_ONLY=a,b
-- runs only the workloads so named (train64, cnntrain64, epoch, ...).
--   lua5.4 bench/run.lua --child workload threads      (one core's times)

local child = arg and arg[1] == "--child"
local counts = {}
for n in tostring(arg and arg[child and 3 or 1] or "1,2"):gmatch("%d+") do
   counts[#counts + 1] = tonumber(n)
end
if #counts == 0 then counts = {1, 2} end
local REPEATS = 7
local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS")) or 3
local cores = {}
for i = 2, child and 0 or #arg do
   local name, cpath = arg[i]:match("^([^=]+)=(.+)$")
   assert(name, "bench/run.lua: expected name=cpath, got " .. arg[i])
   cores[#cores + 1] = {name = name, cpath = cpath}
end
local only
if os.getenv("BENCH_ONLY") then
   only = {}
   for w in os.getenv("BENCH_ONLY"):gmatch("[%w_]+") do only[w] = true end
end

local nn = #cores == 0 and require "nn"
local clock = nn and (os.getenv("BENCH_CLOCK") == "cpu" and os.clock or nn.clock)
if nn then nn.seed(1) end

local function median(t)
   table.sort(t)
   return t[math.floor((#t + 1) / 2)]
end

-- one timing: n calls of f(round), after one more to warm up unless cold
local function once(f, n, cold, round)
   if not cold then f(round) end
   local t0 = clock()
   for _ = 1, n do f(round) end
   return (clock() - t0) / n
end

local function time(f, n, repeats, cold)
   local ts = {}
   for r = 1, repeats or REPEATS do ts[r] = once(f, n, cold or r > 1, r) end
   return median(ts)
end

local function mlp()
   return nn.Sequential{nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                        nn.Linear(128, 10)}
end

-- the example's LeNet-style CNN (examples/mnist_cnn.lua) without its
-- dropout and with batch normalization after each convolution, which the
-- example does not have: 1x28x28 -> conv 5x5 16, batch norm, ReLU, pool ->
-- conv 5x5 32, batch norm, ReLU, pool -> 1568 -> 128 -> 10
local function cnn()
   return nn.Sequential{
      nn.Conv2d(1, 16, 5, {padding = 2, input = {1, 28, 28}}), nn.BatchNorm2d(16), nn.ReLU(),
      nn.MaxPool2d(2),
      nn.Conv2d(16, 32, 5, {padding = 2}), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
      nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10)}
end

-- examples/mnist_cnn.lua's network itself, for the epoch
local function example()
   return nn.Sequential{
      nn.Conv2d(1, 16, 5, {padding = 2, input = {1, 28, 28}}), nn.ReLU(), nn.MaxPool2d(2),
      nn.Conv2d(16, 32, 5, {padding = 2}), nn.ReLU(), nn.MaxPool2d(2),
      nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10)}
end

local function train(make, batch, n, adam)
   local net, crit = make(), nn.CrossEntropyLoss()
   local opt = adam and nn.Adam(net, {lr = 1e-3}) or nn.SGD(net, {lr = 0.01, momentum = 0.9})
   local x, y = nn.rand(batch, 784), nn.Matrix(batch, 1)
   for i = 1, batch do y:set(i, 1, nn.random(10)) end
   return function()
      opt:zeroGrad()
      local out = net:forward(x)
      crit:forward(out, y)
      net:backward(x, crit:backward(out, y), false)
      opt:step()
   end, n
end

local function infer(make, batch, n)
   local net, x = make(), nn.rand(batch, 784)
   net:evaluate()
   return function() net:forward(x) end, n
end

-- one Conv2d of the CNN on a batch: its forward, or its backward (dL/dW,
-- dL/db, and dL/dx unless it is the first layer)
local function conv(C, O, H, batch, n, backward)
   local m = nn.Conv2d(C, O, 5, {padding = 2, input = {C, H, H}})
   local x, gy = nn.rand(batch, C * H * H), nn.rand(batch, O * H * H)
   m:forward(x)
   if not backward then return function() m:forward(x) end, n end
   return function() m:backward(x, gy, C > 1) end, n
end

-- one epoch of examples/mnist_cnn.lua's training (Adam, batch 64, the
-- example's network, shuffled) on the first 10,000 MNIST training images,
-- a new network seeded with the round's number; cold: no warm-up epoch
local MNIST = os.getenv("BENCH_MNIST") or "data/mnist"
local function epoch()
   local ok, X, Y = pcall(function() return (require "nn.mnist").load(MNIST, "train") end)
   if not ok then return nil end
   X, Y = X:narrow(1, 10000), Y:narrow(1, 10000)
   return function(r)
      nn.seed(r)
      local net, crit = example(), nn.CrossEntropyLoss()
      local opt = nn.Adam(net, {lr = 1e-3})
      nn.fit(net, crit, opt, X, Y, {epochs = 1, batchSize = 64, progress = false})
   end, 1, true
end

-- the sgemm calls of one step: for each layer (nin -> nout), forward
-- y = x W^T; for training also dW = gy^T x and dx = gy W (all but the
-- first layer, whose input needs no gradient)
local function gemm_limit(batch, n, training)
   local layers = {{784, 256}, {256, 128}, {128, 10}}
   local ops = {}
   for i, l in ipairs(layers) do
      local nin, nout = l[1], l[2]
      local x, W, gy = nn.rand(batch, nin), nn.rand(nout, nin), nn.rand(batch, nout)
      local y, gW, gx = nn.Matrix(batch, nout), nn.Matrix(nout, nin), nn.Matrix(batch, nin)
      ops[#ops + 1] = function() y:gemm(x, W, 1, 0, false, true) end
      if training then
         ops[#ops + 1] = function() gW:gemm(gy, x, 1, 1, true, false) end
         if i > 1 then ops[#ops + 1] = function() gx:gemm(gy, W, 1, 0) end end
      end
   end
   return time(function() for _, op in ipairs(ops) do op() end end, n)
end

-- The CNN's products as the fewest, largest sgemm calls: each convolution
-- as one (O x K) by (K x batch*P) product over the whole batch, and for
-- training its dW (O x batch*P by batch*P x K) and, but for the first, its
-- dcols (K x O by O x batch*P); the dense layers as in gemm_limit.  No
-- im2col, pooling or activation: the floor under any im2col code.  which
-- picks one convolution (1 or 2) and one direction ("forward" or
-- "backward") alone.
local function cnn_gemm_limit(batch, n, training, which, dir)
   local ops = {}
   local function product(M, N, K, ta, tb)
      local A = ta and nn.rand(K, M) or nn.rand(M, K)
      local B = tb and nn.rand(N, K) or nn.rand(K, N)
      local C = nn.Matrix(M, N)
      ops[#ops + 1] = function() C:gemm(A, B, 1, 0, ta, tb) end
   end
   for i, c in ipairs{{16, 25, 784}, {32, 400, 196}} do       -- O, K, P
      local O, K, P = c[1], c[2], c[3] * batch
      if not which or which == i then
         if dir ~= "backward" then product(O, P, K) end
         if training or dir == "backward" then
            product(O, K, P, false, true)
            if i > 1 then product(K, P, O, true, false) end
         end
      end
   end
   if not which then
      for _, l in ipairs{{1568, 128}, {128, 10}} do
         product(batch, l[2], l[1], false, true)
         if training then
            product(l[2], l[1], batch, true, false)
            product(batch, l[1], l[2])
         end
      end
   end
   return time(function() for _, op in ipairs(ops) do op() end end, n)
end

-- FLOPs (2 per multiply-add) of the products, per image or sample
local MLPF = 2 * (784 * 256 + 256 * 128 + 128 * 10)
local MLPT = 2 * MLPF + 2 * (256 * 128 + 128 * 10)      -- dW all, dx but the first
local C1, C2 = 2 * 16 * 25 * 784, 2 * 32 * 400 * 196
local LIN = 2 * (1568 * 128 + 128 * 10)
local CNNF = C1 + C2 + LIN
local CNNT = 2 * C1 + 3 * C2 + 3 * LIN

local workloads = {
   {"train64", "MLP train step, batch 64", function() return train(mlp, 64, 200) end,
    function() return gemm_limit(64, 200, true) end, 64 * MLPT},
   {"adam64", "MLP train step with Adam, batch 64", function() return train(mlp, 64, 200, true) end,
    function() return gemm_limit(64, 200, true) end, 64 * MLPT},
   {"train256", "MLP train step, batch 256", function() return train(mlp, 256, 60) end,
    function() return gemm_limit(256, 60, true) end, 256 * MLPT},
   {"infer1", "MLP inference, 1 sample", function() return infer(mlp, 1, 2000) end,
    function() return gemm_limit(1, 2000, false) end, MLPF},
   {"infer1000", "MLP inference, batch 1000", function() return infer(mlp, 1000, 30) end,
    function() return gemm_limit(1000, 30, false) end, 1000 * MLPF},
   {"cnntrain64", "CNN train step, batch 64", function() return train(cnn, 64, 20) end,
    function() return cnn_gemm_limit(64, 20, true) end, 64 * CNNT},
   {"cnninfer1", "CNN inference, 1 sample", function() return infer(cnn, 1, 500) end,
    function() return cnn_gemm_limit(1, 500, false) end, CNNF},
   {"cnninfer64", "CNN inference, batch 64", function() return infer(cnn, 64, 30) end,
    function() return cnn_gemm_limit(64, 30, false) end, 64 * CNNF},
   {"conv1f", "Conv2d 1->16 5x5 28x28 forward, batch 64", function() return conv(1, 16, 28, 64, 50) end,
    function() return cnn_gemm_limit(64, 50, false, 1, "forward") end, 64 * C1},
   {"conv1b", "Conv2d 1->16 backward (dW, db), batch 64",
    function() return conv(1, 16, 28, 64, 50, true) end,
    function() return cnn_gemm_limit(64, 50, false, 1, "backward") end, 64 * C1},
   {"conv2f", "Conv2d 16->32 5x5 14x14 forward, batch 64", function() return conv(16, 32, 14, 64, 20) end,
    function() return cnn_gemm_limit(64, 20, false, 2, "forward") end, 64 * C2},
   {"conv2b", "Conv2d 16->32 backward (dx, dW, db), batch 64",
    function() return conv(16, 32, 14, 64, 20, true) end,
    function() return cnn_gemm_limit(64, 20, false, 2, "backward") end, 2 * 64 * C2},
   {"epoch", "CNN epoch (examples/mnist_cnn.lua: Adam, batch 64, dropout), 10,000 images",
    function() return epoch() end, nil, 10000 * CNNT},
}

-- ---- the recurrent rows (issue #25 §1) --------------------------------------
-- A character model's core: LSTM(256, 256) on batches of 32 sequences of
-- 32 steps, a Linear per step to 64 classes and cross-entropy over every
-- step; a train step is forward, backward and SGD with momentum.
-- Generation: one step of one sequence from the state the last one left
-- (m:step), and the Linear: one token's logits.
local LSTM_D, LSTM_H, LSTM_T, LSTM_C = 256, 256, 32, 64

local function lstmtrain(batch, n)
   local net = nn.Sequential{nn.LSTM(LSTM_D, LSTM_H), nn.Linear(LSTM_H, LSTM_C, {sequence = true})}
   local crit = nn.CrossEntropyLoss{sequence = true}
   local opt = nn.SGD(net, {lr = 0.01, momentum = 0.9})
   local x, y = nn.randn(batch, LSTM_T * LSTM_D), nn.Matrix(batch, LSTM_T)
   for i = 1, batch do
      for t = 1, LSTM_T do y:set(i, t, nn.random(LSTM_C)) end
   end
   return function()
      opt:zeroGrad()
      local out = net:forward(x)
      crit:forward(out, y)
      net:backward(x, crit:backward(out, y), false)
      opt:step()
   end, n
end

local function lstmgen(n)
   local lstm, head = nn.LSTM(LSTM_D, LSTM_H), nn.Linear(LSTM_H, LSTM_C)
   lstm:evaluate()
   local x = nn.randn(1, LSTM_D)
   lstm:setState()
   return function() head:forward(lstm:step(x)) end, n
end

-- the products: x W_ih^T for every step at once, h W_hh^T a step, the
-- head; for training dL/dh a step, dW_ih, dW_hh, dL/dx (not wanted for
-- the input: skipped, as lua-nn skips it) and the head's two
local function lstm_gemm_limit(batch, T, n, training)
   local G, H, D, C, rows = 4 * LSTM_H, LSTM_H, LSTM_D, LSTM_C, batch * T
   local ops = {}
   local function product(M, N, K, ta, tb)
      local A = ta and nn.rand(K, M) or nn.rand(M, K)
      local B = tb and nn.rand(N, K) or nn.rand(K, N)
      local Cm = nn.Matrix(M, N)
      ops[#ops + 1] = function() Cm:gemm(A, B, 1, 0, ta, tb) end
   end
   product(rows, G, D, false, true)
   for _ = 1, T do product(batch, G, H, false, true) end
   product(rows, C, H, false, true)
   if training then
      for _ = 1, T do product(batch, H, G) end
      product(G, D, rows, true, false)
      product(G, H, rows, true, false)
      product(C, H, rows, true, false)
      product(rows, H, C)
   end
   return time(function() for _, op in ipairs(ops) do op() end end, n)
end

-- their products' floating-point operations: forward F (the input
-- projection, the recurrence, the head), a train step 3F less the input's
-- dL/dx
local LSTM_F1 = 2 * 4 * LSTM_H * (LSTM_D + LSTM_H) + 2 * LSTM_C * LSTM_H
local LSTM_TRAIN = 32 * LSTM_T * (3 * LSTM_F1 - 2 * 4 * LSTM_H * LSTM_D)

workloads[#workloads + 1] = {"lstmtrain32",
   "LSTM train step, batch 32 x 32 steps, 256 -> 256, a Linear per step to 64",
   function() return lstmtrain(32, 10) end, function() return lstm_gemm_limit(32, LSTM_T, 10, true) end, LSTM_TRAIN}
workloads[#workloads + 1] = {"lstmgen1", "LSTM generation, one step of one sequence (and the Linear)",
   function() return lstmgen(2000) end, function() return lstm_gemm_limit(1, 1, 2000, false) end, LSTM_F1}

local function us(s)
   if not s then return "n/a" end
   if s >= 0.1 then return ("%.2f s"):format(s) end
   return ("%.1f us"):format(s * 1e6)
end

local function selected(w) return not only or only[w[1]] end

if child then
   nn.threads(counts[1])
   for _, w in ipairs(workloads) do
      if w[1] == arg[2] then
         local f, n, cold = w[3]()
         local ours = f and time(f, n, cold and 3 or REPEATS, cold)
         local limit = w[4] and w[4]()
         print(("%s %.9g %s"):format(w[1], ours or 0 / 0, limit and ("%.9g"):format(limit) or "nan"))
         return
      end
   end
   error("bench/run.lua: no workload " .. tostring(arg[2]))
end

local function pipe(cmd)
   local p = io.popen(cmd)
   local out = p and p:read("*a") or ""
   if p then p:close() end
   return out
end

-- PyTorch's side: bench/torch_mlp.py (beside this file), its answers
-- read from its output and its requests written to a named pipe; nil
-- where Python lacks torch or numpy.  The pipe is opened read-write:
-- that open does not wait for a reader (Linux), and a write to it cannot
-- raise SIGPIPE, so a Python that fails to start or dies shows as the end
-- of its output, never as a hang.
local HERE = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
local function torch_start()
   local ok = os.execute("/usr/bin/python3 -c 'import numpy, torch' >/dev/null 2>&1")
   if ok ~= true and ok ~= 0 then return nil end
   local dir = pipe("mktemp -d 2>/dev/null"):gsub("%s+$", "")
   if dir == "" then return nil end
   ok = os.execute(("mkfifo '%s/cmd'"):format(dir))
   local cmd = (ok == true or ok == 0) and io.open(dir .. "/cmd", "r+")
   local res = cmd and io.popen(("BENCH_MNIST='%s' /usr/bin/python3 '%s/torch_mlp.py' '%s/cmd' "
      .. "2>/dev/null"):format(MNIST, HERE, dir), "r")
   if not res then
      if cmd then cmd:close() end
      os.execute(("rm -rf '%s'"):format(dir))
      return nil
   end
   return {cmd = cmd, res = res, dir = dir}
end

-- one timing of workload name on threads, round r: seconds, or nil
local function torch_time(py, name, threads, r)
   if not py or py.dead then return nil end
   py.cmd:write(("%s %d %d\n"):format(name, threads, r))
   py.cmd:flush()
   local line = py.res:read("*l")
   if not line then py.dead = true end
   return line and tonumber(line)             -- "nan": nil
end

local function torch_stop(py)
   if not py then return end
   py.cmd:write("quit\n")
   py.cmd:flush()
   py.cmd:close()
   py.res:close()
   os.execute(("rm -rf '%s'"):format(py.dir))
end

-- PyTorch's medians of REPEATS timings on threads
local function torch_times(py, threads)
   local t = {}
   for _, w in ipairs(workloads) do
      if selected(w) then
         local ts = {}
         for r = 1, w[1] == "epoch" and 3 or REPEATS do ts[#ts + 1] = torch_time(py, w[1], threads, r) end
         t[w[1]] = #ts > 0 and median(ts) or nil
      end
   end
   return t
end

-- the median of a[r] / b[r] over the rounds where both are there (false
-- where one is not)
local function ratio(a, b)
   local q = {}
   for r = 1, #a do if a[r] and b[r] then q[#q + 1] = a[r] / b[r] end end
   return #q > 0 and median(q) or nil
end

local function mediannil(t)
   local v = {}
   for r = 1, #t do if t[r] then v[#v + 1] = t[r] end end
   return #v > 0 and median(v) or nil
end

-- the machine: lscpu's model name and count of CPUs, the load, the peak
local function machine()
   local l = pipe("lscpu 2>/dev/null")
   local model = l:match("Model name:%s*([^\n]+)") or "?"
   local cpus = l:match("\nCPU%(s%):%s*(%d+)") or "?"
   local hyp = l:match("Hypervisor vendor:%s*([^\n]+)")
   local load = pipe("cat /proc/loadavg 2>/dev/null"):match("^(%S+)") or "?"
   return ("%s, %s CPUs%s; load average %s"):format(model, cpus,
      hyp and (", " .. hyp .. " guest") or "", load)
end

-- bench/peak.c's program (make bench builds it)
local PEAK = os.getenv("NN_PEAK") or "build/bench-peak"

-- the best of 3 runs of bench/peak.c (each the best of 7 loops): one run
-- at the start of a bench on Zen 4 read 104 GFLOP/s where the runs before
-- and after read 116 to 117, and every "of peak" figure rose by a tenth
local function peak()
   local best, name
   for _ = 1, 3 do
      local gf, what = pipe(PEAK .. " 2>/dev/null"):match("^(%S+) ([^\n]+)")
      gf = tonumber(gf)
      if gf and (not best or gf > best) then best, name = gf, what end
   end
   return best, name
end

-- what n threads could gain at this moment: the FMA loop on n threads at
-- once (bench/peak.c n), over one core's peak pk, and the round trip of
-- a line between two CPUs in ns; each nil if not measured
local function together(n, pk)
   if not pk or n < 2 then return nil end
   local out = pipe(("%s %d 2>/dev/null"):format(PEAK, n))
   local gf, rt = tonumber(out:match("^(%S+)")), tonumber(out:match("(%S+) ns round trip"))
   return gf and gf > 0 and gf / pk or nil, rt and rt > 0 and rt or nil
end

-- The host places the guest's CPUs where it likes and moves them: here
-- two that share an L3 pass a line back and forth in some 56 ns, two on
-- two dies in over 300, for seconds to minutes, and while they are so
-- every phase two threads share data in slows (a batch-64 MLP step's
-- update took 90 to 280 us instead of 28 to 47, however it was split)
-- where one thread alone does not, and PyTorch's 2-thread step slows by
-- 40%.  So a round counts toward the "1 / n threads" gain if the round
-- trips measured just before and just after its n-thread timing are
-- within NEAR times the least seen in the run so far (the host's nearest
-- placement; a whole run on two dies counts every round); where some
-- did not, the gain over every round is printed beside it.
local NEAR = 2
local nearest

-- whether a round trip rt (nil or false: not measured) is near
local function near(rt)
   return not (rt and nearest and rt > NEAR * nearest)
end

-- t with t[r] false where keep[r] is false (t itself without keep)
local function nearonly(t, keep)
   if not keep then return t end
   local o = {}
   for r = 1, #t do o[r] = keep[r] and t[r] end
   return o
end

local function ofpeak(flops, secs, threads, pk)
   if not (flops and secs and pk and pk > 0) then return "n/a" end
   return ("%.0f%%"):format(100 * flops / secs / 1e9 / (pk * threads))
end

-- the CPU time so far, all CPUs, and the part of it the hypervisor gave
-- to others (steal, /proc/stat's eighth figure): a stolen CPU stalls
-- every job a pool shares with it, so 2 threads suffer it first
local function cputimes()
   local f = io.open("/proc/stat")
   local l = f and f:read("*l")
   if f then f:close() end
   local total, steal, i = 0, 0, 0
   for v in (l or ""):gmatch("%d+") do
      i = i + 1
      if i <= 8 then total = total + tonumber(v) end
      if i == 8 then steal = tonumber(v) end
   end
   return total, steal
end
local total0, steal0 = cputimes()

local function stolen()
   local total, steal = cputimes()
   if total <= total0 then return "" end
   return ("; %.1f%% of the CPU time stolen by the hypervisor during the run")
      :format(100 * (steal - steal0) / (total - total0))
end

local pk, pkwhat = peak()
if #counts > 1 then
   for _ = 1, 3 do
      local _, rt = together(2, pk)
      if rt then nearest = math.min(nearest or rt, rt) end
   end
end
print(("Machine: %s"):format(machine()))
print(("Peak: %s GFLOP/s a core (%s, bench/peak.c)"):format(pk and ("%.1f"):format(pk) or "n/a",
   pkwhat or "not measured"))

if #cores == 0 then
   local blas, kernels = nn.blas()
   local py = torch_start()
   print(("lua-nn (%s %s) vs PyTorch (%s), medians of %d rounds (epochs: 3), each timing lua-nn "
      .. "and PyTorch in turn on each thread count, the ratios medians of the rounds' ratios; "
      .. "MLP 784-256-128-10, SGD momentum unless named; CNN as examples/mnist_cnn.lua with "
      .. "batch norm, no dropout"):format(blas, kernels, py and "CPU" or "absent", REPEATS))
   if #counts > 1 then
      print(("The 1 / n threads gain counts the rounds whose CPU to CPU round trip, just before "
         .. "and after the n-thread timing, was within %gx the least seen in the run (%s so far): "
         .. "the host's nearest placement of the two CPUs; the gain over every round follows "
         .. "where some were not."):format(NEAR, nearest and ("%.0f ns"):format(nearest) or "none"))
   end
   print()
   local head = {"workload"}
   for _, t in ipairs(counts) do
      local th = t == 1 and "1 thread" or t .. " threads"
      head[#head + 1] = "lua-nn " .. th
      head[#head + 1] = "PyTorch " .. th
      head[#head + 1] = "PyTorch / lua-nn"
   end
   for i = 2, #counts do head[#head + 1] = ("lua-nn %d / %d threads"):format(counts[1], counts[i]) end
   for i = 2, #counts do head[#head + 1] = ("FMA loop %d / %d threads"):format(counts[1], counts[i]) end
   if #counts > 1 then head[#head + 1] = "CPU to CPU round trip" end
   head[#head + 1] = ("GEMM limit (%s)"):format(blas == "none" and "own SGEMM, 1 thread"
      or "OpenBLAS, OPENBLAS_NUM_THREADS " .. (os.getenv("OPENBLAS_NUM_THREADS") or "unset"))
   head[#head + 1] = "limit / lua-nn"
   for _, t in ipairs(counts) do head[#head + 1] = ("of peak (%d)"):format(t) end
   print("| " .. table.concat(head, " | ") .. " |")
   print(("|" .. (" --- |"):rep(#head)))
   for _, w in ipairs(workloads) do
      if selected(w) then
         local row, ours, mine, theirs, host, trip = {w[2]}, {}, {}, {}, {}, {}
         local f, n, cold = w[3]()
         local rounds, r, kept = f and (cold and 3 or REPEATS) or 0, 0, 0
         for i = 1, #counts do mine[i], theirs[i], host[i] = {}, {}, {} end
         -- up to as many rounds again while fewer than rounds were near
         while r < rounds or kept < rounds and r < 2 * rounds do
            r = r + 1
            for i, t in ipairs(counts) do
               nn.threads(t)
               local before = i > 1 and select(2, together(t, pk))
               mine[i][r] = once(f, n, cold, r)
               if i > 1 then
                  local q, after = together(t, pk)
                  host[i][r] = q or false
                  trip[r] = before and after and math.max(before, after) or false
                  nearest = math.min(nearest or math.huge, before or math.huge, after or math.huge)
               end
               theirs[i][r] = torch_time(py, w[1], t, r) or false
            end
            if near(trip[r]) then kept = kept + 1 end
         end
         f = nil
         collectgarbage()
         -- every time and ratio over the near rounds, if any was
         local keep, far, all = {}, {}, {}
         for k = 1, r do
            keep[k] = near(trip[k])
            if not keep[k] then far[#far + 1] = trip[k] end
         end
         if #far == r then keep = nil end
         for i = 1, #counts do all[i] = ratio(mine[1], mine[i]) end
         for i = 1, #counts do
            mine[i], theirs[i] = nearonly(mine[i], keep), nearonly(theirs[i], keep)
            ours[i] = mediannil(mine[i])
            local q = ratio(theirs[i], mine[i])
            row[#row + 1] = us(ours[i])
            row[#row + 1] = us(mediannil(theirs[i]))
            row[#row + 1] = q and ("%.2fx"):format(q) or "n/a"
         end
         for i = 2, #counts do
            local q = ratio(mine[1], mine[i])
            row[#row + 1] = not q and "n/a" or #far == 0 and ("%.2fx"):format(q)
               or not keep and ("%.2fx (no round of %d near)"):format(q, r)
               or ("%.2fx (%d of %d rounds; all: %.2fx)"):format(q, r - #far, r, all[i])
         end
         for i = 2, #counts do
            local q = mediannil(host[i])
            row[#row + 1] = q and ("%.2fx"):format(q / counts[1]) or "n/a"
         end
         if #counts > 1 then
            local rt = mediannil(trip)
            table.sort(far)
            local span = #far > 0 and ("%.0f"):format(far[1])
               .. (#far > 1 and (" to %.0f"):format(far[#far]) or "")
            row[#row + 1] = not rt and "n/a" or #far == 0 and ("%.0f ns"):format(rt)
               or ("%.0f ns (%d at %s)"):format(rt, #far, span)
         end
         nn.threads(counts[1])
         local limit = w[4] and w[4]()
         row[#row + 1] = us(limit)
         row[#row + 1] = limit and ours[1] and ("%.0f%%"):format(100 * limit / ours[1]) or "n/a"
         for i, t in ipairs(counts) do row[#row + 1] = ofpeak(w[5], ours[i], t, pk) end
         print("| " .. table.concat(row, " | ") .. " |")
         io.stdout:flush()
      end
   end
   torch_stop(py)
   print()
   print(("Machine at the end: %s%s"):format(machine(), stolen()))
   return
end

-- one workload on one core, in a child: its time and its GEMM limit
local threads = counts[1]
local function run(core, name)
   local cmd = ("LUA_CPATH='%s;;' %s bench/run.lua --child %s %d"):format(core.cpath,
      arg[-1] or "lua5.4", name, threads)
   local out = pipe(cmd)
   local ours, limit = out:match("^%S+ (%S+) (%S+)")
   assert(ours, ("bench/run.lua: %s on %s printed %q"):format(name, core.name, out))
   return tonumber(ours), tonumber(limit)
end

-- each core's BLAS and kernels, as nn.blas() names them
local function describe(core)
   return (pipe(("LUA_CPATH='%s;;' %s -e 'print((require \"nn\").blas())'")
      :format(core.cpath, arg[-1] or "lua5.4")):gsub("%s+$", ""):gsub("%s+", " "))
end

-- two or more cores: the first is the reference, each other beside it
local py = torch_start()
local torch = torch_times(py, threads)
torch_stop(py)
print(("lua-nn vs PyTorch %s, %d thread%s, median of %d; MLP 784-256-128-10, SGD momentum unless named; CNN as examples/mnist_cnn.lua")
   :format(torch.train64 and "(CPU)" or "(absent)", threads, threads > 1 and "s" or "", REPEATS))
local a = cores[1]
for _, c in ipairs(cores) do print(("%s: %s (%s)"):format(c.name, c.cpath, describe(c))) end
print(("each core in a child process, %d rounds (%s), the median of the rounds%s")
   :format(ROUNDS, ("AB"):rep(ROUNDS):gsub(".", "%0 "):sub(1, -2),
      os.getenv("BENCH_CLOCK") == "cpu" and "; lua-nn by CPU time" or ""))
print()
local head = {"workload"}
for _, c in ipairs(cores) do
   head[#head + 1] = c.name
   head[#head + 1] = c.name .. " GEMM limit"
   head[#head + 1] = "limit / lua-nn"
end
for i = 2, #cores do head[#head + 1] = ("%s speed / %s"):format(cores[i].name, a.name) end
head[#head + 1] = "PyTorch"
head[#head + 1] = ("PyTorch time / %s time"):format(cores[#cores].name)
head[#head + 1] = ("%s of peak"):format(cores[#cores].name)
print("| " .. table.concat(head, " | ") .. " |")
print(("|" .. (" --- |"):rep(#head)))
for _, w in ipairs(workloads) do
   if selected(w) then
      local t, l = {}, {}
      for i = 1, #cores do t[i], l[i] = {}, {} end
      for r = 1, ROUNDS do
         for i, c in ipairs(cores) do t[i][r], l[i][r] = run(c, w[1]) end
      end
      local row, ours = {w[2]}, {}
      for i = 1, #cores do
         ours[i] = median(t[i])
         local limit = median(l[i])
         if limit ~= limit then limit = nil end
         row[#row + 1] = us(ours[i])
         row[#row + 1] = us(limit)
         row[#row + 1] = limit and ("%.0f%%"):format(100 * limit / ours[i]) or "n/a"
      end
      for i = 2, #cores do row[#row + 1] = ("%.0f%%"):format(100 * ours[1] / ours[i]) end
      local theirs = torch[w[1]]
      row[#row + 1] = us(theirs)
      row[#row + 1] = theirs and ("%.2fx"):format(theirs / ours[#cores]) or "n/a"
      row[#row + 1] = ofpeak(w[5], ours[#cores], threads, pk)
      print("| " .. table.concat(row, " | ") .. " |")
      io.stdout:flush()
   end
end
