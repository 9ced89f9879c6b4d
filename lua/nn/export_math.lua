-- The numbers and the elementwise layers of nn.export (lua/nn/export.lua):
-- how a weight is printed (num, a literal a float32 survives), a Matrix as
-- a flat list, and the elementwise layers as Lua statements with the
-- helper functions (expm1, log1p, tanh, erf, softplus) written into the
-- file when a statement calls one.
local fmt = string.format

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

return {num = num, flat = flat, HELPERS = HELPERS, HELPER_ORDER = HELPER_ORDER,
        ELEMENTWISE = ELEMENTWISE, PASS = PASS}
