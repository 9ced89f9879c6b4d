-- The examples are part of the product: each must run and converge.
local H = require "helpers"

local function run(script, args)
   return H.child(("arg = {[0] = %q%s}\ndofile(%q)"):format(script,
      args and (", " .. args) or "", script))
end

describe("examples", function()
   it("xor.lua learns XOR", function()
      local ok, out = run("examples/xor.lua")
      assert.is_true(ok, out)
      assert.truthy(out:find("converged: all four cases right", 1, true), out)
   end)

   it("perceptron.lua converges with the perceptron rule", function()
      local ok, out = run("examples/perceptron.lua")
      assert.is_true(ok, out)
      assert.truthy(out:find("converged: w = ", 1, true), out)
      -- it compares the learnt line with the one that made the data
      local deg = tonumber(out:match("they differ by ([%d.]+) degrees"))
      assert.is_true(deg ~= nil and deg < 15, out)
   end)

   it("sine.lua fits sin(pi x) to a small L1 error", function()
      local ok, out = run("examples/sine.lua")
      assert.is_true(ok, out)
      local mean = tonumber(out:match("final error: mean ([%d.]+)"))
      assert.is_true(mean ~= nil and mean < 0.05, out)
   end)

   it("weight_update_2x2.lua redoes the lecture's 2 x 2 step, correctly", function()
      local ok, out = run("examples/weight_update_2x2.lua")
      assert.is_true(ok, out)
      assert.truthy(out:find("L = -log p2 = 0.313262", 1, true), out)
      -- it says which dW is the illustration and which the true gradient
      assert.truthy(out:find("(1) the lecture's illustrative dW (made up, not this loss's gradient)", 1, true), out)
      assert.truthy(out:find("(2) the true gradient of this L, by backprop", 1, true), out)
      -- by hand and by nn.SGD: the same corrected W
      local _, n = out:gsub("0%.201 +%-0%.502\n +0%.297 +0%.801", "")
      assert.are.equal(2, n, out)
      -- backprop's dL/dW equals (p - y)^T x
      local want = out:match("dL/dW = %(p %- y%)%^T x: nn.Matrix 2x2\n([^\n]+\n[^\n]+)")
      local got = out:match("dL/dW from backward: nn.Matrix 2x2\n([^\n]+\n[^\n]+)")
      assert.truthy(want and want:find("0.2689", 1, true), out)
      assert.are.equal(want, got)
   end)

   if not H.have_mnist() then
      pending("data/mnist is absent (make data): the MNIST examples")
      return
   end
   -- Under ASan the MNIST examples took 13 minutes, CI's longest single
   -- file: they train whole networks through the layers, losses and
   -- optimizers whose C the other specs already run under the sanitizer
   -- at small sizes.  The seven plain runs of the suite train them all.
   if H.sanitized then
      pending("the MNIST examples: not under " .. H.sanitized .. " (the plain runs train them)")
      return
   end

   it("digits_784_16_16_10.lua: the lecture's 13,002-parameter net learns digits", function()
      local ok, out = run("examples/digits_784_16_16_10.lua")
      assert.is_true(ok, out)
      assert.truthy(out:find("total parameters: 13002", 1, true), out)
      assert.truthy(out:find("* cost", 1, true), out)     -- the cost curve
      local acc = tonumber(out:match("test accuracy ([%d.]+)%%"))
      assert.is_true(acc ~= nil and acc > 90, out)
   end)

   it("softmax_regression.lua: the lecture's gradient by hand equals the library's", function()
      local ok, out = run("examples/softmax_regression.lua")
      assert.is_true(ok, out)
      local diff = tonumber(out:match("W differs by ([%d.e+-]+)"))
      assert.is_true(diff ~= nil and diff < 1e-4, out)
      local a1, a2 = out:match("by hand ([%d.]+)%%, by the library ([%d.]+)%%")
      assert.is_true(tonumber(a1) > 90 and tonumber(a2) > 90, out)
   end)

   it("mnist_mlp.lua, the main job, reaches at least 98.0% test accuracy", function()
      local ok, out = run("examples/mnist_mlp.lua")
      assert.is_true(ok, out)
      local acc = tonumber(out:match("test accuracy ([%d.]+)%%"))
      assert.is_true(acc ~= nil and acc >= 98.0, out)
      assert.truthy(out:find("ConfusionMatrix: 10000 samples", 1, true), out)
      -- and writes its training report
      assert.truthy(out:find("wrote the training report to data/mnist/report.html", 1, true), out)
      local html = H.read("data/mnist/report.html")
      assert.truthy(html:find("<h2>The most confident mistakes</h2>", 1, true))
      -- predict.lua loads the saved model: the same accuracy
      local ok2, out2 = run("examples/predict.lua")
      assert.is_true(ok2, out2)
      local acc2 = tonumber(out2:match("test accuracy of the loaded model: ([%d.]+)%%"))
      assert.are.equal(acc, acc2, out2)
      -- it names digits, not class indices: the first test image is a 7
      assert.truthy(out2:find("test image 1: the model reads a 7, the label is 7", 1, true), out2)
   end)

   -- the CNN examples for one epoch on 10000 images (make cnn trains the
   -- whole thing: 99.3% on MNIST, 91% on Fashion-MNIST)
   local function cnn(script, data, want, files)
      local dir = H.tmpdir()
      local ok, out = run(script, ("%q, %q, 1, 10000"):format(data, dir))
      assert.is_true(ok, out)
      assert.truthy(out:find("trained in [%d.]+ s %(1 epochs"), out)
      local acc = tonumber(out:match("test accuracy ([%d.]+)%%"))
      assert.is_true(acc ~= nil and acc >= want, out)
      for _, name in ipairs(files) do
         local f = io.open(dir .. "/" .. name, "rb")
         assert.is_not_nil(f, name .. " missing:\n" .. out)
         assert.are.equal("\137PNG\r\n\26\n", f:read(8))
         f:close()
      end
      os.execute("rm -rf '" .. dir .. "'")
      return out
   end

   it("mnist_cnn.lua trains a LeNet-style CNN and draws its filters and feature maps", function()
      local out = cnn("examples/mnist_cnn.lua", "data/mnist", 94,
         {"cnn_filters.png", "cnn_maps1.png", "cnn_maps2.png"})
      assert.truthy(out:find("(1) nn.Conv2d(1 -> 16, 5x5, pad 2)", 1, true), out)
   end)

   local fashion = "/usr/share/datasets/fashion-mnist"
   local have = io.open(fashion .. "/t10k-labels-idx1-ubyte.gz", "rb")
   if have then have:close() end
   local test = have and it or pending
   test("fashion_cnn.lua trains a CNN with batch normalization on Fashion-MNIST", function()
      local out = cnn("examples/fashion_cnn.lua", fashion, 75,
         {"fashion_filters.png", "fashion_input.png", "fashion_maps1.png", "fashion_maps2.png"})
      assert.truthy(out:find("Ankle boot", 1, true), out)           -- the confusion matrix's names
   end)

   it("weights_as_images.lua draws the hidden units' weights as PNG files", function()
      local dir = H.tmpdir()
      local ok, out = run("examples/weights_as_images.lua", ("%q, %q"):format("data/mnist", dir))
      assert.is_true(ok, out)
      assert.truthy(out:find("wrong.png, tile by tile: read as / was", 1, true), out)
      assert.truthy(out:find("dead units %(no test image makes them fire%): %d+ of 256"), out)
      assert.truthy(out:find("units look like noise %(neighbour correlation under 0.06%); they fire"), out)
      local wrong = tonumber(out:match("(%d+) of 10000 test digits wrong"))
      assert.is_true(wrong ~= nil and wrong < 1500, out)
      -- the 256-unit picture comes from the main job's saved model (above)
      for _, name in ipairs{"weights_16.png", "wrong.png", "confusions.png", "weights_256.png"} do
         local f = io.open(dir .. "/" .. name, "rb")
         assert.is_not_nil(f, name .. " missing:\n" .. out)
         assert.are.equal("\137PNG\r\n\26\n", f:read(8))
         f:close()
      end
      -- wrong.png and confusions.png carry text: a title, a label under each
      -- tile, and row and column labels, dark on white
      local w = H.pngstats(dir .. "/wrong.png", "title=dark:0,0,700,20", "label=dark:3,110,87,124")
      assert.is_true(w.title > 100 and w.label > 20, "wrong.png has no text")
      local c = H.pngstats(dir .. "/confusions.png", "rows=dark:0,40,30,760", "cols=dark:31,20,612,37")
      assert.is_true(c.rows > 50 and c.cols > 100, "confusions.png has no row or column labels")
      os.execute("rm -rf '" .. dir .. "'")
   end)
end)
