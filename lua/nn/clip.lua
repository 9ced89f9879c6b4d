-- Gradient clipping, as PyTorch's torch.nn.utils.clip_grad_norm_ and
-- clip_grad_value_, between backward and the optimizer's step:
--
--   net:backward(x, crit:backward(y, t))
--   local norm = nn.clipGradNorm(net, 1.0)   -- or (grads, 1.0), grads a list
--   opt:step()
--
-- nn.clipGradNorm(net | grads, maxNorm [, normType = 2 [, {errorIfNonfinite
-- = false}]]) -> the total norm before clipping: the p-norm of every
-- gradient's elements together (normType = math.huge: the largest
-- magnitude).  When it is above maxNorm every gradient is scaled by
-- maxNorm / (norm + 1e-6), in place.  A total that is NaN or infinite is,
-- as PyTorch's default, not an error: the scale is NaN or 0 and so are
-- the gradients after it (the next step's loss shows it); with
-- errorIfNonfinite = true it is an error and nothing is changed.
--
-- nn.clipGradValue(net | grads, v): every gradient element into [-v, v],
-- in place (NaN stays NaN).
--
-- net is anything with parameters() (whose gradients are its second
-- list); grads a list of Matrices (an optimizer's opt.grads), which a
-- training loop can pass every step without making a table.
local core = require "nn.core"
local isMatrix = require("nn.util").isMatrix

local K = core.optim
local clip = {}

-- the list of gradient matrices of x: a network's or x itself
local function gradients(x, fn)
   if type(x) == "table" and getmetatable(x) == nil and (x[1] == nil or isMatrix(x[1])) then
      for i, g in ipairs(x) do
         if not isMatrix(g) then
            error(("%s: grads[%d] is %s, expected an nn.Matrix"):format(fn, i, type(g)), 3)
         end
      end
      return x
   end
   local ok, params, grads = pcall(function() return x:parameters() end)
   if not ok or type(grads) ~= "table" then
      error(("%s: expected a network (with parameters()) or a list of gradient matrices, got %s")
         :format(fn, type(x)), 3)
   end
   return grads
end

-- v, if a number above lo (or at it, with eq); an error at the caller's
-- caller otherwise.  (No closures: a training loop calls these each step.)
local function number(v, fn, what, expected, lo, eq)
   if type(v) ~= "number" or not (v > lo or eq and v == lo) then
      error(("%s: %s must be %s, got %s"):format(fn, what, expected,
         type(v) == "number" and tostring(v) or type(v)), 3)
   end
   return v
end

function clip.clipGradNorm(net, maxNorm, normType, opts)
   local fn = "nn.clipGradNorm"
   local grads = gradients(net, fn)
   number(maxNorm, fn, "maxNorm", "a number >= 0", 0, true)
   normType = normType == nil and 2 or
      number(normType, fn, "normType", "a number > 0 (math.huge: the largest magnitude)", 0)
   if opts ~= nil then
      if type(opts) ~= "table" then
         error(("%s: options must be a table, got %s"):format(fn, type(opts)), 2)
      end
      for k in pairs(opts) do
         if k ~= "errorIfNonfinite" then
            error(("%s: unknown option '%s' (expected errorIfNonfinite)"):format(fn, tostring(k)), 2)
         end
      end
   end
   local inf = normType == math.huge
   local total = 0
   for _, g in ipairs(grads) do
      local s = K.gradnorm(g, normType)
      if inf then
         if s > total or s ~= s then total = s end
      else
         total = total + s
      end
   end
   if not inf then total = total ^ (1 / normType) end
   if opts and opts.errorIfNonfinite and (total ~= total or total == math.huge) then
      error(("%s: the total norm of order %s of the gradients is %s, so it cannot be clipped "
         .. "(errorIfNonfinite is set)"):format(fn, inf and "inf" or tostring(normType),
         total ~= total and "nan" or "inf"), 2)
   end
   local scale = maxNorm / (total + 1e-6)
   if scale < 1 or scale ~= scale then
      for _, g in ipairs(grads) do g:mul(scale) end
   end
   return total
end

function clip.clipGradValue(net, v)
   local fn = "nn.clipGradValue"
   local grads = gradients(net, fn)
   number(v, fn, "v", "a number >= 0", 0, true)
   for _, g in ipairs(grads) do K.clamp(g, v) end
end

return clip
