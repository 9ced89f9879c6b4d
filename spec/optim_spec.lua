local nn = require "nn"
local H = require "helpers"

-- a small classification problem and a net to train on it
local function problem()
   nn.seed(21)
   local x, t = nn.randn(64, 4), {}
   for i = 1, 64 do
      t[i] = (x:get(i, 1) > 0 and 1 or 2) + (x:get(i, 2) + x:get(i, 3) > 0 and 1 or 0)
   end
   local net = nn.Sequential{nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3)}
   return net, nn.CrossEntropyLoss(), x, t
end

local function train(net, crit, x, t, opt, n)
   local L
   for _ = 1, n do
      opt:zeroGrad()
      local y = net:forward(x)
      L = crit:forward(y, t)
      net:backward(x, crit:backward(y, t))
      opt:step()
   end
   return L
end

local configs = {
   {"SGD", {lr = 0.1}},
   {"SGD", {lr = 0.1, momentum = 0.9}},
   {"SGD", {lr = 0.05, momentum = 0.8, dampening = 0.3, weightDecay = 0.01}},
   {"SGD", {lr = 0.1, momentum = 0.9, nesterov = true}},
   {"SGD", {lr = 0.1, momentum = 0.5, nesterov = true, weightDecay = 0.1}},
   {"Adam", {}},
   {"Adam", {lr = 0.01, betas = {0.8, 0.99}, eps = 1e-6, weightDecay = 0.1}},
   {"Adam", {lr = 0.01, amsgrad = true}},
   {"AdamW", {}},
   {"AdamW", {lr = 0.01, weightDecay = 0.5, amsgrad = true}},
   {"RMSprop", {}},
   {"RMSprop", {lr = 0.001, alpha = 0.9, momentum = 0.5}},
   {"RMSprop", {lr = 0.001, centered = true, weightDecay = 0.01}},
   {"RMSprop", {lr = 0.001, centered = true, momentum = 0.9}},
   {"Adagrad", {}},
   {"Adagrad", {lr = 0.1, lrDecay = 0.1, weightDecay = 0.01, initialAccumulatorValue = 0.1}},
}

