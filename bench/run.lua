-- Benchmarks: lua-nn against PyTorch (CPU, same thread count) and the raw
-- GEMM limit, in one run.  Every figure is the median of REPEATS timings.
-- The GEMM limit is the time of the bare matrix products a workload needs
-- (through C:gemm, so on the core's BLAS), the floor no library on that
-- BLAS can go under.
--   lua5.4 bench/run.lua [threads]                     (make bench)
--   lua5.4 bench/run.lua threads name=cpath name=cpath  (make bench BLAS=none)
-- With cores named, each workload runs in a child process per core, in
-- BENCH_ROUNDS (3) rounds (A B A B A B), and the table shows the cores side
-- by side: the median of the rounds, each a median of REPEATS.  Without,
-- the one core on LUA_CPATH runs them in this process.  BENCH_CLOCK=cpu
-- times lua-nn by the process's CPU time (os.clock) instead of the wall
-- clock: steadier on a shared machine, meaningful with 1 thread only.
--   lua5.4 bench/run.lua --child workload threads      (one core's times)

local child = arg and arg[1] == "--child"
local threads = tonumber(arg and arg[child and 3 or 1]) or 1
local REPEATS = 7
local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS")) or 3
local cores = {}
for i = 2, child and 0 or #arg do
   local name, cpath = arg[i]:match("^([^=]+)=(.+)$")
   assert(name, "bench/run.lua: expected name=cpath, got " .. arg[i])
   cores[#cores + 1] = {name = name, cpath = cpath}
end

local nn = #cores == 0 and require "nn"
local clock = nn and (os.getenv("BENCH_CLOCK") == "cpu" and os.clock or nn.clock)
if nn then
   nn.threads(threads)
   nn.seed(1)
end

local function median(t)
   table.sort(t)
   return t[math.floor((#t + 1) / 2)]
end

local function time(f, n)
   f()
   local ts = {}
   for r = 1, REPEATS do
      local t0 = clock()
      for _ = 1, n do f() end
      ts[r] = (clock() - t0) / n
   end
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

local function train(make, batch, n, adam)
   local net, crit = make(), nn.CrossEntropyLoss()
   local opt = adam and nn.Adam(net, {lr = 1e-3}) or nn.SGD(net, {lr = 0.01, momentum = 0.9})
   local x, y = nn.rand(batch, 784), nn.Matrix(batch, 1)
   for i = 1, batch do y:set(i, 1, nn.random(10)) end
   return time(function()
      opt:zeroGrad()
      local out = net:forward(x)
      crit:forward(out, y)
      net:backward(x, crit:backward(out, y), false)
      opt:step()
   end, n)
end

local function infer(make, batch, n)
   local net, x = make(), nn.rand(batch, 784)
   net:evaluate()
   return time(function() net:forward(x) end, n)
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
-- im2col, pooling or activation: the floor under any im2col code.
local function cnn_gemm_limit(batch, n, training)
   local ops = {}
   local function product(M, N, K, ta, tb)
      local A = ta and nn.rand(K, M) or nn.rand(M, K)
      local B = tb and nn.rand(N, K) or nn.rand(K, N)
      local C = nn.Matrix(M, N)
      ops[#ops + 1] = function() C:gemm(A, B, 1, 0, ta, tb) end
   end
   for i, c in ipairs{{16, 25, 784}, {32, 400, 196}} do       -- O, K, P
      local O, K, P = c[1], c[2], c[3] * batch
      product(O, P, K)
      if training then
         product(O, K, P, false, true)
         if i > 1 then product(K, P, O, true, false) end
      end
   end
   for i, l in ipairs{{1568, 128}, {128, 10}} do
      product(batch, l[2], l[1], false, true)
      if training then
         product(l[2], l[1], batch, true, false)
         product(batch, l[1], l[2])
      end
   end
   return time(function() for _, op in ipairs(ops) do op() end end, n)
end

local function torch_times()
   local p = io.popen(("/usr/bin/python3 bench/torch_mlp.py %d %d 2>/dev/null")
      :format(threads, REPEATS))
   local out = p and p:read("*a") or ""
   if p then p:close() end
   local t = {}
   for name, secs in out:gmatch("(%w+) ([%d.e-]+)") do t[name] = tonumber(secs) end
   return t
end

local workloads = {
   {"train64", "MLP train step, batch 64", function() return train(mlp, 64, 200) end,
    function() return gemm_limit(64, 200, true) end},
   {"adam64", "MLP train step with Adam, batch 64", function() return train(mlp, 64, 200, true) end,
    function() return gemm_limit(64, 200, true) end},
   {"train256", "MLP train step, batch 256", function() return train(mlp, 256, 60) end,
    function() return gemm_limit(256, 60, true) end},
   {"infer1", "MLP inference, 1 sample", function() return infer(mlp, 1, 2000) end,
    function() return gemm_limit(1, 2000, false) end},
   {"infer1000", "MLP inference, batch 1000", function() return infer(mlp, 1000, 30) end,
    function() return gemm_limit(1000, 30, false) end},
   {"cnntrain64", "CNN train step, batch 64", function() return train(cnn, 64, 20) end,
    function() return cnn_gemm_limit(64, 20, true) end},
   {"cnninfer1", "CNN inference, 1 sample", function() return infer(cnn, 1, 500) end,
    function() return cnn_gemm_limit(1, 500, false) end},
   {"cnninfer64", "CNN inference, batch 64", function() return infer(cnn, 64, 30) end,
    function() return cnn_gemm_limit(64, 30, false) end},
}

local function us(s) return s and ("%.1f us"):format(s * 1e6) or "n/a" end

if child then
   for _, w in ipairs(workloads) do
      if w[1] == arg[2] then
         print(("%s %.9g %.9g"):format(w[1], w[3](), w[4]()))
         return
      end
   end
   error("bench/run.lua: no workload " .. tostring(arg[2]))
end

-- one workload on one core, in a child: its time and its GEMM limit
local function run(core, name)
   local cmd = ("LUA_CPATH='%s;;' %s bench/run.lua --child %s %d"):format(core.cpath,
      arg[-1] or "lua5.4", name, threads)
   local p = assert(io.popen(cmd))
   local out = p:read("*a")
   p:close()
   local ours, limit = out:match("^%S+ (%S+) (%S+)")
   assert(ours, ("bench/run.lua: %s on %s printed %q"):format(name, core.name, out))
   return tonumber(ours), tonumber(limit)
end

-- each core's BLAS and kernels, as nn.blas() names them
local function describe(core)
   local p = assert(io.popen(("LUA_CPATH='%s;;' %s -e 'print((require \"nn\").blas())'")
      :format(core.cpath, arg[-1] or "lua5.4")))
   local out = p:read("*a"):gsub("%s+$", ""):gsub("%s+", " ")
   p:close()
   return out
end

local torch = torch_times()
print(("lua-nn vs PyTorch %s, %d thread%s, median of %d; MLP 784-256-128-10, SGD momentum unless named; CNN as examples/mnist_cnn.lua")
   :format(torch.train64 and "(CPU)" or "(absent)", threads, threads > 1 and "s" or "", REPEATS))
print()
if #cores == 0 then
   print("| workload | lua-nn | PyTorch | PyTorch time / lua-nn time | GEMM limit | limit / lua-nn |")
   print("| --- | --- | --- | --- | --- | --- |")
   for _, w in ipairs(workloads) do
      local ours, limit, theirs = w[3](), w[4](), torch[w[1]]
      print(("| %s | %s | %s | %s | %s | %.0f%% |"):format(w[2], us(ours), us(theirs),
         theirs and ("%.2fx"):format(theirs / ours) or "n/a", us(limit), 100 * limit / ours))
   end
   return
end

-- two or more cores: the first is the reference, each other beside it
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
print("| " .. table.concat(head, " | ") .. " |")
print(("|" .. (" --- |"):rep(#head)))
for _, w in ipairs(workloads) do
   local t, l = {}, {}
   for i = 1, #cores do t[i], l[i] = {}, {} end
   for r = 1, ROUNDS do
      for i, c in ipairs(cores) do t[i][r], l[i][r] = run(c, w[1]) end
   end
   local row, ours = {w[2]}, {}
   for i = 1, #cores do
      ours[i] = median(t[i])
      local limit = median(l[i])
      row[#row + 1] = us(ours[i])
      row[#row + 1] = us(limit)
      row[#row + 1] = ("%.0f%%"):format(100 * limit / ours[i])
   end
   for i = 2, #cores do row[#row + 1] = ("%.0f%%"):format(100 * ours[1] / ours[i]) end
   local theirs = torch[w[1]]
   row[#row + 1] = us(theirs)
   row[#row + 1] = theirs and ("%.2fx"):format(theirs / ours[#cores]) or "n/a"
   print("| " .. table.concat(row, " | ") .. " |")
   io.stdout:flush()
end
