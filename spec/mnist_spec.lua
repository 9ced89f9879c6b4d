local nn = require "nn"
local mnist = require "nn.mnist"
local H = require "helpers"

-- IDX bytes: images n x r x c and labels n
local function idx_images(n, r, c, pixel)
   local parts = {H.strpack(">I4I4I4I4", 0x803, n, r, c)}
   for i = 1, n * r * c do parts[#parts + 1] = string.char(pixel(i)) end
   return table.concat(parts)
end

local function idx_labels(labels)
   local parts = {H.strpack(">I4I4", 0x801, #labels)}
   for _, l in ipairs(labels) do parts[#parts + 1] = string.char(l) end
   return table.concat(parts)
end

local write = H.write

local newdir = H.tmpdir

-- a valid 5-image 2x3 data set in a fresh directory, optionally gzipped
local function dataset(gz, images, labels)
   local d = newdir()
   images = images or idx_images(5, 2, 3, function(i) return (i * 7) % 256 end)
   labels = labels or idx_labels{3, 0, 9, 1, 4}
   local f = mnist.files.train
   write(d .. "/" .. f[1], images)
   write(d .. "/" .. f[2], labels)
   if gz then assert(H.sh(("gzip -f %s/%s %s/%s"):format(d, f[1], d, f[2]))) end
   return d
end

local function err_of(...)
   local ok, msg = pcall(mnist.load, ...)
   assert.is_false(ok)
   return msg
end

describe("nn.mnist.load", function()
   for _, gz in ipairs{false, true} do
      it("reads " .. (gz and "gzipped" or "plain") .. " IDX files", function()
         local X, Y = mnist.load(dataset(gz), "train")
         assert.are.same({5, 6}, {X:shape()})
         assert.are.same({{4}, {1}, {10}, {2}, {5}}, Y:totable())
         assert.is_true(math.abs(X:get(1, 1) - 7 / 255) < 1e-7)
         assert.is_true(math.abs(X:get(5, 6) - (30 * 7 % 256) / 255) < 1e-7)
         assert.is_true(X:max() <= 1 and X:min() >= 0)
      end)
   end

   it("names the file and the problem for each corruption", function()
      local f = mnist.files.train
      local good = idx_images(5, 2, 3, function() return 1 end)
      local cases = {
         {dataset(false, good:sub(1, -2)), f[1] .. " holds 45 bytes, expected 46 (offset 16 + 5 x 6)"},
         {dataset(false, good .. "x"), f[1] .. " holds 47 bytes, expected 46 (offset 16 + 5 x 6)"},
         {dataset(false, H.strpack(">I4", 0x801) .. good:sub(5)),
          f[1] .. " has magic number 0x00000801, expected 0x00000803 (an IDX image file)"},
         {dataset(false, good:sub(1, 10)), f[1] .. " is too short for an IDX header (10 bytes)"},
         {dataset(false, nil, idx_labels{1, 2, 3}), f[2] .. " has 3 labels for 5 images"},
         {dataset(false, nil, idx_labels{1, 2, 3, 4, 5}:sub(1, -2)),
          f[2] .. " declares 5 labels but holds 4 bytes of them"},
         {dataset(false, nil, idx_labels{1, 2, 12, 4, 5}), f[2] .. ": label 3 is 12, expected 0..9"},
         {dataset(false, idx_images(0, 2, 3, function() return 0 end)),
          f[1] .. " declares an empty data set"},
      }
      for _, c in ipairs(cases) do
         local msg = err_of(c[1], "train")
         assert.truthy(msg:find("mnist.load: ", 1, true), msg)
         assert.truthy(msg:find(c[2], 1, true), ("expected %q in %q"):format(c[2], msg))
      end
   end)

   it("reports a missing file, a truncated gzip stream, bad arguments", function()
      local d = newdir()
      local msg = err_of(d, "train")
      assert.truthy(msg:find("mnist.load: cannot open " .. d .. "/train-images-idx3-ubyte: "
         .. "No such file or directory (nor is there a .gz)", 1, true), msg)
      d = dataset(true)
      local path = d .. "/" .. mnist.files.train[1] .. ".gz"
      local h = assert(io.open(path, "rb"))
      local gz = h:read("*a")
      h:close()
      write(path, gz:sub(1, math.floor(#gz / 2)))
      msg = err_of(d, "train")
      assert.truthy(msg:find(path, 1, true), msg)
      assert.has_error(function() mnist.load(d, "validation") end,
         'mnist.load: split must be "train" or "test", got validation')
      assert.has_error(function() mnist.load(nil, "train") end,
         "mnist.load: dir must be a string, got nil")
   end)

   local fashion = "/usr/share/datasets/fashion-mnist"
   local has_fashion = io.open(fashion .. "/t10k-labels-idx1-ubyte.gz", "rb")
   if has_fashion then
      has_fashion:close()
      it("reads Fashion-MNIST (Debian's gzipped files) unchanged", function()
         local X, Y = mnist.load(fashion, "test")
         assert.are.same({10000, 784}, {X:shape()})
         assert.are.same({1, 10}, {(Y:min()), (Y:max())})
         assert.are.equal(1000, Y:clone():apply(function(v) return v == 3 and 1 or 0 end):sum())
      end)
   else
      pending("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
   end

   if H.have_mnist() then
      it("reads real MNIST", function()
         local X, Y = mnist.load("data/mnist", "train")
         assert.are.same({60000, 784}, {X:shape()})
         assert.are.same({60000, 1}, {Y:shape()})
         assert.are.same({1, 10}, {(Y:min()), (Y:max())})
         -- the first training image is a 5, with pixel sum 27525 / 255
         assert.are.equal(6, Y:get(1, 1))
         assert.is_true(math.abs(X:row(1):sum() - 27525 / 255) < 1e-3)
      end)
   else
      pending("data/mnist is absent (make data)")
   end
end)
