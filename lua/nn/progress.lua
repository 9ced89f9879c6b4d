-- A progress bar for one epoch on a terminal, and the one-line summary
-- printed after it.  nn.fit uses it; it can drive any loop.
--
--   local bar = progress.new{total = nbatches, epoch = e, epochs = E}
--   bar:update(done, samples, loss)   -- redraws at most 10 times a second
--   bar:finish(summary)               -- clears the bar, prints the summary
local core = require "nn.core"

local progress = {}
local Bar = {}
Bar.__index = Bar

local WIDTH = 24

-- opts: total (batches), epoch, epochs, out (default io.stdout),
-- tty (default: whether out is a terminal)
function progress.new(opts)
   local out = opts.out or io.stdout
   local tty = opts.tty
   if tty == nil then tty = core.isatty(out) end
   return setmetatable({
      total = opts.total, epoch = opts.epoch, epochs = opts.epochs, out = out,
      tty = tty, start = core.clock(), last = -math.huge, drawn = false,
   }, Bar)
end

local function duration(s)
   if s >= 3600 then return ("%dh%02dm"):format(math.floor(s / 3600), math.floor(s % 3600 / 60)) end
   if s >= 60 then return ("%dm%02ds"):format(math.floor(s / 60), math.floor(s % 60)) end
   return ("%.1fs"):format(s)
end
progress.duration = duration

-- done batches of total, samples seen so far this epoch, running mean loss
function Bar:update(done, samples, loss)
   if not self.tty then return end
   local now = core.clock()
   if now - self.last < 0.1 and done < self.total then return end
   self.last = now
   local t = now - self.start
   local frac = done / self.total
   local fill = math.floor(frac * WIDTH)
   local eta = done > 0 and t / done * (self.total - done) or 0
   self.out:write(("\r\27[Kepoch %d/%d [%s%s%s] %d/%d  %.0f samples/s  loss %.4f  ETA %s")
      :format(self.epoch, self.epochs, ("="):rep(fill), fill < WIDTH and ">" or "",
         (" "):rep(WIDTH - fill - 1), done, self.total,
         t > 0 and samples / t or 0, loss, duration(eta)))
   self.out:flush()
   self.drawn = true
end

function Bar:finish(summary)
   if self.drawn then self.out:write("\r\27[K") end
   if summary then self.out:write(summary, "\n") end
   self.out:flush()
end

return progress
