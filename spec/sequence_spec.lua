-- Sequences (issue #25 §1): a batch is n x (T*D), each row T steps of D in
-- (T, D) order, T any from batch to batch; token ids are an n x T Matrix
-- of whole numbers from 1.  nn.Embedding, nn.LayerNorm, nn.Linear with
-- {sequence = true}, the class losses over each step with ignoreIndex,
-- and gradient clipping (nn.clipGradNorm, nn.clipGradValue, nn.fit's
-- clip).  The PyTorch cross-checks, finite differences, exports, model
-- files and the hostile sweep of these layers run through the registry's
-- examples (spec/registry_spec.lua and the specs it names); this spec
-- holds what is particular to them.
local nn = require "nn"
local H = require "helpers"
local err, has = H.err, H.has

local function ids(n, T, num)
   return nn.rand(n, T, 1, num + 1):apply(math.floor)
end

describe("nn.Embedding", function()
   it("looks up row id of its weight for every step; ids start at 1", function()
      nn.seed(1)
      local e = nn.Embedding(10, 3)
      local x = nn.Matrix{{1, 10, 4}, {4, 4, 2}}
      local y = e:forward(x)
      assert.are.same({2, 9}, {y:shape()})
      for i = 1, 2 do
         for t = 1, 3 do
            for j = 1, 3 do
               assert.are.equal(e.weight:get(x:get(i, t), j), y:get(i, (t - 1) * 3 + j))
            end
         end
      end
      -- any T: the same layer on one step and on seven
      assert.are.same({2, 3}, {e:forward(nn.Matrix{{1}, {2}}):shape()})
      assert.are.same({1, 21}, {e:forward(ids(1, 7, 10)):shape()})
      assert.are.equal(3, e.outputStep)
      assert.are.equal(1, e.inputStep)
      assert.are.equal(21, e:outputSize(7))
   end)

   it("refuses an id that is not a whole number from 1 to num, naming where it is", function()
      local e = nn.Embedding(10, 3)
      has(err(e.forward, e, nn.Matrix{{1, 2}, {3, 0}}),
         "Embedding:forward: the id at row 2, step 2 is 0: ids start at 1 (Lua), from 1 to 10")
      has(err(e.forward, e, nn.Matrix{{1, 11}}),
         "Embedding:forward: the id at row 1, step 2 is 11.0, expected a whole number from 1 to 10")
      has(err(e.forward, e, nn.Matrix{{2.5}}), "step 1 is 2.5, expected a whole number from 1 to 10")
      has(err(e.forward, e, nn.Matrix{{0 / 0}}), "expected a whole number from 1 to 10")
      has(err(e.forward, e, nn.Matrix{{-1}}), "is -1.0, expected a whole number from 1 to 10")
      has(err(nn.Embedding, 10, 3, {paddingIndex = 0}),
         "nn.Embedding: option paddingIndex (an id) must be a whole number from 1 to 10, got 0")
      has(err(nn.Embedding, 10, 3, {maxNorm = 0}), "nn.Embedding: maxNorm must be > 0")
      has(err(nn.Embedding, 10, 3, {normType = -1}), "nn.Embedding: option normType must be a number > 0")
      has(err(nn.Embedding, 0, 3), "nn.Embedding: argument 1 (num) must be a whole number from 1")
      -- backward checks them again: the input may have changed since
      local x = nn.Matrix{{1, 2}}
      local y = e:forward(x)
      x:set(1, 2, 12)
      has(err(e.backward, e, x, y:clone()), "Embedding:backward: the id at row 1, step 2 is 12.0")
   end)

   it("adds its gradient to the rows used only, and gives ids none", function()
      nn.seed(2)
      local e = nn.Embedding(6, 2)
      local x = nn.Matrix{{2, 5, 2}}
      e:forward(x)
      e:zeroGrad()
      local gy = nn.Matrix{{1, 2, 3, 4, 5, 6}}
      local gx = e:backward(x, gy)
      assert.is_true(gx:equal(nn.zeros(1, 3)))
      assert.is_true(e.gradWeight:equal(nn.Matrix{{0, 0}, {6, 8}, {0, 0}, {0, 0}, {3, 4}, {0, 0}}))
      assert.is_nil(e:backward(x, gy, false))                -- nn.fit's: no dL/dx
      -- through a network: nothing flows back into the ids
      local net = nn.Sequential{nn.Embedding(6, 2), nn.Linear(2, 1, {sequence = true})}
      net:forward(x)
      assert.is_true(net:backward(x, nn.ones(1, 3)):equal(nn.zeros(1, 3)))
   end)

   it("keeps paddingIndex's row 0 from the start and never learns it, as PyTorch", function()
      nn.seed(3)
      local e = nn.Embedding(5, 3, {paddingIndex = 4})
      assert.is_true(e.weight:row(4):equal(nn.zeros(1, 3)))
      assert.are.equal("nn.Embedding(5 -> 3, padding 4)", tostring(e))
      local x = nn.Matrix{{4, 1, 4}}
      assert.is_true(e:forward(x):narrow(1, 1):reshape(3, 3):row(1):equal(nn.zeros(1, 3)))
      e:zeroGrad()
      e:backward(x, nn.ones(1, 9))
      assert.is_true(e.gradWeight:row(4):equal(nn.zeros(1, 3)))
      assert.is_true(e.gradWeight:row(1):equal(nn.ones(1, 3)))
   end)

   it("renormalizes the rows it uses to maxNorm, in place, as PyTorch's max_norm", function()
      for _, p in ipairs{2, 1, math.huge} do
         nn.seed(4)
         local e = nn.Embedding(4, 3, {maxNorm = 0.5, normType = p})
         e.weight = nn.Matrix{{3, 4, 0}, {0.1, 0.1, 0.1}, {-6, 8, 0}, {2, 2, 2}}
         local before = e.weight:clone()
         e:forward(nn.Matrix{{1, 2, 1}})
         local function norm(r)
            local v = {math.abs(r:get(1)), math.abs(r:get(2)), math.abs(r:get(3))}
            if p == math.huge then return math.max(v[1], v[2], v[3]) end
            return (v[1] ^ p + v[2] ^ p + v[3] ^ p) ^ (1 / p)
         end
         assert.is_true(math.abs(norm(e.weight:row(1)) - 0.5) < 1e-6, "p " .. p)
         assert.is_true(e.weight:row(2):equal(before:row(2)))   -- short enough
         assert.is_true(e.weight:row(3):equal(before:row(3)))   -- not used
         assert.is_true(e.weight:row(4):equal(before:row(4)))
      end
      -- the ids may not be the weight the forward writes
      local e = nn.Embedding(4, 1, {maxNorm = 1})
      e.weight = nn.Matrix{{1}, {2}, {3}, {4}}           -- ids, if read as ids
      has(err(e.forward, e, e.weight:reshape(1, 4)),
         "Embedding:forward: the input shares memory with the weight, which maxNorm changes")
   end)
end)

describe("nn.LayerNorm", function()
   it("normalizes each step of any T by its own mean and variance", function()
      nn.seed(5)
      local ln = nn.LayerNorm(4, {affine = false})
      for _, T in ipairs{1, 3, 7} do
         local x = nn.randn(2, 4 * T, 3, 5)
         local y = ln:forward(x)
         for i = 1, 2 do
            for t = 1, T do
               local s, q = 0, 0
               for j = 1, 4 do s = s + y:get(i, (t - 1) * 4 + j) end
               for j = 1, 4 do q = q + (y:get(i, (t - 1) * 4 + j) - s / 4) ^ 2 end
               assert.is_true(math.abs(s / 4) < 1e-5)
               assert.is_true(math.abs(q / 4 - 1) < 1e-3)        -- var / (var + eps)
            end
         end
      end
      has(err(ln.forward, ln, nn.ones(2, 6)),
         "LayerNorm:forward: input has 6 columns, expected a multiple of 4 (T steps of 4 features)")
      has(err(ln.outputSize, ln, 6), "LayerNorm: input width 6, expected a multiple of 4")
   end)

   it("has weight and bias of D, and takes PyTorch's options", function()
      local ln = nn.LayerNorm(3, {eps = 1e-3, bias = false})
      assert.are.equal("nn.LayerNorm(3, eps 0.001, no bias)", tostring(ln))
      assert.are.same({1, 3}, {ln.weight:shape()})
      assert.is_nil(ln.bias)
      assert.are.equal(1, #ln:parameters())
      assert.are.equal(0, #nn.LayerNorm(3, {affine = false}):parameters())
      has(err(nn.LayerNorm, 3, {eps = 0}), "nn.LayerNorm: eps must be > 0")
      assert.is_true(nn.LayerNorm(5).keepsShape)
   end)
end)

describe("nn.Linear with {sequence = true}", function()
   it("is the same Linear on every step, bit for bit, without a copy", function()
      nn.seed(6)
      local seq = nn.Linear(4, 3, {sequence = true})
      local one = nn.Linear(4, 3)
      one.weight, one.bias = seq.weight, seq.bias
      local x = nn.randn(5, 4 * 6)
      local y = seq:forward(x)
      assert.are.same({5, 18}, {y:shape()})
      assert.are.equal(y:tobytes(), one:forward(x:reshape(30, 4)):tobytes())
      local gy = nn.randn(5, 18)
      seq:zeroGrad()
      one:zeroGrad()
      assert.are.equal(seq:backward(x, gy):tobytes(), one:backward(x:reshape(30, 4), gy:reshape(30, 3)):tobytes())
      assert.are.equal(seq.gradWeight:tobytes(), one.gradWeight:tobytes())
      assert.are.equal("nn.Linear(4 -> 3, per step)", tostring(seq))
      assert.is_nil(seq.nin)                    -- any width: 4 T columns
      has(err(seq.forward, seq, nn.ones(1, 10)), "input has 10 columns, expected a multiple of 4")
      -- the config keeps the key only when it is set: older files' bytes
      assert.is_nil(nn.Linear(4, 3):config()[3].sequence)
      assert.is_true(seq:config()[3].sequence)
   end)
end)

describe("a sequence's shape in a container", function()
   it("flows as an image's does: steps are checked where a layer is added", function()
      has(err(nn.Sequential, {nn.Embedding(10, 4), nn.LayerNorm(5)}),
         "nn.Sequential: layer 2 (nn.LayerNorm(5)) takes steps of 5 features, gets steps of 4")
      has(err(nn.Sequential, {nn.Linear(4, 6, {sequence = true}), nn.ReLU(), nn.Linear(4, 2, {sequence = true})}),
         "layer 3 (nn.Linear(4 -> 2, per step)) takes steps of 4 features, gets steps of 6")
      local net = nn.Sequential{nn.Embedding(10, 4)}
      has(err(net.add, net, nn.LayerNorm(3)), "takes steps of 3 features, gets steps of 4")
      assert.are.equal(1, net:size())
      -- a known width is checked against the step
      has(err(nn.Sequential, {nn.Linear(3, 10), nn.LayerNorm(4)}),
         "layer 2 (nn.LayerNorm(4)) does not fit: LayerNorm: input width 10, expected a multiple of 4")
      -- x + m(x) must keep the step
      has(err(nn.Residual, nn.Linear(4, 2, {sequence = true})),
         "nn.Residual: layer 1 (nn.Linear(4 -> 2, per step)) maps steps of 4 features to steps of 2")
      -- and the summary says the width is T steps
      local s = tostring(nn.Sequential{nn.Embedding(10, 4), nn.Residual(nn.LayerNorm(4)),
                                       nn.Linear(4, 2, {sequence = true})})
      assert.truthy(s:find("nn.Residual.-out Tx4 "), s)
      assert.truthy(s:find("per step%)%s+out Tx2 "), s)
   end)
end)

describe("the class losses over each step", function()
   it("are the loss of the n T rows of C, with an n x T target", function()
      nn.seed(7)
      local x = nn.randn(3, 5 * 4)
      local Y = ids(3, 5, 4)
      for _, red in ipairs{"mean", "sum"} do
         local seq = nn.CrossEntropyLoss{sequence = true, reduction = red}
         local flat = nn.CrossEntropyLoss{reduction = red}
         assert.are.equal(flat:forward(x:reshape(15, 4), Y:reshape(15, 1)), seq:forward(x, Y))
         assert.are.equal(flat:backward(x:reshape(15, 4), Y:reshape(15, 1)):tobytes(),
            seq:backward(x, Y):tobytes())
      end
      local crit = nn.NLLLoss{sequence = true}
      has(err(crit.forward, crit, x, nn.ones(3, 3)),
         "NLLLoss:forward: target is 3 x 3, expected 3 x T class indices for an input of T steps of C (20 columns")
      has(err(crit.forward, crit, x, {1, 2, 3}), "target must be an n x T nn.Matrix of class indices")
      has(err(crit.forward, crit, x, nn.Matrix(3, 5, 5)),
         "NLLLoss:forward: the target at row 1, step 1 is 5.0, expected a class index from 1 to 4")
      assert.are.equal("nn.NLLLoss{sequence = true}", tostring(crit))
   end)

   it("count an ignored class index for nothing, mean over the rest, as PyTorch", function()
      nn.seed(8)
      local x = nn.randn(4, 3)
      local crit = nn.CrossEntropyLoss{ignoreIndex = 0}
      local L = crit:forward(x, {2, 0, 3, 0})
      local want = (nn.CrossEntropyLoss{reduction = "sum"}:forward(x:narrow(1, 1), {2})
         + nn.CrossEntropyLoss{reduction = "sum"}:forward(x:narrow(3, 1), {3})) / 2
      assert.is_true(math.abs(L - want) < 1e-6)
      local g = crit:backward(x, {2, 0, 3, 0})
      assert.is_true(g:row(2):equal(nn.zeros(1, 3)) and g:row(4):equal(nn.zeros(1, 3)))
      -- PyTorch's default, -100
      assert.are.equal(-100, nn.CrossEntropyLoss().ignoreIndex)
      assert.is_true(nn.CrossEntropyLoss():forward(x, {2, -100, 3, -100}) == L)
      -- nothing counts: mean is 0 / 0, sum 0
      local none = crit:forward(x, {0, 0, 0, 0})
      assert.is_true(none ~= none)
      assert.are.equal(0, nn.CrossEntropyLoss{ignoreIndex = 0, reduction = "sum"}:forward(x, {0, 0, 0, 0}))
      -- 0 is still an error unless it is the ignored index
      has(err(nn.CrossEntropyLoss().forward, nn.CrossEntropyLoss(), x, {2, 0, 3, 1}),
         "target 2 is 0.0, expected a class index from 1 to 3")
      has(err(nn.CrossEntropyLoss, {ignoreIndex = 0.5}), "option ignoreIndex must be a whole number, got 0.5")
      has(err(nn.CrossEntropyLoss, {ignoreIndex = "0"}), "option ignoreIndex must be a whole number, got string")
      has(err(nn.MSELoss, {ignoreIndex = 0}), "nn.MSELoss: unknown option 'ignoreIndex' (expected reduction)")
   end)

   it("have the gradient finite differences give, ignored steps included", function()
      nn.seed(9)
      local x = nn.randn(3, 4 * 5)
      local Y = ids(3, 4, 5)
      Y:set(2, 3, 0)
      Y:set(3, 1, 0)
      for _, crit in ipairs{nn.CrossEntropyLoss{sequence = true, ignoreIndex = 0},
                            nn.NLLLoss{sequence = true, ignoreIndex = 0, reduction = "sum"}} do
         local e, where = nn.gradcheck(nn.Identity(), x, crit, Y)
         assert.is_true(e < 1e-2, tostring(crit) .. ": " .. where)
      end
   end)

   it("train a model of sequences with nn.fit, ignored steps and clipping", function()
      nn.seed(10)
      -- the next id of a cycle 1, 2, 3, 4, 5, 1, ...; the last step's is padding (0)
      local n, T = 64, 6
      local X, Y = nn.Matrix(n, T), nn.Matrix(n, T)
      for i = 1, n do
         for t = 1, T do
            local v = (i + t) % 5 + 1
            X:set(i, t, v)
            Y:set(i, t, t < T and v % 5 + 1 or 0)
         end
      end
      local net = nn.Sequential{nn.Embedding(5, 8), nn.LayerNorm(8), nn.Tanh(),
                                nn.Linear(8, 5, {sequence = true})}
      local crit = nn.CrossEntropyLoss{sequence = true, ignoreIndex = 0}
      local h = nn.fit(net, crit, nn.Adam(net, {lr = 0.05}), X, Y,
         {epochs = 15, batchSize = 16, progress = false, clip = 1})
      assert.is_true(h.loss[15] < 0.1 * h.loss[1], ("loss %g -> %g"):format(h.loss[1], h.loss[15]))
      assert.is_nil(h.accuracy[1])             -- a row's accuracy is not a step's
      local L = nn.evaluate(net, crit, X, Y)
      assert.is_true(L < 0.1)
   end)
end)

describe("gradient clipping", function()
   local function grads()
      return {nn.Matrix{{3, 0}, {0, 0}}, nn.Matrix{{0, 4}}}
   end

   it("returns the total norm and scales every gradient to maxNorm, as clip_grad_norm_", function()
      local g = grads()
      assert.are.equal(5, nn.clipGradNorm(g, 10))
      assert.is_true(g[1]:equal(grads()[1]))                  -- below: untouched
      assert.are.equal(5, nn.clipGradNorm(g, 1))
      assert.is_true(math.abs(g[1]:get(1, 1) - 3 / (5 + 1e-6)) < 1e-7)
      assert.is_true(math.abs(g[2]:get(1, 2) - 4 / (5 + 1e-6)) < 1e-7)
      g = grads()
      assert.are.equal(4, nn.clipGradNorm(g, 2, math.huge))
      assert.are.equal(7, nn.clipGradNorm(grads(), 100, 1))
      -- a network's own gradients
      local net = nn.Sequential{nn.Linear(2, 2)}
      net:forward(nn.ones(1, 2))
      net:zeroGrad()
      net:backward(nn.ones(1, 2), nn.Matrix{{30, 40}})
      assert.is_true(math.abs(nn.clipGradNorm(net, 1) - math.sqrt(2 * 2500 + 2500)) < 1e-3)
   end)

   it("with a NaN or infinite total: NaN gradients, or an error that changes nothing", function()
      local g = grads()
      g[2]:set(1, 1, 0 / 0)
      local total = nn.clipGradNorm(g, 1)
      assert.is_true(total ~= total)
      assert.is_true(g[1]:get(1, 1) ~= g[1]:get(1, 1))       -- as PyTorch's default
      g = grads()
      g[2]:set(1, 1, math.huge)
      has(err(nn.clipGradNorm, g, 1, 2, {errorIfNonfinite = true}),
         "nn.clipGradNorm: the total norm of order 2 of the gradients is inf, so it cannot be clipped")
      assert.are.equal(3, g[1]:get(1, 1))
   end)

   it("clamps every element with clipGradValue, NaN kept", function()
      local g = {nn.Matrix{{-3, 0.2, 0 / 0, 9}}}
      nn.clipGradValue(g, 1)
      assert.are.equal(-1, g[1]:get(1))
      assert.is_true(math.abs(g[1]:get(2) - 0.2) < 1e-7)
      assert.is_true(g[1]:get(3) ~= g[1]:get(3))
      assert.are.equal(1, g[1]:get(4))
   end)

   it("names a wrong argument", function()
      has(err(nn.clipGradNorm, 5, 1),
         "nn.clipGradNorm: expected a network (with parameters()) or a list of gradient matrices, got number")
      has(err(nn.clipGradNorm, grads(), -1), "nn.clipGradNorm: maxNorm must be a number >= 0, got -1")
      has(err(nn.clipGradNorm, grads(), 0 / 0), "maxNorm must be a number >= 0")
      has(err(nn.clipGradNorm, grads(), 1, 0), "nn.clipGradNorm: normType must be a number > 0")
      has(err(nn.clipGradNorm, grads(), 1, 2, {error = true}), "unknown option 'error' (expected errorIfNonfinite)")
      has(err(nn.clipGradNorm, {nn.ones(1, 1), 3}), "nn.clipGradNorm: grads[2] is number, expected an nn.Matrix")
      has(err(nn.clipGradValue, grads(), -1), "nn.clipGradValue: v must be a number >= 0, got -1")
      has(err(nn.clipGradValue, grads()), "nn.clipGradValue: v must be a number >= 0, got nil")
      local net = nn.Sequential{nn.Linear(2, 2)}
      local X, Y = nn.randn(8, 2), nn.ones(8, 1)
      has(err(nn.fit, net, nn.CrossEntropyLoss(), nn.SGD(net, {lr = 0.1}), X, Y, {clip = {value = 1, maxNorm = 1}}),
         "nn.fit: clip must give maxNorm (and normType) or value")
      has(err(nn.fit, net, nn.CrossEntropyLoss(), nn.SGD(net, {lr = 0.1}), X, Y, {clip = -2}),
         "nn.fit: clip: maxNorm must be a number >= 0, got -2")
   end)
end)

describe("a steady loop over sequences", function()
   it("allocates nothing: embedding, layer norm, a Linear per step, the loss, clipping, the step", function()
      nn.seed(11)
      local net = nn.Sequential{nn.Embedding(20, 8, {paddingIndex = 1}), nn.LayerNorm(8), nn.ReLU(),
                                nn.Linear(8, 20, {sequence = true})}
      local crit = nn.CrossEntropyLoss{sequence = true, ignoreIndex = 0}
      local opt = nn.Adam(net, {lr = 1e-3})
      local x, y = ids(4, 7, 20), ids(4, 7, 20)
      y:set(1, 1, 0)
      local function step()
         opt:zeroGrad()
         local out = net:forward(x)
         crit:forward(out, y)
         net:backward(x, crit:backward(out, y), false)
         nn.clipGradNorm(opt.grads, 1)
         nn.clipGradValue(opt.grads, 0.5)
         opt:step()
      end
      local grown = H.growthnojit(step)
      assert.is_true(grown < 1, ("grew %.2f KB over 200 steps"):format(grown))
   end)
end)
