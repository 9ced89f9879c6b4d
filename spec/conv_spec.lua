-- The image layers: Conv2d, MaxPool2d, AvgPool2d.  Gradient checks for
-- every option, the (C, H, W) layout, shapes through nn.Sequential, errors
-- that name shapes, model files and buffer reuse.  Agreement with PyTorch
-- over a grid of shapes is in xcheck_spec.
local nn = require "nn"
local H = require "helpers"

local TOL = 1e-2       -- as layers_spec: rounding ~1e-4, a wrong backward O(1)

local function err(f, ...)
   local ok, e = pcall(f, ...)
   assert.is_false(ok, "expected an error")
   return tostring(e)
end

describe("nn.Conv2d", function()
   it("convolves (C, H, W) rows: a hand-made case", function()
      -- one 1x3x3 image, one 2x2 kernel of ones, bias 1: sums of 2x2 blocks
      local c = nn.Conv2d(1, 1, 2, {input = {1, 3, 3}})
      c.weight = nn.Matrix{{1, 1, 1, 1}}
      c.bias = nn.Matrix{{1}}
      local y = c:forward(nn.Matrix{{1, 2, 3, 4, 5, 6, 7, 8, 9}})
      assert.are.same({{13, 17, 25, 29}}, y:totable())
      assert.are.same({1, 2, 2}, c.outputShape)
      assert.are.same({1, 3, 3}, c.inputShape)
      -- channels are the slowest index: two input channels, a kernel that
      -- reads only the second
      local d = nn.Conv2d(2, 1, 1, {input = {2, 1, 2}, bias = false})
      d.weight = nn.Matrix{{0, 1}}
      assert.are.same({{30, 40}}, d:forward(nn.Matrix{{1, 2, 30, 40}}):totable())
   end)

   it("has weight outC x (inC*kh*kw) and bias 1 x outC, and counts its parameters", function()
      local c = nn.Conv2d(3, 8, {5, 3}, {input = {3, 12, 10}})
      assert.are.same({8, 45}, {c.weight:shape()})
      assert.are.same({1, 8}, {c.bias:shape()})
      assert.are.equal(3 * 12 * 10, c.nin)
      assert.are.equal(8 * 8 * 8, c.nout)
      local p = c:parameters()
      assert.are.equal(2, #p)
      assert.are.equal(1, #nn.Conv2d(3, 8, 3, {bias = false}):parameters())
      -- kaiming: U(+-sqrt(6 / fan-in)) with fan-in 45
      local w = c.weight
      assert.is_true(w:max() <= math.sqrt(6 / 45) and w:min() >= -math.sqrt(6 / 45))
      assert.are.equal(0, c.bias:norm())
   end)

   it("passes the gradient check for every option", function()
      nn.seed(3)
      local cases = {
         {2, 3, 3, {input = {2, 5, 6}}},
         {1, 2, 3, {padding = 1, input = {1, 5, 5}}},
         {2, 2, {3, 2}, {stride = {2, 1}, padding = {1, 0}, input = {2, 7, 5}}},
         {1, 3, 3, {dilation = 2, padding = 2, input = {1, 6, 6}}},
         {3, 2, 1, {input = {3, 4, 3}}},                           -- 1x1: no im2col
         {2, 2, 1, {stride = 2, input = {2, 5, 5}, bias = false}},
         {1, 1, 5, {input = {1, 5, 5}}},                           -- kernel = image
      }
      for _, c in ipairs(cases) do
         local m = nn.Conv2d(c[1], c[2], c[3], c[4])
         for _, n in ipairs{1, 3} do
            local x = nn.randn(n, m.nin)
            local e, where = nn.gradcheck(m, x)
            assert.is_true(e < TOL, tostring(m) .. ": " .. tostring(where) .. " " .. e)
         end
      end
   end)

   it("gives the same bits on 1 thread and on 2 (im2col and direct)", function()
      nn.seed(31)
      for _, opts in ipairs{{padding = 1, stride = {1, 2}, input = {3, 9, 8}},
                            {padding = 1, input = {3, 9, 8}}} do
         local c = nn.Conv2d(3, 4, 3, opts)
         local x, gy = nn.randn(11, 3 * 9 * 8), nn.randn(11, c.nout)
         -- the count asked for is the count in force (the state's own pool)
         local function run(threads)
            local was = nn.threads()
            local now = nn.threads(threads)
            c:zeroGrad()
            local y = c:forward(x):clone()
            local gx = c:backward(x, gy):clone()
            local gw, gb = c.gradWeight:clone(), c.gradBias:clone()
            nn.threads(was)
            return now, {y, gx, gw, gb}
         end
         local one, a = run(1)
         assert.are.equal(1, one)
         local two, b = run(2)
         assert.are.equal(2, two)
         for i = 1, 4 do assert.is_true(a[i]:equal(b[i]), "result " .. i) end
      end
   end)

   it("skips dL/dx when asked, as Linear does, with the same parameter gradients", function()
      local c = nn.Conv2d(2, 3, 3, {input = {2, 6, 6}})
      local x, gy = nn.randn(4, 72), nn.randn(4, 3 * 16)
      c:zeroGrad()
      c:forward(x)
      assert.is_not_nil(c:backward(x, gy))
      local gw = c.gradWeight:clone()
      c:zeroGrad()
      assert.is_nil(c:backward(x, gy, false))
      assert.is_true(c.gradWeight:equal(gw, 1e-6))
   end)
end)

describe("nn.MaxPool2d and nn.AvgPool2d", function()
   it("pool each channel: a hand-made case", function()
      local x = nn.Matrix{{1, 2, 5, 6, 3, 4, 7, 8, 9, 10, 13, 14, 11, 12, 15, 16}}  -- 1x4x4
      local mp = nn.MaxPool2d(2, {input = {1, 4, 4}})
      assert.are.same({{4, 8, 12, 16}}, mp:forward(x):totable())
      local g = mp:backward(x, nn.Matrix{{1, 2, 3, 4}})
      assert.are.same({{0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4}}, g:totable())
      local ap = nn.AvgPool2d(2, {input = {1, 4, 4}})
      assert.are.same({{2.5, 6.5, 10.5, 14.5}}, ap:forward(x):totable())
      -- a NaN in a window wins, as in PyTorch
      local xn = x:clone():set(1, 1, 0 / 0)
      local y = mp:forward(xn)
      assert.is_true(y:get(1, 1) ~= y:get(1, 1))
   end)

   it("pass the gradient check", function()
      nn.seed(5)
      -- distinct values, so that no max is tied
      local function distinct(n, c)
         local x = nn.Matrix(n, c)
         local vals = {}
         for i = 1, n * c do vals[i] = i / 7 end
         for i = #vals, 2, -1 do
            local j = nn.random(i)
            vals[i], vals[j] = vals[j], vals[i]
         end
         return x:apply(function(_, i, j) return vals[(i - 1) * c + j] end)
      end
      for _, m in ipairs{
         nn.MaxPool2d(2, {input = {2, 6, 6}}),
         nn.MaxPool2d(3, {stride = 2, padding = 1, input = {1, 7, 7}}),
         nn.MaxPool2d({2, 3}, {stride = 1, dilation = {2, 1}, input = {2, 6, 5}}),
         nn.AvgPool2d(2, {input = {2, 6, 6}}),
         nn.AvgPool2d(3, {stride = 2, padding = 1, input = {1, 7, 7}}),
         nn.AvgPool2d(3, {stride = 2, padding = 1, countIncludePad = false, input = {1, 7, 7}}),
      } do
         local e, where = nn.gradcheck(m, distinct(2, m.nin))
         assert.is_true(e < TOL, tostring(m) .. ": " .. tostring(where) .. " " .. e)
      end
   end)
end)

describe("image layers in a network", function()
   it("learn their input shape from the layer before, and print every shape", function()
      local net = nn.Sequential{
         nn.Conv2d(1, 4, 5, {padding = 2, input = {28, 28}}), nn.ReLU(), nn.MaxPool2d(2),
         nn.Conv2d(4, 8, 3), nn.Tanh(), nn.AvgPool2d(2),
         nn.Linear(8 * 6 * 6, 10),
      }
      assert.are.same({4, 28, 28}, net[3].inputShape)
      assert.are.same({4, 14, 14}, net[4].inputShape)
      assert.are.same({8, 6, 6}, net[6].outputShape)
      local y = net:forward(nn.randn(3, 784))
      assert.are.same({3, 10}, {y:shape()})
      local s = tostring(net)
      assert.truthy(s:find("out 4x28x28", 1, true), s)
      assert.truthy(s:find("out 4x14x14", 1, true), s)
      assert.truthy(s:find("out 8x6x6", 1, true), s)
      assert.truthy(s:find("out 10 ", 1, true), s)
      -- added later, too
      local seq = nn.Sequential{nn.Conv2d(3, 2, 3, {input = {3, 8, 8}})}
      seq:add(nn.MaxPool2d(2))
      assert.are.same({2, 3, 3}, seq[2].outputShape)
      -- and a whole network passes the gradient check
      nn.seed(9)
      local small = nn.Sequential{nn.Conv2d(1, 2, 3, {input = {1, 6, 6}}), nn.Tanh(),
                                  nn.AvgPool2d(2), nn.Linear(8, 3)}
      local e = nn.gradcheck(small, nn.randn(2, 36))
      assert.is_true(e < TOL)
   end)

   it("refuse wrong input with errors that name shapes", function()
      local c = nn.Conv2d(1, 4, 3, {input = {1, 28, 28}})
      assert.are.equal("Conv2d:forward: input has 783 columns, expected 784 (1 x 28 x 28)",
         err(c.forward, c, nn.randn(2, 783)))
      local lone = nn.Conv2d(1, 4, 3)
      assert.truthy(err(lone.forward, lone, nn.randn(1, 9)):find(
         "Conv2d:forward: the input's image shape is not known", 1, true))
      assert.truthy(err(nn.Conv2d, 1, 4, 7, {input = {1, 5, 5}}):find(
         "nn.Conv2d: the kernel (7 x 7, 7 x 7 with dilation) is larger than the padded input (5 x 5)", 1, true))
      assert.truthy(err(nn.Conv2d, 3, 4, 3, {input = {1, 5, 5}}):find(
         "input has 1 channels, the layer takes inC = 3", 1, true))
      for _, bad in ipairs{0, -1, 2.5, "x", {3}, {3, 0}, 70000} do
         assert.truthy(err(nn.Conv2d, 1, 1, bad):find("nn.Conv2d: argument 3 (kernel size) must be", 1, true))
      end
      assert.truthy(err(nn.Conv2d, 0, 1, 3):find("nn.Conv2d: argument 1 (inC) must be", 1, true))
      assert.truthy(err(nn.Conv2d, 1, -2, 3):find("nn.Conv2d: argument 2 (outC) must be", 1, true))
      assert.truthy(err(nn.Conv2d, 1, 1, 3, {stride = 0}):find("stride must be a whole number from 1", 1, true))
      assert.truthy(err(nn.Conv2d, 1, 1, 3, {padding = -1}):find("padding must be a whole number from 0", 1, true))
      assert.truthy(err(nn.Conv2d, 1, 1, 3, {strides = 2}):find("unknown option 'strides'", 1, true))
      assert.truthy(err(nn.Conv2d, 1, 1, 3, {input = {1, 0, 5}}):find("each size of input must be", 1, true))
      assert.truthy(err(nn.MaxPool2d, 2, {padding = 2}):find("padding 2 is more than half the kernel size 2", 1, true))
      assert.truthy(err(nn.AvgPool2d, 2, {dilation = 2}):find("unknown option 'dilation'", 1, true))
      -- a network whose channels do not chain
      assert.truthy(err(nn.Sequential, {nn.Conv2d(1, 4, 3, {input = {1, 8, 8}}), nn.Conv2d(3, 2, 3)})
         :find("layer 2 (nn.Conv2d(3 -> 2, 3x3)) cannot take the 4x6x6 images before it", 1, true))
      -- backward before forward, and a gradOutput of the wrong shape
      local m = nn.MaxPool2d(2, {input = {1, 4, 4}})
      assert.truthy(err(m.backward, m, nn.randn(1, 16), nn.randn(1, 4)):find("call forward first", 1, true))
      m:forward(nn.randn(1, 16))
      assert.truthy(err(m.backward, m, nn.randn(1, 16), nn.randn(1, 5)):find(
         "gradOutput is 1 x 5, expected 1 x 4", 1, true))
      -- setInputShape cannot change a placed layer
      assert.truthy(err(c.setInputShape, c, 1, 14, 14):find("the layer's input is 1 x 28 x 28 already", 1, true))
   end)

   it("save and load, with their options, and give the same outputs", function()
      nn.seed(4)
      local net = nn.Sequential{
         nn.Conv2d(2, 3, {3, 2}, {stride = {1, 2}, padding = 1, dilation = {2, 1}, input = {2, 9, 8}}),
         nn.GELU(), nn.MaxPool2d(2, {stride = 1}), nn.Conv2d(3, 2, 1, {bias = false}),
         nn.AvgPool2d(2, {countIncludePad = false, padding = 1}), nn.Linear(2 * 4 * 3, 3),
      }
      local x = nn.randn(5, 2 * 9 * 8)
      local y = net:forward(x):clone()
      local back = nn.deserialize(nn.serialize(net))
      assert.are.equal(tostring(net), tostring(back))
      assert.is_true(back:forward(x):equal(y))
   end)

   it("a steady training loop allocates nothing", function()
      local net = nn.Sequential{nn.Conv2d(1, 4, 3, {padding = 1, input = {1, 8, 8}}), nn.ReLU(),
                                nn.MaxPool2d(2), nn.Conv2d(4, 4, 3), nn.AvgPool2d(2),
                                nn.Linear(4, 3)}
      local crit = nn.CrossEntropyLoss()
      local x, t = nn.randn(6, 64), {1, 2, 3, 1, 2, 3}
      local function step()
         net:zeroGrad()
         local y = net:forward(x)
         crit:forward(y, t)
         net:backward(x, crit:backward(y, t))
      end
      local grown = H.growth(step)
      assert.is_true(grown < 1, ("grew %.2f KB over 200 steps"):format(grown))
   end)
end)

describe("nn.GELU", function()
   it("is x Phi(x), exact or with tanh, and passes the gradient check", function()
      local x = nn.Matrix{{-3, -1, 0, 0.5, 2}}
      local y = nn.GELU():forward(x)
      local function phi(v) return 0.5 * (1 + H.erf(v / math.sqrt(2))) end
      for j = 1, 5 do
         local v = x:get(1, j)
         assert.is_true(math.abs(y:get(1, j) - v * phi(v)) < 1e-6)
      end
      local t = nn.GELU{approximate = "tanh"}:forward(x)
      for j = 1, 5 do
         local v = x:get(1, j)
         local want = 0.5 * v * (1 + H.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ^ 3)))
         assert.is_true(math.abs(t:get(1, j) - want) < 1e-6)
      end
      nn.seed(8)
      for _, m in ipairs{nn.GELU(), nn.GELU{approximate = "tanh"}} do
         local e = nn.gradcheck(m, nn.randn(3, 7) * 2)
         assert.is_true(e < TOL, tostring(m))
      end
      assert.truthy(err(nn.GELU, {approximate = "fast"}):find('approximate must be "none" or "tanh"', 1, true))
      assert.are.same({{approximate = "tanh"}}, nn.GELU{approximate = "tanh"}:config())
      assert.are.same({}, nn.GELU():config())
   end)
end)

describe("nn.BatchNorm1d and nn.BatchNorm2d", function()
   it("normalize each feature or channel in training, use the running statistics after evaluate()", function()
      local bn = nn.BatchNorm1d(2, {momentum = 0.5})
      local x = nn.Matrix{{1, 10}, {3, 30}}
      local y = bn:forward(x)
      -- mean 2 and 20, biased variance 1 and 100: (x - mean) / sqrt(var + eps)
      assert.is_true(y:equal(nn.Matrix{{-1, -1}, {1, 1}}, 1e-4))
      -- running: mean 0 -> 1, 10; variance 1 -> (1 + 2) / 2, (1 + 200) / 2 (unbiased)
      assert.is_true(bn.runningMean:equal(nn.Matrix{{1, 10}}, 1e-6))
      assert.is_true(bn.runningVar:equal(nn.Matrix{{1.5, 100.5}}, 1e-4))
      bn:evaluate()
      local e = bn:forward(nn.Matrix{{1, 10}})
      assert.is_true(e:equal(nn.Matrix{{0, 0}}, 1e-6))
      assert.are.equal(2, #bn:buffers())
      -- per channel: two channels of 2 x 2 pixels
      local b2 = nn.BatchNorm2d(2, {input = {2, 2, 2}})
      local z = b2:forward(nn.Matrix{{1, 2, 3, 4, 10, 10, 10, 10}, {5, 6, 7, 8, 20, 20, 20, 20}})
      assert.is_true(math.abs(z:sum()) < 1e-4)
      assert.are.same({2, 2, 2}, b2.outputShape)
   end)

   it("pass the gradient check, training and evaluating, affine or not", function()
      nn.seed(12)
      for _, m in ipairs{nn.BatchNorm1d(4), nn.BatchNorm1d(3, {affine = false}),
                         nn.BatchNorm2d(2, {input = {2, 3, 2}}),
                         nn.BatchNorm2d(3, {input = {3, 2, 2}, affine = false, eps = 1e-2})} do
         for _, train in ipairs{true, false} do
            if train then m:training() else m:evaluate() end
            if m.weight then m.weight = nn.rand(m.weight:shape()) + 0.5 end
            -- normalizing leaves small input gradients (a few 1e-3) next to
            -- O(1) outputs, whose float32 rounding puts ~2e-4 of noise on
            -- each difference quotient: so an absolute floor of 5e-2 (the
            -- check is absolute below it); a wrong backward is off by more
            local e, where = nn.gradcheck(m, nn.randn(6, m.nin), nil, nil, {floor = 5e-2})
            assert.is_true(e < TOL, tostring(m) .. (train and " training: " or " evaluating: ")
               .. tostring(where) .. " " .. e)
         end
      end
   end)

   -- from n C H W = 32768 floats up a batch is normalized in parts of
   -- channels, across the threads: 50 images of 3 x 16 x 16 (3 parts),
   -- 16400 of 2 x 1 x 1 (2 parts); the running statistics, not the batch's
   it("normalize every channel of a batch split in parts after evaluate(), on 1 and 3 threads", function()
      nn.seed(5)
      local was = nn.threads()
      for _, shape in ipairs{{3, 16, 16}, {2, 1, 1}} do
         local C, S = shape[1], shape[2] * shape[3]
         local n = shape[2] == 1 and 16400 or 50
         local bn = nn.BatchNorm2d(C, {input = shape, eps = 1e-3})
         bn.weight = nn.rand(1, C) + 0.5
         bn.bias = nn.randn(1, C)
         bn.runningMean = nn.randn(1, C)
         bn.runningVar = nn.rand(1, C) + 0.25
         bn:evaluate()
         local x = nn.randn(n, C * S)
         local got = {}
         for t, threads in ipairs{1, 3} do
            nn.threads(threads)
            got[t] = bn:forward(x):clone()
         end
         assert.is_true(got[1]:equal(got[2]), "1 and 3 threads differ")
         local y = got[1]
         for i = 1, n do
            for c = 1, C do
               local a = bn.weight:get(1, c) / math.sqrt(bn.runningVar:get(1, c) + 1e-3)
               for k = 1, S do
                  local j = (c - 1) * S + k
                  local want = (x:get(i, j) - bn.runningMean:get(1, c)) * a + bn.bias:get(1, c)
                  if math.abs(y:get(i, j) - want) > 1e-5 * (1 + math.abs(want)) then
                     error(("image %d, channel %d, pixel %d: %g, expected %g"):format(
                        i, c, k, y:get(i, j), want))
                  end
               end
            end
         end
      end
      nn.threads(was)
   end)

   it("refuse what PyTorch refuses, by name", function()
      local bn = nn.BatchNorm1d(3)
      assert.truthy(err(bn.forward, bn, nn.randn(1, 3)):find(
         "BatchNorm1d:forward: training needs more than one value per channel", 1, true))
      bn:evaluate()
      assert.are.same({1, 3}, {bn:forward(nn.randn(1, 3)):shape()})
      assert.truthy(err(bn.forward, bn, nn.randn(2, 4)):find("input has 4 columns, expected 3", 1, true))
      assert.truthy(err(nn.BatchNorm1d, 3, {eps = 0}):find("eps must be > 0", 1, true))
      assert.truthy(err(nn.BatchNorm1d, 3, {momentum = 2}):find("momentum must be in [0, 1]", 1, true))
      assert.truthy(err(nn.BatchNorm2d, 3, {input = {2, 4, 4}}):find("input has 2 channels, the layer takes C = 3", 1, true))
      assert.truthy(err(nn.Sequential, {nn.Conv2d(1, 4, 3, {input = {1, 6, 6}}), nn.BatchNorm2d(3)}):find(
         "cannot take the 4x4x4 images before it", 1, true))
      local fresh = nn.BatchNorm1d(2)
      assert.truthy(err(fresh.backward, fresh, nn.randn(2, 2), nn.randn(2, 2)):find("call forward first", 1, true))
   end)

   it("save their running statistics and load them back", function()
      local net = nn.Sequential{nn.Conv2d(1, 2, 3, {input = {1, 5, 5}}), nn.BatchNorm2d(2), nn.ReLU(),
                                nn.Linear(18, 4), nn.BatchNorm1d(4, {momentum = 0.2})}
      for _ = 1, 3 do net:forward(nn.randn(6, 25)) end
      net:evaluate()
      local x = nn.randn(3, 25)
      local back = nn.deserialize(nn.serialize(net))
      assert.is_true(back[2].runningVar:equal(net[2].runningVar))
      assert.is_true(back[5].runningMean:equal(net[5].runningMean))
      assert.is_false(back[5].train)
      assert.is_true(back:forward(x):equal(net:forward(x)))
      assert.are.equal(tostring(net), tostring(back))
   end)
end)

describe("nn.Residual and nn.Concat", function()
   it("compute x + m(x) and [m1(x), m2(x)], and pass the gradient check", function()
      local r = nn.Residual(nn.Linear(3, 3))
      r[1].weight = nn.eye(3) * 2
      r[1].bias = nn.Matrix{{1, 0, 0}}
      assert.are.same({{4, 3, 3}}, r:forward(nn.Matrix{{1, 1, 1}}):totable())
      local c = nn.Concat{nn.Identity(), nn.Linear(2, 1, {bias = false})}
      c[2].weight = nn.Matrix{{1, 1}}
      assert.are.same({{1, 2, 3}}, c:forward(nn.Matrix{{1, 2}}):totable())
      assert.are.equal(3, c:outputSize(2))
      nn.seed(21)
      for _, m in ipairs{nn.Residual(nn.Sequential{nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 4)}),
                         nn.Concat{nn.Linear(4, 2), nn.Sequential{nn.Linear(4, 3), nn.Sigmoid()}, nn.Identity()},
                         nn.Sequential{nn.Concat{nn.Tanh(), nn.Residual(nn.Linear(4, 4))}, nn.Linear(8, 2)}} do
         local e, where = nn.gradcheck(m, nn.randn(3, 4))
         assert.is_true(e < TOL, tostring(m) .. ": " .. tostring(where) .. " " .. e)
      end
   end)

   it("make a residual CNN block: shapes flow in, the network trains, saves and loads", function()
      local function network(act)
         local block = nn.Residual(nn.Sequential{
            nn.Conv2d(4, 4, 3, {padding = 1}), nn.BatchNorm2d(4), act(),
            nn.Conv2d(4, 4, 3, {padding = 1}),
         })
         return nn.Sequential{
            nn.Conv2d(1, 4, 3, {padding = 1, input = {1, 6, 6}}), act(),
            block, act(),
            nn.Concat{nn.MaxPool2d(2), nn.AvgPool2d(2)},          -- 8 x 3 x 3
            nn.Linear(72, 3),
         }
      end
      nn.seed(22)
      local x = nn.randn(5, 36)
      -- the gradient check on the smooth variant: with ReLU, hundreds of
      -- elements sit on kinks at this batch size (the checks of ReLU and
      -- MaxPool2d alone are above)
      local e, where = nn.gradcheck(network(nn.Tanh), x, nil, nil, {floor = 5e-2})
      assert.is_true(e < TOL, tostring(where) .. " " .. e)
      local net = network(nn.ReLU)
      local block = net[3]
      assert.are.same({4, 6, 6}, block[1][1].inputShape)
      assert.are.same({4, 6, 6}, block[1][4].outputShape)
      assert.are.same({8, 3, 3}, net[5].outputShape)
      local crit = nn.CrossEntropyLoss()
      local t = {1, 2, 3, 1, 2}
      local opt = nn.Adam(net, {lr = 0.01})
      local first
      for _ = 1, 60 do
         opt:zeroGrad()
         local y = net:forward(x)
         local L = crit:forward(y, t)
         first = first or L
         net:backward(x, crit:backward(y, t))
         opt:step()
      end
      assert.is_true(crit:forward(net:forward(x), t) < first / 4)
      net:evaluate()
      local back = nn.deserialize(nn.serialize(net))
      assert.is_true(back:forward(x):equal(net:forward(x)))
      assert.are.equal(tostring(net), tostring(back))
   end)

   it("name their mistakes", function()
      assert.truthy(err(nn.Concat, {}):find("nn.Concat: the list of modules is empty", 1, true))
      assert.truthy(err(nn.Concat, 5):find("nn.Concat: expected a list of modules, got number", 1, true))
      assert.truthy(err(nn.Residual, 5):find("nn.Residual: layer 1 (5) has no forward and backward", 1, true))
      -- refused when made (spec/shapes_spec.lua has the rest)
      assert.truthy(err(nn.Residual, nn.Linear(3, 2)):find(
         "nn.Residual: layer 1 (nn.Linear(3 -> 2)) maps 3 columns to 2", 1, true))
      -- and at forward, where nothing could say so before: a Lua layer
      local Half = {forward = function(_, x) return x:narrow(1, 1) end, backward = function() end}
      local r = nn.Residual(Half)
      assert.truthy(err(r.forward, r, nn.randn(2, 3)):find(
         "Residual:forward: the inner module gives 1 x 3 for a 2 x 3 input", 1, true))
      local c = nn.Concat{nn.Linear(3, 2)}
      assert.truthy(err(c.forward, c, nn.randn(1, 4)):find(
         "Concat[1] nn.Linear(3 -> 2): Linear:forward: input has 4 columns, expected 3", 1, true))
      assert.truthy(err(nn.Concat{nn.ReLU()}.backward, nn.Concat{nn.ReLU()}, nn.randn(1, 2), nn.randn(1, 2))
         :find("Concat:backward: call forward first", 1, true))
      local s = nn.Sequential{nn.ReLU()}
      assert.truthy(err(s.add, s, nn.Residual(s)):find("contains this Sequential", 1, true))
   end)
end)
