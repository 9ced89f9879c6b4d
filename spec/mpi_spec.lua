-- nn.mpi (make mpi) and nn.fit's distributed option, under mpirun on this
-- machine: each case runs spec/mpi/worker.lua on 1 to 4 ranks of the
-- suite's Lua and reads the "R<rank> KEY value" lines it prints.  make
-- test installs Open MPI and builds the module; without mpirun the cases
-- are pending (and under the sanitizers, whose builds have no nn.mpi).
local H = require "helpers"

local worker = H.top .. "/spec/mpi/worker.lua"
local module = (H.cpathof(H.lua):gsub("^%./", H.top .. "/"):gsub("%?", "nn/mpi"))
local hasmpirun = H.sh("command -v mpirun >/dev/null 2>&1")
local why = H.sanitized and ("not under " .. H.sanitized)
   or not hasmpirun and "Open MPI's mpirun is not installed (make test installs it)"
local test = why and pending or it

-- runs worker.lua on np ranks with args; ok, output, exit status, seconds.
-- The timeouts are generous (the suite runs two spec files at once on a
-- shared machine) and hard: timeout ends mpirun (and with it the ranks),
-- killing it 10 s later if it is still there, so no case hangs make test
local function mpirun(np, args, seconds)
   local t0 = os.time()
   local ok, out, code = H.run(("%sOPENBLAS_NUM_THREADS=1 timeout -k 10 %d mpirun --oversubscribe "
      .. "--bind-to none --allow-run-as-root -np %d %s '%s' %s"):format(H.env(), seconds or 300, np,
      H.lua, worker, args))
   return ok, out, code, os.time() - t0
end

-- the "R<rank> KEY value" facts of an output: facts[key][rank] = value
local function facts(out)
   local t = {}
   for rank, key, value in out:gmatch("R(%d) ([%u%d]+) ([^\n]*)") do
      t[key] = t[key] or {}
      t[key][tonumber(rank)] = value
   end
   return t
end

local function has(out, s) assert.truthy(out:find(s, 1, true), ("%q not in:\n%s"):format(s, out)) end

-- the same value on every one of np ranks; returns it
local function same(f, key, np, out)
   assert.is_not_nil(f[key], key .. " missing in:\n" .. out)
   for r = 1, np - 1 do
      assert.are.equal(f[key][0], f[key][r], ("%s differs between rank 0 and rank %d"):format(key, r))
   end
   return f[key][0]
end

