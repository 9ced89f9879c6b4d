-- The LÖVE digit demo (examples/love) run for real: LÖVE under Xvfb, on
-- LuaJIT with the core `make test` builds for it, replays MNIST test
-- digits through the mouse handlers and prints its guesses; the
-- screenshots it saves must be real frames: the window's size, the digit
-- drawn in white on the pad, the guess's bar lit.  A small network is
-- trained for it first (make mnist's takes a minute).
local H = require "helpers"

local TRAIN = [[
local nn = require "nn"
local mnist = require "nn.mnist"
nn.seed(1)
local X, Y = mnist.load("data/mnist", "train")
local net = nn.Sequential{nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10)}
nn.fit(net, nn.CrossEntropyLoss(), nn.SGD(net, {lr = 0.1, momentum = 0.9}),
   X:narrow(1, 30000), Y:narrow(1, 30000), {epochs = 2, batchSize = 64, progress = false})
assert(nn.save(net, MODEL))
print("trained")
]]

describe("the LÖVE digit demo (examples/love)", function()
   local test = (H.sanitized or not H.have_mnist()) and pending or it
   test("replays test digits as mouse strokes under Xvfb, guesses them, and saves real frames", function()
      local dir = H.tmpdir()
      local model = dir .. "/model.nn"
      local ok, out = H.child(("local MODEL = %q\n"):format(model) .. TRAIN, nil, H.top, 300, "luajit")
      assert(ok and out:find("trained", 1, true), out)
      -- the first test digits: 7, 2, 1 and 0
      for n, label in ipairs{7, 2, 1, 0} do
         local png = ("%s/shot-%d.png"):format(dir, n)
         ok, out = H.run(("cd '%s' && NN_LOVE_MODEL='%s' timeout 120 " .. H.xvfb(110)
            .. " love examples/love --replay %d --out '%s'%s"):format(H.top, model, n, png,
            n == 4 and " --keys w" or ""))
         local lab, pred = out:match("love%-digit: test digit " .. n .. " %(label (%d)%): predicted (%d)")
         assert(lab, out)
         assert.are.equal(tostring(label), lab, out)
         assert.are.equal(tostring(label), pred, out)
         local s = H.pngstats(png, "pad=white:20,70,356,406", "green=59d973:545,70,900,400",
            "guess=white:415,230,520,360")
         assert.are.same({900, 440}, {s.w, s.h})
         assert.is_true(s.colors > 20, "a flat frame: " .. s.colors .. " colours")
         -- the digit, drawn white on the black pad: a few percent of it
         local share = s.pad / (336 * 336)
         assert.is_true(share > 0.03 and share < 0.5, ("%.3f of the pad is white"):format(share))
         if n < 4 then
            assert.is_true(s.green > 1000, "no lit bar for the guess")
            assert.is_true(s.guess > 200, "no guess drawn")
         else                                   -- W: the weights replace the bars
            assert.are.equal(0, s.green)
         end
      end
      H.sh("rm -rf '" .. dir .. "'")
   end)
end)

describe("the demo's MNIST-style preprocessing (examples/love/digit.lua)", function()
   local digit = dofile("examples/love/digit.lua")

   -- Pearson's correlation of two equal-length lists
   local function corr(a, b)
      local n, ma, mb = #a, 0, 0
      for i = 1, n do ma, mb = ma + a[i] / n, mb + b[i] / n end
      local sab, saa, sbb = 0, 0, 0
      for i = 1, n do
         sab = sab + (a[i] - ma) * (b[i] - mb)
         saa = saa + (a[i] - ma) ^ 2
         sbb = sbb + (b[i] - mb) ^ 2
      end
      return sab / math.sqrt(saa * sbb)
   end

   local test = H.have_mnist() and it or pending
   test("gives MNIST digits back from 12x drawings of them, wherever they sit on the pad", function()
      local mnist = require "nn.mnist"
      local X = mnist.load("data/mnist", "test")
      for n = 1, 20 do
         local img = {}
         for i = 1, 784 do img[i] = X:get(n, i) end
         -- drawn 12x on a 336 x 336 pad, shifted off centre by (dx, dy) cells
         local dx, dy = n % 5 - 2, n % 3 - 1
         local px = {}
         for y = 0, 335 do
            for x = 0, 335 do
               local cx, cy = math.floor(x / 12) - dx, math.floor(y / 12) - dy
               px[y * 336 + x + 1] = (cx >= 0 and cx < 28 and cy >= 0 and cy < 28)
                  and img[cy * 28 + cx + 1] or 0
            end
         end
         local out = digit.prepare(px, 336, 336)
         assert.are.equal(784, #out)
         local r = corr(out, img)
         assert.is_true(r > 0.95, ("test digit %d: correlation %.3f with the original"):format(n, r))
      end
   end)

   it("says nothing is drawn on an empty pad, and turns a digit into strokes", function()
      local px = {}
      for i = 1, 100 do px[i] = 0 end
      assert.is_nil(digit.prepare(px, 10, 10))
      local img = {}
      for i = 1, 784 do img[i] = 0 end
      for x = 5, 20 do img[10 * 28 + x + 1] = 1 end          -- one run on row 10
      assert.are.same({{5, 10, 20, 10}}, digit.strokes(img))
   end)
end)
