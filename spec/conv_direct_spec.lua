-- Conv2d's direct kernels (csrc/k_direct.c: stride 1, no im2col, AVX-512
-- or AVX2) and the vectorized 2 x 2 max pooling, against plain Lua: each
-- case's forward, dL/dx, dL/dW and dL/db from naive loops, and the
-- pooling's maximum and gradient with NaN, infinities, ties and signed
-- zeros, taken as PyTorch takes them (the first of equal taps, the last
-- NaN).  Once per kernel set this CPU runs, in a child (NN_GEMM picks it;
-- "portable" is the im2col path and the generic pooling), so the AVX2
-- kernels are tested on an AVX-512 machine too.
local H = require "helpers"

local CONV = [==[
local nn = require "nn"
nn.seed(21)
-- C, O, {kh, kw}, {ph, pw}, H, W, n
local cases = {
   {4, 32, {5, 5}, {2, 2}, 14, 14, 2},      -- the CNN's second layer, fewer channels
   {1, 16, {5, 5}, {2, 2}, 28, 28, 2},      -- its first
   {2, 9, {3, 3}, {1, 1}, 7, 20, 3},        -- channels past a block of 8
   {3, 17, {3, 4}, {0, 0}, 6, 33, 2},       -- rows of 30: two vectors and a part
   {2, 5, {1, 7}, {0, 6}, 4, 9, 2},         -- a wide kernel, padding kw - 1
   {1, 3, {6, 2}, {5, 1}, 5, 3, 2},         -- a tall one, padding kh - 1
   {5, 1, {3, 3}, {1, 1}, 6, 6, 2},         -- one output channel
   {3, 40, {2, 3}, {1, 2}, 1, 40, 1},       -- one row; channels in 3 vectors
   {2, 6, {3, 3}, {1, 1}, 1, 1, 3},         -- one pixel, all padding around
   {7, 12, {3, 5}, {2, 4}, 9, 17, 2},
   {3, 20, {5, 5}, {2, 2}, 5, 16, 2},       -- channel vectors: rows of 16, 20 channels
   {2, 7, {5, 5}, {1, 3}, 4, 11, 2},        -- rows of 13, padding short of kw - 1
   {6, 24, {3, 3}, {1, 1}, 5, 5, 2},        -- 3 x 3 channel vectors (AVX-512), 5 wide
   {17, 18, {5, 5}, {2, 1}, 5, 7, 2},       -- AVX2 pair tiles across rows, both ways
   {3, 12, {5, 5}, {2, 2}, 6, 10, 2},       -- AVX2: one channel vector, 8 to 15 channels
   -- dL/dW sums 8 images a chunk: 19 are chunks of 6, 6 and 7
   {2, 8, {5, 5}, {2, 2}, 4, 12, 19},       -- by pixel vectors (AVX2)
   {3, 16, {3, 3}, {1, 1}, 3, 12, 19},      -- by channel vectors (AVX2), by pixels (AVX-512)
   {2, 32, {5, 5}, {2, 2}, 3, 3, 19},       -- by two channel vectors
   -- one input channel on AVX-512: shifted planes (k_dshift), 84 pixels a
   -- plane (a last vector of 4), no padding at the top (the lanes past a
   -- plane read the next one's first row), channels in groups of 4 and 3
   {1, 7, {3, 4}, {0, 1}, 9, 13, 19},
   {16, 32, {5, 5}, {2, 2}, 14, 14, 2},     -- the CNN's second layer itself
}
local worst = 0
for ci, c in ipairs(cases) do
   local C, O, kh, kw, ph, pw, Hh, W, n = c[1], c[2], c[3][1], c[3][2], c[4][1], c[4][2],
      c[5], c[6], c[7]
   local m = nn.Conv2d(C, O, {kh, kw}, {padding = {ph, pw}, input = {C, Hh, W}})
   m.bias = nn.randn(1, O)
   local OH, OW = Hh + 2 * ph - kh + 1, W + 2 * pw - kw + 1
   local X, G = nn.randn(n, C * Hh * W), nn.randn(n, O * OH * OW)
   m:zeroGrad()
   local y = m:forward(X):totable()
   local gx = m:backward(X, G):totable()
   local gw, gb = m.gradWeight:totable(), m.gradBias:totable()[1]
   local w, b, x, g = m.weight:totable(), m.bias:totable()[1], X:totable(), G:totable()
   local function xat(i, ch, iy, ix)
      if iy < 0 or iy >= Hh or ix < 0 or ix >= W then return 0 end
      return x[i][(ch * Hh + iy) * W + ix + 1]
   end
   local function check(got, want, what)
      local e = math.abs(got - want) / (1 + math.abs(want))
      if not (e < 1e-4) then
         error(("case %d: %s is %.9g, want %.9g"):format(ci, what, got, want), 0)
      end
      if e > worst then worst = e end
   end
   local rgx, rgw, rgb = {}, {}, {}
   for i = 1, n do
      rgx[i] = {}
      for j = 1, C * Hh * W do rgx[i][j] = 0 end
   end
   for o = 0, O - 1 do
      rgw[o] = {}
      for k = 1, C * kh * kw do rgw[o][k] = 0 end
      rgb[o] = 0
   end
   for i = 1, n do
      for o = 0, O - 1 do
         for oy = 0, OH - 1 do
            for ox = 0, OW - 1 do
               local s, at = b[o + 1], (o * OH + oy) * OW + ox + 1
               local gv = g[i][at]
               rgb[o] = rgb[o] + gv
               for ch = 0, C - 1 do
                  for ki = 0, kh - 1 do
                     for kj = 0, kw - 1 do
                        local k = (ch * kh + ki) * kw + kj + 1
                        local iy, ix = oy - ph + ki, ox - pw + kj
                        local xv = xat(i, ch, iy, ix)
                        s = s + w[o + 1][k] * xv
                        rgw[o][k] = rgw[o][k] + gv * xv
                        if iy >= 0 and iy < Hh and ix >= 0 and ix < W then
                           local xi = (ch * Hh + iy) * W + ix + 1
                           rgx[i][xi] = rgx[i][xi] + gv * w[o + 1][k]
                        end
                     end
                  end
               end
               check(y[i][at], s, ("y[%d][%d]"):format(i, at))
            end
         end
      end
   end
   for i = 1, n do
      for j = 1, C * Hh * W do check(gx[i][j], rgx[i][j], ("gx[%d][%d]"):format(i, j)) end
   end
   for o = 0, O - 1 do
      for k = 1, C * kh * kw do check(gw[o + 1][k], rgw[o][k], ("gw[%d][%d]"):format(o + 1, k)) end
      check(gb[o + 1], rgb[o], ("gb[%d]"):format(o + 1))
   end
end
-- dL/dW by pixel vectors computes lanes that are no pixel (the columns
-- past a row's end): an infinity in x where only those lanes reach must
-- not turn the taps that never touch it into NaN
for _, c in ipairs{{1, 16, 28}, {2, 17, 30}} do
   local C, O, Wd = c[1], c[2], c[3]
   local m = nn.Conv2d(C, O, 5, {padding = 2, input = {C, 6, Wd}})
   local X, G = nn.rand(2, C * 6 * Wd), nn.Matrix(2, O * 6 * Wd):fill(1)
   for ch = 0, C - 1 do X:set(1, ch * 6 * Wd + Wd, math.huge) end   -- x[0, ch, 0, W - 1]
   m:zeroGrad()
   m:forward(X)
   m:backward(X, G)
   local gw = m.gradWeight:totable()
   for o = 1, O do
      for k = 1, C * 25 do
         local kj = (k - 1) % 5
         local v = gw[o][k]
         -- tap kj reaches column W - 1 only for kj >= 2 (padding 2)
         if kj < 2 then
            assert(v == v and v > -math.huge and v < math.huge,
               ("edge case %d->%d: gw[%d][%d] is %s, want finite"):format(C, O, o, k, v))
         end
      end
   end
end
print(("%s: %d cases agree (%.2g)"):format(select(2, nn.blas()), #cases, worst))
]==]

local POOL = [==[
local nn = require "nn"
nn.seed(8)
local nan, inf = 0 / 0, math.huge
local pick = {nan, inf, -inf, 0.0, -0.0, 1, 1, 2, 2, 2, -1, 3}
local function same(a, b)       -- NaN to NaN, and zeros by their sign
   if a ~= a then return b ~= b end
   return a == b and (a ~= 0 or 1 / a == 1 / b)
end
local cases = {{2, 2}, {5, 7}, {6, 33}, {3, 40}, {28, 28}, {14, 14}, {4, 2}}
for _, c in ipairs(cases) do
   local Hh, W, planes = c[1], c[2], 3
   local OH, OW = math.floor(Hh / 2), math.floor(W / 2)
   local m = nn.MaxPool2d(2, {input = {planes, Hh, W}})
   for _, mix in ipairs{0.05, 0.5, 1} do   -- the share of awkward values
      local n = 2
      local X = nn.Matrix(n, planes * Hh * W)
      X:apply(function()
         if nn.random() < mix then return pick[nn.random(#pick)] end
         return nn.random() * 4 - 2
      end)
      local G = nn.Matrix(n, planes * OH * OW):apply(function(_, i, j) return i * 1000 + j end)
      local y = m:forward(X):totable()
      local gx = m:backward(X, G):totable()
      local x, g = X:totable(), G:totable()
      for i = 1, n do
         local want = {}
         for j = 1, planes * Hh * W do want[j] = 0 end
         for p = 0, planes - 1 do
            for oy = 0, OH - 1 do
               for ox = 0, OW - 1 do
                  local taps = {}
                  for dy = 0, 1 do
                     for dx = 0, 1 do
                        taps[#taps + 1] = (p * Hh + 2 * oy + dy) * W + 2 * ox + dx + 1
                     end
                  end
                  local mx, isnan, at = -inf, false, nil
                  for _, t in ipairs(taps) do
                     local v = x[i][t]
                     if v ~= v then isnan = true elseif v > mx then mx = v end
                  end
                  local o = (p * OH + oy) * OW + ox + 1
                  local got = y[i][o]
                  if isnan then
                     for _, t in ipairs(taps) do if x[i][t] ~= x[i][t] then at = t end end
                     assert(got ~= got, ("%dx%d: y[%d][%d] is %s, want NaN"):format(Hh, W, i, o, got))
                  else
                     for _, t in ipairs(taps) do
                        if not at and x[i][t] == mx then at = t end
                     end
                     -- the first tap equal to the maximum, its sign too
                     assert(same(got, x[i][at]), ("%dx%d: y[%d][%d] is %s, want %s")
                        :format(Hh, W, i, o, got, x[i][at]))
                  end
                  want[at] = want[at] + g[i][o]
               end
            end
         end
         for j = 1, planes * Hh * W do
            assert(gx[i][j] == want[j], ("%dx%d (%g awkward): gx[%d][%d] is %s, want %s")
               :format(Hh, W, mix, i, j, gx[i][j], want[j]))
         end
      end
   end
end
print(("%s: pooling agrees"):format(select(2, nn.blas())))
]==]

describe("Conv2d's direct kernels and 2 x 2 max pooling", function()
   for _, k in ipairs(H.kernels()) do
      it("agree with plain Lua, kernel set " .. k, function()
         -- the sets run the im2col path where the CPU has no AVX2: the
         -- same answers
         local ok, out = H.child(CONV, ("NN_GEMM=%s OPENBLAS_NUM_THREADS=1 "):format(k), nil, 300)
         assert.is_true(ok, out)
         assert.truthy(out:find("20 cases agree", 1, true), out)
         if H.blas == "none" then assert.truthy(out:find("^" .. k .. ":"), out) end
      end)

      it("pool NaN, infinities, ties and signed zeros as PyTorch, kernel set " .. k, function()
         local ok, out = H.child(POOL, ("NN_GEMM=%s OPENBLAS_NUM_THREADS=1 "):format(k), nil, 300)
         assert.is_true(ok, out)
         assert.truthy(out:find("pooling agrees", 1, true), out)
      end)
   end
end)
