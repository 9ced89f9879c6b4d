-- nn.plot: line charts in characters, for the terminal and the REPL, such
-- as the loss curves in the history nn.fit returns.
--
--   local plot = require "nn.plot"
--   print(plot.lines({loss = h.loss, valLoss = h.valLoss}, {height = 10}))
local compat = require "nn.compat"
local plot = {}

local MARKS = "*o+x#@%&"
local MAXPOINTS = 10000000

local function fail(fmt, ...) error(("plot.lines: " .. fmt):format(...), 3) end

local function fmtnum(v)
   return (("%.4g"):format(v))
end

-- the named series in a stable order: a list {ys, ...} keeps its order
-- (names "1", "2", ...); a table {name = ys} is sorted by name
local function collect(series)
   if type(series) ~= "table" then fail("series must be a table, got %s", type(series)) end
   local list = {}
   if series[1] ~= nil and type(series[1]) ~= "table" then series = {series} end
   if #series > #MARKS then fail("at most %d series, got %d", #MARKS, #series) end
   if #series > 0 then
      -- counted with #, not ipairs, which follows a proxy's __index forever
      for i = 1, #series do list[i] = {name = tostring(i), ys = series[i]} end
   else
      -- next, not pairs: a __pairs could iterate forever
      for name, ys in next, series do list[#list + 1] = {name = tostring(name), ys = ys} end
      table.sort(list, function(a, b) return a.name < b.name end)
   end
   if #list == 0 then fail("no series to draw") end
   if #list > #MARKS then fail("at most %d series, got %d", #MARKS, #list) end
   for _, s in ipairs(list) do
      if type(s.ys) ~= "table" then
         fail("series %s must be a list of numbers, got %s", s.name, type(s.ys))
      end
      s.n = #s.ys                          -- # and not ipairs: a hole is an error
      if type(s.n) ~= "number" or s.n > MAXPOINTS then
         fail("series %s has %s values, at most %d can be drawn", s.name, tostring(s.n),
            MAXPOINTS)
      end
      for i = 1, s.n do
         if type(s.ys[i]) ~= "number" then
            fail("series %s: value %d is %s, expected a number", s.name, i, type(s.ys[i]))
         end
      end
   end
   return list
end

local function checksize(opts, key, default, lo, hi)
   local v = opts[key] or default
   if not compat.isint(v) or v < lo or v > hi then
      fail("%s must be an integer from %d to %d, got %s", key, lo, hi, tostring(v))
   end
   return v
end

--- plot.lines(series [, {width = 60, height = 12, log = false}]) -> a string
-- series: a list of numbers, a list of such lists, or a table of them by
-- name.  Each is drawn with its own mark over the x range 1..n, scaled to
-- the common y range (log10 of it with log = true); NaN and infinite
-- values are left out.  The y range is printed on the left, a legend below.
function plot.lines(series, opts)
   local list = collect(series)
   opts = opts or {}
   if type(opts) ~= "table" then fail("options must be a table, got %s", type(opts)) end
   for k in next, opts do
      if k ~= "width" and k ~= "height" and k ~= "log" then
         fail("unknown option '%s' (expected height, log, width)", tostring(k))
      end
   end
   local width = checksize(opts, "width", 60, 8, 1000)
   local height = checksize(opts, "height", 12, 2, 200)
   local log = opts.log and true or false
   local function y(v)
      if log then v = v > 0 and compat.log10(v) or 0 / 0 end
      if v ~= v or v == math.huge or v == -math.huge then return nil end
      return v
   end
   local lo, hi, n = math.huge, -math.huge, 0
   for _, s in ipairs(list) do
      n = math.max(n, #s.ys)
      for i = 1, #s.ys do
         local t = y(s.ys[i])
         if t then lo, hi = math.min(lo, t), math.max(hi, t) end
      end
   end
   if lo > hi then fail("nothing to draw: no finite%s values", log and " positive" or "") end
   -- a flat series gets a band around it, wide enough to be one at its
   -- magnitude (1e17 + 0.5 is 1e17)
   if hi - lo <= math.abs(hi) * 1e-12 then
      local d = math.max(0.5, math.abs(hi) * 1e-6)
      hi, lo = hi + d, lo - d
   end
   -- the span in halves, which cannot overflow even from -1e308 to 1e308
   local half = hi / 2 - lo / 2
   local grid = {}
   for r = 1, height do grid[r] = {} for c = 1, width do grid[r][c] = " " end end
   local function put(mark, c, t)
      local f = (t / 2 - lo / 2) / half
      grid[height - math.floor(f * (height - 1) + 0.5)][c] = mark
   end
   -- each column shows every series at its x, interpolated between points
   for k, s in ipairs(list) do
      local mark, ys = MARKS:sub(k, k), s.ys
      for c = 1, n > 1 and width or 1 do
         local x = n > 1 and 1 + (c - 1) * (n - 1) / (width - 1) or 1
         local i = math.floor(x)
         if i <= #ys then
            local a, b = y(ys[i]), y(ys[math.min(i + 1, #ys)])
            local f = x - i            -- a + (b - a) f, without b - a
            if a and b then put(mark, c, a * (1 - f) + b * f)
            elseif a and x - i < 0.5 then put(mark, c, a) end
         end
      end
   end
   local function label(t) return fmtnum(log and 10 ^ t or t) end
   local top, bottom = label(hi), label(lo)
   local lw = math.max(#top, #bottom)
   local lines = {}
   for r = 1, height do
      local l = r == 1 and top or r == height and bottom or ""
      lines[r] = (" "):rep(lw - #l) .. l .. " |" .. table.concat(grid[r])
   end
   lines[#lines + 1] = (" "):rep(lw) .. " +" .. ("-"):rep(width)
   -- padded by hand: string.format takes widths up to 99 only
   lines[#lines + 1] = (" "):rep(lw) .. "  1" .. (" "):rep(width - 1 - #tostring(n)) .. tostring(n)
   local legend = {}
   for k, s in ipairs(list) do
      legend[#legend + 1] = MARKS:sub(k, k) .. " " .. s.name
   end
   lines[#lines + 1] = (" "):rep(lw + 2) .. table.concat(legend, "   ")
      .. (log and "   (log scale)" or "")
   return table.concat(lines, "\n")
end

--- plot.chart([opts]) -> a chart drawn as SVG or PNG (nn.chart: lines,
-- points, fields; c:save(path), c:svg(), c:png())
function plot.chart(opts)
   return require("nn.chart").new(opts)
end

--- plot.figure([opts]) -> charts side by side in one picture (nn.chart:
-- f:add(chart), f:save(path), f:svg(), f:png())
function plot.figure(opts)
   return require("nn.chart").figure(opts)
end

return plot