describe("optimizers", function()
   it("each lowers the loss of a small net", function()
      for _, c in ipairs(configs) do
         local net, crit, x, t = problem()
         local L0 = crit:forward(net:forward(x), t)
         local opts = {}
         for k, v in pairs(c[2]) do opts[k] = v end
         if c[1] ~= "SGD" then opts.lr = opts.lr or 0.01 end
         local L = train(net, crit, x, t, nn[c[1]](net, opts), 100)
         assert.is_true(L < 0.7 * L0, ("%s: %g -> %g"):format(c[1], L0, L))
      end
   end)

   it("SGD does p = p - lr g, exactly", function()
      local p, g = nn.Matrix{{1, 2}}, nn.Matrix{{0.5, -1}}
      local opt = nn.SGD({p}, {g}, {lr = 0.1})
      opt:step()
      H.near(p, {{0.95, 2.1}})
      opt.lr = 1                      -- plain Lua field, read at each step
      opt:step()
      H.near(p, {{0.45, 3.1}})
   end)

   it("zeroGrad zeroes every gradient", function()
      local net = problem()
      local opt = nn.Adam(net)
      local x = nn.randn(2, 4)
      net:forward(x)
      net:backward(x, nn.ones(2, 3))
      opt:zeroGrad()
      for _, g in ipairs(opt.grads) do assert.are.equal(0, g:norm()) end
   end)

   it("resume bit for bit from state()/setState()", function()
      for _, c in ipairs(configs) do
         local opts = {}
         for k, v in pairs(c[2]) do opts[k] = v end
         opts.lr = opts.lr or 0.01
         local net, crit, x, t = problem()
         local opt = nn[c[1]](net, opts)
         train(net, crit, x, t, opt, 3)
         local saved = opt:state()
         local p0 = {}
         for i, p in ipairs(opt.params) do p0[i] = p:clone() end
         train(net, crit, x, t, opt, 4)
         local want = {}
         for i, p in ipairs(opt.params) do want[i] = p:totable() end
         -- a fresh optimizer on the restored parameters
         for i, p in ipairs(opt.params) do p:copy(p0[i]) end
         local opt2 = nn[c[1]](net, {lr = 123})
         opt2:setState(saved)
         train(net, crit, x, t, opt2, 4)
         for i, p in ipairs(opt2.params) do
            assert.are.same(want[i], p:totable(), c[1] .. " parameter " .. i)
         end
         assert.are.equal(opt.lr, opt2.lr)
      end
   end)

   it("reject bad states", function()
      local net = problem()
      local opt = nn.SGD(net, {lr = 0.1, momentum = 0.9})
      assert.has_error(function() opt:setState({}) end,
         "SGD:setState: expected a state from SGD:state()")
      assert.has_error(function() opt:setState(nn.Adam(net):state()) end,
         "SGD:setState: expected a state from SGD:state()")
      local s = opt:state()
      s.buffers.momentum = {nn.Matrix(2, 2)}
      assert.has_error(function() opt:setState(s) end,
         "SGD:setState: buffer momentum[1] is 2 x 2, the parameter is 16 x 4")
      s = opt:state()
      s.buffers = 5
      assert.has_error(function() opt:setState(s) end,
         "SGD:setState: the state's buffers are not a table")
      s.buffers = {momentum = 5}
      assert.has_error(function() opt:setState(s) end,
         "SGD:setState: buffer list momentum is not a table")
      s = opt:state()
      s.options.lr = -1
      assert.has_error(function() opt:setState(s) end,
         "SGD:setState: lr must be a float32 number >= 0, got -1")
      assert.are.equal(0.1, opt.lr)
   end)

   it("reject invalid options", function()
      local net = problem()
      local cases = {
         {"SGD", {lr = -1}, "nn.SGD: lr must be a float32 number >= 0, got -1"},
         {"SGD", {}, "nn.SGD: lr is required"},
         {"SGD", {lr = 0.1, momentum = 1}, "nn.SGD: momentum must be a number in [0, 1), got 1"},
         {"SGD", {lr = 0.1, momentum = -0.1}, "nn.SGD: momentum must be a number in [0, 1), got -0.1"},
         {"SGD", {lr = 0.1, nesterov = true}, "nn.SGD: nesterov needs momentum > 0 and dampening 0"},
         {"SGD", {lr = 0.1, momentum = 0.9, dampening = 0.1, nesterov = true},
          "nn.SGD: nesterov needs momentum > 0 and dampening 0"},
         {"SGD", {lr = 0.1, moment = 0.9},
          "nn.SGD: unknown option 'moment' (expected dampening, lr, momentum, nesterov, weightDecay)"},
         {"SGD", {lr = 0 / 0}, "nn.SGD: lr must be a float32 number >= 0, got " .. tostring(0 / 0)},
         {"SGD", {lr = "0.1"}, "nn.SGD: lr must be a float32 number >= 0, got 0.1"},
         {"Adam", {betas = {0.9}}, "nn.Adam: betas must be a pair {beta1, beta2} of numbers in [0, 1), got "},
         {"Adam", {weightDecay = -1}, "nn.Adam: weightDecay must be a float32 number >= 0, got -1"},
         {"AdamW", {eps = -1}, "nn.AdamW: eps must be a float32 number >= 0, got -1"},
         {"RMSprop", {alpha = 1.5}, "nn.RMSprop: alpha must be a number in [0, 1), got 1.5"},
         {"RMSprop", {centered = 1}, "nn.RMSprop: centered must be a boolean, got 1"},
         {"Adagrad", {lrDecay = -1}, "nn.Adagrad: lrDecay must be a number >= 0, got -1"},
      }
      for _, c in ipairs(cases) do
         local ok, msg = pcall(nn[c[1]], net, c[2])
         assert.is_false(ok, c[3])
         assert.truthy(tostring(msg):find(c[3], 1, true),
            ("expected %q, got %q"):format(c[3], tostring(msg)))
      end
      local opt = nn.SGD(net, {lr = 0.1})
      opt.lr = -0.5
      assert.has_error(function() opt:step() end, "SGD:step: lr must be a float32 number >= 0, got -0.5")
      assert.has_error(function() nn.SGD(5) end,
         "nn.SGD: expected a module, or a params, grads pair of Matrix lists")
      assert.has_error(function() nn.SGD({nn.Matrix(2, 2)}, {nn.Matrix(2, 3)}, {lr = 1}) end,
         "nn.SGD: params[1] is 2 x 2 but grads[1] is 2 x 3")
      assert.has_error(function() nn.SGD({nn.Matrix(2, 2)}, {}, {lr = 1}) end,
         "nn.SGD: 1 params but 0 grads")
   end)

   -- The update kernels run four elements at a time (SSE2) and the rest one
   -- by one: an element must get the same bits either way.
   it("update each element the same in a SIMD lane as alone", function()
      local cases = {
         {"Adam", {lr = 0.01}}, {"Adam", {lr = 0.01, weightDecay = 0.1, amsgrad = true}},
         {"AdamW", {lr = 0.01, weightDecay = 0.1}}, {"RMSprop", {lr = 0.01}},
         {"RMSprop", {lr = 0.01, centered = true, momentum = 0.9, weightDecay = 0.1}},
         {"Adagrad", {lr = 0.1, weightDecay = 0.1, lrDecay = 0.01}},
         {"SGD", {lr = 0.1, momentum = 0.9, nesterov = true, weightDecay = 0.01}},
      }
      for _, c in ipairs(cases) do
         local kind, n = c[1], 13                       -- 3 lanes of 4, then 1
         nn.seed(3)
         local P, G = nn.randn(1, n, 1e-4), nn.Matrix(1, n)   -- small: every bit of the update shows
         local ps, gs = {}, {}
         for j = 1, n do ps[j], gs[j] = nn.Matrix(1, 1, P:get(1, j)), nn.Matrix(1, 1) end
         local function copy(t) local o = {} for k, v in pairs(t) do o[k] = v end return o end
         local whole, alone = nn[kind]({P}, {G}, copy(c[2])), nn[kind](ps, gs, copy(c[2]))
         for _ = 1, 5 do
            G:copy(nn.randn(1, n))
            for j = 1, n do gs[j]:set(1, 1, G:get(1, j)) end
            whole:step()
            alone:step()
         end
         for j = 1, n do
            assert.are.equal(P:get(1, j), ps[j]:get(1, 1), kind .. " element " .. j)
         end
      end
   end)

   -- A dead unit's momentum decays through the subnormal range, where x86
   -- arithmetic is some 100 times slower: the updates flush subnormal
   -- state to zero (csrc/k_optim.c), and leave the caller's floating-point
   -- mode as it was.  (valgrind does not model FTZ and DAZ: not there.)
   local flushes = H.sanitized == "valgrind" and pending or it
   flushes("flush subnormal state to zero and leave the FP mode alone", function()
      local tiny = 1e-39                          -- subnormal as a float
      for _, c in ipairs{{"SGD", {lr = 1, momentum = 0.9}}, {"Adam", {lr = 1}},
                         {"RMSprop", {lr = 1, momentum = 0.5}}} do
         local P, G = nn.Matrix(1, 9), nn.Matrix(1, 9):fill(tiny)
         local opt = nn[c[1]]({P}, {G}, c[2])
         opt:step()
         G:fill(0)
         for _ = 1, 3 do opt:step() end
         for j = 1, 9 do
            assert.are.equal(0, P:get(1, j), c[1] .. " element " .. j)
         end
      end
      -- Lua's own doubles still go subnormal (not folded: computed here)
      local half = tonumber("0.5")
      assert.is_true(2.2250738585072014e-308 * half > 0)
   end)

   it("print their settings", function()
      local opt = nn.SGD({nn.Matrix(1, 1)}, {nn.Matrix(1, 1)}, {lr = 0.5, momentum = 0.9})
      assert.are.equal("nn.SGD{dampening = 0, lr = 0.5, momentum = 0.9, nesterov = false, weightDecay = 0}",
         tostring(opt))
   end)
end)

