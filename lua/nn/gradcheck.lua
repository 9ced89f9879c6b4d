-- nn.gradcheck(module, x [, crit, target [, opts]]) -> max relative error,
-- where it was, the objective's value, and how many elements were skipped
-- as sitting on a kink.
--
-- Compares the module's backward with central differences,
--   dL/dv ~ (L(v + h) - L(v - h)) / (2h),
-- for elements of the input and of every parameter.  Without a criterion
-- the objective is L = sum(y .* R) for a fixed random R, so every output
-- element takes part.  nn's generator is reseeded before each forward so
-- stochastic layers (Dropout) see the same noise every time.
--
-- The error of one element is |analytic - numeric| / max(|analytic|,
-- |numeric|, opts.floor).  In float32 (unit roundoff 6e-8) with h = 1e-2
-- the difference quotient carries O(h^2) truncation and O(6e-8 |L| / h)
-- rounding error: about 1e-4 relative on smooth layers.  A wrong backward
-- is off by O(1).  The floor (default 1e-2) keeps small gradients from
-- dividing rounding noise (about 1e-5 absolute) by next to nothing: above
-- it the check is relative, below it absolute.
--
-- Kinks (ReLU at 0, Step, Sign, PiecewiseLinear's corners, a max): a step
-- of h that crosses one gives a difference quotient of neither side's
-- slope, and a correct network would look broken.  So an element whose
-- error exceeds opts.tol (1e-3) is re-stepped at h/4 and h/16: if those two
-- agree (the function is smooth at that scale), the element is judged by
-- the h/4 quotient; if they do not, the element sits on a kink, no
-- derivative can be checked there, and it is skipped and counted.  A wrong
-- backward still shows: its small-step quotients agree with each other
-- and not with it.
--
-- opts: h (1e-2), floor (1e-2), tol (1e-3: the error that triggers a
-- re-step), maxn (400: elements sampled per input or parameter), seed
-- (1234: reseeds nn before each forward), input (true; false checks the
-- parameters only: an input of token ids has no derivative).
local nn -- set by init.lua

local function sample(n, maxn)
   if n <= maxn then return 1 end
   return math.ceil(n / maxn)
end

local function gradcheck(module, x, crit, target, opts)
   opts = opts or {}
   local h, floor, tol = opts.h or 1e-2, opts.floor or 1e-2, opts.tol or 1e-3
   local maxn, seed = opts.maxn or 400, opts.seed or 1234
   if crit ~= nil and target == nil then
      error("nn.gradcheck: a criterion needs a target", 2)
   end

   local R
   local function run()
      nn.seed(seed)
      return module:forward(x)
   end
   local function objective()
      local y = run()
      if crit then return crit:forward(y, target) end
      return y:dot(R)
   end

   -- analytic gradients
   R = crit == nil and nn.randn(run():shape()) or nil
   module:zeroGrad()
   local y = run()
   local L0 = crit and crit:forward(y, target) or y:dot(R)
   local gy = crit and crit:backward(y, target) or R
   local gx = module:backward(x, gy):clone()
   local params, grads = module:parameters()
   local checks = {}
   if opts.input ~= false then checks[1] = {name = "input", v = x, g = gx} end
   for i = 1, #params do
      checks[#checks + 1] = {name = "parameter " .. i, v = params[i],
                             g = grads[i]:clone()}
   end

   local worst, where, skipped = 0, "nowhere", 0
   for _, c in ipairs(checks) do
      local n = c.v:numel()
      local v = c.v:reshape(1, n)
      local g = c.g:reshape(1, n)
      for k = 1, n, sample(n, maxn) do
         local orig = v:get(k)
         local function quotient(step)
            v:set(k, orig + step)
            local up = v:get(k)
            local Lp = objective()
            v:set(k, orig - step)
            local down = v:get(k)
            local Lm = objective()
            v:set(k, orig)
            return (Lp - Lm) / (up - down)
         end
         local function relerr(a, b)
            local e = math.abs(a - b) / math.max(math.abs(a), math.abs(b), floor)
            return e ~= e and math.huge or e
         end
         local a = g:get(k)
         local num = quotient(h)
         local err = relerr(a, num)
         if err > tol then                -- a kink within h?  step closer
            local n4, n16 = quotient(h / 4), quotient(h / 16)
            if relerr(n4, n16) <= tol then
               num, err = n4, relerr(a, n4)
            else
               skipped, err = skipped + 1, 0
            end
         end
         if err > worst then
            worst = err
            where = ("%s element %d: analytic %.6g, numeric %.6g")
               :format(c.name, k, a, num)
         end
      end
   end
   objective()   -- leave the module's buffers as after a plain forward
   return worst, where, L0, skipped
end

return function(nnmod)
   nn = nnmod
   return gradcheck
end
