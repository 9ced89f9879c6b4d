-- MNIST (and Fashion-MNIST) from the IDX files as distributed, plain or
-- gzipped (zlib reads both).  The header is parsed here, in Lua; the bulk
-- byte-to-float conversion is C: Matrix.fromfile streams the images
-- through zlib into floats with no 47 MB string in between, and
-- Matrix.frombytes converts the labels.
--
--   local X, Y = mnist.load("data/mnist", "train")
--   -- X: 60000 x 784 floats in [0, 1]; Y: 60000 x 1 labels 1..10
local core = require "nn.core"
local compat = require "nn.compat"

local mnist = {}

mnist.files = {
   train = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
   test = {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"},
}
local IMAGES, LABELS = 0x00000803, 0x00000801   -- IDX magic: ubyte, 3 or 1 dims

-- What a person reads for each class index: labels are 1..10 (Lua's
-- convention), so class c is the digit c - 1.  mnist.classes[8] is "7".
-- nn.ConfusionMatrix(10, mnist.classes) prints digits.
mnist.classes = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
-- Fashion-MNIST's ten classes, in its label order
mnist.fashionClasses = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

local function fail(fmt, ...)
   error("mnist.load: " .. fmt:format(...), 0)
end

-- the message of an error raised in C, without the function's prefix
local function reason(err)
   return (tostring(err):gsub("^Matrix%.fromfile: ", ""):gsub("^readfile: ", ""))
end

-- core.readfile, with a corrupt file (which raises) reported as mnist.load
local function read(path, max)
   local ok, s, err = pcall(core.readfile, path, max)
   if not ok then fail("%s", reason(s)) end
   return s, err
end

-- the header of dir/name, or of dir/name.gz: path, sizes, header length
local function header(dir, name, magic, dims)
   local path = dir .. "/" .. name
   local len = 4 + 4 * dims
   local s, err = read(path, len)
   if not s then
      if not err:find("cannot open", 1, true) then fail("%s", err) end
      local gz, gzerr = read(path .. ".gz", len)
      if not gz then
         if gzerr:find("cannot open", 1, true) then
            fail("%s (nor is there a .gz)", err)
         end
         fail("%s", gzerr)
      end
      s, path = gz, path .. ".gz"
   end
   if #s < len then
      fail("%s is too short for an IDX header (%d bytes)", path, #s)
   end
   local m = compat.strunpack(">I4", s)
   if m ~= magic then
      fail("%s has magic number 0x%08x, expected 0x%08x (an IDX %s file)",
         path, m, magic, dims == 3 and "image" or "label")
   end
   local sizes = {compat.strunpack(">" .. ("I4"):rep(dims), s, 5)}
   sizes[dims + 1] = nil                        -- the position unpack adds
   for _, n in ipairs(sizes) do
      if n == 0 then fail("%s declares an empty data set", path) end
   end
   return path, sizes, len
end

-- mnist.load(dir, "train" | "test") -> X (n x rows*cols, floats in [0, 1]),
-- Y (n x 1, labels 1..10)
function mnist.load(dir, split)
   if type(dir) ~= "string" then
      error("mnist.load: dir must be a string, got " .. type(dir), 2)
   end
   local files = mnist.files[split]
   if not files then
      error(("mnist.load: split must be \"train\" or \"test\", got %s")
         :format(tostring(split)), 2)
   end

   local path, size, off = header(dir, files[1], IMAGES, 3)
   local n, pixels = size[1], size[2] * size[3]
   if n * pixels > 2147483647 then
      fail("%s declares %d x %d x %d images, too many", path, n, size[2], size[3])
   end
   -- fromfile checks the sizes against the file before it allocates, and
   -- raises on a stream that is short, long or corrupt
   local ok, X = pcall(core.Matrix.fromfile, path, n, pixels, off, 1 / 255)
   if not ok then
      fail("%s (its header declares %d images of %d x %d)", reason(X), n, size[2],
         size[3])
   end

   local lpath, lsize, loff = header(dir, files[2], LABELS, 1)
   if lsize[1] ~= n then
      fail("%s has %d labels for %d images", lpath, lsize[1], n)
   end
   -- never more than the header declares, and one byte to see the end
   local l, err = read(lpath, loff + n + 1)
   if not l then fail("%s", err) end
   if #l ~= loff + n then
      fail("%s declares %d labels but holds %s", lpath, n,
         #l > loff + n and "more" or ("%d bytes of them"):format(#l - loff))
   end
   local Y = core.Matrix.frombytes(l, n, 1, loff)
   local top, i = Y:max()
   if top > 9 then fail("%s: label %d is %d, expected 0..9", lpath, i, top) end
   return X, Y:add(1)
end

-- mnist.split(dir [, {validation = 5000, train = the rest}]) -> train,
-- validation, test: the training images less the last `validation` of
-- them (the first `train` of those, if given), the last `validation`
-- (which watch over training: nn.fit's validation option takes the set
-- as it is), and the test images.  Each set is {X, Y} (also as .X, .Y);
-- the training and validation sets are views of one matrix, nothing is
-- copied.  The test set is for the end, once.
function mnist.split(dir, opts)
   if opts ~= nil and type(opts) ~= "table" then
      error("mnist.split: options must be a table, got " .. type(opts), 2)
   end
   opts = opts or {}
   for k in pairs(opts) do
      if k ~= "validation" and k ~= "train" then
         error(("mnist.split: unknown option '%s' (expected train, validation)")
            :format(tostring(k)), 2)
      end
   end
   local X, Y = mnist.load(dir, "train")
   local n = X:shape()
   local nv = opts.validation or 5000
   if not compat.isint(nv) or nv < 1 or nv >= n then
      error(("mnist.split: validation must be a whole number from 1 to %d, got %s")
         :format(n - 1, tostring(nv)), 2)
   end
   local nt = opts.train or n - nv
   if not compat.isint(nt) or nt < 1 or nt > n - nv then
      error(("mnist.split: train must be a whole number from 1 to %d (%d images, %d held out "
         .. "for validation), got %s"):format(n - nv, n, nv, tostring(nt)), 2)
   end
   local function set(A, B) return {A, B, X = A, Y = B} end
   local Xtest, Ytest = mnist.load(dir, "test")
   return set(X:narrow(1, nt), Y:narrow(1, nt)),
      set(X:narrow(n - nv + 1, nv), Y:narrow(n - nv + 1, nv)), set(Xtest, Ytest)
end

return mnist
