-- nn.fit, nn.evaluate and nn.batches: what they restore, what they hold
-- out, and what their errors say (the class of each: every copy of a
-- net's state, every label check, every error location).
local nn = require "nn"
local train = require "nn.train"
local H = require "helpers"

local function err(f, ...)
   local ok, e = pcall(f, ...)
   if ok then return nil end
   return tostring(e)
end

local function has(s, want)
   assert.is_string(s, "no error, expected: " .. want)
   assert.truthy(s:find(want, 1, true), ("expected %q in:\n%s"):format(want, s))
end

-- n rows of 4 features, two classes (labels 1 and 2)
local function data(n, seed)
   nn.seed(seed or 3)
   local X = nn.randn(n, 4)
   local Y = nn.Matrix(n, 1)
   for i = 1, n do Y:set(i, 1, X:get(i, 1) + X:get(i, 2) > 0 and 2 or 1) end
   return X, Y
end

describe("restoreBest", function()
   it("restores the best epoch's buffers (batch normalization) with its parameters", function()
      local X, Y = data(80)
      nn.seed(7)
      local net = nn.Sequential{nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2)}
      local dir = H.tmpdir()
      local h = nn.fit(net, nn.CrossEntropyLoss(), nn.SGD(net, {lr = 3}), X, Y,
         {epochs = 60, batchSize = 16, validationSplit = 0.25, patience = 4,
          saveBest = dir .. "/best.nn", progress = false})
      assert.truthy(h.stopped and h.stopped:find("^early"), tostring(h.stopped))
      local Xv, Yv = X:narrow(61, 20), Y:narrow(61, 20)
      local crit = nn.CrossEntropyLoss()
      -- the network fit ends with is the one that scored the best loss,
      -- and the one saveBest wrote
      local L = nn.evaluate(net, crit, Xv, Yv)
      assert.is_true(math.abs(L - h.best.loss) < 1e-6, ("restored %.6f, best %.6f"):format(L, h.best.loss))
      local saved = nn.load(dir .. "/best.nn")
      assert.is_true(saved[2].runningMean:equal(net[2].runningMean))
      assert.is_true(saved[2].runningVar:equal(net[2].runningVar))
      os.execute("rm -rf '" .. dir .. "'")
   end)

   it("containers list their layers' buffers, in order", function()
      local a, b = nn.BatchNorm1d(3), nn.BatchNorm2d(2, {input = {2, 2, 2}})
      local net = nn.Sequential{nn.Linear(2, 3), a, nn.Residual(nn.Sequential{nn.ReLU()}),
                                nn.Linear(3, 8), nn.Concat{b, nn.Identity()}}
      local bufs = net:buffers()
      assert.are.equal(4, #bufs)
      assert.are.equal(a.runningMean, bufs[1])
      assert.are.equal(a.runningVar, bufs[2])
      assert.are.equal(b.runningMean, bufs[3])
      assert.are.same({}, nn.Sequential{nn.Linear(2, 2)}:buffers())
   end)
end)

describe("nn.fit, nn.evaluate, nn.predict and nn.batches", function()
   it("return what they return, no more", function()
      local X, Y = data(20)
      local net = nn.Sequential{nn.Linear(4, 2)}
      local crit = nn.CrossEntropyLoss()
      assert.are.equal(1, select("#", nn.fit(net, crit, nn.SGD(net, {lr = 0.1}), X, Y, {progress = false})))
      assert.are.equal(2, select("#", nn.evaluate(net, crit, X, Y, {batchSize = 5})))
      assert.are.equal(1, select("#", nn.predict(net, X, 5)))
      assert.are.equal(1, select("#", nn.batches(X, Y, 5, {shuffle = true})))
   end)
end)

describe("validationSplit", function()
   it("holds out ceil(f n) rows, exactly for a decimal f", function()
      assert.are.equal(7, train.holdout(0.07, 100))      -- math.ceil(0.07 * 100) is 8
      assert.are.equal(1, train.holdout(0.001, 100))
      assert.are.equal(5000, train.holdout(5000 / 60000, 60000))
      local wrong = 0
      for _, n in ipairs{1, 3, 7, 100, 101, 999, 60000, 1234567} do
         for d = 1, 999 do
            local num = d * n
            local want = math.floor(num / 1000) + (num % 1000 ~= 0 and 1 or 0)
            if train.holdout(d / 1000, n) ~= want then wrong = wrong + 1 end
         end
      end
      assert.are.equal(0, wrong)
      -- and nn.fit holds out those rows
      local X, Y = data(100)
      local net = nn.Sequential{nn.Linear(4, 2)}
      local h = nn.fit(net, nn.CrossEntropyLoss(), nn.SGD(net, {lr = 0.1}), X, Y,
         {validationSplit = 0.07, progress = false})
      local L7 = nn.evaluate(net, nn.CrossEntropyLoss(), X:narrow(94, 7), Y:narrow(94, 7))
      assert.are.equal(L7, h.valLoss[1])
   end)
end)

describe("nn.fit's errors", function()
   local X, Y = data(60)
   local function net() return nn.Sequential{nn.Linear(4, 3)} end

   it("carry no position inside lua-nn", function()
      local m = net()
      -- a loss's error inside the loop, and one from nn.evaluate
      local e = err(nn.fit, m, nn.MSELoss(), nn.SGD(m, {lr = 0.1}), X, nn.randn(60, 2), {progress = false})
      has(e, "nn.fit: stopped at epoch 1, batch 1 (0 finished epochs kept in the history): MSELoss:forward: ")
      assert.is_nil(e:find("train.lua", 1, true), e)
      e = err(nn.evaluate, m, nn.MSELoss(), X, nn.randn(60, 2))
      has(e, "MSELoss:forward: ")
      assert.is_nil(e:find("train.lua", 1, true), e)
      -- argument errors point at the caller, wherever the check sits
      local here = debug.getinfo(1, "S").short_src
      for _, f in ipairs{
         function() nn.fit(m, nn.CrossEntropyLoss(), nn.SGD(m, {lr = 0.1}), X, Y, {validationSplit = 2}) end,
         function() nn.fit(m, nn.CrossEntropyLoss(), nn.SGD(m, {lr = 0.1}), X, Y, {validation = {X, Y:narrow(1, 3)}}) end,
         function() nn.fit(m, nn.CrossEntropyLoss(), nn.SGD(m, {lr = 0.1}), X, Y, {minDelta = -1}) end,
         function() nn.evaluate(m, nn.CrossEntropyLoss(), X, Y, {batchSize = 0}) end,
         function() nn.batches(X, Y, 0) end,
         function() nn.predict(m, 5) end,
      } do
         local msg = err(f)
         assert.are.equal(here, msg:match("^([^:]+):%d+: "), msg)
      end
   end)

   it("name a 0-based label by its row of Y and say that classes start at 1", function()
      local m = net()
      local Y0 = Y:clone()
      Y0:set(57, 1, 0)
      local opt = nn.SGD(m, {lr = 0.1})
      has(err(nn.fit, m, nn.CrossEntropyLoss(), opt, X, Y0, {progress = false}),
         "nn.fit: row 57 of Y is 0: classes start at 1")
      has(err(nn.evaluate, m, nn.NLLLoss(), X, Y0), "nn.evaluate: row 57 of Y is 0: classes start at 1")
      has(err(nn.fit, m, nn.CrossEntropyLoss(), opt, X, Y, {validation = {X, Y0}, progress = false}),
         "nn.fit: row 57 of validation[2] is 0: classes start at 1")
      local labels = {}
      for i = 1, 60 do labels[i] = Y:get(i, 1) - 1 end
      has(err(nn.fit, m, nn.CrossEntropyLoss(), opt, X, labels, {progress = false}),
         "is 0: classes start at 1 (Lua's convention: for labels from 0, pass Y + 1)")
      -- other labels that are not classes, and one past the network's width
      for _, bad in ipairs{{-1, "is -1: expected a class index"}, {2.5, "is 2.5: expected a class index"},
                           {0 / 0, "is nan: expected a class index"}} do
         local Yb = Y:clone()
         Yb:set(9, 1, bad[1])
         has(err(nn.fit, m, nn.CrossEntropyLoss(), opt, X, Yb, {progress = false}), "row 9 of Y " .. bad[2])
      end
      local Y4 = Y:clone()
      Y4:set(33, 1, 4)
      has(err(nn.fit, m, nn.CrossEntropyLoss(), opt, X, Y4, {progress = false}),
         "nn.fit: row 33 of Y is 4, but the network gives 3 classes")
      has(err(nn.evaluate, m, nn.CrossEntropyLoss(), X, Y4), "nn.evaluate: row 33 of Y is 4, but the network gives 3 classes")
   end)

   it("name the validation data as validation[1] and [2]", function()
      local m = net()
      has(err(nn.fit, m, nn.CrossEntropyLoss(), nn.SGD(m, {lr = 0.1}), X, Y,
         {validation = {X, Y:narrow(1, 3)}, progress = false}),
         "nn.fit: validation[2] has 3 rows, validation[1] has 60")
   end)

   it("name a misspelt option, guess the right one and list them all", function()
      local m = net()
      local e = err(nn.fit, m, nn.CrossEntropyLoss(), nn.SGD(m, {lr = 0.1}), X, Y, {epoch = 2})
      has(e, "nn.fit: unknown option 'epoch' (did you mean 'epochs'? expected accuracy, batchSize, clip, distributed, epochs, ")
      has(e, "validation, validationSplit)")
      has(err(nn.fit, m, nn.CrossEntropyLoss(), nn.SGD(m, {lr = 0.1}), X, Y, {batchsize = 2}),
         "unknown option 'batchsize' (did you mean 'batchSize'?")
      has(err(nn.fit, m, nn.CrossEntropyLoss(), nn.SGD(m, {lr = 0.1}), X, Y, {patient = 2}),
         "unknown option 'patient' (did you mean 'patience'?")
      has(err(nn.fit, m, nn.CrossEntropyLoss(), nn.SGD(m, {lr = 0.1}), X, Y, {colour = 2}),
         "unknown option 'colour' (expected accuracy")
      has(err(nn.evaluate, m, nn.CrossEntropyLoss(), X, Y, {batchsize = 2}),
         "nn.evaluate: unknown option 'batchsize' (did you mean 'batchSize'? expected accuracy, batchSize, distributed)")
      has(err(nn.fit, m, nn.CrossEntropyLoss(), nn.SGD(m, {lr = 0.1}), X, Y, {onEpoch = 5}),
         "nn.fit: onEpoch must be a function, got number")
   end)
end)

describe("a 1-D label vector (1 x n)", function()
   it("is taken as n x 1 where one target per row of X is expected", function()
      local X, Y = data(50)
      local row = Y:t()                                -- 1 x 50: a 1-D .npy loads so
      local net = nn.Sequential{nn.Linear(4, 2)}
      local crit = nn.CrossEntropyLoss()
      local L1, a1 = nn.evaluate(net, crit, X, row)
      local L2, a2 = nn.evaluate(net, crit, X, Y)
      assert.are.same({L2, a2}, {L1, a1})
      local n = 0
      for _, yb in nn.batches(X, row, 20) do
         n = n + 1
         assert.are.equal(1, select(2, yb:shape()))
      end
      assert.are.equal(3, n)
      nn.seed(1)
      local h1 = nn.fit(net, crit, nn.SGD(net, {lr = 0.1}), X, row, {progress = false, shuffle = false})
      assert.are.equal(1, #h1.loss)
      -- a row of another length is named, with the shape it should have
      has(err(nn.evaluate, net, crit, X, Y:narrow(1, 40):t()),
         "nn.evaluate: Y has 1 rows, X has 50 (Y is 1 x 40: one target per row of X is 50 x 1)")
   end)
end)

describe("print(history)", function()
   it("summarises a long history: first and last epochs, the best, the count", function()
      local X, Y = data(20)
      local net = nn.Sequential{nn.Linear(4, 2)}
      local h = nn.fit(net, nn.CrossEntropyLoss(), nn.SGD(net, {lr = 0.01}), X, Y,
         {epochs = 300, batchSize = 20, progress = false, validationSplit = 0.5, patience = 1000})
      local s = tostring(h)
      local lines = 0
      for _ in s:gmatch("[^\n]+") do lines = lines + 1 end
      assert.is_true(lines < 20, s)
      assert.truthy(s:find("\n    1 ", 1, true), s)
      assert.truthy(s:find("\n  300 ", 1, true), s)
      assert.is_nil(s:find("\n  150 ", 1, true), s)
      assert.truthy(s:find("300 epochs", 1, true), s)
      assert.truthy(s:find(("\n%5d "):format(h.best.epoch)), s)
      assert.truthy(s:find(("best: epoch %d"):format(h.best.epoch), 1, true), s)
      -- a short one is shown whole
      local short = nn.fit(net, nn.CrossEntropyLoss(), nn.SGD(net, {lr = 0.01}), X, Y,
         {epochs = 12, progress = false})
      local t = tostring(short)
      for e = 1, 12 do assert.truthy(t:find(("\n%5d "):format(e)), t) end
   end)
end)

describe("every copy of a network's state", function()
   it("nn.load gives a registered Lua layer its buffers back, not only its parameters", function()
      -- a layer that keeps a running mean of its input (a buffer) and adds
      -- it: saved with its buffers, it must load with them
      local Centre = {}
      Centre.__index = Centre
      local function new(n)
         return setmetatable({typename = "SweepCentre", n = n, mean = nn.zeros(1, n)}, Centre)
      end
      function Centre:forward(x)
         self.mean:copy(x:mean(1))
         self.output = x - self.mean
         return self.output
      end
      function Centre:backward(_, gy) return gy end
      function Centre:parameters() return {}, {} end
      function Centre:buffers() return {self.mean} end
      function Centre:config() return {self.n} end
      nn.register("SweepCentre", new)
      local net = nn.Sequential{nn.Linear(3, 3), new(3)}
      net:forward(nn.randn(5, 3))
      local back = nn.deserialize(nn.serialize(net))
      assert.is_true(back[2].mean:equal(net[2].mean))
      assert.is_true(back:buffers()[1]:equal(net[2].mean))
      -- and a file whose buffer does not fit is refused by name
      net[2].mean = nn.zeros(1, 4)
      has(err(nn.deserialize, nn.serialize(net)), "buffer 1 of SweepCentre must be 1 x 3")
   end)
end)
