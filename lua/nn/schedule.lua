-- Learning-rate schedules: each returns a function of the epoch (or step)
-- t = 0, 1, 2, ... that sets opt.lr from the rate opt had when the
-- schedule was made, and returns it.
--
--   local sched = nn.schedule.cosine(opt, 20)
--   for epoch = 1, 20 do sched(epoch - 1); ... end
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

-- lr = base * gamma ^ floor(t / every)
function schedule.step(opt, every, gamma)
   local lr0 = base(opt, "nn.schedule.step")
   positive(every, "nn.schedule.step", "every")
   gamma = positive(gamma or 0.1, "nn.schedule.step", "gamma")
   return function(t)
      checkt(t, "nn.schedule.step")
      opt.lr = lr0 * gamma ^ math.floor(t / every)
      return opt.lr
   end
end

-- lr = base * gamma ^ t
function schedule.exponential(opt, gamma)
   local lr0 = base(opt, "nn.schedule.exponential")
   positive(gamma, "nn.schedule.exponential", "gamma")
   return function(t)
      checkt(t, "nn.schedule.exponential")
      opt.lr = lr0 * gamma ^ t
      return opt.lr
   end
end

-- lr = min + (base - min) (1 + cos(pi t / tmax)) / 2, held at min after tmax
-- (Loshchilov & Hutter, SGDR, without restarts)
function schedule.cosine(opt, tmax, min)
   local lr0 = base(opt, "nn.schedule.cosine")
   positive(tmax, "nn.schedule.cosine", "tmax")
   min = min or 0
   if type(min) ~= "number" or not (min >= 0 and min <= lr0) then
      error(("nn.schedule.cosine: min must be a number from 0 to the optimizer's lr (%g), got %s")
         :format(lr0, tostring(min)), 2)
   end
   return function(t)
      t = math.min(checkt(t, "nn.schedule.cosine"), tmax)
      opt.lr = min + (lr0 - min) * (1 + math.cos(math.pi * t / tmax)) / 2
      return opt.lr
   end
end

return schedule
