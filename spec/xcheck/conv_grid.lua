-- Runs spec/conv_bounds_spec.lua's grid of image layers against PyTorch's
-- answers (spec/xcheck/torch_conv_grid.py), in a child interpreter, so a
-- crash names its case instead of killing busted.
--
--   lua conv_grid.lua CASES BLOB [FIRST]
--
-- CASES holds a line per case, "op H W kh kw sh sw ph pw dh dw;status",
-- status as torch_conv_grid.py prints it; BLOB its float32 answers.
-- Before case i it writes "@i" to stderr (unbuffered); at the end
-- "checked N accepted A refused R failed F", then the first failures.
-- FIRST (default 1) starts there: answers of the cases before it are
-- skipped, as after a crash.
local nn = require "nn"

local casefile, blobfile, first = arg[1], arg[2], tonumber(arg[3] or 1)
local N, C, O = 2, 2, 3

-- seq(tag, n) of torch_conv_grid.py: ((i 37 + tag 101) mod 61 - 30) / 16
local TAGS = {x = 1, w = 2, b = 3, gy = 4}
local MAXSEQ = 6000
local seqs = {}
for tag, t in pairs(TAGS) do
   local v = {}
   for i = 0, MAXSEQ - 1 do v[i + 1] = ((i * 37 + t * 101) % 61 - 30) / 16 end
   seqs[tag] = nn.Matrix(1, MAXSEQ, v)
end
local function seq(tag, r, c)
   assert(r * c <= MAXSEQ, "conv_grid.lua: MAXSEQ is too small")
   return seqs[tag]:getcols(1, r * c):reshape(r, c)
end

local f = assert(io.open(blobfile, "rb"))
local blob = f:read("*a")
f:close()
local off = 0
local function answer(r, c)
   local m = nn.Matrix.fromfloats(blob, r, c, off)
   off = off + 4 * r * c
   return m
end

-- a equals the answer b: within tol, or both the same infinity (-inf is a
-- max-pool window with no tap in the image)
local function same(a, b, tol)
   if a:equal(b, tol) then return true end
   local ra, cb = a:shape()
   local rb, cb2 = b:shape()
   if ra ~= rb or cb ~= cb2 then return false end
   local A, B = a:totable(), b:totable()
   for i = 1, ra do
      for j = 1, cb do
         local u, v = A[i][j], B[i][j]
         if u ~= v and not (math.abs(u - v) <= tol) then return false end
      end
   end
   return true
end

local NAMES = {C = "Conv2d", M = "MaxPool2d", A = "AvgPool2d", a = "AvgPool2d"}

local function make(op, Hh, W, kh, kw, sh, sw, ph, pw, dh, dw)
   local o = {stride = {sh, sw}, padding = {ph, pw}, input = {C, Hh, W}}
   if op == "C" then
      o.dilation = {dh, dw}
      return nn.Conv2d(C, O, {kh, kw}, o)
   elseif op == "M" then
      o.dilation = {dh, dw}
      return nn.MaxPool2d({kh, kw}, o)
   end
   o.countIncludePad = op == "A"
   return nn.AvgPool2d({kh, kw}, o)
end

local n, accepted, refused, failures = 0, 0, 0, {}
local function fail(i, case, what)
   failures[#failures + 1] = ("case %d (%s): %s"):format(i, case, what)
end

-- returns a failure, or nil
local function check(case, status, skip)
   local op = case:match("^(%a)")
   local v = {}
   for num in case:gmatch("%d+") do v[#v + 1] = tonumber(num) end
   local Hh, W, kh, kw, sh, sw, ph, pw, dh, dw = v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]
   local oh, ow = status:match("^(%d+) (%d+)$")
   if not oh then                                  -- PyTorch refuses it
      refused = refused + 1
      if skip then return end
      local ok, e = pcall(make, op, Hh, W, kh, kw, sh, sw, ph, pw, dh, dw)
      if ok then return "accepted, PyTorch refuses it" end
      if not tostring(e):find("nn." .. NAMES[op] .. ": ", 1, true) then
         return "refused without naming the layer: " .. tostring(e)
      end
      return
   end
   oh, ow = tonumber(oh), tonumber(ow)
   accepted = accepted + 1
   local oc = op == "C" and O or C
   local ny, nx = oc * oh * ow, C * Hh * W
   local nw = op == "C" and C * kh * kw or 0
   if skip then
      off = off + 4 * (N * ny + N * nx + (op == "C" and O * nw + O or 0))
      return
   end
   local ok, m = pcall(make, op, Hh, W, kh, kw, sh, sw, ph, pw, dh, dw)
   if not ok then return "refused, PyTorch takes it: " .. tostring(m) end
   local s = m.outputShape
   if s[1] ~= oc or s[2] ~= oh or s[3] ~= ow then
      return ("output %dx%dx%d, PyTorch's %dx%dx%d"):format(s[1], s[2], s[3], oc, oh, ow)
   end
   if op == "C" then
      m.weight = seq("w", O, nw)
      m.bias = seq("b", 1, O)
   end
   local x = seq("x", N, nx)
   local y = m:forward(x)
   local gy = seq("gy", N, ny)
   if op == "M" and y:min() == -math.huge then    -- see torch_conv_grid.py
      local t, yt = gy:totable(), y:totable()
      for i = 1, N do
         for j = 1, ny do
            if yt[i][j] == -math.huge then t[i][j] = 0 end
         end
      end
      gy = nn.Matrix(t)
   end
   m:zeroGrad()
   local gx = m:backward(x, gy)
   -- the inputs make every sum exact in float32 but the average's
   -- backward (a sum of gy / divisor, in PyTorch's order)
   local tol = 1e-6
   if not same(y, answer(N, ny), tol) then return "forward differs" end
   if not same(gx, answer(N, nx), tol) then return "dL/dx differs" end
   if op == "C" then
      if not same(m.gradWeight, answer(O, nw), tol) then return "dL/dW differs" end
      if not same(m.gradBias, answer(1, O), tol) then return "dL/db differs" end
   end
end

local i = 0
for line in io.lines(casefile) do
   i = i + 1
   local case, status = line:match("^(.-);(.*)$")
   if i >= first then io.stderr:write("@", i, "\n") end
   n = n + 1
   local ok, e = pcall(check, case, status, i < first)
   if not ok then e = "raised " .. tostring(e) end
   if e then fail(i, case, e) end
end
print(("checked %d accepted %d refused %d failed %d"):format(n, accepted, refused, #failures))
for k = 1, math.min(#failures, 20) do print(failures[k]) end