describe("nn.mpi", function()
   test("is built by make test (make mpi)", function()
      local f = io.open(module, "rb")
      assert.is_not_nil(f, module .. " is missing: run make mpi LUA=" .. H.lua)
      f:close()
   end)

   test("reduces and broadcasts Matrices in place, views included", function()
      local ok, out = mpirun(2, "api", 120)
      assert.is_true(ok, out)
      local f = facts(out)
      assert.are.equal("3", same(f, "SUM", 2, out):match("^%d"))       -- 1 + 2
      assert.are.equal("1.5", same(f, "MEAN", 2, out))
      assert.are.same({"-1", "1"}, {same(f, "MAX", 2, out):match("^(%-%d)%S* (%d)")})
      -- rows 2 and 3 of a 4 x 2 summed, rows 1 and 4 each rank's own
      assert.truthy(f.VIEW[0]:match("^1%S* 12%S* 1"), f.VIEW[0])
      assert.truthy(f.VIEW[1]:match("^11%S* 12%S* 11"), f.VIEW[1])
      assert.truthy(same(f, "BCAST", 2, out):match("^6"))              -- rank 1's
      assert.truthy(same(f, "BCAST0", 2, out):match("^5"))             -- rank 0's
      assert.are.same({[0] = "0 of 2", [1] = "1 of 2"}, f.DONE)
   end)

   test("names the function, the argument and what was expected", function()
      local ok, out = mpirun(2, "api", 120)
      assert.is_true(ok, out)
      local f = facts(out)
      local want = {
         E1 = "mpi.allreduce: argument 1 must be an nn.Matrix, got table",
         E2 = "mpi.allreduce: argument 1 must be an nn.Matrix, got nil",
         E3 = 'mpi.allreduce: op must be "sum", "mean" or "max", got "min"',
         E4 = 'mpi.allreduce: op must be "sum", "mean" or "max", got 3',
         E5 = "mpi.broadcast: root 2 is not a rank (0 to 1)",
         E6 = "mpi.broadcast: root must be a rank (an integer from 0 to 1), got 0.5",
         E7 = 'mpi.broadcast: root must be a rank (an integer from 0 to 1), got "0"',
         E8 = "mpi.broadcast: argument 1 must be an nn.Matrix, got userdata",
         E12 = "mpi.allreduce: argument 1 must be an nn.Matrix, got table",
      }
      for k, v in pairs(want) do assert.are.equal(v, same(f, k, 2, out), k) end
   end)

   test("refuses, on every rank alike, a collective the ranks called differently", function()
      local ok, out = mpirun(2, "api", 120)
      assert.is_true(ok, out)
      local f = facts(out)
      assert.are.equal("mpi.allreduce: the ranks' matrices differ in size (from 1 to 2 "
         .. "elements); every rank must pass one of the same size", same(f, "E9", 2, out))
      assert.are.equal('mpi.allreduce: the ranks asked for different operations ("sum" and '
         .. '"max"); every rank must ask for the same', same(f, "E10", 2, out))
      assert.are.equal("mpi.broadcast: the ranks named different roots (0 and 1); every "
         .. "rank must name the same", same(f, "E11", 2, out))
   end)

   test("says when MPI is not running: before init and after finalize; init is idempotent", function()
      local ok, out = mpirun(2, "preinit", 120)
      assert.is_true(ok, out)
      has(out, "PREINIT rank false mpi.rank: MPI is not initialized (call mpi.init() first)")
      has(out, "PREINIT barrier false mpi.barrier: MPI is not initialized (call mpi.init() first)")
      local f = facts(out)
      assert.are.equal("true", same(f, "IDEMPOTENT", 2, out))
      has(out, "R1 AFTER barrier false mpi.barrier: MPI is finalized")
      has(out, "R0 AFTER init false mpi.init: MPI was finalized; it cannot start again in this process")
      has(out, "R1 AFTER allreduce false mpi.allreduce: MPI is finalized")
   end)
end)

