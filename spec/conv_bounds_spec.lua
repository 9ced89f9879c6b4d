-- The image layers' index arithmetic at its edges: kernels wider than the
-- image, padding wider than the kernel, dilation and stride past the
-- image, windows lying wholly in the padding.  Each crash case runs in a
-- child interpreter, so that a crash fails the spec instead of busted.
local nn = require "nn"
local H = require "helpers"

describe("Conv2d with padding wider than the image", function()
   it("runs forward and backward (a stride-1 run past either end crashed)", function()
      -- the first is issue #21's: a 5x5 kernel, padding 2, on one pixel;
      -- the second a 7x7 "same" convolution on a 2x2 feature map
      local ok, out = H.child([[
         local nn = require "nn"
         for _, c in ipairs{
            {1, 1, 5, {padding = 2, input = {1, 1, 1}}},
            {3, 4, 7, {padding = 3, input = {3, 2, 2}}},
            {2, 2, {7, 5}, {padding = {3, 4}, dilation = {1, 2}, input = {2, 1, 3}}},
         } do
            local m = nn.Conv2d(c[1], c[2], c[3], c[4])
            local x = nn.randn(2, m.nin)
            local y = m:forward(x)
            m:backward(x, nn.ones(y:shape()))
            io.write(("%dx%d "):format(y:shape()))
         end
      ]], nil, nil, 60)
      assert.is_true(ok, out)
      assert.are.equal("2x1 2x16 2x6 ", out)
   end)

   it("loads from a model file and runs", function()
      local dir = H.tmpdir()
      local ok, out = H.child(([[
         local nn = require "nn"
         nn.seed(5)
         local net = nn.Sequential{nn.Conv2d(1, 2, 7, {padding = 3, input = {1, 2, 2}}),
                                   nn.ReLU(), nn.Flatten(), nn.Linear(8, 3)}
         local x = nn.randn(4, 4)
         local want = net:forward(x):clone()
         nn.save(net, %q)
         local back = nn.load(%q)
         local y = back:forward(x)
         back:backward(x, nn.ones(4, 3))
         io.write(tostring((y - want):abs():max()))
      ]]):format(dir .. "/same.nn", dir .. "/same.nn"), nil, nil, 60)
      H.sh("rm -rf '" .. dir .. "'")
      assert.is_true(ok, out)
      assert.are.equal(0, tonumber(out))
   end)
end)
