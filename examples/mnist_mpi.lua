-- The main job (examples/mnist_mlp.lua: the 784-256-128-10 ReLU network,
-- SGD with Nesterov momentum, a cosine schedule, 12 epochs, global batch
-- 64), data-parallel over the ranks of mpirun: every rank holds the whole
-- network and the whole data set, takes its shard of each batch, and the
-- gradients are averaged in one allreduce per step (nn.fit's distributed
-- option; make mpi builds nn.mpi).
--
--   mpirun -np 2 lua5.4 examples/mnist_mpi.lua [data/mnist [outdir]] [key=value ...]
--   make mnist-mpi NP=2          (1 rank, then NP, and the two compared)
--
-- Rank 0 alone prints, saves the model (outdir/mnist_mpi.nn) and writes
-- the report (outdir/report_mpi.html); outdir defaults to the data
-- directory.  The last line, "mnist-mpi: ...", has the test accuracy, the
-- time per epoch and the allreduce's share of a step.  For timings of
-- other shapes: batch=256 (the global batch, 64), epochs=2 (12),
-- train=10000 (training images, 55000), net=cnn (examples/mnist_cnn.lua's
-- network and optimizer instead of the MLP), threads=1 (OpenBLAS's
-- threads per rank; the cores divided by the ranks).
local nn = require "nn"
local mnist = require "nn.mnist"
local mpi = require "nn.mpi"

local positional, opts = {}, {}
for _, a in ipairs(arg or {}) do
   local k, v = a:match("^(%a+)=(.*)$")
   if k then opts[k] = v else positional[#positional + 1] = a end
end
local dir = positional[1] or "data/mnist"
local outdir = positional[2] or dir
local function whole(k, default)
   local v = opts[k] == nil and default or tonumber(opts[k])
   if not v or v < 1 or v % 1 ~= 0 then error(("mnist_mpi.lua: %s must be a whole number, got %s")
      :format(k, tostring(opts[k])), 0) end
   return v
end
local batchSize, epochs = whole("batch", 64), whole("epochs", 12)
local cnn = opts.net == "cnn"
if opts.net ~= nil and not cnn and opts.net ~= "mlp" then
   error("mnist_mpi.lua: net must be mlp or cnn, got " .. opts.net, 0)
end
local rank, size = mpi.init()
local root = rank == 0
local function say(...) if root then print(...) end end

-- the cores shared out: OpenBLAS's threads per rank (2 cores: 2 threads
-- for one rank, 1 each for two), unless threads=n says
local threads = opts.threads and whole("threads") or math.max(1, math.floor(nn.threads() / size))
nn.threads(threads)

-- The gradients' allreduce timed (the one of nparams + 1 elements each
-- step; nn.fit takes any table with nn.mpi's functions).  The time
-- includes waiting for the slowest rank to arrive.
local nparams, reduced, calls = 0, 0, 0
local clock = nn.clock
local timed = setmetatable({allreduce = function(M, op)
   local t = clock()
   mpi.allreduce(M, op)
   if M:numel() == nparams + 1 then
      reduced, calls = reduced + clock() - t, calls + 1
   end
   return M
end}, {__index = mpi})

nn.seed(1)                          -- the same seed on every rank: the same draws
local train, validation, test = mnist.split(dir, {train = opts.train and whole("train")})

local net = cnn and nn.Sequential{
   nn.Conv2d(1, 16, 5, {padding = 2, input = {1, 28, 28}}), nn.ReLU(),
   nn.MaxPool2d(2),
   nn.Conv2d(16, 32, 5, {padding = 2}), nn.ReLU(),
   nn.MaxPool2d(2),
   nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25),
   nn.Linear(128, 10),
} or nn.Sequential{
   nn.Linear(784, 256), nn.ReLU(),
   nn.Linear(256, 128), nn.ReLU(),
   nn.Linear(128, 10),
}
if root then print(net) end
for _, p in ipairs(net:parameters()) do nparams = nparams + p:numel() end

local per = batchSize / size
say(("mnist-mpi: %d rank%s, %d BLAS thread%s each; global batch %d (%s rows per rank)")
   :format(size, size == 1 and "" or "s", threads, threads == 1 and "" or "s", batchSize,
   per == math.floor(per) and ("%d"):format(per) or ("about %.1f"):format(per)))

