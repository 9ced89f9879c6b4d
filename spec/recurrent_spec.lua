-- The recurrent layers (issue #25 §1): nn.RNN, nn.LSTM, nn.GRU.  What the
-- registry's loops do not reach: PyTorch's outputs, every gradient, the
-- final states and dL/d(initial state) over a grid (lengths 1 to 12,
-- batch 1 and 3, 1 and 2 layers, one direction and both, every step or
-- the last, zero or given initial states); finite differences of dL/dh0;
-- the state API (setState, state, step, gradState); dropout between
-- layers; a PyTorch LSTM's state dict both ways; no allocation in a
-- steady training loop or generation loop; and the errors.  The registry's
-- examples also run through the hostile sweep, the export, arguments,
-- gradcheck, crossversion and PyTorch cross-check specs.
local nn = require "nn"
local H = require "helpers"
local err, has = H.err, H.has

local function flat(M)
   local t = {}
   for _, row in ipairs(M:totable()) do
      for _, v in ipairs(row) do t[#t + 1] = v end
   end
   return t
end

local KINDS = {{"RNN", false}, {"RNN", true}, {"LSTM"}, {"GRU"}}

local function make(kind, relu, D, Hs, opts)
   if kind == "RNN" then opts.nonlinearity = relu and "relu" or "tanh" end
   return nn[kind](D, Hs, opts)
end

-- ---- the grid against PyTorch ---------------------------------------------

local function grid()
   nn.seed(25)
   local cases, k = {}, 0
   for _, kr in ipairs(KINDS) do
      for T = 1, 12 do
         for _, n in ipairs{1, 3} do
            for _, L in ipairs{1, 2} do
               for _, bidir in ipairs{false, true} do
                  k = k + 1
                  local last = k % 3 == 0
                  local bias = k % 5 ~= 0
                  local D, Hs = 3, 4 + k % 3         -- H 4, 5, 6: vector remainders
                  local m = make(kr[1], kr[2], D, Hs, {layers = L, bidirectional = bidir,
                     bias = bias, returns = last and "last" or "all"})
                  local state = {}
                  for key, v in pairs(nn.stateDict(m)) do state[key] = flat(v[1]) end
                  local x = nn.randn(n, T * D)
                  local c = {kind = kr[1], relu = kr[2] or false, D = D, H = Hs, L = L,
                     bidir = bidir, bias = bias, last = last, state = state, x = x, module = m}
                  local LdH = L * (bidir and 2 or 1) * Hs
                  if k % 2 == 0 then                 -- a given initial state
                     c.h0 = nn.randn(n, LdH)
                     if kr[1] == "LSTM" then c.c0 = nn.randn(n, LdH) end
                  end
                  c.gy = nn.randn(n, m:outputSize(T * D))
                  c.name = ("%s T %d n %d: %s%s"):format(tostring(m), T, n,
                     c.h0 and "h0 given" or "zeros", kr[2] and " (relu)" or "")
                  cases[#cases + 1] = c
               end
            end
         end
      end
   end
   -- wider: H 37 and 64 (the kernels' vector loops and their remainders),
   -- 20 steps, batch 5
   for _, kr in ipairs(KINDS) do
      for _, Hs in ipairs{37, 64} do
         local m = make(kr[1], kr[2], 11, Hs, {layers = 2, bidirectional = Hs == 37})
         local state = {}
         for key, v in pairs(nn.stateDict(m)) do state[key] = flat(v[1]) end
         local c = {kind = kr[1], relu = kr[2] or false, D = 11, H = Hs, L = 2,
            bidir = Hs == 37, bias = true, last = false, state = state,
            x = nn.randn(5, 20 * 11), module = m, gy = nn.randn(5, 20 * (Hs == 37 and 74 or 64)),
            name = tostring(m) .. " T 20 n 5"}
         cases[#cases + 1] = c
      end
   end
   return cases
end

describe("the recurrent layers against PyTorch", function()
   if not H.have_torch() then
      pending("/usr/bin/python3 with torch is not installed (apt-get install python3-torch)")
      return
   end

   it("agree on outputs, dL/dx, every parameter's gradient, final states and dL/d(initial state)",
      function()
      local cases = grid()
      assert.is_true(#cases >= 384, #cases .. " cases")
      local ref = H.torch("spec/xcheck/torch_recurrent.py", cases)
      assert.are.equal(#cases, #ref)
      local TOL, worst = 1e-4, 0
      local function check(what, c, got, want)
         local e = H.xerr(got, want)
         worst = math.max(worst, e)
         assert.is_true(e < TOL, ("%s: %s: %g"):format(c.name, what, e))
      end
      for i, c in ipairs(cases) do
         local m, r = c.module, ref[i]
         if c.h0 then m:setState(c.h0, c.c0) else m:setState() end
         m:zeroGrad()
         check("output", c, m:forward(c.x), r.y)
         local h, cell = m:state()
         check("final h", c, h, r.hn)
         if r.cn then check("final c", c, cell, r.cn) end
         check("dL/dx", c, m:backward(c.x, c.gy), r.gx)
         local dh0, dc0 = m:gradState()
         check("dL/dh0", c, dh0, r.dh0)
         if r.dc0 then check("dL/dc0", c, dc0, r.dc0) end
         for _, t in ipairs(m:tensors()) do
            check("gradient of " .. t.torch, c, {flat(t.gradient)}, r.grads[t.torch])
         end
      end
      if os.getenv("XCHECK_VERBOSE") then io.stderr:write(("recurrent grid: worst %.3g\n"):format(worst)) end
   end)

   it("load a PyTorch LSTM's state dict with equal outputs, and give theirs back", function()
      local dir = H.tmpdir()
      local ok, out = H.run(("env -u LD_PRELOAD /usr/bin/python3 spec/xcheck/torch_lstm_weights.py make %s")
         :format(dir))
      assert.is_true(ok, out)
      local lstm = nn.LSTM(5, 7, {layers = 2, bidirectional = true})
      nn.loadStateDict(lstm, nn.safetensors.load(dir .. "/torch.safetensors"))
      local x = nn.npy.load(dir .. "/x.npy")
      local y = lstm:forward(x)
      local diff = (y - nn.npy.load(dir .. "/y_torch.npy")):abs():max()
      assert.is_true(diff < 1e-6, ("outputs differ from PyTorch's by %g"):format(diff))
      local h, c = lstm:state()
      assert.is_true((h - nn.npy.load(dir .. "/h_torch.npy")):abs():max() < 1e-6)
      assert.is_true((c - nn.npy.load(dir .. "/c_torch.npy")):abs():max() < 1e-6)
      -- and back: lua-nn's state dict into PyTorch's LSTM
      nn.safetensors.save(dir .. "/lua.safetensors", nn.stateDict(lstm))
      nn.npy.save(dir .. "/y_lua.npy", y)
      ok, out = H.run(("env -u LD_PRELOAD /usr/bin/python3 spec/xcheck/torch_lstm_weights.py check %s")
         :format(dir))
      assert.is_true(ok, out)
      local back = tonumber(out:match("maxdiff (%S+)"))
      assert.is_true(back ~= nil and back < 1e-6, out)
      os.execute("rm -rf '" .. dir .. "'")
   end)
end)

-- ---- finite differences where the registry's gradcheck does not go ------

describe("the recurrent layers' gradients", function()
   it("hold finite differences with dropout between layers (its masks fixed by the seed)", function()
      for _, kr in ipairs(KINDS) do
         nn.seed(3)
         local m = make(kr[1], kr[2], 2, 3, {layers = 3, dropout = 0.4, bidirectional = true})
         local e, where = nn.gradcheck(m, nn.randn(2, 10))
         assert.is_true(e < 1e-2, tostring(m) .. ": " .. where)
      end
   end)

   it("give dL/dh0 and dL/dc0 as finite differences of a given initial state do", function()
      for _, kr in ipairs(KINDS) do
         nn.seed(4)
         local m = make(kr[1], kr[2], 3, 4, {layers = 2, bidirectional = true})
         local x = nn.randn(2, 15)
         local LdH = 2 * 2 * 4
         local h0, c0 = nn.randn(2, LdH), kr[1] == "LSTM" and nn.randn(2, LdH) or nil
         local R = nn.randn(2, m:outputSize(15))
         local function L()
            m:setState(h0, c0)
            return m:forward(x):dot(R)
         end
         L()
         m:backward(x, R)
         local dh0, dc0 = m:gradState()
         dh0, dc0 = dh0:clone(), dc0 and dc0:clone()
         local hstep = 1e-2
         for _, pair in ipairs{{h0, dh0}, {c0, dc0}} do
            local v, g = pair[1], pair[2]
            if v then
               for i = 1, 2 do
                  for j = 1, LdH do
                     local old = v:get(i, j)
                     v:set(i, j, old + hstep)
                     local up = L()
                     v:set(i, j, old - hstep)
                     local down = L()
                     v:set(i, j, old)
                     local num = (up - down) / (2 * hstep)
                     local e = math.abs(num - g:get(i, j)) / math.max(math.abs(num), 1e-2)
                     assert.is_true(e < 1e-2, ("%s: state (%d, %d): analytic %g, numeric %g")
                        :format(tostring(m), i, j, g:get(i, j), num))
                  end
               end
            end
         end
      end
   end)
end)

-- ---- the state --------------------------------------------------------------

describe("the recurrent layers' state", function()
   it("step goes on from where the last forward or step ended, as one forward over the whole", function()
      for _, kr in ipairs(KINDS) do
         for _, L in ipairs{1, 2} do
            nn.seed(5)
            local m = make(kr[1], kr[2], 3, 5, {layers = L})
            local x = nn.randn(2, 3 * 7)
            local whole = m:forward(x):clone()
            local h, c = m:state()
            h, c = h:clone(), c and c:clone()
            -- the first 3 steps by forward, then one step at a time
            local y = m:forward(x:getcols(1, 9)):clone()
            for t = 1, 3 do
               assert.is_true(y:getcols((t - 1) * 5 + 1, 5):equal(whole:getcols((t - 1) * 5 + 1, 5), 1e-6))
            end
            for t = 4, 7 do
               local yt = m:step(x:getcols((t - 1) * 3 + 1, 3))
               assert.is_true(yt:equal(whole:getcols((t - 1) * 5 + 1, 5), 1e-6), tostring(m) .. " step " .. t)
            end
            local h2, c2 = m:state()
            assert.is_true(h2:equal(h, 1e-6))
            if c then assert.is_true(c2:equal(c, 1e-6)) end
            -- forward starts from zeros again, whatever step did
            assert.is_true(m:forward(x):equal(whole))
         end
      end
   end)

   it("starts forward from setState's state, and step from it too; setState() is zeros again", function()
      nn.seed(6)
      local m = nn.LSTM(2, 3, {layers = 2})
      local x = nn.randn(4, 2 * 5)
      local zero = m:forward(x):clone()
      local h0, c0 = nn.randn(4, 6), nn.randn(4, 6)
      assert.are.equal(m, m:setState(h0, c0))
      local h, c = m:state()
      assert.is_true(h:equal(h0) and c:equal(c0))
      local y = m:forward(x):clone()
      assert.is_false(y:equal(zero))
      assert.is_true(m:forward(x):equal(y))          -- the set state stays
      h0:fill(0)                                     -- a copy was taken
      assert.is_true(m:forward(x):equal(y))
      -- steps from the set state: the same as forward from it
      m:setState(nn.ones(4, 6), nn.ones(4, 6))
      local want = m:forward(x):clone()
      m:setState(nn.ones(4, 6), nn.ones(4, 6))
      for t = 1, 5 do
         assert.is_true(m:step(x:getcols((t - 1) * 2 + 1, 2)):equal(want:getcols((t - 1) * 3 + 1, 3), 1e-6))
      end
      -- the state a forward left, given back: forward goes on from it
      m:setState()
      local first = m:forward(x:getcols(1, 4)):clone()
      m:setState(m:state())
      local rest = m:forward(x:getcols(5, 6))
      assert.is_true(first:equal(zero:getcols(1, 6), 1e-6))
      assert.is_true(rest:equal(zero:getcols(7, 9), 1e-6))
      m:setState()
      assert.is_nil(m:state())
      assert.is_true(m:forward(x):equal(zero))
      -- a GRU's and an RNN's state is h alone; one direction's state is
      -- its block of each row, PyTorch's h_n transposed
      local g = nn.GRU(2, 3, {bidirectional = true})
      g:setState(nn.randn(4, 6))
      local yg = g:forward(x)
      local hg = g:state()
      assert.is_true(hg:getcols(1, 3):equal(yg:getcols(4 * 6 + 1, 3)))      -- forward: step 5
      assert.is_true(hg:getcols(4, 3):equal(yg:getcols(4, 3)))              -- reverse: step 1
      assert.is_nil(select(2, g:state()))
   end)

   it("returns the top layer's final states with returns = \"last\", which step carries", function()
      nn.seed(7)
      for _, kr in ipairs(KINDS) do
         local all = make(kr[1], kr[2], 3, 4, {layers = 2, bidirectional = true})
         local last = make(kr[1], kr[2], 3, 4, {layers = 2, bidirectional = true, returns = "last"})
         nn.loadStateDict(last, nn.stateDict(all))
         local x = nn.randn(3, 3 * 6)
         local y, yl = all:forward(x), last:forward(x)
         assert.are.same({3, 8}, {yl:shape()})
         assert.are.equal(8, last:outputSize(3 * 6))
         assert.is_true(yl:getcols(1, 4):equal(y:getcols(5 * 8 + 1, 4)))   -- forward's step 6
         assert.is_true(yl:getcols(5, 4):equal(y:getcols(5, 4)))           -- reverse's step 1
         assert.is_true(yl:equal(last:state():getcols(9, 8)))               -- layer 2's blocks
         assert.is_nil(last.outputStep)
         assert.are.equal(8, all.outputStep)
         assert.are.equal(3, last.inputStep)
      end
   end)

   it("refuses a state of the wrong shape, naming the layer, the method and the layout", function()
      local m = nn.LSTM(2, 3, {layers = 2, bidirectional = true})
      has(err(m.setState, m, nn.ones(1, 5), nn.ones(1, 12)),
         "LSTM:setState: h has 5 columns, expected 12 (2 layers x 2 directions x 3)")
      has(err(m.setState, m, nn.ones(1, 12)), "LSTM:setState: an LSTM's state is h and c (each n x 12)")
      has(err(m.setState, m, nn.ones(1, 12), nn.ones(2, 12)), "LSTM:setState: h has 1 rows, c 2")
      has(err(m.setState, m, {}, nn.ones(1, 12)), "LSTM:setState: h must be an nn.Matrix (n x 12")
      has(err(m.setState, m, nil, nn.ones(1, 12)), "LSTM:setState: c without h")
      local g = nn.GRU(2, 3)
      has(err(g.setState, g, nn.ones(1, 3), nn.ones(1, 3)), "GRU:setState: takes h only (only an LSTM has a cell state)")
      g:setState(nn.ones(2, 3))
      has(err(g.forward, g, nn.ones(3, 4)), "GRU:forward: the state setState gave has 2 rows, the input 3")
      g:setState()
      g:forward(nn.ones(2, 4))
      has(err(g.step, g, nn.ones(5, 2)), "GRU:step: the state has 2 rows, the input 5 (setState() starts again from zeros)")
      has(err(g.step, g, nn.ones(2, 3)), "GRU:step: input has 3 columns, expected a multiple of 2")
      assert.are.equal(2, g:step(nn.ones(2, 2)):shape())
      has(err(nn.Linear(2, 2).forward, nn.Linear(2, 2), {}), "Linear:forward")
      assert.is_nil(nn.Linear(2, 2).step)
      has(err(g.state, nn.Linear(2, 2)), "state: not a recurrent layer")
      -- backward needs the forward of the same shape
      local l = nn.LSTM(2, 3)
      has(err(l.backward, l, nn.ones(1, 4), nn.ones(1, 6)),
         "LSTM:backward: no forward on a 1 x 4 input")
      local last = nn.LSTM(2, 3, {returns = "last"})
      last:forward(nn.ones(1, 4))
      has(err(last.backward, last, nn.ones(1, 6), nn.ones(1, 3)),
         "LSTM:backward: no forward on a 1 x 6 input to go back through")
      assert.is_nil(nn.LSTM(2, 3):gradState())
   end)
end)

describe("the recurrent layers' constructors", function()
   it("take PyTorch's options by lua-nn's names and refuse the rest", function()
      assert.are.equal("nn.LSTM(3 -> 4, 2 layers, bidirectional, dropout 0.25, no bias, last step)",
         tostring(nn.LSTM(3, 4, {layers = 2, bidirectional = true, dropout = 0.25, bias = false,
                                 returns = "last"})))
      assert.are.equal("nn.RNN(3 -> 4, relu)", tostring(nn.RNN(3, 4, {nonlinearity = "relu"})))
      has(err(nn.LSTM, 3, 4, {nonlinearity = "relu"}),
         "nn.LSTM: unknown option 'nonlinearity' (expected layers, bidirectional, dropout, bias, returns)")
      has(err(nn.GRU, 3, 4, {dropout = 1}), "nn.GRU: dropout must be in [0, 1), got 1")
      has(err(nn.GRU, 3, 4, {returns = "first"}), "nn.GRU: option returns must be")
      has(err(nn.RNN, 3, 4, {nonlinearity = "sigmoid"}), "nn.RNN: option nonlinearity must be")
      has(err(nn.LSTM, 0, 4), "nn.LSTM: argument 1 (inputSize) must be a whole number from 1")
      has(err(nn.LSTM, 3, "4"), "nn.LSTM: argument 2 (hiddenSize) must be a whole number from 1")
      has(err(nn.LSTM, 3, 4, {layers = 5, bidirectional = true}),
         "nn.LSTM: 5 layers, bidirectional, with biases make 40 tensors, at most 32 (4 layers)")
      has(err(nn.LSTM, 3, 4, {layers = 0}), "nn.LSTM: option layers must be a whole number from 1 to 32")
      has(err(nn.LSTM, 3, 2 ^ 30), "too large")
      local m = nn.GRU(3, 4, {layers = 2})
      has(err(m.forward, m, nn.ones(2, 7)),
         "GRU:forward: input has 7 columns, expected a multiple of 3 (T steps of 3 features)")
      -- PyTorch's initialization: U(-1/sqrt(H), 1/sqrt(H)) everywhere
      for _, p in ipairs((nn.LSTM(3, 16, {layers = 2}):parameters())) do
         assert.is_true(p:abs():max() <= 0.25 and p:abs():max() > 0.2)
      end
   end)

   it("fit in a network: embedding, recurrence, a Linear per step; or the last state, then a Linear", function()
      local net = nn.Sequential{nn.Embedding(10, 4), nn.LSTM(4, 6, {layers = 2}),
                                nn.Linear(6, 10, {sequence = true})}
      local s = tostring(net)
      assert.truthy(s:find("nn.LSTM%(4 %-> 6, 2 layers%)%s+out Tx6 "), s)
      has(err(nn.Sequential, {nn.Embedding(10, 4), nn.GRU(5, 6)}),
         "layer 2 (nn.GRU(5 -> 6)) takes steps of 5 features, gets steps of 4")
      has(err(nn.Sequential, {nn.GRU(4, 6, {bidirectional = true}), nn.LayerNorm(6)}),
         "takes steps of 6 features, gets steps of 12")
      local cls = nn.Sequential{nn.Embedding(10, 4), nn.GRU(4, 6, {returns = "last"}), nn.Linear(6, 3)}
      local x = nn.rand(5, 8, 1, 11):apply(math.floor)
      assert.are.same({5, 3}, {cls:forward(x):shape()})
      assert.are.same({5, 8}, {cls:backward(x, nn.ones(5, 3)):shape()})
      -- saved and loaded with its outputs bit for bit
      local back = nn.deserialize(nn.serialize(cls))
      assert.are.equal(cls:forward(x):tobytes(), back:forward(x):tobytes())
   end)
end)

-- ---- dropout between layers -------------------------------------------------

describe("dropout between recurrent layers", function()
   it("drops in training only, as a Dropout on each layer's output but the last", function()
      nn.seed(8)
      local m = nn.GRU(3, 40, {layers = 2, dropout = 0.5})
      local plain = nn.GRU(3, 40, {layers = 2})
      nn.loadStateDict(plain, nn.stateDict(m))
      local x = nn.randn(4, 3 * 5)
      local a, b = m:forward(x):clone(), m:forward(x):clone()
      assert.is_false(a:equal(b))                          -- new masks each forward
      assert.is_false(a:equal(plain:forward(x)))
      m:evaluate()
      assert.is_true(m:forward(x):equal(plain:forward(x)))
      -- one layer: nothing to drop between
      local one = nn.LSTM(3, 4, {dropout = 0.5})
      local p1 = nn.LSTM(3, 4)
      nn.loadStateDict(p1, nn.stateDict(one))
      assert.is_true(one:forward(x):equal(p1:forward(x)))
   end)
end)

-- ---- no allocation ----------------------------------------------------------

describe("a steady loop through recurrent layers", function()
   it("allocates nothing: a training step, and generation a token at a time", function()
      for _, kind in ipairs{"RNN", "LSTM", "GRU"} do
         nn.seed(9)
         local net = nn.Sequential{nn.Embedding(12, 5), nn[kind](5, 8, {layers = 2, dropout = 0.1}),
                                   nn.Linear(8, 12, {sequence = true})}
         local crit = nn.CrossEntropyLoss{sequence = true}
         local opt = nn.Adam(net, {lr = 1e-3})
         local x = nn.rand(4, 6, 1, 13):apply(math.floor)
         local y = nn.rand(4, 6, 1, 13):apply(math.floor)
         local function step()
            opt:zeroGrad()
            local out = net:forward(x)
            crit:forward(out, y)
            net:backward(x, crit:backward(out, y), false)
            nn.clipGradNorm(opt.grads, 1)
            opt:step()
         end
         local grown = H.growthnojit(step)
         assert.is_true(grown < 1, ("%s training: grew %.2f KB over 200 steps"):format(kind, grown))
         -- generation: one id, one step
         net:evaluate()
         local emb, rnn, lin = net.modules[1], net.modules[2], net.modules[3]
         local tok = nn.Matrix(1, 1, 3)
         rnn:setState()
         local function gen()
            local logits = lin:forward(rnn:step(emb:forward(tok)))
            local _, _, j = logits:max()
            tok:set(1, 1, j)
         end
         grown = H.growthnojit(gen)
         assert.is_true(grown < 1, ("%s generation: grew %.2f KB over 200 steps"):format(kind, grown))
      end
   end)
end)