describe("learning-rate schedules", function()
   local function opt() return nn.SGD({nn.Matrix(1, 1)}, {nn.Matrix(1, 1)}, {lr = 1}) end

   it("step decay multiplies by gamma every `every` epochs", function()
      local o = opt()
      local s = nn.schedule.step(o, 10, 0.5)
      assert.are.equal(1, s(0))
      assert.are.equal(1, s(9))
      assert.are.equal(0.5, s(10))
      assert.are.equal(0.25, s(25))
      assert.are.equal(0.25, o.lr)
   end)

   it("exponential multiplies by gamma each epoch", function()
      local o = opt()
      local s = nn.schedule.exponential(o, 0.9)
      assert.are.equal(1, s(0))
      assert.is_true(math.abs(s(3) - 0.729) < 1e-12)
   end)

   it("cosine falls from the base rate to the minimum", function()
      local o = opt()
      local s = nn.schedule.cosine(o, 10, 0.1)
      assert.are.equal(1, s(0))
      assert.is_true(math.abs(s(5) - 0.55) < 1e-12)
      assert.is_true(math.abs(s(10) - 0.1) < 1e-12)
      assert.is_true(math.abs(s(20) - 0.1) < 1e-12)
   end)

   it("check their arguments", function()
      assert.has_error(function() nn.schedule.step({}, 10) end,
         "nn.schedule.step: expected an optimizer")
      assert.has_error(function() nn.schedule.step(opt(), 0) end,
         "nn.schedule.step: every must be a number > 0, got 0")
      assert.has_error(function() nn.schedule.cosine(opt(), -1) end,
         "nn.schedule.cosine: tmax must be a number > 0, got -1")
   end)
end)