local crit = nn.CrossEntropyLoss()
local opt = cnn and nn.Adam(net, {lr = 1e-3})
   or nn.SGD(net, {lr = 0.05, momentum = 0.9, nesterov = true, weightDecay = 1e-4})
local schedule = nn.schedule.cosine(opt, epochs)
local start = nn.clock()
local history = nn.fit(net, crit, opt, train.X, train.Y, {
   epochs = epochs, batchSize = batchSize,
   validation = validation,
   distributed = timed,
   onEpoch = function(epoch) schedule(epoch) end,
})
local trained = nn.clock() - start
local share = reduced / (trained > 0 and trained or 1)

local loss, acc = nn.evaluate(net, crit, test.X, test.Y, {distributed = mpi})
if root then
   local cm = nn.ConfusionMatrix(10, mnist.classes)
   cm:add(nn.predict(net, test.X), test.Y)
   print(cm)
end
say(("trained in %.1f s"):format(trained))
say(("test loss %.4f, test accuracy %.2f%%"):format(loss, 100 * acc))

-- a bare allreduce of the gradients' size, every rank ready: the cost of
-- moving them, without the waiting
local G = nn.Matrix(nparams + 1, 1)
local reps = 50
mpi.barrier()
local t0 = clock()
for _ = 1, reps do mpi.allreduce(G) end
local bare = (clock() - t0) / reps

-- the median epoch (the first one included: nothing to warm up in C)
local times = {}
for e, t in ipairs(history.time) do times[e] = t end
table.sort(times)
local m = #times
local median = m % 2 == 1 and times[(m + 1) / 2] or (times[m / 2] + times[m / 2 + 1]) / 2
local steps = math.ceil(train.X:shape() / batchSize)
local line = ("mnist-mpi: %d rank%s: test accuracy %.2f%%; epoch median %.2f s (min %.2f, "
   .. "max %.2f), %.2f ms a step; allreduce %.3f ms a step, %.1f%% of training (waiting "
   .. "included); a bare allreduce of %d floats (%.2f MB): %.3f ms")
   :format(size, size == 1 and "" or "s", 100 * acc, median, times[1], times[m],
   1000 * median / steps, 1000 * reduced / math.max(1, calls), 100 * share, nparams + 1,
   4 * (nparams + 1) / 1e6, 1000 * bare)
say(line)

if root then
   -- this run's line, and the comparison with a 1-rank run's (make
   -- mnist-mpi runs 1 rank first)
   -- (one file per network, batch, epochs and training size)
   local tag = ("%s-%d-%d-%s"):format(cnn and "cnn" or "mlp", batchSize, epochs,
      opts.train or "all")
   if opts.threads then tag = tag .. "-t" .. threads end
   local f = io.open(("%s/mnist_mpi_%s_%d.txt"):format(outdir, tag, size), "w")
   if f then f:write(line, "\n") f:close() end
   f = size > 1 and io.open(("%s/mnist_mpi_%s_1.txt"):format(outdir, tag))
   local one = f and f:read("*l")
   if f then f:close() end
   local acc1, t1 = (one or ""):match("test accuracy ([%d.]+)%%; epoch median ([%d.]+) s")
   if acc1 then
      print(("mnist-mpi: 1 rank against %d: test accuracy %.2f%% and %.2f%% (%+.2f points), "
         .. "epoch median %.2f s and %.2f s (%.2fx as fast)"):format(size, acc1, 100 * acc,
         100 * acc - acc1, t1, median, t1 / median))
   end
   nn.save(net, outdir .. "/mnist_mpi.nn")
   print("saved the model to " .. outdir .. "/mnist_mpi.nn")
   nn.report(outdir .. "/report_mpi.html", {
      title = ("MNIST: %s on %d rank%s (make mnist-mpi)"):format(cnn and "the CNN"
         or "the 784-256-128-10 MLP", size, size == 1 and "" or "s"),
      history = history, net = net, samples = {X = test.X, Y = test.Y}})
   print("wrote the training report to " .. outdir .. "/report_mpi.html")
end
