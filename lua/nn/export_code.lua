-- The code nn.export writes (lua/nn/export.lua): Gen, which collects the
-- lines of the file, and EMIT, a writer for each kind of stage, here the
-- dense and image stages (Linear, Conv2d, the pools, BatchNorm) and the
-- containers (Sequential, Residual, Concat); the sequence stages are in
-- lua/nn/export_sequence.lua.  Each writer makes F[k] = (function() ...
-- end)(), the function of a stage, and returns k.
local num = require("nn.export_math").num

local CHUNK = 16384          -- numbers per table constructor (and function)
local UNROLL_IN = 64         -- a Linear is unrolled up to nin inputs
local UNROLL_W = 4096        -- and nin * nout weights

local fmt, concat = string.format, table.concat

local Gen = {}
Gen.__index = Gen

function Gen:line(s, ...)
   local o = self.out
   s = select("#", ...) > 0 and fmt(s, ...) or s
   if self.pad ~= "" then s = self.pad .. s:gsub("\n", "\n" .. self.pad) end
   o[#o + 1] = s
end

-- numbers as a list: a constructor of at most CHUNK numbers, each in a
-- function of its own (an expression)
function Gen:data(name, list)
   if #list <= 64 then
      local t = {}
      for i, v in ipairs(list) do t[i] = num(v) end
      self:line("   local %s = {%s}", name, concat(t, ", "))
      return
   end
   self:line("   local %s = {}", name)
   for first = 1, #list, CHUNK do
      local t, k = {}, 0
      for i = first, math.min(first + CHUNK - 1, #list) do
         k = k + 1
         t[k] = num(list[i])
         if k % 8 == 0 then t[k] = t[k] .. "\n" end
      end
      self:line("   fill(%s, %d, (function() return {\n%s} end)())", name, first - 1,
         concat(t, ", "))
   end
   self.usesfill = true
end

-- the chain's statements, v to f(v)
function Gen:chain(chain, indent)
   local t = {}
   for i, c in ipairs(chain or {}) do
      if c.helper then self.helpers[c.helper] = true end
      t[i] = indent .. c.code
   end
   return concat(t, "\n")
end

-- the statements that apply the chain to y[1..m] in place
function Gen:chainloop(chain, m)
   if not chain or #chain == 0 then return end
   self:line("      for i = 1, %s do", m)
   self:line("         local v = y[i]")
   self:line(self:chain(chain, "         "))
   self:line("         y[i] = v")
   self:line("      end")
end

-- opens F[k] = (function() ... return function(x, n) and returns k
function Gen:open(node)
   self.count = self.count + 1
   local k = self.count
   self:line("")
   self:line("-- %s", node.where .. (node.name and (" " .. node.name) or ""))
   self:line("F[%d] = (function()", k)
   return k
end

function Gen:close(ret)
   self:line("      return %s", ret)
   self:line("   end")
   self:line("end)()")
end

local EMIT = {}

function EMIT.map(g, node)
   local k = g:open(node)
   g:line("   local y = {}")
   g:line("   return function(x, n)")
   g:line("      for i = 1, n do")
   g:line("         local v = x[i]")
   g:line(g:chain(node.chain, "         "))
   g:line("         y[i] = v")
   g:line("      end")
   g:close("y, n")
   return k
end

-- y = W x + b with a loop over the rows of the flat W (weights in a
-- table); over its columns too, unless few (inner: the inputs in locals)
local function linearloops(g, node, inner)
   local nin, nout, b = node.nin, node.nout, node.b
   g:data("W", node.W)
   if b then g:data("b", b) end
   g:line("   return function(x, n)")
   if inner then
      local xs, names = {}, {}
      for i = 1, nin do xs[i], names[i] = fmt("x[%d]", i), "x" .. i end
      g:line("      local %s = %s", concat(names, ", "), concat(xs, ", "))
   end
   g:line("      for j = 1, %d do", nout)
   g:line("         local v, o = %s, (j - 1) * %d", b and "b[j]" or "0.0", nin)
   if inner then
      local terms = {}
      for i = 1, nin do terms[i] = fmt(" + W[o + %d] * x%d", i, i) end
      g:line("         v = v%s", concat(terms))
   else
      g:line("         for i = 1, %d do v = v + W[o + i] * x[i] end", nin)
   end
   if node.chain then g:line(g:chain(node.chain, "         ")) end
   g:line("         y[j] = v")
   g:line("      end")
   g:line("      return y, %d", nout)
   g:line("   end")
end

-- A small Linear both ways: unrolled, its weights constants of the
-- function, which PUC Lua runs about 3 times faster than the loops; and
-- the loops, which LuaJIT gets instead (an unrolled network is longer
-- than a LuaJIT trace may be, and then runs in its interpreter).
function EMIT.linear(g, node)
   local nin, nout, W, b = node.nin, node.nout, node.W, node.b
   local k = g:open(node)
   g:line("   local y = {}")
   if not (nin <= UNROLL_IN and nin * nout <= UNROLL_W) then
      linearloops(g, node)
      g:line("end)()")
      return k
   end
   g:line("   if jit then")
   g.pad = "   "
   linearloops(g, node, true)
   g.pad = ""
   g:line("   end")
   g:line("   return function(x, n)")
   local xs, names = {}, {}
   for i = 1, nin do
      xs[i] = fmt("x[%d]", i)
      names[i] = "x" .. i
   end
   g:line("      local %s = %s", concat(names, ", "), concat(xs, ", "))
   for j = 1, nout do
      local terms = {b and num(b[j]) or "0.0"}
      for i = 1, nin do
         local w = W[(j - 1) * nin + i]
         -- "- 0.5 * x1" rather than "+ -0.5 * x1" (the same number)
         local op = (w < 0 and w > -math.huge) and " - " or " + "
         terms[#terms + 1] = fmt("%s%s * x%d", op, num(op == " - " and -w or w), i)
      end
      g:line("      do")
      g:line("         local v = %s", concat(terms))
      if node.chain then g:line(g:chain(node.chain, "         ")) end
      g:line("         y[%d] = v", j)
      g:line("      end")
   end
   g:close("y, " .. nout)
   return k
end

function EMIT.conv(g, node)
   local n = node
   local k = g:open(node)
   local HP, WP = n.H + 2 * n.ph, n.W + 2 * n.pw
   local K = n.C * n.kh * n.kw
   g:data("Wt", n.weight)
   if n.bias then g:data("b", n.bias) end
   g:line("   local y = {}")
   local padded = n.ph > 0 or n.pw > 0
   if padded then
      -- the input inside a frame of zeros, so the loops need no bounds
      g:line("   local xp = {}")
      g:line("   for i = 1, %d do xp[i] = 0.0 end", n.C * HP * WP)
   end
   g:line("   return function(x, n)")
   if padded then
      g:line("      for c = 0, %d do", n.C - 1)
      g:line("         for i = 0, %d do", n.H - 1)
      g:line("            local s, d = c * %d + i * %d, c * %d + i * %d + %d",
         n.H * n.W, n.W, HP * WP, WP, n.ph * WP + n.pw)
      g:line("            for j = 1, %d do xp[d + j] = x[s + j] end", n.W)
      g:line("         end")
      g:line("      end")
   else
      g:line("      local xp = x")
   end
   local P = n.OH * n.OW
   g:line("      for o = 0, %d do", n.OC - 1)
   g:line("         local yo = o * %d", P)
   g:line("         local bo = %s", n.bias and "b[o + 1]" or "0.0")
   g:line("         for p = yo + 1, yo + %d do y[p] = bo end", P)
   g:line("         for c = 0, %d do", n.C - 1)
   g:line("            for ki = 0, %d do", n.kh - 1)
   g:line("               for kj = 0, %d do", n.kw - 1)
   g:line("                  local w = Wt[o * %d + c * %d + ki * %d + kj + 1]", K, n.kh * n.kw, n.kw)
   g:line("                  local base = c * %d + ki * %d + kj * %d", HP * WP, n.dh * WP, n.dw)
   g:line("                  for oy = 0, %d do", n.OH - 1)
   g:line("                     local s, d = base + oy * %d, yo + oy * %d", n.sh * WP, n.OW)
   if n.sw == 1 then
      g:line("                     for ox = 1, %d do y[d + ox] = y[d + ox] + w * xp[s + ox] end", n.OW)
   else
      g:line("                     for ox = 1, %d do y[d + ox] = y[d + ox] + w * xp[s + ox * %d - %d] end",
         n.OW, n.sw, n.sw - 1)
   end
   g:line("                  end")
   g:line("               end")
   g:line("            end")
   g:line("         end")
   g:line("      end")
   g:chainloop(node.chain, n.OC * P)
   g:close(fmt("y, %d", n.OC * P))
   return k
end

-- the window of output row (or column) o, clipped to the image as in
-- csrc/k_conv.c: rows y0..y1-1, every d-th
local function clip(g, pad, o, a, b, s, p, kk, d, H)
   g:line("%slocal %s = %s * %d - %d", pad, a, o, s, p)
   g:line("%slocal %s = %s + %d", pad, b, a, (kk - 1) * d + 1)
   if p > 0 then
      g:line("%swhile %s < 0 do %s = %s + %d end", pad, a, a, a, d)
      g:line("%sif %s > %d then %s = %d end", pad, b, H, b, H)
   end
end

local function poolstage(g, node, body)
   local n = node
   local k = g:open(node)
   g:line("   local y = {}")
   g:line("   return function(x, n)")
   g:line("      local at = 0")
   g:line("      for c = 0, %d do", n.C - 1)
   g:line("         local xb = c * %d + 1", n.H * n.W)
   g:line("         for oy = 0, %d do", n.OH - 1)
   clip(g, "            ", "oy", "y0", "y1", n.sh, n.ph, n.kh, n.dh, n.H)
   g:line("            for ox = 0, %d do", n.OW - 1)
   clip(g, "               ", "ox", "x0", "x1", n.sw, n.pw, n.kw, n.dw, n.W)
   body()
   g:line("            end")
   g:line("         end")
   g:line("      end")
   g:chainloop(node.chain, n.C * n.OH * n.OW)
   g:close(fmt("y, %d", n.C * n.OH * n.OW))
   return k
end

-- NaN wins, as in the C kernel: once m is NaN no comparison replaces it
function EMIT.maxpool(g, node)
   return poolstage(g, node, function()
      g:line("               local m = -huge")
      g:line("               for iy = y0, y1 - 1, %d do", node.dh)
      g:line("                  local r = xb + iy * %d", node.W)
      g:line("                  for ix = x0, x1 - 1, %d do", node.dw)
      g:line("                     local v = x[r + ix]")
      g:line("                     if v > m or v ~= v then m = v end")
      g:line("                  end")
      g:line("               end")
      g:line("               at = at + 1")
      g:line("               y[at] = m")
   end)
end

-- countIncludePad: the whole window divides (PyTorch's default), else the
-- elements inside the image
function EMIT.avgpool(g, node)
   return poolstage(g, node, function()
      g:line("               local s, count = 0.0, 0")
      g:line("               for iy = y0, y1 - 1, %d do", node.dh)
      g:line("                  local r = xb + iy * %d", node.W)
      g:line("                  for ix = x0, x1 - 1, %d do", node.dw)
      g:line("                     s = s + x[r + ix]")
      g:line("                     count = count + 1")
      g:line("                  end")
      g:line("               end")
      g:line("               at = at + 1")
      if node.inpad then
         g:line("               y[at] = s / %d", node.kh * node.kw)
      else
         g:line("               y[at] = s / count")
      end
   end)
end

-- evaluation: the running statistics, y = x a + b per channel, a = gamma /
-- sqrt(var + eps) and b = beta - mean a (the raw statistics are in the
-- file; a and b are made when it loads)
function EMIT.batchnorm(g, node)
   local n = node
   local k = g:open(node)
   g:data("mean", n.mean)
   g:data("var", n.var)
   if n.gamma then
      g:data("gamma", n.gamma)
      g:data("beta", n.beta)
   end
   g:line("   local A, B = {}, {}")
   g:line("   for c = 1, %d do", n.C)
   g:line("      local a = %s / sqrt(var[c] + %s)", n.gamma and "gamma[c]" or "1", num(n.eps))
   g:line("      A[c], B[c] = a, %s - mean[c] * a", n.gamma and "beta[c]" or "0")
   g:line("   end")
   g:line("   local y = {}")
   g:line("   return function(x, n)")
   if n.S == 1 then
      g:line("      for c = 1, %d do", n.C)
      g:line("         local v = x[c] * A[c] + B[c]")
      if node.chain then g:line(g:chain(node.chain, "         ")) end
      g:line("         y[c] = v")
      g:line("      end")
   else
      g:line("      for c = 0, %d do", n.C - 1)
      g:line("         local a, b, o = A[c + 1], B[c + 1], c * %d", n.S)
      g:line("         for j = o + 1, o + %d do", n.S)
      g:line("            local v = x[j] * a + b")
      if node.chain then g:line(g:chain(node.chain, "            ")) end
      g:line("            y[j] = v")
      g:line("         end")
      g:line("      end")
   end
   g:close(fmt("y, %d", n.C * n.S))
   return k
end


-- the sequence stages (Linear on steps, LayerNorm, Embedding, the
-- recurrent layers) and the softmaxes
for op, emit in pairs(require "nn.export_sequence") do EMIT[op] = emit end

-- the functions a container calls: locals while few (5.1 and LuaJIT allow
-- 60 upvalues), F[k] beyond
local function callers(g, ks)
   local names = {}
   for i, k in ipairs(ks) do
      if i <= 40 then
         names[i] = "f" .. i
         g:line("   local f%d = F[%d]", i, k)
      else
         names[i] = fmt("F[%d]", k)
      end
   end
   return names
end

local gen

function EMIT.seq(g, node)
   local ks = {}
   for i, s in ipairs(node.stages) do ks[i] = gen(g, s) end
   if #ks == 1 then return ks[1] end
   local k = g:open(node)
   local names = callers(g, ks)
   g:line("   return function(x, n)")
   for _, f in ipairs(names) do g:line("      x, n = %s(x, n)", f) end
   g:close("x, n")
   return k
end

function EMIT.residual(g, node)
   local inner = gen(g, node.inner)
   local k = g:open(node)
   g:line("   local inner = F[%d]", inner)
   g:line("   local y = {}")
   g:line("   return function(x, n)")
   g:line("      local r, m = inner(x, n)")
   g:line("      if m ~= n then")
   g:line("         error(\"model.forward: %s (nn.Residual): its module gives \" .. m .. \" values for \" .. n, 0)",
      node.where)
   g:line("      end")
   g:line("      for i = 1, n do")
   g:line("         local v = x[i] + r[i]")
   if node.chain then g:line(g:chain(node.chain, "         ")) end
   g:line("         y[i] = v")
   g:line("      end")
   g:close("y, n")
   return k
end

function EMIT.concat(g, node)
   local ks = {}
   for i, s in ipairs(node.list) do ks[i] = gen(g, s) end
   local k = g:open(node)
   local names = callers(g, ks)
   g:line("   local y = {}")
   g:line("   return function(x, n)")
   g:line("      local o = 0")
   for _, f in ipairs(names) do
      g:line("      do")
      g:line("         local r, m = %s(x, n)", f)
      g:line("         for i = 1, m do y[o + i] = r[i] end")
      g:line("         o = o + m")
      g:line("      end")
   end
   g:chainloop(node.chain, "o")
   g:close("y, o")
   return k
end

-- an empty Sequential (or one of identities): x itself
function EMIT.identity(g, node)
   local k = g:open(node)
   g:line("   return function(x, n)")
   g:close("x, n")
   return k
end

function gen(g, node)
   if node.op == "seq" and #node.stages == 0 then return EMIT.identity(g, node) end
   return EMIT[node.op](g, node)
end

return {Gen = Gen, EMIT = EMIT, gen = gen}
