-- nn.threads: the state's own pool of threads (csrc/pool.c).  The count
-- asked for is the count in force; nn.threads(1), the default, has no
-- thread at all; a changed count joins the old pool's threads; and every
-- layer, loss and optimizer gives the same bits on any number of threads
-- (each output is written by one part, each sum runs in one order).  Two
-- states in two threads, each with a pool of its own: spec/embed_spec.lua
-- (the embedding host's "pools" check).
local nn = require "nn"
local H = require "helpers"

-- the threads of this process, where Linux shows them (nil elsewhere)
local COUNT = [[
   local function threads()
      local f = io.open("/proc/self/status")
      if not f then return nil end
      local s = f:read("*a")
      f:close()
      return tonumber(s:match("Threads:%s*(%d+)"))
   end
   -- the count once it is want, or after a second: pthread_join returns
   -- when a thread has cleared its id, a moment before the kernel stops
   -- counting it, and on a loaded machine (CI: "1 0 0 3 2 1") that moment
   -- can be seen; a thread never joined still shows after the second
   local function settled(base, want)
      local n
      for _ = 1, 100 do
         n = threads() - base
         if n == want then return n end
         os.execute("sleep 0.01")
      end
      return n
   end
]]

describe("nn.threads", function()
   it("gives the count asked for, 1 to 1024, and refuses the rest by name", function()
      local was = nn.threads()
      assert.are.equal(3, nn.threads(3))
      assert.are.equal(3, nn.threads())
      assert.are.equal(1, nn.threads(1))
      assert.are.equal(1, nn.threads())
      for _, bad in ipairs{0, -1, 1025} do
         assert.has_error(function() nn.threads(bad) end,
            ("nn.threads: n must be from 1 to 1024, got %d"):format(bad))
      end
      nn.threads(was)
   end)

   it("starts no thread at 1 (the default), n - 1 at n, and joins them when the count changes", function()
      local ok, out = H.child(COUNT .. [[
         local base = threads()
         if not base then print("no /proc") return end
         local nn = require "nn"
         local net = nn.Sequential{nn.Conv2d(1, 4, 3, {padding = 1, input = {1, 12, 12}}),
                                   nn.ReLU(), nn.Linear(4 * 144, 3)}
         local x = nn.randn(32, 144)
         local function step() net:backward(x, net:forward(x):clone()) end
         step()
         local counts = {nn.threads(), settled(base, 0)}
         nn.threads(1)
         step()
         counts[#counts + 1] = settled(base, 0)
         nn.threads(4)
         step()
         counts[#counts + 1] = settled(base, 3)
         nn.threads(2)
         step()
         counts[#counts + 1] = settled(base, 1)
         nn.threads(1)
         counts[#counts + 1] = settled(base, 0)
         print(table.concat(counts, " "))
      ]], "OPENBLAS_NUM_THREADS=1 ", nil, 60)
      assert.is_true(ok, out)
      if out:find("no /proc", 1, true) then
         pending("no /proc/self/status here to count threads")
         return
      end
      -- the default 1, no thread; 1: none; 4: 3 workers; 2: 1; 1: none
      assert.truthy(out:find("^1 0 0 3 1 0\n"), out)
   end)

   it("joins the pool's threads when the state closes", function()
      local ok, out = H.child([[
         local nn = require "nn"
         nn.threads(3)
         local x = nn.randn(64, 256)
         nn.Sequential{nn.Linear(256, 256), nn.ReLU()}:forward(x)
         print("closing")
         os.exit(0, true)          -- 5.1 and LuaJIT: the state is not closed
      ]], "OPENBLAS_NUM_THREADS=1 ", nil, 60)
      assert.is_true(ok, out)
      assert.truthy(out:find("closing", 1, true), out)
   end)
end)

-- three steps of training, the outputs and parameters after them
local function train(threads, make, optimizer, x, y, steps)
   nn.threads(threads)
   nn.seed(11)
   local net, crit = make(), nn.CrossEntropyLoss()
   local opt = optimizer(net)
   for _ = 1, steps or 3 do
      opt:zeroGrad()
      local out = net:forward(x)
      crit:forward(out, y)
      net:backward(x, crit:backward(out, y))
      opt:step()
   end
   local p = net:parameters()
   local got = {net:forward(x):clone()}
   for i, m in ipairs(p) do got[i + 1] = m:clone() end
   for i, m in ipairs(net.modules) do
      if m.gradInput then got[#got + 1] = m.gradInput:clone() end
      local _ = i
   end
   -- evaluation too: batch normalization then splits rows, not channels
   net:evaluate()
   got[#got + 1] = net:forward(x):clone()
   return got
end

describe("Matrix:fill and :zero on threads", function()
   it("fill every element of large and odd-sized matrices, -0.0 kept", function()
      local was = nn.threads()
      for _, t in ipairs{1, 2, 3} do
         nn.threads(t)
         -- below, at and past the 64K-float grain, and an odd count
         for _, n in ipairs{1000, 65536, 65537 * 3, 1000003} do
            local m = nn.rand(1, n)
            m:fill(-2.5)
            assert.are.equal(-2.5, m:min())
            assert.are.equal(-2.5, m:max())
            m:fill(-0.0)
            assert.are.equal(0, m:abs():max())
            assert.are.equal(-math.huge, 1 / m:get(1, n))
            assert.are.equal(-math.huge, 1 / m:get(1, 1))
            m:fill(1)
            m:zero()
            assert.are.equal(0, m:abs():max())
            assert.are.equal(math.huge, 1 / m:get(1, n))
         end
      end
      nn.threads(was)
   end)
end)

describe("the layers on any number of threads", function()
   local nets = {
      {"an MLP, SGD with momentum", 784, function()
         return nn.Sequential{nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                              nn.Linear(128, 10)}
      end, function(net) return nn.SGD(net, {lr = 0.01, momentum = 0.9}) end},
      {"the bench's CNN, Adam", 784, function()
         return nn.Sequential{
            nn.Conv2d(1, 16, 5, {padding = 2, input = {1, 28, 28}}), nn.BatchNorm2d(16), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, {padding = 2}), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10)}
      end, function(net) return nn.Adam(net, {lr = 1e-3}) end},
      -- im2col (stride 2, dilation), average pooling, a 3x3 max pool,
      -- BatchNorm1d, other activations, RMSprop
      {"im2col convolutions, other layers, RMSprop", 3 * 20 * 20, function()
         return nn.Sequential{
            nn.Conv2d(3, 8, 3, {stride = 2, padding = 1, input = {3, 20, 20}}), nn.Tanh(),
            nn.Conv2d(8, 12, 3, {dilation = 2, padding = 2}), nn.LeakyReLU(0.1),
            nn.AvgPool2d(2), nn.MaxPool2d(3, {stride = 1, padding = 1}),
            nn.Linear(12 * 5 * 5, 300), nn.BatchNorm1d(300), nn.Sigmoid(), nn.Linear(300, 10)}
      end, function(net) return nn.RMSprop(net, {lr = 1e-3, momentum = 0.5}) end},
      {"odd sizes (7 channels, 13 x 11 images), Adagrad", 2 * 13 * 11, function()
         return nn.Sequential{
            nn.Conv2d(2, 7, {3, 4}, {padding = {2, 1}, input = {2, 13, 11}}), nn.ReLU(),
            nn.MaxPool2d(2), nn.Conv2d(7, 33, 3, {padding = 1}), nn.ELU(),
            nn.Linear(33 * 7 * 5, 17), nn.Linear(17, 10)}
      end, function(net) return nn.Adagrad(net, {lr = 0.01}) end},
      -- dL/dW sums chunks of 8 images: at batch 12 two chunks, fewer than
      -- 3 or 5 threads, which then split each chunk's tiles too
      {"the CNN's convolutions at batch 12, SGD", 784, function()
         return nn.Sequential{
            nn.Conv2d(1, 16, 5, {padding = 2, input = {1, 28, 28}}), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, {padding = 2}), nn.ReLU(), nn.MaxPool2d(2),
            nn.Linear(32 * 7 * 7, 10)}
      end, function(net) return nn.SGD(net, {lr = 0.01}) end, 12},
      -- the recurrent layers run each step in parts of the batch's rows,
      -- in fours, once its product passes a megaflop (k_rnn.c): 57 x 192
      -- x 48 for the LSTM, 57 x 192 x 64 for the GRU, 64 x 96 x 96 for
      -- the RNNs; parts of 32 and 25 rows on 2 threads and of 20, 20 and
      -- 17 on 3, none whole micro-tiles (6 or 12 rows); four of 12 and one
      -- of 9 on 5
      {"LSTM (2 layers, both ways) and GRU, SGD", 8 * 16, function()
         return nn.Sequential{
            nn.LSTM(16, 48, {layers = 2, bidirectional = true}),
            nn.GRU(96, 64, {returns = "last"}), nn.Linear(64, 10)}
      end, function(net) return nn.SGD(net, {lr = 0.05, momentum = 0.9}) end, 57},
      {"RNNs, ReLU and tanh, SGD", 8 * 16, function()
         return nn.Sequential{
            nn.RNN(16, 96, {nonlinearity = "relu"}),
            nn.RNN(96, 96, {returns = "last"}), nn.Linear(96, 10)}
      end, function(net) return nn.SGD(net, {lr = 0.01}) end},
   }
   -- memcheck runs these kernels some 500 times slower (AVX2 arithmetic
   -- is its costliest kind): this file took 27 minutes under it.  There
   -- one step on 3 threads (two workers, parts that do not divide evenly)
   -- is set against 1 thread; the plain runs try 2, 3 and 5, three steps.
   local counts, steps = {2, 3, 5}, 3
   if H.sanitized == "valgrind" then counts, steps = {3}, 1 end
   local tried = table.concat(counts, ", ")
   for _, c in ipairs(nets) do
      it(("give the same bits on 1 and %s threads: %s"):format(tried, c[1]), function()
         nn.seed(5)
         local batch = c[5] or 64
         local x, y = nn.rand(batch, c[2]), {}
         for i = 1, batch do y[i] = nn.random(10) end
         local was = nn.threads()
         local one = train(1, c[3], c[4], x, y, steps)
         for _, t in ipairs(counts) do
            local got = train(t, c[3], c[4], x, y, steps)
            assert.are.equal(#one, #got)
            for i = 1, #one do
               assert.is_true(one[i]:equal(got[i]),
                  ("%d threads: tensor %d differs by %g"):format(t, i,
                     one[i]:clone():add(got[i], -1):abs():max()))
            end
         end
         nn.threads(was)
      end)
   end

   -- csrc/pool.c's spread: a worker that finds itself on another thread
   -- of its pool's processor moves off it.  The child runs on processor
   -- a alone (taskset), so its worker starts there too, with a busy
   -- process on processor b; then every thread may run anywhere, which
   -- moves none of them, and Linux sees no gain in moving one of two
   -- threads on a to b, where one runs already (without the move the two
   -- stayed together for 286 to 603 calls here, with it 1 to 21).
   local apart = (H.sanitized == "valgrind" or package.config:sub(1, 1) ~= "/") and pending or it
   apart("moves a worker off its caller's processor when another is free", function()
      local ok, out = H.child([[
         local f = io.open("/proc/self/status")
         local allowed = f and f:read("*a"):match("Cpus_allowed_list:%s*(%S+)")
         if f then f:close() end
         if not allowed or not os.execute("taskset -p $$ >/dev/null 2>&1") then
            print("no /proc or taskset") return
         end
         local cpus = {}
         for a, b in allowed:gmatch("(%d+)%-?(%d*)") do
            for c = tonumber(a), tonumber(b ~= "" and b or a) do cpus[#cpus + 1] = c end
         end
         if #cpus < 2 then print("one processor") return end
         local pid = io.open("/proc/self/stat"):read("*l"):match("^%d+")
         local function cpu(tid)                 -- where tid ran last
            local h = io.open(("/proc/%s/task/%s/stat"):format(pid, tid))
            local s = h and h:read("*l")
            if h then h:close() end
            return s and tonumber(s:match("%)(.*)"):match(("%S+%s+"):rep(36) .. "(%d+)"))
         end
         local busy = io.popen(("exec timeout 10 taskset -c %d sh -c 'echo $$; while :; do :; done'")
            :format(cpus[2]))
         local bpid = busy:read("*l")
         os.execute(("taskset -p -c %d %s >/dev/null"):format(cpus[1], pid))
         local nn = require "nn"
         nn.threads(2)                           -- the worker inherits the mask
         local m, x = nn.Linear(784, 256), nn.rand(64, 784)
         local y = m:forward(x):clone()
         local worker
         for tid in io.popen("ls /proc/" .. pid .. "/task"):lines() do
            if tid ~= pid then worker = tid end
         end
         for _ = 1, 20 do m:forward(x) end
         local before = cpu(pid) == cpus[1] and cpu(worker) == cpus[1]
         os.execute("sleep 0.02")                -- past the gap between moves
         os.execute(("taskset -a -p -c %s %s >/dev/null"):format(allowed, pid))
         local calls
         for i = 1, 1000 do
            m:forward(x)
            if cpu(pid) ~= cpu(worker) then calls = i break end
         end
         os.execute("kill " .. bpid)
         busy:close()
         print(before, calls, (m:forward(x) - y):abs():max() == 0)
      ]])
      assert.is_true(ok, out)
      if out:match("no /proc or taskset") or out:match("one processor") then
         return pending(out)
      end
      local before, calls, same = out:match("^(%S+)%s+(%S+)%s+(%S+)")
      assert.are.equal("true", before, out)
      assert.is_truthy(tonumber(calls), "together after 1000 calls: " .. out)
      assert.is_true(tonumber(calls) <= 50, out)
      assert.are.equal("true", same, out)
   end)

   -- 510 steps: not under valgrind (the time above; its own leak check
   -- runs at exit), the plain runs and ASan measure it
   local steady = H.sanitized == "valgrind" and pending or it
   steady("allocate nothing in a steady training loop on 2 threads", function()
      local was = nn.threads()
      nn.threads(2)
      local net = nn.Sequential{nn.Conv2d(1, 8, 5, {padding = 2, input = {1, 16, 16}}),
         nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2), nn.Linear(8 * 64, 64), nn.ReLU(),
         nn.Linear(64, 10)}
      local crit, opt = nn.CrossEntropyLoss(), nn.Adam(net, {lr = 1e-3})
      local x, t = nn.randn(64, 256), {}
      for i = 1, 64 do t[i] = i % 10 + 1 end
      local function step()
         opt:zeroGrad()
         local out = net:forward(x)
         crit:forward(out, t)
         net:backward(x, crit:backward(out, t))
         opt:step()
      end
      local grown = H.growthnojit(step)
      nn.threads(was)
      assert.is_true(grown < 1, ("grew %.2f KB over 200 steps"):format(grown))
   end)
end)
