-- nn.export(net [, path]): the network's evaluation-mode forward as one
-- self-contained Lua file (issue #22 section 4), for where no C can go: a
-- game that ships no binaries, a VM that cannot load C (Fengari, Luau),
-- a sandbox.  The file requires nothing, holds the weights inline and is
-- Lua 5.1 syntax that runs unchanged on 5.1, 5.2, 5.3, 5.4 and LuaJIT and
-- avoids what Luau lacks (goto, //, bit operators, string.pack):
--
--   local model = dofile("net.lua")
--   local y = model.forward({...})            -- one sample: an array
--   local ys = model.forward({{...}, {...}})  -- a batch: an array of arrays
--
-- How it is made.  The network becomes a list of stages, each one Lua
-- function F[k](x, n) -> y, m over flat arrays (an image is its (C, H, W)
-- row, as in a Matrix): a producer (Linear, Conv2d, a pool, BatchNorm,
-- Softmax, a Residual or a Concat) followed by the elementwise layers
-- after it, fused into its last loop; Identity, Flatten and Dropout (the
-- identity in evaluation) vanish.  Each stage is made by a function of its
-- own that holds its weights and its output buffer, so that no function
-- of the file comes near an interpreter's limit of locals (200), upvalues
-- (60 on 5.1 and LuaJIT) or constants (2^18 on 5.1, 65536 on LuaJIT):
-- weights go into flat arrays from table constructors of at most CHUNK
-- numbers, each in a function of its own.  A small Linear is written
-- twice, chosen when the file loads: unrolled with its weights as
-- constants for PUC Lua, a loop over its rows for LuaJIT.
-- Numbers are double in the file: every weight is printed with %.9g, which
-- a float32 survives (read back and rounded to float32, the same bits),
-- and the arithmetic is in double, so the file agrees with the C path to
-- float32's rounding of the C path itself.
local core = require "nn.core"
local layers = require "nn.layers"
local Sequential = require "nn.Sequential"
local Residual = require "nn.Residual"
local Concat = require "nn.Concat"
local Container = require "nn.Container"

local export = {}

local CHUNK = 16384          -- numbers per table constructor (and function)
local UNROLL_IN = 64         -- a Linear is unrolled up to nin inputs
local UNROLL_W = 4096        -- and nin * nout weights
local MAXDEPTH = 64

local fmt, concat = string.format, table.concat

local function fail(msg) error("nn.export: " .. msg, 0) end

-- ---- numbers ---------------------------------------------------------------

-- v as a Lua literal: %.9g (enough for a float32 to round-trip), with a
-- point or an exponent so that it is a float on 5.3 and later; -0 by a
-- division, since 5.1 keeps one constant for 0 and -0 in a function
local function num(v)
   if v ~= v then return "0/0" end
   if v == math.huge then return "1/0" end
   if v == -math.huge then return "-1/0" end
   if v == 0 and 1 / v < 0 then return "-1/(1/0)" end
   -- float32's largest: %.9g reads back beyond it (to a double that still
   -- rounds to it); %.17g is exact
   local s = fmt((v > 3.4028234e38 or v < -3.4028234e38) and "%.17g" or "%.9g", v)
   if not s:find("[.eEn]") then s = s .. ".0" end
   return s
end

-- the elements of a Matrix, row by row, as a Lua list
local function flat(M)
   local t, k = {}, 0
   for _, row in ipairs(M:totable()) do
      for _, v in ipairs(row) do
         k = k + 1
         t[k] = v
      end
   end
   return t
end

-- ---- the elementwise layers: a statement turning local v into f(v) --------
-- They follow csrc/k_act.c, NaN included; a helper function is written
-- into the file only when a snippet calls it.

local HELPERS = {
   expm1 = {[[
-- exp(x) - 1 without cancellation near 0 (Kahan's trick)
local function expm1(x)
   local u = exp(x)
   if u == 1 then return x end
   local um1 = u - 1
   if um1 == -1 then return -1.0 end
   if u == huge then return u end
   return um1 * x / log(u)
end]]},
   log1p = {[[
-- log(1 + x) without cancellation near 0 (Kahan's trick)
local function log1p(x)
   local u = 1 + x
   if u == 1 then return x end
   return log(u) * x / (u - 1)
end]]},
   tanh = {[[
-- tanh, which Lua 5.3 and later no longer have: expm1(2x) / (expm1(2x) + 2)
local function tanh(x)
   if x > 20 then return 1.0 elseif x < -20 then return -1.0 end
   local e = expm1(2 * x)
   return e / (e + 2)
end]], "expm1"},
   erf = {[[
-- erf and erfc, to about 1e-13 relative, which Lua lacks: for t < 2.5 the
-- series 2/sqrt(pi) exp(-t^2) sum (2t^2)^k t / (1 3 5 ... (2k+1)), whose
-- terms are all positive; beyond, erfc's continued fraction (Lentz)
local RSQRTPI = 1 / sqrt(3.141592653589793)
local function erfseries(t)
   local t2, term, sum, k = 2 * t * t, t, t, 1
   repeat
      term = term * t2 / (2 * k + 1)
      sum = sum + term
      k = k + 1
   until term <= sum * 1e-17
   return 2 * RSQRTPI * exp(-t * t) * sum
end
local function erfcfraction(t)
   if t > 27 then return 0.0 end          -- below the smallest double
   local f, C, D, k = t, t, 0.0, 1
   repeat
      local a = k / 2
      D = t + a * D
      if D == 0 then D = 1e-300 end
      C = t + a / C
      if C == 0 then C = 1e-300 end
      D = 1 / D
      local delta = C * D
      f = f * delta
      k = k + 1
   until (delta - 1 < 1e-16 and 1 - delta < 1e-16) or k > 200
   return RSQRTPI * exp(-t * t) / f
end
local function erf(x)
   if x ~= x then return x end
   if x < 0 then return -erf(-x) end
   if x < 2.5 then return erfseries(x) end
   return 1 - erfcfraction(x)
end
local function erfc(x)
   if x ~= x then return x end
   if x < 0 then return 2 - erfc(-x) end
   if x < 2.5 then return 1 - erfseries(x) end
   return erfcfraction(x)
end
-- x Phi(x), Phi the normal CDF: erfc for x < 0, where 1 + erf cancels
local function gelu(x)
   local z = x * 0.7071067811865476
   if z >= 0 then return 0.5 * x * (1 + erf(z)) end
   return 0.5 * x * erfc(-z)
end]]},
   softplus = {[[
-- log(1 + exp(beta x)) / beta, stable
local function softplus(x, beta)
   local z = beta * x
   local a = z
   if a < 0 then a = -a end
   return ((z > 0 and z or 0.0) + log1p(exp(-a))) / beta
end]], "log1p"},
}
local HELPER_ORDER = {"expm1", "log1p", "tanh", "erf", "softplus"}

-- kind -> function(config) -> the statement (v to f(v)) and the helpers it needs
local ELEMENTWISE = {
   ReLU = function() return "v = v > 0 and v or 0.0" end,
   Sigmoid = function()
      return "if v >= 0 then v = 1 / (1 + exp(-v)) else local e = exp(v); v = e / (1 + e) end"
   end,
   Tanh = function() return "v = tanh(v)", "tanh" end,
   LeakyReLU = function(c) return fmt("v = v > 0 and v or %s * v", num(c[1])) end,
   ELU = function(c) return fmt("v = v > 0 and v or %s * expm1(v)", num(c[1])), "expm1" end,
   Softplus = function(c) return fmt("v = softplus(v, %s)", num(c[1])), "softplus" end,
   Step = function() return "v = v > 0 and 1.0 or (v < 0 and 0.0 or (v == 0 and 0.5 or v))" end,
   Sign = function() return "v = v > 0 and 1.0 or (v < 0 and -1.0 or (v == 0 and 0.0 or v))" end,
   PiecewiseLinear = function()
      return "v = v + 0.5; if v < 0 then v = 0.0 end; if v > 1 then v = 1.0 end"
   end,
   GELU = function(c)
      local approx = type(c[1]) == "table" and c[1].approximate or c[1]
      if approx == "tanh" then
         -- x (1 + tanh(u)) / 2 = x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3)
         return "v = v / (1 + exp(-1.5957691216057308 * (v + 0.044715 * v * v * v)))"
      end
      return "v = gelu(v)", "erf"
   end,
}
-- the identity in evaluation mode
local PASS = {Identity = true, Flatten = true, Dropout = true}

-- ---- the network as stages -------------------------------------------------
-- A node: {op = "seq", list = {...}} or a stage {op = ..., chain = {...},
-- insize, outsize, ...}; sizes are numbers or nil (known only at run time:
-- a network of elementwise layers takes any width).

local isMatrix = require("nn.util").isMatrix

local function get(m, k) return Container.get(m, k) end

local function describe(m) return Container.describe(m) end

local function pair(v)
   if type(v) == "table" then return v[1], v[2] end
   return v, v
end

local function shape3(m, where, what)
   local s = get(m, what)
   if type(s) ~= "table" then
      fail(fmt("%s (%s) does not know its %s; make it with {input = {C, H, W}}"
         .. " or after the layer that gives its images", where, describe(m),
         what == "inputShape" and "input's shape" or "output's shape"))
   end
   return s[1], s[2], s[3]
end

local function params(m, where)
   local ok, p = pcall(function() return m:parameters() end)
   if not ok or type(p) ~= "table" then
      fail(fmt("%s (%s): parameters() failed: %s", where, describe(m), tostring(p)))
   end
   for i, M in ipairs(p) do
      if not isMatrix(M) then fail(fmt("%s (%s): parameter %d is not an nn.Matrix", where, describe(m), i)) end
   end
   return p
end

local function config(m, where)
   local ok, c = pcall(function() return m:config() end)
   if not ok or type(c) ~= "table" then
      fail(fmt("%s (%s): config() failed: %s", where, describe(m), tostring(c)))
   end
   return c
end

-- kind -> function(m, where) -> a stage
local STAGES = {}

function STAGES.Linear(m, where)
   local W = m.weight
   local nout, nin = W:shape()
   local p = params(m, where)
   local opts = config(m, where)[3] or {}
   if opts.sequence then            -- each step of a sequence, any count
      return {op = "steplinear", nin = nin, nout = nout, W = flat(W),
              b = p[2] and flat(p[2]) or nil, step = nin, ostep = nout}
   end
   return {op = "linear", nin = nin, nout = nout, W = flat(W),
           b = p[2] and flat(p[2]) or nil, insize = nin, outsize = nout}
end

-- the sequence layers: rows of T steps (any T) of step values each
function STAGES.LayerNorm(m, where)
   local c = config(m, where)
   local opts = c[2] or {}
   local p = params(m, where)
   return {op = "layernorm", D = c[1], eps = opts.eps or 1e-5,
           gamma = p[1] and flat(p[1]) or nil, beta = p[2] and flat(p[2]) or nil,
           step = c[1], ostep = c[1]}
end

function STAGES.Embedding(m, where)
   local c = config(m, where)
   local opts = c[3] or {}
   return {op = "embedding", num = c[1], D = c[2], W = flat(m.weight),
           maxnorm = opts.maxNorm, p = opts.normType or 2, step = 1, ostep = c[2]}
end

function STAGES.Softmax() return {op = "softmax"} end
function STAGES.LogSoftmax() return {op = "logsoftmax"} end

function STAGES.Conv2d(m, where)
   local c = config(m, where)
   local opts = c[4] or {}
   local C, H, W = shape3(m, where, "inputShape")
   local OC, OH, OW = shape3(m, where, "outputShape")
   local kh, kw = pair(c[3])
   local sh, sw = pair(opts.stride or 1)
   local ph, pw = pair(opts.padding or 0)
   local dh, dw = pair(opts.dilation or 1)
   local p = params(m, where)
   return {op = "conv", C = C, H = H, W = W, OC = OC, OH = OH, OW = OW, kh = kh, kw = kw,
           sh = sh, sw = sw, ph = ph, pw = pw, dh = dh, dw = dw,
           weight = flat(p[1]), bias = p[2] and flat(p[2]) or nil,
           insize = C * H * W, outsize = OC * OH * OW}
end

local function pool(op)
   return function(m, where)
      local c = config(m, where)
      local opts = c[2] or {}
      local C, H, W = shape3(m, where, "inputShape")
      local OC, OH, OW = shape3(m, where, "outputShape")
      local kh, kw = pair(c[1])
      local sh, sw = pair(opts.stride or c[1])
      local ph, pw = pair(opts.padding or 0)
      local dh, dw = pair(opts.dilation or 1)
      return {op = op, C = C, H = H, W = W, OH = OH, OW = OW, kh = kh, kw = kw,
              sh = sh, sw = sw, ph = ph, pw = pw, dh = dh, dw = dw,
              inpad = opts.countIncludePad ~= false,
              insize = C * H * W, outsize = OC * OH * OW}
   end
end
STAGES.MaxPool2d = pool("maxpool")
STAGES.AvgPool2d = pool("avgpool")

local function batchnorm(image)
   return function(m, where)
      local c = config(m, where)
      local opts = c[2] or {}
      local C, S = c[1], 1
      if image then
         local C2, H, W = shape3(m, where, "inputShape")
         C, S = C2, H * W
      end
      local mean, var = m.runningMean, m.runningVar
      if not isMatrix(mean) or not isMatrix(var) then
         fail(fmt("%s (%s) has no running statistics", where, describe(m)))
      end
      local affine = opts.affine ~= false
      return {op = "batchnorm", C = C, S = S, eps = opts.eps or 1e-5,
              mean = flat(mean), var = flat(var),
              gamma = affine and flat(m.weight) or nil, beta = affine and flat(m.bias) or nil,
              insize = C * S, outsize = C * S}
   end
end
STAGES.BatchNorm1d = batchnorm(false)
STAGES.BatchNorm2d = batchnorm(true)

-- every kind nn.export can write (spec/export_spec.lua checks the
-- registry against it)
function export.kinds()
   local t = {}
   for k in pairs(STAGES) do t[#t + 1] = k end
   for k in pairs(ELEMENTWISE) do t[#t + 1] = k end
   for k in pairs(PASS) do t[#t + 1] = k end
   table.sort(t)
   return t
end
-- for the spec: the tables of kinds, and how a number is printed
export.STAGES, export.ELEMENTWISE, export.PASS, export.literal = STAGES, ELEMENTWISE, PASS, num

-- m as a node; where names it in messages ("the network[3][1]")
local function walk(m, where, depth)
   if depth > MAXDEPTH then fail("the network nests more than " .. MAXDEPTH .. " deep") end
   if Sequential.is(m) then
      local list = {}
      for i, child in ipairs(m.modules) do
         list[i] = walk(child, fmt("%s[%d]", where, i), depth + 1)
      end
      return {op = "seq", list = list, where = where}
   elseif Residual.is(m) then
      return {op = "residual", inner = walk(m.modules[1], where .. "[1]", depth + 1),
              where = where}
   elseif Concat.is(m) then
      local list = {}
      for i, child in ipairs(m.modules) do
         list[i] = walk(child, fmt("%s[%d]", where, i), depth + 1)
      end
      return {op = "concat", list = list, where = where}
   end
   local ok, name = pcall(function() return m.typename end)
   local kind = ok and type(name) == "string" and layers.kind(name)
   if kind == "lua" then
      fail(fmt("%s (%s) is a layer written in Lua (nn.register); nn.export writes "
         .. "only the built-in kinds, whose forward it knows", where, name))
   elseif kind ~= "builtin" then
      fail(fmt("%s (%s) is not a built-in layer; nn.export writes only those",
         where, describe(m)))
   end
   if PASS[name] then return {op = "pass", where = where} end
   if ELEMENTWISE[name] then
      local code, helper = ELEMENTWISE[name](config(m, where))
      return {op = "elementwise", code = code, helper = helper, where = where}
   end
   local stage = STAGES[name]
   if not stage then
      fail(fmt("%s (%s): no exporter for the kind %s", where, describe(m), name))
   end
   local node = stage(m, where)
   node.where, node.name = where, describe(m)
   return node
end

-- A Sequential's children as stages: nested Sequentials inlined, the
-- identities dropped, each run of elementwise layers joined to the stage
-- before it (or a "map" stage of its own, at the start)
local function stages(node, out)
   out = out or {}
   for _, child in ipairs(node.list) do
      if child.op == "seq" then
         stages(child, out)
      elseif child.op == "elementwise" then
         local last = out[#out]
         if not last then
            last = {op = "map", where = child.where}
            out[1] = last
         end
         last.chain = last.chain or {}
         last.chain[#last.chain + 1] = child
      elseif child.op ~= "pass" then
         out[#out + 1] = child
      end
   end
   return out
end

-- every Sequential to its stages; a Residual's module and a Concat's
-- branches each to a Sequential of one
local function normalize(node)
   if node.op == "seq" then
      node.stages = stages(node)
      for _, s in ipairs(node.stages) do normalize(s) end
   elseif node.op == "residual" then
      node.inner = normalize({op = "seq", list = {node.inner}, where = node.where})
   elseif node.op == "concat" then
      for i, child in ipairs(node.list) do
         node.list[i] = normalize({op = "seq", list = {child}, where = child.where})
      end
   end
   return node
end

-- checks the widths where they are known: n in, the width out (nil: any)
local function size(node, n)
   if node.op == "seq" then
      for _, s in ipairs(node.stages) do n = size(s, n) end
      return n
   elseif node.op == "residual" then
      local m = size(node.inner, n)
      if n and m and m ~= n then
         fail(fmt("%s (nn.Residual): its module maps %d values to %d; x + m(x) needs the same",
            node.where, n, m))
      end
      return n or m
   elseif node.op == "concat" then
      local total = 0
      for _, child in ipairs(node.list) do
         local m = size(child, n)
         total = total and m and total + m
      end
      return total or nil
   elseif node.op == "map" or node.op == "softmax" or node.op == "logsoftmax" then
      return n
   elseif node.step then                      -- a sequence layer: any T
      if n and n % node.step ~= 0 then
         fail(fmt("%s (%s) takes steps of %d values, but gets %d from the layers before it",
            node.where, node.name or node.op, node.step, n))
      end
      return n and math.floor(n / node.step) * node.ostep
   end
   if n and n ~= node.insize then
      fail(fmt("%s (%s) takes %d values, but gets %d from the layers before it",
         node.where, node.name or node.op, node.insize, n))
   end
   return node.outsize
end

-- the width a node needs, if any layer of it fixes one
local function need(node)
   if node.op == "seq" then
      for _, s in ipairs(node.stages) do
         local r = need(s)
         if r then return r end
      end
      return nil
   elseif node.op == "residual" then
      return need(node.inner)
   elseif node.op == "concat" then
      for _, child in ipairs(node.list) do
         local r = need(child)
         if r then return r end
      end
      return nil
   end
   return node.insize
end

-- ---- code ------------------------------------------------------------------

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

-- the check each sequence stage makes of its input's width
local function stepcheck(g, step)
   if step == 1 then return end
   g:line("      if n %% %d ~= 0 then", step)
   g:line("         error(\"model.forward: \" .. n .. \" values are not steps of %d\", 0)", step)
   g:line("      end")
end

-- Linear on each step: the loops of a Linear, once a step
function EMIT.steplinear(g, node)
   local nin, nout, b = node.nin, node.nout, node.b
   local k = g:open(node)
   g:data("W", node.W)
   if b then g:data("b", b) end
   g:line("   local y = {}")
   g:line("   return function(x, n)")
   stepcheck(g, nin)
   g:line("      local yo = 0")
   g:line("      for xo = 0, n - %d, %d do", nin, nin)
   g:line("         for j = 1, %d do", nout)
   g:line("            local v, o = %s, (j - 1) * %d", b and "b[j]" or "0.0", nin)
   g:line("            for i = 1, %d do v = v + W[o + i] * x[xo + i] end", nin)
   if node.chain then g:line(g:chain(node.chain, "            ")) end
   g:line("            y[yo + j] = v")
   g:line("         end")
   g:line("         yo = yo + %d", nout)
   g:line("      end")
   g:close("y, yo")
   return k
end

-- each step by its own mean and biased variance, as k_norm.c
function EMIT.layernorm(g, node)
   local D = node.D
   local k = g:open(node)
   if node.gamma then g:data("gamma", node.gamma) end
   if node.beta then g:data("beta", node.beta) end
   g:line("   local y = {}")
   g:line("   return function(x, n)")
   stepcheck(g, D)
   g:line("      for o = 0, n - %d, %d do", D, D)
   g:line("         local s, q = 0.0, 0.0")
   g:line("         for j = o + 1, o + %d do s = s + x[j] end", D)
   g:line("         local mu = s / %d", D)
   g:line("         for j = o + 1, o + %d do", D)
   g:line("            local d = x[j] - mu")
   g:line("            q = q + d * d")
   g:line("         end")
   g:line("         local is = 1 / sqrt(q / %d + %s)", D, num(node.eps))
   g:line("         for j = 1, %d do", D)
   local v = "(x[o + j] - mu) * is"
   if node.gamma then v = v .. " * gamma[j]" end
   if node.beta then v = v .. " + beta[j]" end
   g:line("            local v = %s", v)
   if node.chain then g:line(g:chain(node.chain, "            ")) end
   g:line("            y[o + j] = v")
   g:line("         end")
   g:line("      end")
   g:close("y, n")
   return k
end

-- each id's row of the weight (renormalized to maxNorm when longer, as
-- the C path's forward leaves it); ids are whole numbers from 1 to num
function EMIT.embedding(g, node)
   local D, ids = node.D, node.num
   local k = g:open(node)
   g:data("W", node.W)
   g:line("   local y = {}")
   g:line("   return function(x, n)")
   g:line("      for t = 1, n do")
   g:line("         local id = x[t]")
   g:line("         if id ~= id or id < 1 or id > %d or id %% 1 ~= 0 then", ids)
   g:line("            error(\"model.forward: id \" .. tostring(id) .. \" at \" .. t .. \", expected a whole number \"")
   g:line("               .. \"from 1 to %d\", 0)", ids)
   g:line("         end")
   g:line("         local o, d = (id - 1) * %d, (t - 1) * %d", D, D)
   if node.maxnorm then
      g:line("         local norm, scale = 0.0, 1.0")
      if node.p == math.huge then
         g:line("         for j = 1, %d do", D)
         g:line("            local a = W[o + j]")
         g:line("            if a < 0 then a = -a end")
         g:line("            if a > norm then norm = a end")
         g:line("         end")
      else
         g:line("         for j = 1, %d do", D)
         g:line("            local a = W[o + j]")
         g:line("            if a < 0 then a = -a end")
         g:line("            norm = norm + a ^ %s", num(node.p))
         g:line("         end")
         g:line("         norm = norm ^ (1 / %s)", num(node.p))
      end
      g:line("         if norm > %s then scale = %s / (norm + 1e-7) end", num(node.maxnorm), num(node.maxnorm))
   end
   g:line("         for j = 1, %d do", D)
   g:line("            local v = W[o + j]%s", node.maxnorm and " * scale" or "")
   if node.chain then g:line(g:chain(node.chain, "            ")) end
   g:line("            y[d + j] = v")
   g:line("         end")
   g:line("      end")
   g:close(fmt("y, n * %d", D))
   return k
end

-- over the whole sample (a row of the C path's batch), as k_layers.c
local function softmaxes(g, node, log)
   local k = g:open(node)
   g:line("   local y = {}")
   g:line("   return function(x, n)")
   g:line("      local m = x[1]")
   g:line("      for i = 2, n do")
   g:line("         if x[i] > m then m = x[i] end")
   g:line("      end")
   g:line("      local s = 0.0")
   if log then
      g:line("      for i = 1, n do s = s + exp(x[i] - m) end")
      g:line("      local lse = m + log(s)")
      g:line("      for i = 1, n do y[i] = x[i] - lse end")
   else
      g:line("      for i = 1, n do")
      g:line("         local e = exp(x[i] - m)")
      g:line("         y[i] = e")
      g:line("         s = s + e")
      g:line("      end")
      g:line("      for i = 1, n do y[i] = y[i] / s end")
   end
   g:chainloop(node.chain, "n")
   g:close("y, n")
   return k
end
function EMIT.softmax(g, node) return softmaxes(g, node, false) end
function EMIT.logsoftmax(g, node) return softmaxes(g, node, true) end

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

-- ---- the file --------------------------------------------------------------

local function header(net, nin, nout)
   local nn = require "nn"
   local ok, summary = pcall(tostring, net)
   if not ok or type(summary) ~= "string" then summary = describe(net) end
   local lines = {
      "-- A neural network's forward pass (evaluation mode), exported by lua-nn's",
      "-- nn.export: plain Lua that needs no lua-nn, no C and no require.  It runs",
      "-- unchanged on Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT (and uses nothing Luau lacks).",
      "--",
      fmt("-- Made %s by %s.", os.date("!%Y-%m-%d %H:%M:%S UTC"), nn._VERSION),
      "--",
      "--   local model = dofile(\"this file\")     -- or require, or load(source)()",
      fmt("--   local y = model.forward(x)            -- x: %s numbers; y: %s",
         nin and tostring(nin) or "any count of", nout and (nout .. " numbers") or "the outputs"),
      "--   local ys = model.forward({x1, x2})    -- a batch: a list of samples in, of outputs out",
      "--                                         -- (and {} for {})",
      "--",
      "-- A sample is a flat array (an image its (C, H, W) values, channel by",
      "-- channel, row by row, as in an nn.Matrix row).  Each call returns new",
      "-- tables.  model.inputSize and model.outputSize are the widths (nil: any).",
      "-- The numbers are float32 weights printed with %.9g, computed in double.",
      "--",
      "-- Licence: the weights are the property of whoever trained the network; this",
      "-- file is the output of a program and carries no licence from lua-nn.",
      "--",
      "-- The network:",
   }
   for l in (summary .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = "--   " .. l end
   return concat(lines, "\n")
end

local function source(net)
   if type(net) ~= "table" and type(net) ~= "userdata" then
      fail("expected a network (a layer or a container), got " .. type(net))
   end
   local root = walk(net, "the network", 1)
   if root.op ~= "seq" then root = {op = "seq", list = {root}, where = "the network"} end
   normalize(root)
   local nout = size(root, nil)
   local nin = need(root)
   if nin then nout = size(root, nin) end

   local g = setmetatable({out = {}, count = 0, helpers = {}, pad = ""}, Gen)
   local top = gen(g, root)
   local body = g.out

   local out = {header(net, nin, nout), "",
      "local exp, log, sqrt, huge = math.exp, math.log, math.sqrt, math.huge",
      "local type, error, tostring = type, error, tostring",
      "local F = {}"}
   -- the helpers the layers name, each after those it needs
   local function addhelper(name)
      local h = HELPERS[name]
      if h.done then return end
      if h[2] then addhelper(h[2]) end
      out[#out + 1] = h[1]
      h.done = true
   end
   for _, name in ipairs(HELPER_ORDER) do
      if g.helpers[name] then addhelper(name) end
   end
   for _, name in ipairs(HELPER_ORDER) do HELPERS[name].done = nil end
   if g.usesfill then
      out[#out + 1] = [[
-- t[o + 1], t[o + 2], ... = c[1], c[2], ...
local function fill(t, o, c)
   for i = 1, #c do t[o + i] = c[i] end
end]]
   end
   out[#out + 1] = concat(body, "\n")
   -- the outputs into a new table: a constructor of the right size when
   -- the width is known and small
   local copy = "   local out = {}\n   for i = 1, m do out[i] = y[i] end\n   return out"
   if nout and nout <= 32 then
      local t = {}
      for i = 1, nout do t[i] = fmt("y[%d]", i) end
      copy = "   return {" .. concat(t, ", ") .. "}"
   end
   out[#out + 1] = fmt([[

local model = {inputSize = %s, outputSize = %s}
local root, NIN = F[%d], model.inputSize

local function bad(s, what)
   error("model.forward: " .. (s > 0 and ("sample " .. s) or "the input") .. " " .. what, 0)
end

-- one sample: checked, through the network, copied into a new table
local function one(x, s)
   local n = #x
   if NIN and n ~= NIN then bad(s, "has " .. n .. " values, expected " .. NIN) end
   for i = 1, n do
      if type(x[i]) ~= "number" then bad(s, "has " .. type(x[i]) .. " at " .. i .. ", expected a number") end
   end
   local y, m = root(x, n)
%s
end

-- model.forward(x): x a sample (an array of numbers), y its outputs; or x a
-- batch (an array of samples), y an array of their outputs ({} for {})
function model.forward(x)
   if type(x) ~= "table" then
      error("model.forward: expected an array of numbers (a sample) or an array of them (a batch), got "
         .. type(x), 2)
   end
   local out = {}
   if x[1] == nil then return out end            -- an empty batch
   if type(x[1]) ~= "table" then return one(x, 0) end
   for s = 1, #x do
      if type(x[s]) ~= "table" then bad(s, "is " .. type(x[s]) .. ", expected an array of numbers") end
      out[s] = one(x[s], s)
   end
   return out
end

return model
]], nin and tostring(nin) or "nil", nout and tostring(nout) or "nil", top, copy)
   return concat(out, "\n")
end

-- nn.export(net [, path]): the source, or true once written to path
-- (atomically, as nn.save)
function export.export(net, path)
   if path ~= nil and type(path) ~= "string" then
      error("nn.export: path must be a string, got " .. type(path), 2)
   end
   local ok, src = pcall(source, net)
   if not ok then error(src, 2) end
   if path == nil then return src end
   local done, err = core.writefile(path, src)
   if not done then error("nn.export: " .. tostring(err), 2) end
   return true
end

return export
