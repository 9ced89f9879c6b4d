-- The image layers' index arithmetic at its edges: kernels wider than the
-- image, padding wider than the kernel, dilation and stride past the
-- image, windows lying wholly in the padding.  Each crash case runs in a
-- child interpreter, so that a crash fails the spec instead of busted.
local nn = require "nn"
local H = require "helpers"

local verbose = os.getenv("XCHECK_VERBOSE")

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

-- Every case of the sweep, in a fixed order: "op H W kh kw sh sw ph pw dh
-- dw", op C (Conv2d), M (MaxPool2d), A or a (AvgPool2d counting the
-- padding or not).  First every square window (kernel 1..7, stride 1..3,
-- dilation 1..3; padding 0..the dilated kernel for Conv2d, which PyTorch
-- does not bound, 0..half the kernel + 1 for the pools, the last refused)
-- on every H x W in 1..9 x 1..9; then windows that differ across, each
-- pairing one row setting (size, k, s, p, d) with another's columns, so
-- every row setting meets columns once.  Cases whose kernel does not fit
-- the padded image are in: PyTorch refuses them, and so must we.
local function grid()
   local cases = {}
   local function add(op, r, c)
      cases[#cases + 1] = ("%s %d %d %d %d %d %d %d %d %d %d"):format(op, r[1], c[1], r[2],
         c[2], r[3], c[3], r[4], c[4], r[5], c[5])
   end
   local conv, pool, avg = {}, {}, {}     -- 1-D settings {size, k, s, p, d}
   for size = 1, 9 do
      for k = 1, 7 do
         for s = 1, 3 do
            for d = 1, 3 do
               for p = 0, d * (k - 1) + 1 do conv[#conv + 1] = {size, k, s, p, d} end
               for p = 0, math.floor(k / 2) + 1 do
                  pool[#pool + 1] = {size, k, s, p, d}
                  if d == 1 then avg[#avg + 1] = {size, k, s, p, d} end
               end
            end
         end
      end
   end
   -- square windows: the same setting but the size across
   for _, set in ipairs{{"C", conv}, {"M", pool}, {"A", avg}, {"a", avg}} do
      for _, r in ipairs(set[2]) do
         for w = 1, 9 do
            add(set[1], r, {w, r[2], r[3], r[4], r[5]})
         end
      end
   end
   for _, set in ipairs{{"C", conv}, {"M", pool}, {"A", avg}, {"a", avg}} do
      local list = set[2]
      for i, r in ipairs(list) do               -- 1237 is prime to #list
         add(set[1], r, list[(i * 1237) % #list + 1])
      end
   end
   return cases
end

-- The sweep's sampling: every case under ASan (make check-asan), one in 23
-- in make test, one in 97 under valgrind; NN_CONV_SWEEP_STRIDE=k says.
local function stride()
   local k = tonumber(os.getenv("NN_CONV_SWEEP_STRIDE") or "")
   if k then return math.max(1, math.floor(k)) end
   if H.sanitized == "asan" then return 1 end
   return H.sanitized and 97 or 23
end

describe("the image layers over a grid of shapes and windows", function()
   if not H.have_torch() then
      pending("/usr/bin/python3 with torch is not installed (apt-get install python3-torch)")
      return
   end

   it("match PyTorch forward and backward, and refuse what PyTorch refuses, by name", function()
      local all, k = grid(), stride()
      local cases = {}
      for i = 1, #all, k do cases[#cases + 1] = all[i] end
      local dir = H.tmpdir()
      local blob, list = dir .. "/blob.bin", dir .. "/cases.txt"
      local status = H.torch("spec/xcheck/torch_conv_grid.py",
         {blob = blob, cases = table.concat(cases, ";")})
      local lines, j = {}, 0
      for s in (status .. ";"):gmatch("([^;]*);") do
         j = j + 1
         lines[j] = cases[j] .. ";" .. s
      end
      assert.are.equal(#cases, j)
      H.write(list, table.concat(lines, "\n") .. "\n")
      local ok, out = H.run(("%s%s spec/xcheck/conv_grid.lua '%s' '%s'")
         :format(H.env(), H.lua, list, blob))
      H.sh("rm -rf '" .. dir .. "'")
      local last = 0
      for at in out:gmatch("@(%d+)") do last = tonumber(at) end
      local report = out:gsub("@%d+\n", "")
      assert.is_true(ok, ("the sweep died in case %d (%s):\n%s")
         :format(last, cases[last] or "?", report))
      local n, acc, ref, failed = report:match("checked (%d+) accepted (%d+) refused (%d+) failed (%d+)")
      assert.truthy(n, report)
      assert.are.equal(#cases, tonumber(n))
      assert.are.equal("0", failed, report)
      -- the grid holds both kinds, sampled or whole
      assert.is_true(tonumber(acc) > #cases / 3 and tonumber(ref) > #cases / 5, report)
      if verbose then io.stderr:write(report) end
   end)
end)

describe("MaxPool2d on windows holding NaN or infinities", function()
   if not H.have_torch() then
      pending("/usr/bin/python3 with torch is not installed (apt-get install python3-torch)")
      return
   end

   it("gives PyTorch's maximum and sends the gradient where PyTorch does", function()
      -- one 3x3 window: NaN first, in the middle, last, several, alone;
      -- infinities, ties; then overlapping, padded and dilated windows
      local function window(s) return {x = s, H = 3, W = 3, k = 3, s = 1, p = 0, d = 1} end
      local cases = {
         window{"nan", 1, 2, 3, 4, 5, 6, 7, 8},
         window{1, 2, 3, 4, "nan", 5, 6, 7, 8},
         window{1, 2, 3, 4, 5, 6, 7, 8, "nan"},
         window{"nan", 1, "nan", 2, 3, "nan", 4, 5, 6},
         window{"nan", "nan", "nan", "nan", "nan", "nan", "nan", "nan", "nan"},
         window{"inf", 1, "inf", 2, 3, 4, 5, 6, 7},
         window{"-inf", "-inf", "-inf", "-inf", "-inf", "-inf", "-inf", "-inf", "-inf"},
         window{"-inf", "nan", "-inf", "-inf", "-inf", "-inf", "-inf", "nan", "-inf"},
         window{1, "inf", "nan", "inf", 0, 0, 0, 0, 0},
         window{2, 2, 1, 0, 2, 0, 0, 0, 0},
      }
      local grid = {1, "nan", 3, 4, "inf", 6, "nan", 2, 2, "-inf", 1, "nan", 0, 5, 5, "inf"}
      for _, w in ipairs{{2, 1, 0, 1}, {3, 2, 1, 1}, {2, 1, 1, 2}, {3, 1, 1, 1}} do
         cases[#cases + 1] = {x = grid, H = 4, W = 4, k = w[1], s = w[2], p = w[3], d = w[4]}
      end
      for _, c in ipairs(cases) do
         for i, v in ipairs(c.x) do c.x[i] = tostring(v) end
      end
      local ref = H.torch("spec/xcheck/torch_maxpool_nan.py", cases)
      local value = {nan = 0 / 0, inf = math.huge, ["-inf"] = -math.huge}
      for i, c in ipairs(cases) do
         local name = ("case %d (%s; k %d, stride %d, padding %d, dilation %d)")
            :format(i, table.concat(c.x, " "), c.k, c.s, c.p, c.d)
         local m = nn.MaxPool2d(c.k, {stride = c.s, padding = c.p, dilation = c.d,
                                      input = {1, c.H, c.W}})
         local xs = {}
         for j, v in ipairs(c.x) do xs[j] = value[v] or tonumber(v) end
         local x = nn.Matrix(1, #xs, xs)
         local y = m:forward(x):totable()[1]
         assert.are.equal(#ref[i].y, #y, name)
         for j, want in ipairs(ref[i].y) do
            if want == "nan" then
               assert.is_true(y[j] ~= y[j], ("%s: output %d is %s, PyTorch's NaN"):format(name, j, y[j]))
            else
               assert.are.equal(value[want] or tonumber(want), y[j], name .. ": output " .. j)
            end
         end
         local gy = {}
         for j = 1, #y do gy[j] = j end
         local gx = m:backward(x, nn.Matrix(1, #y, gy)):totable()[1]
         assert.are.same(ref[i].gx, gx, name .. ": the gradient")
      end
   end)
end)

describe("image layers at the limits of their sizes", function()
   it("refuse a padded image too large for the kernels' int arithmetic", function()
      -- 2^31 - 1 rows padded by 2 at stride 2: the output fits, the taps'
      -- row numbers would not
      local e = H.err(nn.Conv2d, 1, 1, 1, {padding = {2, 0}, stride = 2,
                                           input = {1, 2147483647, 1}})
      H.has(e, "nn.Conv2d: the padded input (2147483651 x 1) is too large (at most 2147483647 a side)")
      e = H.err(nn.MaxPool2d, 4, {padding = 2, input = {1, 1, 2147483647}})
      H.has(e, "nn.MaxPool2d: the padded input (5 x 2147483651) is too large")
   end)

   it("refuse sizes past the int limits, naming what is too large", function()
      local function refuses(part, f, ...)
         H.has(H.err(f, ...), part)
      end
      local max = "(at most 2147483647 elements)"
      -- kh kw C overflowing the weight's shape; with outC
      refuses("nn.Conv2d: the weight (outC x inC x kh x kw = 1 x 1 x 65535 x 65535) and bias are "
         .. "too large " .. max, nn.Conv2d, 1, 1, 65535, {padding = 32767, input = {1, 1, 1}})
      refuses("= 1 x 32768 x 256 x 256) and bias are too large", nn.Conv2d, 32768, 1, 256)
      refuses("= 65535 x 65535 x 1 x 1) and bias are too large", nn.Conv2d, 65535, 65535, 1)
      -- C H W overflowing, given or learnt
      refuses("nn.Conv2d: the input, 1 x 65536 x 65536, is too large " .. max,
         nn.Conv2d, 1, 1, 1, {input = {1, 65536, 65536}})
      refuses("nn.MaxPool2d: the input, 2 x 46341 x 23171, is too large", nn.MaxPool2d, 1,
         {input = {2, 46341, 23171}})
      local c = nn.Conv2d(1, 1, 3)
      refuses("Conv2d:setInputShape: the input, 1 x 2147483647 x 2147483647, is too large",
         c.setInputShape, c, 1, 2147483647, 2147483647)
      -- the output: padding far past the image
      refuses("nn.Conv2d: the output, 64 x 20001 x 20001, is too large " .. max,
         nn.Conv2d, 1, 64, 1, {padding = 10000, input = {1, 1, 1}})
      -- dilation making the effective kernel pass 2^32 (counted exactly)
      refuses("nn.Conv2d: the kernel (1 x 65535, 1 x 4294770691 with dilation) is larger than the "
         .. "padded input (131071 x 131071)", nn.Conv2d, 1, 1, {1, 65535},
         {dilation = 65535, padding = 65535, input = {1, 1, 1}})
      refuses("nn.MaxPool2d: the kernel (65535 x 65535, 4294770691 x 4294770691 with dilation) is "
         .. "larger than the padded input (65535 x 65535)", nn.MaxPool2d, 65535,
         {dilation = 65535, padding = 32767, input = {1, 1, 1}})
      -- past 65535 a side, a window setting is refused as it is read
      refuses("nn.Conv2d: stride must be a whole number from 1 to 65535 or {h, w}, got 65536",
         nn.Conv2d, 1, 1, 3, {stride = 65536})
      -- input columns that do not match
      local p = nn.MaxPool2d(2, {input = {1, 4, 4}})
      refuses("MaxPool2d:forward: input has 15 columns, expected 16 (1 x 4 x 4)", p.forward, p,
         nn.ones(2, 15))
   end)

   it("run a stride past the image and a window with no tap inside it", function()
      local m = nn.Conv2d(1, 1, 3, {stride = 65535, padding = 1, input = {1, 1, 1}})
      m.weight = nn.Matrix(1, 9, 1)
      m.bias = nn.Matrix{{0.5}}
      assert.are.same({{1.5}}, m:forward(nn.ones(1, 1)):totable())
      assert.are.same({{1}}, m:backward(nn.ones(1, 1), nn.ones(1, 1)):totable())
      -- the columns' taps are -1 and 1 on a 1-wide image: -inf, no gradient
      local p = nn.MaxPool2d({1, 2}, {dilation = {1, 2}, padding = {0, 1}, stride = 1,
                                      input = {1, 3, 1}})
      local y = p:forward(nn.Matrix{{1, 2, 3}})
      assert.are.same({{-math.huge, -math.huge, -math.huge}}, y:totable())
      assert.are.same({{0, 0, 0}}, p:backward(nn.Matrix{{1, 2, 3}}, nn.ones(1, 3)):totable())
   end)

   it("average over windows of more than 2^31 elements", function()
      -- 65535 x 65535 on one pixel: the divisor passed INT_MAX in an int
      for _, inpad in ipairs{true, false} do
         local m = nn.AvgPool2d(65535, {padding = 32767, countIncludePad = inpad,
                                        input = {1, 1, 1}})
         local want = inpad and 1 / (65535 * 65535) or 1
         local y = m:forward(nn.ones(1, 1)):get(1, 1)
         assert.is_true(math.abs(y - want) <= 1e-6 * want, tostring(y))
         local g = m:backward(nn.ones(1, 1), nn.ones(1, 1)):get(1, 1)
         assert.is_true(math.abs(g - want) <= 1e-6 * want, tostring(g))
      end
   end)
end)
