local nn = require "nn"
local H = require "helpers"

local TOL = 1e-2   -- see layers_spec.lua for why

describe("nn.Sequential", function()
   it("builds from a list or with add, indexes and counts", function()
      local a, b = nn.Linear(3, 4), nn.ReLU()
      local s = nn.Sequential{a, b}
      assert.are.equal(2, s:size())
      assert.are.equal(a, s[1])
      assert.are.equal(b, s[2])
      assert.are.equal(s, s:add(nn.Linear(4, 2)))
      assert.are.equal(3, s:size())
      local e = nn.Sequential():add(a)
      assert.are.equal(1, e:size())
      if H.lenmeta then                -- # reaches __len from 5.2 on
         assert.are.equal(3, #s)
         assert.are.equal(1, #e)
      end
   end)

   it("forwards through every layer, like composing them by hand", function()
      nn.seed(1)
      local l1, l2 = nn.Linear(3, 4), nn.Linear(4, 2)
      local s = nn.Sequential{l1, nn.Tanh(), l2}
      local x = nn.randn(5, 3)
      local y = s:forward(x):clone()
      local h = l1:forward(x):clone()
      local t = nn.Tanh():forward(h):clone()
      H.near(y, l2:forward(t))
      H.near(s(x), y)
   end)

   it("passes the gradient check on a 3-layer net, with and without a loss", function()
      nn.seed(9)
      local net = nn.Sequential{
         nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 6), nn.Sigmoid(), nn.Linear(6, 3),
      }
      local x = nn.randn(4, 5)
      local err, where = nn.gradcheck(net, x)
      assert.is_true(err < TOL, where)
      err, where = nn.gradcheck(net, x, nn.CrossEntropyLoss(), {1, 3, 2, 3})
      assert.is_true(err < TOL, where)
      local relu = nn.Sequential{nn.Linear(5, 7), nn.ELU(), nn.Linear(7, 2)}
      err, where = nn.gradcheck(relu, x, nn.MSELoss(), nn.randn(4, 2))
      assert.is_true(err < TOL, where)
   end)

   it("concatenates parameters and zeroes every gradient", function()
      local s = nn.Sequential{nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, {bias = false})}
      local p, g = s:parameters()
      assert.are.equal(3, #p)
      assert.are.equal(3, #g)
      assert.are.equal(s[1].weight, p[1])
      assert.are.equal(s[3].gradWeight, g[3])
      local x = nn.randn(2, 3)
      s:forward(x)
      s:backward(x, nn.ones(2, 2))
      assert.is_true(g[1]:norm() > 0)
      s:zeroGrad()
      for _, m in ipairs(g) do assert.are.equal(0, m:norm()) end
   end)

   it("skips the input gradient when asked, with the same parameter gradients", function()
      nn.seed(6)
      local net = nn.Sequential{nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2)}
      local x, gy = nn.randn(3, 5), nn.randn(3, 2)
      net:zeroGrad()
      net:forward(x)
      local gx = net:backward(x, gy)
      assert.is_not_nil(gx)
      local _, grads = net:parameters()
      local want = {}
      for i, g in ipairs(grads) do want[i] = g:totable() end
      net:zeroGrad()
      net:forward(x)
      assert.is_nil(net:backward(x, gy, false))        -- Linear skips dL/dx
      for i, g in ipairs(grads) do assert.are.same(want[i], g:totable()) end
      local act = nn.Sequential{nn.Tanh(), nn.Linear(5, 2)}
      act:forward(x)
      assert.is_not_nil(act:backward(x, gy, false))    -- Tanh has no shortcut
   end)

   it("passes training and evaluate down", function()
      local d = nn.Dropout(0.5)
      local s = nn.Sequential{nn.Linear(2, 2), nn.Sequential{d}}
      s:evaluate()
      assert.is_false(d.train)
      assert.is_false(s.train)
      s:training()
      assert.is_true(d.train)
   end)

   it("accepts any Lua table with forward and backward as a layer", function()
      local Double = {}
      function Double:forward(x) self.output = x * 2; return self.output end
      function Double:backward(_, gy) return gy * 2 end
      local s = nn.Sequential{nn.Linear(3, 3), Double, nn.Linear(3, 1)}
      nn.seed(3)
      local err, where = nn.gradcheck(s, nn.randn(2, 3))
      assert.is_true(err < TOL, where)
      assert.are.equal(2, #s:parameters() / 2)
      assert.truthy(tostring(s):find("out ?", 1, true))
   end)

   it("rejects things that are not layers", function()
      assert.has_error(function() nn.Sequential{nn.Linear(2, 2), 5} end,
         "nn.Sequential: layer 2 (5) has no forward and backward")
      assert.has_error(function() nn.Sequential():add({}) end)
   end)

   it("names the layer's position and type in its errors", function()
      local s = nn.Sequential{nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 10)}
      assert.has_error(function() s:forward(nn.Matrix(2, 783)) end,
         "Sequential[1] nn.Linear(784 -> 16): Linear:forward: input has 783 columns, expected 784")
      local x = nn.Matrix(2, 784)
      s:forward(x)
      assert.has_error(function() s:backward(x, nn.Matrix(2, 9)) end,
         "Sequential[3] nn.Linear(16 -> 10): Linear:backward: gradOutput is 2 x 9, expected 2 x 10 (the output's shape)")
   end)

   it("prints a summary of layers, widths and parameters", function()
      local s = nn.Sequential{nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16),
                              nn.Sigmoid(), nn.Linear(16, 10)}
      local text = tostring(s)
      assert.truthy(text:find("^nn.Sequential\n"))
      assert.truthy(text:find("(1) nn.Linear(784 -> 16)", 1, true))
      assert.truthy(text:find("out 16        params 12560", 1, true))
      assert.truthy(text:find("(5) nn.Linear(16 -> 10)", 1, true))
      assert.truthy(text:find("out 10        params 170", 1, true))
      assert.truthy(text:find("total parameters: 13002", 1, true))
      assert.are.equal(10, s:outputSize(784))
   end)
end)
