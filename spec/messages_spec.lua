-- Errors that name the function and say what to write instead: the slips
-- a student or a Torch7 user makes (issue #12) and the messages the
-- hostile-input review found raw or misleading (issue #16).
local nn = require "nn"
local mnist = require "nn.mnist"
local plot = require "nn.plot"
local H = require "helpers"
local err, has = H.err, H.has

local write = H.write

describe("misleading errors, made plain", function()
   it("nn.SGD({}, {lr = 1}) says the first argument has no parameters, not that lr is missing", function()
      has(err(nn.SGD, {}, {lr = 1}), "nn.SGD: the first argument (an empty table) has no parameters")
      local l = nn.Linear(2, 2)
      assert.truthy(nn.SGD({l.weight}, {l.gradWeight}, {lr = 0.1}))
   end)

   it("a dot for a colon on a layer or a loss says so", function()
      local x = nn.ones(2, 3)
      has(err(nn.Linear(3, 2).forward, x), "call it with a colon")
      has(err(nn.ReLU().backward, x, x), "call it with a colon")
      has(err(nn.MSELoss().forward, x, x), "call it with a colon")
      has(err(nn.Sequential{nn.ReLU()}.forward, x), "call it as net:forward")
   end)

   it("ConfusionMatrix names bad classes and mismatched lists", function()
      local cm = nn.ConfusionMatrix(10)
      has(err(cm.recall, cm, 0), "ConfusionMatrix:recall: class must be an integer from 1 to 10, got 0")
      has(err(cm.recall, cm, "7"), "ConfusionMatrix:recall: class must be an integer")
      has(err(cm.add, cm, {1, 2}, {1}), "ConfusionMatrix:add: pred is 2 x 1 and target 1 x 1")
      cm:add({1, 2}, {1, 3})
      assert.are.equal(2, cm.total)
   end)

   it("an interruption inside nn.fit says where training stopped and keeps finished epochs", function()
      nn.seed(1)
      local X, Y = nn.randn(40, 3), {}
      for i = 1, 40 do Y[i] = i % 2 + 1 end
      local calls = 0
      local trip = {                       -- raises as Ctrl-C would, in epoch 2
         forward = function(_, x)
            calls = calls + 1
            if calls == 7 then error("interrupted!", 0) end
            return x
         end,
         backward = function(_, _, g) return g end,
      }
      local net = nn.Sequential{nn.Linear(3, 2), trip}
      local h = {}
      local msg = err(nn.fit, net, nn.CrossEntropyLoss(), nn.SGD(net, {lr = 0.1}), X, Y,
         {epochs = 3, batchSize = 10, progress = false, history = h})
      has(msg, "nn.fit: stopped at epoch 2, batch 3 (1 finished epoch kept in the history)")
      has(msg, "interrupted!")
      assert.are.equal(1, #h.loss)
      has(h.stopped, "at epoch 2, batch 3")
   end)

   it("A[i] points to A:row(i) and A:get(i, j) instead of returning nil", function()
      local A = nn.Matrix(2, 2)
      has(err(function() return A[1] end), "use A:row(i) for a row (a view), A:get(i, j) for an element")
      has(err(function() return A[1][2] end), "A[1] is not an element or a row")
      assert.is_nil(A.nosuchmethod)
   end)
end)

describe("Torch7 traps", function()
   it("narrow(1, first, n) is Torch's rows; another dim is refused, not ignored", function()
      local X = nn.Matrix(10, 2)
      for i = 1, 10 do X:set(i, 1, i) end
      local V = X:narrow(1, 6, 3)
      assert.are.same({3, 2}, {V:shape()})
      assert.are.equal(6, V:get(1, 1))
      assert.are.same({5, 2}, {X:narrow(6, 5):shape()})
      has(err(X.narrow, X, 2, 1, 1), "only dim 1 (rows) can be narrowed")
      has(err(X.narrow, X, 1, 1, 1, 1), "expected (first, n) or (1, first, n)")
   end)

   it("a constructor in place of a layer asks whether a call was meant", function()
      has(err(nn.Sequential, {nn.Linear(2, 2), nn.ReLU}), "layer 2 is a function, not a layer; did you mean nn.ReLU()?")
      local s = nn.Sequential()
      has(err(s.add, s, nn.Tanh), "did you mean nn.Tanh()?")
   end)
end)

describe("messages that name the function", function()
   it("nn.fit checks its net, crit, validation, out and labels", function()
      local net, crit = nn.Linear(2, 2), nn.CrossEntropyLoss()
      local opt = nn.SGD(net, {lr = 0.1})
      local X = nn.ones(3, 2)
      has(err(nn.fit, 5, crit, opt, X, {1, 2, 1}), "nn.fit: net must be a network")
      has(err(nn.fit, net, {}, opt, X, {1, 2, 1}), "nn.fit: crit must be a loss")
      has(err(nn.fit, net, crit, opt, X, {1, 2, 1}, {validation = 5}),
         "nn.fit: validation must be a table {Xv, Yv}, got number")
      has(err(nn.fit, net, crit, opt, X, {1, 2, 1}, {out = "x"}), "nn.fit: out must be an open file")
      has(err(nn.fit, net, crit, opt, X, {1, nil, 3}), "nn.fit: Y")
   end)

   it("ConfusionMatrix checks its class and its self", function()
      local cm = nn.ConfusionMatrix(3)
      has(err(cm.recall, cm, 7), "ConfusionMatrix:recall: class must be an integer from 1 to 3, got 7")
      has(err(cm.precision, cm, "7"), "ConfusionMatrix:precision: class must be an integer")
      has(err(cm.recall, nil, 1), "call it as cm:recall")
   end)

   it("plot.lines draws huge, flat and wide charts, and names a hole", function()
      assert.truthy(plot.lines({1e308, -1e308}, {width = 20, height = 4}):find("1e+308", 1, true))
      assert.truthy(plot.lines({1e17, 1e17}, {width = 20, height = 4}))
      local holed = {1, 2, 3, 4}
      holed[2] = nil                     -- # is 4 on every Lua (a border; {1, nil, 3} has two)
      has(err(plot.lines, holed), "plot.lines: series 1: value 2 is nil")
      for _, w in ipairs{101, 500, 1000} do
         local s = plot.lines({1, 2, 3}, {width = w})
         assert.truthy(s:find(("-"):rep(w), 1, true))
      end
   end)

   it("wrong self on Lua methods and schedules without arguments say so", function()
      local net = nn.Sequential{nn.Linear(2, 2)}
      local opt = nn.SGD(net, {lr = 0.1})
      has(err(opt.step, nn.MSELoss()), "Optimizer:step: call it as opt:step")
      has(err(net.forward, nn.ones(1, 2)), "nn.Sequential:forward: call it as net:forward")
      has(err(nn.schedule.step(opt, 2)), "nn.schedule.step: the schedule takes the epoch")
      has(err(nn.schedule.cosine, opt, 5, "x"), "nn.schedule.cosine: min must be a number")
   end)

   it("MNIST errors read as one message", function()
      local dir = H.tmpdir()
      write(dir .. "/train-images-idx3-ubyte.gz", "\31\139 this is not gzip at all")
      local msg = err(mnist.load, dir, "train")
      assert.is_nil(msg:find("nor is there", 1, true), msg)
      has(msg, "train-images-idx3-ubyte.gz")
      write(dir .. "/train-images-idx3-ubyte", H.strpack(">I4I4I4I4", 0x803, 2, 2, 2) .. "abcdefg")
      msg = err(mnist.load, dir, "train")
      assert.is_nil(msg:find("Matrix.fromfile", 1, true), msg)
      has(msg, "holds 23 bytes, expected 24")
      os.execute("rm -rf '" .. dir .. "'")
   end)
end)
