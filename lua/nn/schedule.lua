-- Learning-rate schedules.  Each is a callable that sets opt.lr and
-- returns it.  step, exponential, cosine and warmup take the epoch (or
-- step) t = 0, 1, 2, ... and compute from the rate opt had when the
-- schedule was made; plateau takes the loss it watches, once an epoch.
-- nn.fit calls them itself with its schedule option.
--
--   local sched = nn.schedule.cosine(opt, 20)
--   for epoch = 1, 20 do sched(epoch - 1); ... end
--   nn.fit(net, crit, opt, X, Y, {epochs = 20, schedule = sched})
local compat = require "nn.compat"
local schedule = {}

local function base(opt, fn)
   if type(opt) ~= "table" or type(opt.lr) ~= "number" then
      error(fn .. ": expected an optimizer", 3)
   end
   return opt.lr
end

-- the schedule's argument: the epoch or step, a number >= 0
local function checkt(t, fn)
   if type(t) ~= "number" or not (t >= 0) then
      error(("%s: the schedule takes the epoch or step, a number >= 0; got %s")
         :format(fn, tostring(t)), 3)
   end
   return t
end

local function positive(v, fn, what)
   if type(v) ~= "number" or not (v > 0) then
      error(("%s: %s must be a number > 0, got %s"):format(fn, what, tostring(v)), 3)
   end
   return v
end

-- a callable schedule that prints as what it is
local function make(desc, call, fields)
   local s = fields or {}
   return setmetatable(s, {
      __call = function(_, ...) return call(...) end,
      __tostring = function() return desc end,
   })
end

-- lr = base * gamma ^ floor(t / every)
function schedule.step(opt, every, gamma)
   local fn = "nn.schedule.step"
   local lr0 = base(opt, fn)
   positive(every, fn, "every")
   gamma = positive(gamma or 0.1, fn, "gamma")
   return make(("nn.schedule.step(lr %g, every %g, gamma %g)"):format(lr0, every, gamma),
      function(t)
         opt.lr = lr0 * gamma ^ math.floor(checkt(t, fn) / every)
         return opt.lr
      end)
end

-- lr = base * gamma ^ t
function schedule.exponential(opt, gamma)
   local fn = "nn.schedule.exponential"
   local lr0 = base(opt, fn)
   positive(gamma, fn, "gamma")
   return make(("nn.schedule.exponential(lr %g, gamma %g)"):format(lr0, gamma),
      function(t)
         opt.lr = lr0 * gamma ^ checkt(t, fn)
         return opt.lr
      end)
end

-- lr = min + (base - min) (1 + cos(pi t / tmax)) / 2, held at min after tmax
-- (Loshchilov & Hutter, SGDR, without restarts)
function schedule.cosine(opt, tmax, min)
   local fn = "nn.schedule.cosine"
   local lr0 = base(opt, fn)
   positive(tmax, fn, "tmax")
   min = min or 0
   if type(min) ~= "number" or not (min >= 0 and min <= lr0) then
      error(("%s: min must be a number from 0 to the optimizer's lr (%g), got %s")
         :format(fn, lr0, tostring(min)), 2)
   end
   return make(("nn.schedule.cosine(lr %g, tmax %g, min %g)"):format(lr0, tmax, min),
      function(t)
         t = math.min(checkt(t, fn), tmax)
         opt.lr = min + (lr0 - min) * (1 + math.cos(math.pi * t / tmax)) / 2
         return opt.lr
      end)
end

-- Linear warm-up: lr = base * (t + 1) / epochs for t < epochs (Goyal et
-- al. 2017), then after(t - epochs) if a schedule is given, else base.
-- Make `after` first, while opt.lr is the base rate.
function schedule.warmup(opt, epochs, after)
   local fn = "nn.schedule.warmup"
   local lr0 = base(opt, fn)
   positive(epochs, fn, "epochs")
   if after ~= nil and not (type(after) == "function" or getmetatable(after)
                            and getmetatable(after).__call) then
      error(fn .. ": after must be a schedule, got " .. type(after), 2)
   end
   return make(("nn.schedule.warmup(lr %g, %g epochs%s)"):format(lr0, epochs,
      after and ", then " .. tostring(after) or ""),
      function(t)
         checkt(t, fn)
         if t < epochs then
            opt.lr = lr0 * (t + 1) / epochs
         elseif after then
            after(t - epochs)
         else
            opt.lr = lr0
         end
         return opt.lr
      end)
end

-- PyTorch's ReduceLROnPlateau (mode "min", relative threshold): called with
-- the watched loss once an epoch; when it has not fallen below
-- best * (1 - threshold) for more than `patience` calls, lr = max(lr *
-- factor, min), then `cooldown` calls pass before counting again.
-- opts: factor (0.1), patience (10), threshold (1e-4), cooldown (0), min (0)
function schedule.plateau(opt, opts)
   local fn = "nn.schedule.plateau"
   base(opt, fn)
   if opts ~= nil and type(opts) ~= "table" then
      error(fn .. ": options must be a table, got " .. type(opts), 2)
   end
   opts = opts or {}
   local known = {factor = true, patience = true, threshold = true, cooldown = true, min = true}
   for k in pairs(opts) do
      if not known[k] then
         error(("%s: unknown option '%s' (expected cooldown, factor, min, patience, threshold)")
            :format(fn, tostring(k)), 2)
      end
   end
   local factor = opts.factor or 0.1
   if type(factor) ~= "number" or not (factor > 0 and factor < 1) then
      error(("%s: factor must be a number in (0, 1), got %s"):format(fn, tostring(factor)), 2)
   end
   local function count(v, what)
      if not compat.isint(v) or v < 0 then
         error(("%s: %s must be an integer >= 0, got %s"):format(fn, what, tostring(v)), 3)
      end
      return v
   end
   local patience = count(opts.patience or 10, "patience")
   local cooldown = count(opts.cooldown or 0, "cooldown")
   local threshold, min = opts.threshold or 1e-4, opts.min or 0
   if type(threshold) ~= "number" or not (threshold >= 0) then
      error(("%s: threshold must be a number >= 0, got %s"):format(fn, tostring(threshold)), 2)
   end
   if type(min) ~= "number" or not (min >= 0) then
      error(("%s: min must be a number >= 0, got %s"):format(fn, tostring(min)), 2)
   end
   local best, bad, cool = math.huge, 0, 0
   return make(("nn.schedule.plateau(factor %g, patience %d, threshold %g, cooldown %d, min %g)")
      :format(factor, patience, threshold, cooldown, min),
      function(loss)
         if type(loss) ~= "number" or loss ~= loss then
            error(("%s: the schedule takes the loss it watches, a number; got %s")
               :format(fn, tostring(loss)), 2)
         end
         if loss < best * (1 - threshold) then best, bad = loss, 0 else bad = bad + 1 end
         if cool > 0 then cool, bad = cool - 1, 0 end
         if bad > patience then
            opt.lr = math.max(opt.lr * factor, min)
            cool, bad = cooldown, 0
         end
         return opt.lr
      end, {plateau = true})
end

return schedule
