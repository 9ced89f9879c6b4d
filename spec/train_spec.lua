local nn = require "nn"
local H = require "helpers"

-- three Gaussian blobs in 2-D, labels 1..3
local function blobs(n)
   nn.seed(5)
   local X, Y = nn.Matrix(n, 2), nn.Matrix(n, 1)
   local centres = {{-2, 0}, {2, 0}, {0, 2.5}}
   local noise = nn.randn(n, 2, 0.6)
   for i = 1, n do
      local c = (i - 1) % 3 + 1
      X:set(i, 1, centres[c][1] + noise:get(i, 1))
      X:set(i, 2, centres[c][2] + noise:get(i, 2))
      Y:set(i, 1, c)
   end
   return X, Y
end

local function tmpout()
   local path = os.tmpname()
   return assert(io.open(path, "w+")), path
end

local function readall(f)
   f:seek("set")
   return f:read("*a")
end

describe("nn.batches", function()
   local n = 103
   local X = nn.Matrix(n, 2):apply(function(_, i, j) return i * 10 + j end)
   local Y = nn.Matrix(n, 1):apply(function(_, i) return i end)

   it("covers every sample exactly once per epoch when shuffling", function()
      nn.seed(1)
      for _ = 1, 3 do
         local seen, sizes, order = {}, {}, {}
         for xb, yb in nn.batches(X, Y, 16, {shuffle = true}) do
            sizes[#sizes + 1] = (xb:shape())
            for r = 1, xb:shape() do
               local i = yb:get(r, 1)
               assert.are.equal(i * 10 + 1, xb:get(r, 1))   -- rows stay paired
               assert.is_nil(seen[i])
               seen[i] = true
               order[#order + 1] = i
            end
         end
         for i = 1, n do assert.is_true(seen[i], "sample " .. i) end
         assert.are.same({16, 16, 16, 16, 16, 16, 7}, sizes)
         local inorder = true
         for i = 1, n do inorder = inorder and order[i] == i end
         assert.is_false(inorder)
      end
   end)

   it("keeps order without shuffle, reuses its buffers, and works without Y", function()
      local first
      for pass = 1, 2 do
         local k = 0
         for xb in nn.batches(X, 50) do
            k = k + 1
            if k == 1 then
               if pass == 1 then first = xb else assert.are.equal(first, xb) end
               assert.are.equal(11, xb:get(1, 1))
            end
         end
         assert.are.equal(3, k)
      end
      local labels = {}
      for i = 1, n do labels[i] = i end
      for _, yb in nn.batches(X, labels, 200) do
         assert.are.same({n, 1}, {yb:shape()})
      end
   end)

   it("checks its arguments", function()
      assert.has_error(function() nn.batches({}, Y, 2) end,
         "nn.batches: X must be an nn.Matrix, got table")
      assert.has_error(function() nn.batches(X, nn.Matrix(3, 1), 2) end,
         "nn.batches: Y has 3 rows, X has 103")
      assert.has_error(function() nn.batches(X, Y, 0) end,
         "nn.batches: size must be a positive integer, got 0")
      assert.has_error(function() nn.batches(X, Y, 2, {shufle = true}) end,
         "nn.batches: unknown option 'shufle' (expected shuffle)")
      assert.has_error(function() nn.Matrix(2, 2):gather(X, {1, 999}, 1, 2) end,
         "Matrix:gather: index 2 is not a row of the source (1..103)")
   end)
end)

describe("nn.fit", function()
   it("trains a small classifier to high accuracy and keeps a history", function()
      local X, Y = blobs(600)
      local Xv, Yv = blobs(150)
      local net = nn.Sequential{nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 3)}
      local opt = nn.SGD(net, {lr = 0.1, momentum = 0.9})
      local out, path = tmpout()
      local calls = 0
      local history = nn.fit(net, nn.CrossEntropyLoss(), opt, X, Y, {
         epochs = 8, batchSize = 32, validation = {Xv, Yv}, out = out,
         onEpoch = function(epoch, stats)
            calls = calls + 1
            assert.are.equal(calls, epoch)
            assert.is_number(stats.loss)
         end,
      })
      assert.are.equal(8, calls)
      assert.are.equal(8, #history.loss)
      assert.is_true(history.loss[8] < history.loss[1])
      assert.is_true(history.accuracy[8] > 0.95)
      assert.is_true(history.valAccuracy[8] > 0.95)
      local _, acc = nn.evaluate(net, nn.CrossEntropyLoss(), Xv, Yv)
      assert.are.equal(history.valAccuracy[8], acc)
      -- not a terminal: one summary line per epoch and no bar
      local text = readall(out)
      out:close()
      os.remove(path)
      local lines = 0
      for line in text:gmatch("[^\n]+") do
         lines = lines + 1
         assert.truthy(line:find("^epoch %d+/8  loss [%d.]+  acc [%d.]+%%  val_loss"), line)
      end
      assert.are.equal(8, lines)
      assert.is_nil(text:find("\r", 1, true))
   end)

   it("stops when onEpoch returns false, and is silent with progress = false", function()
      local X, Y = blobs(60)
      local net = nn.Sequential{nn.Linear(2, 3)}
      local out, path = tmpout()
      local h = nn.fit(net, nn.CrossEntropyLoss(), nn.SGD(net, {lr = 0.1}), X, Y, {
         epochs = 10, progress = false, out = out,
         onEpoch = function(epoch) return epoch < 3 end,
      })
      assert.are.equal(3, #h.loss)
      assert.are.equal("", readall(out))
      out:close()
      os.remove(path)
   end)

   it("reports a NaN loss with its epoch and batch", function()
      local X, Y = blobs(90)
      local net = nn.Sequential{nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3)}
      local opt = nn.SGD(net, {lr = 1e12})
      local h = {}
      local ok, msg = pcall(nn.fit, net, nn.CrossEntropyLoss(), opt, X, Y,
         {epochs = 5, batchSize = 10, progress = false, history = h})
      assert.is_false(ok)
      assert.truthy(msg:find("^nn.fit: stopped at epoch %d+, batch %d+ %(%d+ finished epochs? "
         .. "kept in the history%): the loss is [nainf]+; lower the learning rate"), msg)
      assert.truthy(h.stopped:find("^at epoch %d+, batch %d+"), h.stopped)
   end)

   it("checks its arguments", function()
      local X, Y = blobs(30)
      local net = nn.Sequential{nn.Linear(2, 3)}
      local crit, opt = nn.CrossEntropyLoss(), nn.SGD(net, {lr = 0.1})
      assert.has_error(function() nn.fit(net, crit, opt, X, Y, {epoch = 2}) end)
      assert.has_error(function() nn.fit(net, crit, opt, X, Y, {epochs = 0}) end,
         "nn.fit: epochs must be a positive integer, got 0")
      assert.has_error(function() nn.fit(net, crit, nil, X, Y) end,
         "nn.fit: opt must be an optimizer (nn.SGD, nn.Adam, ...)")
      assert.has_error(function() nn.fit(net, crit, opt, X, {1, 2}) end,
         "nn.fit: Y has 2 labels for 30 rows of X")
   end)
end)

describe("nn.evaluate, nn.predict, nn.ConfusionMatrix", function()
   -- a fixed net: class = the larger of the two inputs
   local net = nn.Sequential{nn.Linear(2, 2)}
   net[1].weight = nn.eye(2)
   net[1].bias = nn.Matrix{0, 0}
   local X = nn.Matrix{{1, 0}, {0, 1}, {3, 2}, {1, 5}}
   local Y = nn.Matrix{{1}, {2}, {2}, {2}}

   it("predicts classes and evaluates loss and accuracy", function()
      assert.are.same({{1}, {2}, {1}, {2}}, nn.predict(net, X, 3):totable())
      local loss, acc = nn.evaluate(net, nn.CrossEntropyLoss(), X, Y, {batchSize = 3})
      assert.are.equal(0.75, acc)
      assert.is_true(math.abs(loss - nn.CrossEntropyLoss():forward(X, Y)) < 1e-6)
      local l2, a2 = nn.evaluate(net, nn.MSELoss(), X, nn.onehot(Y, 2))
      assert.is_number(l2)
      assert.is_nil(a2)
   end)

   it("restores training mode after evaluating", function()
      local d = nn.Sequential{nn.Linear(2, 2), nn.Dropout(0.5)}
      nn.predict(d, X)
      assert.is_true(d.train)
      assert.is_true(d[2].train)
   end)

   it("counts a confusion matrix", function()
      local cm = nn.ConfusionMatrix(2, {"left", "right"})
      cm:add(nn.predict(net, X), Y)
      cm:add(2, 1)
      assert.are.same({{1, 1}, {1, 2}}, cm.counts)
      assert.are.equal(3 / 5, cm:accuracy())
      assert.are.equal(2 / 3, cm:recall(2))
      assert.are.equal(2 / 3, cm:precision(2))
      local text = tostring(cm)
      assert.truthy(text:find("5 samples, accuracy 60.00%", 1, true), text)
      assert.truthy(text:find("\n        left right   recall\n", 1, true), text)
      assert.truthy(text:find("\nright      1     2    66.67%", 1, true), text)
      cm:add(net:forward(X), Y)                 -- scores: argmax per row
      assert.are.equal(9, cm.total)
      assert.has_error(function() cm:add(3, 1) end,
         "ConfusionMatrix:add: prediction 1 is 3, expected a class from 1 to 2")
      assert.has_error(function() nn.ConfusionMatrix(0) end,
         "nn.ConfusionMatrix: C must be a positive integer, got 0")
   end)

   it("makes one-hot targets", function()
      assert.are.same({{0, 1, 0}, {1, 0, 0}}, nn.onehot(nn.Matrix{{2}, {1}}, 3):totable())
      assert.has_error(function() nn.onehot(nn.Matrix{{4}}, 3) end,
         "nn.onehot: label 1 is 4.0, expected a class index from 1 to 3")
   end)
end)

describe("the progress bar", function()
   it("draws on a terminal and clears itself before the summary", function()
      local progress = require "nn.progress"
      local out, path = tmpout()
      local bar = progress.new{total = 4, epoch = 1, epochs = 2, out = out, tty = true}
      bar:update(4, 256, 0.5)
      bar:finish("summary line")
      local text = readall(out)
      out:close()
      os.remove(path)
      assert.truthy(text:find("epoch 1/2 [========================] 4/4", 1, true), text)
      assert.truthy(text:find("loss 0.5000  ETA 0.0s", 1, true), text)
      local tail = "\r\27[Ksummary line\n"
      assert.are.equal(tail, text:sub(-#tail))
   end)
end)

describe("MNIST integration", function()
   if not H.have_mnist() then
      pending("data/mnist is absent (make data)")
      return
   end

   it("one epoch on 10000 images reaches over 90% test accuracy", function()
      local mnist = require "nn.mnist"
      nn.seed(1)
      local X, Y = mnist.load("data/mnist", "train")
      local Xt, Yt = mnist.load("data/mnist", "test")
      local net = nn.Sequential{nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)}
      local crit = nn.CrossEntropyLoss()
      nn.fit(net, crit, nn.SGD(net, {lr = 0.1, momentum = 0.9}),
         X:narrow(1, 10000), Y:narrow(1, 10000), {batchSize = 64, progress = false})
      local _, acc = nn.evaluate(net, crit, Xt, Yt)
      assert.is_true(acc > 0.90, ("test accuracy %.4f"):format(acc))
   end)
end)

-- Training-loop extras a Keras user expects (issue #12, item 8)
describe("nn.fit extras", function()
   local function data(n, seed)
      nn.seed(seed or 1)
      local X = nn.randn(n, 4)
      local Y = nn.Matrix(n, 1)
      for i = 1, n do Y:set(i, 1, X:get(i, 1) + X:get(i, 2) > 0 and 2 or 1) end
      return X, Y
   end
   local function net() return nn.Sequential{nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)} end

   it("validationSplit holds out the last rows and reports on them", function()
      local X, Y = data(100)
      local m = net()
      local h = nn.fit(m, nn.CrossEntropyLoss(), nn.SGD(m, {lr = 0.1}), X, Y,
         {epochs = 2, validationSplit = 0.2, progress = false})
      assert.are.equal(2, #h.valLoss)
      local _, acc = nn.evaluate(m, nn.CrossEntropyLoss(), X:narrow(81, 20), Y:narrow(81, 20))
      assert.are.equal(acc, h.valAccuracy[2])
      assert.has_error(function()
         nn.fit(m, nn.CrossEntropyLoss(), nn.SGD(m, {lr = 0.1}), X, Y, {validationSplit = 1})
      end, "nn.fit: validationSplit must be a number between 0 and 1, got 1")
      assert.has_error(function()
         nn.fit(m, nn.CrossEntropyLoss(), nn.SGD(m, {lr = 0.1}), X, Y,
            {validationSplit = 0.5, validation = {X, Y}})
      end, "nn.fit: give validation or validationSplit, not both")
   end)

   it("stops early after patience epochs without improvement and restores the best weights", function()
      local X, Y = data(60)
      local m = net()
      -- a rate so high the validation loss soon stops improving
      local opt = nn.SGD(m, {lr = 5})
      local h = nn.fit(m, nn.CrossEntropyLoss(), opt, X, Y,
         {epochs = 200, validationSplit = 0.3, patience = 3, progress = false})
      assert.truthy(h.stopped and h.stopped:find("^early"), tostring(h.stopped))
      assert.is_true(#h.loss < 200)
      assert.are.equal(#h.loss, h.best.epoch + 3)
      -- the weights now are the best epoch's: the validation loss equals its entry
      local L = nn.evaluate(m, nn.CrossEntropyLoss(), X:narrow(43, 18), Y:narrow(43, 18))
      assert.is_true(math.abs(L - h.valLoss[h.best.epoch]) < 1e-6, L .. " vs " .. h.valLoss[h.best.epoch])
      assert.are.equal(h.best.loss, h.valLoss[h.best.epoch])
   end)

   it("saves the best model to a path", function()
      local X, Y = data(60)
      local m = net()
      local dir = H.tmpdir()
      local h = nn.fit(m, nn.CrossEntropyLoss(), nn.SGD(m, {lr = 0.5}), X, Y,
         {epochs = 5, validationSplit = 0.3, saveBest = dir .. "/best.nn", progress = false})
      local saved = nn.load(dir .. "/best.nn")
      local L = nn.evaluate(saved, nn.CrossEntropyLoss(), X:narrow(43, 18), Y:narrow(43, 18))
      assert.is_true(math.abs(L - h.best.loss) < 1e-6)
      os.execute("rm -rf '" .. dir .. "'")
   end)

   it("runs a schedule: warm-up then cosine before each epoch, plateau after", function()
      local X, Y = data(40)
      local m = net()
      local opt = nn.SGD(m, {lr = 0.1})
      local sched = nn.schedule.warmup(opt, 2, nn.schedule.cosine(opt, 4))
      local h = nn.fit(m, nn.CrossEntropyLoss(), opt, X, Y,
         {epochs = 6, schedule = sched, progress = false})
      local want = {0.05, 0.1, 0.1, 0.1 * (1 + math.cos(math.pi / 4)) / 2, 0.05}
      for e, lr in ipairs(want) do
         assert.is_true(math.abs(h.lr[e] - lr) < 1e-12, ("epoch %d: lr %g, expected %g"):format(e, h.lr[e], lr))
      end
      local opt2 = nn.SGD(m, {lr = 1})
      local plateau = nn.schedule.plateau(opt2, {patience = 0, threshold = 10})  -- never "improves"
      local h2 = nn.fit(m, nn.CrossEntropyLoss(), opt2, X, Y,
         {epochs = 3, schedule = plateau, progress = false})
      assert.are.same({1, 0.1, 0.01}, {h2.lr[1], h2.lr[2], math.floor(h2.lr[3] * 1e6 + 0.5) / 1e6})
      assert.has_error(function()
         nn.fit(m, nn.CrossEntropyLoss(), opt2, X, Y, {schedule = 5})
      end, "nn.fit: schedule must be a schedule (nn.schedule.step(opt, ...), ...), got number")
   end)

   it("schedules and histories print as what they are", function()
      local opt = nn.SGD(net(), {lr = 0.1})
      assert.are.equal("nn.schedule.step(lr 0.1, every 2, gamma 0.5)",
         tostring(nn.schedule.step(opt, 2, 0.5)))
      local X, Y = data(20)
      local m = net()
      local h = nn.fit(m, nn.CrossEntropyLoss(), nn.SGD(m, {lr = 0.1}), X, Y,
         {epochs = 2, progress = false})
      local s = tostring(h)
      assert.truthy(s:find("^epoch%s+loss"), s)
      assert.truthy(s:find("\n    2 ", 1, true), s)
   end)
end)