describe("optimizers against torch.optim", function()
   if not H.have_torch() then
      pending("/usr/bin/python3 with torch is not installed (apt-get install python3-torch)")
      return
   end

   it("match PyTorch's parameters after 5 steps on the same gradients", function()
      nn.seed(77)
      local cases = {}
      for _, c in ipairs(configs) do
         local grads = {}
         for k = 1, 5 do grads[k] = nn.randn(6, 5) end
         cases[#cases + 1] = {opt = c[1], options = c[2], p0 = nn.randn(6, 5),
                              grads = grads}
      end
      local ref = H.torch("spec/xcheck/torch_optim.py", cases)
      for i, c in ipairs(cases) do
         local p, g = c.p0:clone(), nn.Matrix(6, 5)
         local opt = nn[c.opt]({p}, {g}, c.options)
         for k = 1, 5 do
            g:copy(c.grads[k])
            opt:step()
         end
         local e = H.xerr(p, ref[i])
         assert.is_true(e < 1e-5, ("%s %s: %g"):format(c.opt, H.pylit(c.options), e))
      end
   end)
end)

describe("an optimizer's step", function()
   -- A step is one job on nn.threads's threads for up to 64 parameters,
   -- each thread a share of each (csrc/optim.c): on 2 and 3 threads, 70
   -- tensors (big ones across parts, ends not whole vectors, tiny ones
   -- between; the first 64 in parts of several tensors) take the same
   -- bits as each alone on one thread.
   it("updates many parameters as each alone, on any number of threads", function()
      local sizes = {}
      for i = 1, 70 do sizes[i] = {1, (i * 7) % 5 + 1} end
      sizes[3], sizes[20], sizes[40], sizes[60] = {101, 300}, {250, 99}, {3, 8001}, {128, 200}
      sizes[66] = {200, 170}                    -- the first 64 in one job, the rest in another
      local kinds = {{"SGD", {lr = 0.1, momentum = 0.9, dampening = 0.1}},
                     {"SGD", {lr = 0.1, momentum = 0.9, nesterov = true, weightDecay = 0.01}},
                     {"Adam", {lr = 0.01, amsgrad = true}},
                     {"RMSprop", {lr = 0.01, centered = true, momentum = 0.5}},
                     {"Adagrad", {lr = 0.1, lrDecay = 0.01}}}
      for _, threads in ipairs{2, 3} do
         for _, c in ipairs(kinds) do
            nn.seed(5)
            local P, G, Q, H2 = {}, {}, {}, {}
            for i, sz in ipairs(sizes) do
               P[i], G[i] = nn.randn(sz[1], sz[2]), nn.Matrix(sz[1], sz[2])
               Q[i], H2[i] = P[i]:clone(), nn.Matrix(sz[1], sz[2])
            end
            local all, alone = nn[c[1]](P, G, c[2]), {}
            for i = 1, #P do alone[i] = nn[c[1]]({Q[i]}, {H2[i]}, c[2]) end
            for _ = 1, 3 do
               for i = 1, #P do
                  G[i]:copy(nn.randn(sizes[i][1], sizes[i][2]))
                  H2[i]:copy(G[i])
               end
               nn.threads(threads)
               all:step()
               nn.threads(1)
               for i = 1, #P do alone[i]:step() end
            end
            for i = 1, #P do
               assert.are.equal(0, (P[i] - Q[i]):norm(),
                  ("%s on %d threads: parameter %d"):format(c[1], threads, i))
            end
         end
      end
      nn.threads(1)
   end)

   it("refuses parameters that share memory, before any update", function()
      local a, b = nn.randn(4, 4), nn.randn(4, 4)
      local a0 = a:clone()
      local opt = nn.SGD({a, b, a}, {nn.ones(4, 4), nn.ones(4, 4), nn.ones(4, 4)},
                         {lr = 0.1, momentum = 0.9})
      assert.has_error(function() opt:step() end,
         "optim.sgd: params[1] and params[3] share memory (parameters, gradients and states must not overlap)")
      assert.are.equal(0, (a - a0):norm())
      local g = nn.ones(4, 4)
      local ok = nn.Adam({a, b}, {g, g})           -- a gradient read twice is fine
      ok:step()
      local rows = nn.randn(4, 4)
      local bad = nn.SGD({rows:narrow(1, 1, 3), rows:narrow(1, 3, 2)},
                         {nn.ones(3, 4), nn.ones(2, 4)}, {lr = 1})
      assert.has_error(function() bad:step() end,
         "optim.sgd: params[1] and params[2] share memory (parameters, gradients and states must not overlap)")
   end)

   it("zeroGrad clears a gradient listed twice", function()
      local g = nn.ones(300, 300)
      local opt = nn.SGD({nn.randn(300, 300), nn.randn(300, 300)}, {g, g}, {lr = 1})
      for _, threads in ipairs{1, 2} do
         nn.threads(threads)
         g:fill(1)
         opt:zeroGrad()
         assert.are.equal(0, g:norm())
      end
      nn.threads(1)
   end)

   -- step checked its options through a list of their names sorted anew,
   -- and Adam's betas through a closure made anew, every time: about 370
   -- bytes a step for the collector
   it("allocates nothing, for every kind and its options", function()
      local p, g = nn.randn(3, 4), nn.randn(3, 4)
      for _, c in ipairs{{"SGD", {lr = 0.1, momentum = 0.9, nesterov = true}},
                         {"Adam", {amsgrad = true}}, {"AdamW", {}},
                         {"RMSprop", {centered = true, momentum = 0.5}}, {"Adagrad", {}}} do
         local opt = nn[c[1]]({p}, {g}, c[2])
         local grown = H.growthnojit(function() opt:step() end)
         assert.is_true(grown < 1, ("%s: grew %.2f KB over 200 steps"):format(c[1], grown))
      end
   end)
end)