describe("nn.fit with {distributed = mpi}", function()
   -- worker.lua "equal": an MLP, 375 rows, global batch 15 (shards 7 and
   -- 8 on two ranks), SGD with Nesterov momentum, 2 epochs: 50 steps;
   -- each rank starts from other weights (the broadcast evens them out)
   test("on 2 ranks gives one process' parameters within 1e-5 after 50 steps, bit-identical on both ranks", function()
      local ok, out = mpirun(2, "equal")
      assert.is_true(ok, out)
      local f = facts(out)
      assert.are.equal("50", same(f, "STEPS", 2, out))
      same(f, "STATE", 2, out)
      local diff = tonumber(same(f, "DIFF", 2, out))
      assert.is_true(diff <= 1e-5, "parameters differ from one process' by " .. diff)
      -- the history: the same numbers, up to the order of float sums
      for key, e, a, b in out:gmatch("R0 HIST (%a+) (%d) (%S+) (%S+)") do
         a, b = tonumber(a), tonumber(b)
         assert.is_true(math.abs(a - b) <= 1e-5 * math.max(1, math.abs(b)),
            ("%s of epoch %s: %.9g on 2 ranks, %.9g in one process"):format(key, e, a, b))
      end
   end)

   test("on 2 ranks is bit for bit one process doing each shard's arithmetic in turn", function()
      -- exact where the reduction order is fixed: on 2 ranks each element's
      -- sum is one addition, and a + b is b + a
      local ok, out = mpirun(2, "equal")
      assert.is_true(ok, out)
      assert.are.equal("true", same(facts(out), "EMULATED", 2, out))
   end)

   test("on 1 rank is nn.fit without it, bit for bit, history included", function()
      local ok, out = mpirun(1, "equal")
      assert.is_true(ok, out)
      local f = facts(out)
      assert.are.equal("0", f.DIFF[0])
      assert.are.equal("true", f.EXACT[0])
   end)

   test("on 4 ranks (shards of 3, 4, 4 and 4 rows) stays within 1e-5, bit-identical on every rank", function()
      local ok, out = mpirun(4, "equal")
      assert.is_true(ok, out)
      local f = facts(out)
      same(f, "STATE", 4, out)
      local diff = tonumber(same(f, "DIFF", 4, out))
      assert.is_true(diff <= 1e-5, "parameters differ from one process' by " .. diff)
   end)

   test("weights a class loss's shards by the labels they count, not their rows (ignoreIndex)", function()
      -- on 2 ranks, batch 10: rank 1's half of the first batch is all
      -- ignoreIndex (its mean would be 0/0), then every seventh label
      local ok, out = mpirun(2, "ignore", 120)
      assert.is_true(ok, out)
      local f = facts(out)
      same(f, "STATE", 2, out)
      local diff = tonumber(same(f, "DIFF", 2, out))
      assert.is_true(diff <= 1e-5, "parameters differ from one process' by " .. diff)
      for e, l1, l0, a1, a0 in out:gmatch("R0 HIST (%d) (%S+) (%S+) (%S+) (%S+)") do
         assert.is_true(math.abs(l1 - l0) <= 1e-5, ("loss of epoch %s: %s and %s"):format(e, l1, l0))
         assert.are.equal(a0, a1, "accuracy of epoch " .. e)
      end
   end)

   test("gives every row once per pass, over all ranks, though Dropout drifts their generators apart", function()
      local ok, out = mpirun(2, "rows", 120)
      assert.is_true(ok, out)
      local f = facts(out)
      assert.are.equal("0 rows not seen exactly once", same(f, "ROWS", 2, out))
      assert.are_not.equal(f.RANDOM[0], f.RANDOM[1], out)
   end)

   test("with BatchNorm: every rank ends with rank 0's parameters and running statistics; rank 0 alone prints and saves", function()
      local dir = H.tmpdir()
      local ok, out = mpirun(2, "bn '" .. dir .. "'")
      local saved = {}
      for r = 0, 1 do
         local f = io.open(("%s/best%d.nn"):format(dir, r), "rb")
         saved[r] = f ~= nil
         if f then f:close() end
      end
      os.execute("rm -rf '" .. dir .. "'")
      assert.is_true(ok, out)
      assert.are.same({[0] = true, [1] = false}, saved)
      same(facts(out), "STATE", 2, out)
      local _, notes = out:gsub("nn.fit: distributed over 2 ranks: each takes 10 rows of every "
         .. "batch of 20; BatchNorm normalizes with each rank's own rows %(as PyTorch's DDP "
         .. "without SyncBatchNorm%) and keeps rank 0's running statistics", "")
      assert.are.equal(1, notes, out)
      has(out, "R0 nn.fit: distributed")
      -- rank 1 prints no progress and no summary: its line is empty.  Not
      -- "\nR1 \n": mpirun passes each rank's output on as it comes, and
      -- rank 1's line may land after rank 0's progress bar, which has no
      -- newline yet ("...ETA 0.1sR1 \n" failed a CI run)
      assert.truthy(out:find("R1 \n", 1, true), out)
      local _, epochs = out:gsub("epoch 2/2  loss", "")
      assert.are.equal(1, epochs, out)
   end)

   test("nn.evaluate sums its counts over the ranks: one process' loss and accuracy", function()
      local ok, out = mpirun(2, "evaluate")
      assert.is_true(ok, out)
      local f = facts(out)
      local l1, l0, a1, a0 = same(f, "EVAL", 2, out):match("(%S+) (%S+) (%S+) (%S+)")
      assert.is_true(math.abs(l1 - l0) <= 1e-6, out)
      assert.are.equal(a0, a1)
      assert.are.equal('false nn.evaluate: distributed must be the nn.mpi module (require '
         .. '"nn.mpi", built by make mpi), got string', same(f, "EARG", 2, out))
      assert.are.equal('false nn.fit: distributed must be the nn.mpi module (require '
         .. '"nn.mpi", built by make mpi), got boolean', same(f, "FARG", 2, out))
      assert.are.equal("false nn.evaluate: row 101 of Y is 7, but the network gives 3 classes "
         .. "(its output has 3 columns)", same(f, "CLASSES", 2, out))
   end)

   test("refuses, on every rank, data or networks that differ between the ranks", function()
      local ok, out = mpirun(2, "evaluate")
      assert.is_true(ok, out)
      local f = facts(out)
      local tail = "; every rank must pass the same data and network"
      assert.are.equal("false nn.fit: distributed: the ranks' rows of X differ (this rank has "
         .. "101)" .. tail, f.FROWS[0])
      assert.are.equal("false nn.fit: distributed: the ranks' rows of X differ (this rank has "
         .. "100)" .. tail, f.FROWS[1])
      assert.are.equal("false nn.fit: distributed: the ranks' parameters and buffers of the "
         .. "network differ (this rank has 51)" .. tail, f.FNET[1])
   end)
end)

describe("examples/mnist_mpi.lua (make mnist-mpi)", function()
   -- 12 epochs on 2 ranks: on 5.4 and LuaJIT (CI runs the other three
   -- Luas too, and the example is the same Lua code there)
   local slow = (why or (H.lua ~= "lua5.4" and H.lua ~= "luajit")) and pending or it
   slow("trains the main job's MLP on 2 ranks to make mnist's accuracy, and times it", function()
      local dir = H.tmpdir()
      -- a 1-rank run's line, as make mnist-mpi leaves it, to compare with
      H.write(dir .. "/mnist_mpi_mlp-64-12-all_1.txt", "mnist-mpi: 1 rank: test accuracy 98.51%; epoch "
         .. "median 0.65 s (min 0.60, max 0.75), 0.75 ms a step\n")
      local ok, out = H.run(("%sOPENBLAS_NUM_THREADS=1 timeout -k 10 900 mpirun --oversubscribe "
         .. "--bind-to none --allow-run-as-root -np 2 %s examples/mnist_mpi.lua data/mnist '%s'")
         :format(H.env(), H.lua, dir))
      local saved = io.open(dir .. "/mnist_mpi.nn", "rb")
      local report = io.open(dir .. "/report_mpi.html", "rb")
      if saved then saved:close() end
      if report then report:close() end
      os.execute("rm -rf '" .. dir .. "'")
      assert.is_true(ok, out)
      local acc = tonumber(out:match("mnist%-mpi: 2 ranks: test accuracy ([%d.]+)%%"))
      assert.is_not_nil(acc, out)
      -- make mnist: 98.51% (1 rank under mpirun: the same bits); 0.3 points
      assert.is_true(acc >= 98.21, out)
      has(out, "epoch median")
      assert.truthy(out:find("allreduce [%d.]+ ms a step, [%d.]+%% of training"), out)
      assert.truthy(out:find("a bare allreduce of 235147 floats %(0%.94 MB%)"), out)
      assert.truthy(out:find("mnist%-mpi: 1 rank against 2: test accuracy 98%.51%% and "), out)
      -- rank 0 alone prints, saves and reports
      local _, n = out:gsub("saved the model to", "")
      assert.are.equal(1, n, out)
      assert.is_not_nil(saved, "no model saved")
      assert.is_not_nil(report, "no report written")
   end)
end)

describe("a failure on one rank", function()
   local STOPPED = "nn.fit: stopped at epoch 1, batch 5 (0 finished epochs kept in the history): "
      .. "rank 1: injected failure at train step 5"

   test("at step 5 ends every rank within seconds, with rank 1's message", function()
      local ok, out, code, took = mpirun(2, "fail step", 120)
      assert.is_false(ok, out)
      assert.are_not.equal(124, code, "timed out (a rank hung):\n" .. out)
      assert.is_true(took <= 30, ("took %d s"):format(took))
      -- every rank raises it ("caught" below sees it on both); uncaught,
      -- the first rank to exit aborts the job, and the other's copy may be
      -- cut off before mpirun passes it on
      local _, n = out:gsub(STOPPED:gsub("%p", "%%%0"), "")
      assert.is_true(n >= 1, "the message:\n" .. out)
      assert.falsy(out:find("FINISHED", 1, true), out)
   end)

   test("is raised on every rank, which can catch it and go on together", function()
      local ok, out = mpirun(2, "fail caught", 120)
      assert.is_true(ok, out)
      local f = facts(out)
      assert.are.equal("false " .. STOPPED, same(f, "CAUGHT", 2, out))
      assert.are.equal("0 at epoch 1, batch 5: rank 1: injected failure at train step 5",
         same(f, "EPOCHS", 2, out))
      same(f, "STATE", 2, out)
   end)

   test("in validation, or in onEpoch, reaches every rank", function()
      local ok, out = mpirun(2, "fail eval", 120)
      assert.is_true(ok, out)
      assert.truthy(same(facts(out), "CAUGHT", 2, out):match(
         "^false rank 1: injected failure at eval step %d+$"), out)
      ok, out = mpirun(2, "fail onepoch", 120)
      assert.is_true(ok, out)
      local f = facts(out)
      assert.are.equal("false rank 1: injected failure in onEpoch", same(f, "CAUGHT", 2, out))
      assert.are.equal("2 nil", same(f, "EPOCHS", 2, out))
      same(f, "STATE", 2, out)
   end)

   test("onEpoch stopping one rank stops them all", function()
      local ok, out = mpirun(2, "fail stop", 120)
      assert.is_true(ok, out)
      local f = facts(out)
      assert.are.equal("2 by onEpoch after epoch 2", f.EPOCHS[1])
      assert.are.equal("2 by onEpoch on another rank after epoch 2", f.EPOCHS[0])
      same(f, "STATE", 2, out)
   end)

   test("outside nn.fit ends the rank waiting in a collective (the exit handler aborts)", function()
      local ok, out, code, took = mpirun(2, "fail outside", 120)
      assert.is_false(ok, out)
      assert.are_not.equal(124, code, "timed out (a rank hung):\n" .. out)
      assert.is_true(took <= 30, ("took %d s"):format(took))
      has(out, "injected failure outside nn.fit")
      assert.falsy(out:find("PASSED", 1, true), out)
   end)

   -- Ctrl-C at a terminal reaches mpirun (the ranks have process groups
   -- of their own), and mpirun ends them; SIGINT at one rank is Lua's
   -- "interrupted!" there, which ends the others
   local function interrupt(target)
      local log = os.tmpname()
      local script = ([[
%sOPENBLAS_NUM_THREADS=1 mpirun --oversubscribe --bind-to none --allow-run-as-root -np 2 %s '%s' long > '%s' 2>&1 &
pid=$!
( sleep 100; kill -9 $pid ) >/dev/null 2>&1 &    # (not holding the output pipe)
dog=$!
i=0
while [ "$(grep -c ' PID ' '%s')" -lt 2 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
sleep 1
if [ %s = mpirun ]; then kill -INT $pid; else kill -INT $(awk '/^R1 PID/ {print $3}' '%s'); fi
start=$(date +%%s%%N)
wait $pid
echo "mpirun status $?"
i=0
while [ $i -lt 100 ]; do
  alive=""
  for p in $(awk '/ PID / {print $3}' '%s'); do kill -0 $p 2>/dev/null && alive="$alive $p"; done
  [ -z "$alive" ] && break
  sleep 0.1; i=$((i + 1))
done
echo "ranks alive:${alive:- none}"
echo "took $(( ($(date +%%s%%N) - start) / 1000000 )) ms"
kill $dog 2>/dev/null
cat '%s'
]]):format(H.env(), H.lua, worker, log, log, target, log, log, log)
      local file = os.tmpname()
      H.write(file, script)
      local ok, out = H.run("sh '" .. file .. "'")
      os.remove(log)
      os.remove(file)
      return ok, out
   end

   test("Ctrl-C (SIGINT to mpirun) ends every rank", function()
      local ok, out = interrupt("mpirun")
      assert.is_true(ok, out)
      has(out, "ranks alive: none")
      local ms = tonumber(out:match("took (%d+) ms"))
      assert.is_true(ms < 10000, out)
      has(out, "R1 PID")
   end)

   test("SIGINT to one rank ends every rank, with its interrupted!", function()
      local ok, out = interrupt("rank")
      assert.is_true(ok, out)
      has(out, "ranks alive: none")
      assert.is_nil(out:find("mpirun status 0", 1, true), out)
      has(out, "interrupted!")
      local ms = tonumber(out:match("took (%d+) ms"))
      assert.is_true(ms < 10000, out)
   end)
end)
