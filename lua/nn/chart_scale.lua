-- nn.chart_scale: the scales of a chart (nn.chart): how a value becomes a
-- place on an axis, with its ticks and their labels (chart.ticks), or a
-- colour (the series palette, chart.palette, and the field's colour map).
local compat = require "nn.compat"

local scale = {}

local floor, ceil, min, max, abs = math.floor, math.ceil, math.min, math.max, math.abs
local huge = math.huge
local log10 = compat.log10

local MAXF = 1.7976931348623157e308          -- the largest double
-- a log axis's units are log10 of the values: from the smallest positive
-- double (a subnormal) to the largest
local LOGMIN, LOGMAX = log10(4.9406564584124654e-324), log10(MAXF)

-- a finite number
local function isnum(v) return type(v) == "number" and v == v and v > -huge and v < huge end

-- ---- axes: units, ranges and ticks -------------------------------------------
--
-- An axis works in its units: the values themselves, or log10 of them on
-- a log axis.  Spans are taken in halves (hi / 2 - lo / 2), which cannot
-- overflow for any two finite doubles.

-- v in an axis's units, or nil when it cannot be drawn there (not a
-- finite number; not positive on a log axis)
local function unit(v, log)
   if not isnum(v) then return nil end
   if log then return v > 0 and log10(v) or nil end
   return v
end

-- [lo, hi] (units, lo <= hi) as a range an axis can show: a span of at
-- least 1e-12 of the ends' size and 1e-290 (so every tick is a distinct
-- number of at most 17 digits, and no step underflows); a narrower one (a
-- constant series) becomes a band of 10% of its size around it (-1 to 1
-- round 0).  On a log axis, at least a millionth of a decade (a factor of
-- 2 either way when less).  The ends stay finite.
local function drawable(lo, hi, log)
   local half = hi / 2 - lo / 2
   local mid = lo / 2 + hi / 2
   if log then
      if half >= 5e-7 then return lo, hi end
      return max(LOGMIN, mid - 0.30103), min(LOGMAX, mid + 0.30103)
   end
   local mag = max(abs(lo), abs(hi))
   if half >= mag * 5e-13 and half >= 5e-291 then return lo, hi end
   if mag < 1e-280 then return -1, 1 end
   local d = mag * 0.1
   return max(-MAXF, mid - d), min(MAXF, mid + d)
end

-- Ticks: about n values at 1, 2 or 5 times a power of ten inside [lo, hi]
-- (a range drawable() leaves as it is; none for another), and the step
-- between them, at least 1 when integral (epochs, counts).  The step is
-- at least the span / n, so there are at most n + 1 ticks (2n + 1 in the
-- one case where the nice step would pass the largest double); and as the
-- span is at least 1e-12 of the ends' size, lo / step and hi / step are
-- below 1e13 n, whole numbers a double holds exactly.  The loop counts the
-- ticks out, capped, rather than stepping a float towards a bound.
function scale.ticks(lo, hi, n, integral)
   if not (isnum(lo) and isnum(hi) and hi > lo) then return {}, 1 end
   local dlo, dhi = drawable(lo, hi)
   if dlo ~= lo or dhi ~= hi then return {}, 1 end   -- too narrow: no tick would differ
   n = max(1, floor(n))
   -- the step for n intervals, halved (the whole overflows from -1e308 to
   -- 1e308 with n = 1), and the nice step at least that
   local raw = (hi / 2 - lo / 2) / n
   local p = 10 ^ floor(log10(raw) + log10(2))
   local step
   for _, m in ipairs{1, 2, 5, 10} do
      if m * p / 2 >= raw then step = m * p; break end
   end
   -- past the largest double: the raw step (at most 2n + 1 ticks)
   if not step or step == huge then step = raw end
   if integral and step < 1 then step = 1 end
   local k0, k1 = ceil(lo / step - 1e-9), floor(hi / step + 1e-9)
   local t = {}
   if not (isnum(k0) and isnum(k1)) then return t, step end
   for i = 0, min(k1 - k0, 2 * n + 2) do t[#t + 1] = (k0 + i) * step end
   return t, step
end

-- a tick's label: as many digits as the step needs, and no more
local function label(v, step)
   if v == 0 then return "0" end
   local a = abs(v)
   local es = floor(log10(step) + 1e-9)
   if a >= 1e5 or a < 1e-3 then
      local d = min(16, max(0, floor(log10(a) + 1e-9) - es))
      -- %d, not .. : LuaJIT writes -0 as "-0"
      local s = ("%%.%de"):format(d):format(v)
      -- 1.50e+16 as 1.5e16
      return (s:gsub("%.?0*e", "e"):gsub("e%+?(%-?)0*(%d)", "e%1%2"))
   end
   return ("%%.%df"):format(min(20, max(0, -es))):format(v)
end

local function loglabel(m, k)
   if k < -3 or k > 4 then return ("%de%d"):format(m, k) end
   return ("%g"):format(m * 10 ^ k)
end

-- log-axis ticks in units (l0, l1: log10 of the ends): 1, 2 and 5 times
-- the powers of ten over a span of a few decades, every decade up to ten
-- of them, and every k-th (about n ticks) over more; with fewer than two
-- such inside, the linear ticks of the values.  The decades are whole
-- numbers from -324 to 309, so each loop is short.
local function logticks(l0, l1, n)
   local a, b = ceil(l0 - 1e-9), floor(l1 + 1e-9)
   local t, labels = {}, {}
   if b - a <= 2 then
      for k = a - 1, b do
         for _, m in ipairs{1, 2, 5} do
            local u = k + log10(m)
            if u >= l0 - 1e-9 and u <= l1 + 1e-9 then
               t[#t + 1], labels[#labels + 1] = u, loglabel(m, k)
            end
         end
      end
   else                      -- every decade up to 10, else every 2, 5, 10, 20, ...
      for _, k in ipairs((scale.ticks(a, b, b - a <= 10 and b - a or n, true))) do
         t[#t + 1], labels[#labels + 1] = k, loglabel(1, k)
      end
   end
   if #t >= 2 then return t, labels end
   t, labels = {}, {}
   local vlo, vhi = 10 ^ l0, 10 ^ l1
   local vs, step = scale.ticks(vlo, vhi, n)
   for _, v in ipairs(vs) do
      if v > 0 then t[#t + 1], labels[#labels + 1] = log10(v), label(v, step) end
   end
   return t, labels
end

-- An axis from lo to hi (units) drawn from pixel a0 to a1: px(u) is the
-- pixel of u; ticks and labels; clo and chi, the range lines are clipped
-- to (one span beyond each end, so every clipped point is a pixel within
-- three spans of the box: finite and small).
local function newaxis(lo, hi, log, a0, a1, n, integral)
   local half = hi / 2 - lo / 2
   local A = {lo = lo, hi = hi, log = log}
   A.clo = max(log and LOGMIN or -MAXF, lo - 2 * half)
   A.chi = min(log and LOGMAX or MAXF, hi + 2 * half)
   local k, mid = (a1 - a0) / half, lo / 2
   A.a0, A.k, A.mid = a0, k, mid
   function A.px(u) return a0 + (u / 2 - mid) * k end
   if log then
      A.ticks, A.labels = logticks(lo, hi, n)
   else
      local step
      A.ticks, step = scale.ticks(lo, hi, n, integral)
      A.labels = {}
      for i, v in ipairs(A.ticks) do A.labels[i] = label(v, step) end
   end
   return A
end

-- what the axes need of a list of values, found once when it is given:
-- the range of its finite values (lo, hi), of its positive ones (plo,
-- phi: a log axis's), and whether all are whole numbers
local function summary(vs)
   local lo, hi, plo, phi, whole = huge, -huge, huge, -huge, true
   for i = 1, #vs do
      local v = vs[i]
      if v == v and v > -huge and v < huge then
         if v < lo then lo = v end
         if v > hi then hi = v end
         if v > 0 then
            if v < plo then plo = v end
            if v > phi then phi = v end
         end
         if whole and v ~= floor(v) then whole = false end
      end
   end
   return {lo = lo, hi = hi, plo = plo, phi = phi, whole = whole}
end

-- the data's range on one axis, in its units, over what can be drawn
local function extent(self, axis, log)
   local lo, hi = huge, -huge
   for _, l in ipairs(self.layers) do
      local sm = l[axis .. "sum"]
      if sm then
         local a, b = log and sm.plo or sm.lo, log and sm.phi or sm.hi
         if a <= b then lo, hi = min(lo, a), max(hi, b) end
      end
   end
   if lo > hi then return 0, 1 end
   if log then return log10(lo), log10(hi) end
   return lo, hi
end

-- the x and y axes
local function axes(self, L)
   local xlo, xhi, ylo, yhi
   if self.xrange then
      xlo, xhi = unit(self.xrange[1], self.xlog), unit(self.xrange[2], self.xlog)
   else
      xlo, xhi = extent(self, "x", self.xlog)
      xlo, xhi = drawable(xlo, xhi, self.xlog)
   end
   if self.yrange then
      ylo, yhi = unit(self.yrange[1], self.ylog), unit(self.yrange[2], self.ylog)
   else                                          -- a little air above and below
      ylo, yhi = extent(self, "y", self.ylog)
      ylo, yhi = drawable(ylo, yhi, self.ylog)
      local pad = (yhi / 2 - ylo / 2) * 0.08
      local top = self.ylog and LOGMAX or MAXF
      ylo, yhi = max(self.ylog and LOGMIN or -top, ylo - pad), min(top, yhi + pad)
   end
   -- x is whole numbers when every layer is a line and all its xs are
   -- (epochs, steps)
   local integral = #self.layers > 0
   for _, l in ipairs(self.layers) do
      if l.kind ~= "line" or not l.xsum.whole then integral = false; break end
   end
   local X = newaxis(xlo, xhi, self.xlog, L.left, L.right, max(2, floor((L.right - L.left) / 90)), integral)
   local Y = newaxis(ylo, yhi, self.ylog, L.bottom, L.top, max(2, floor((L.bottom - L.top) / 60)))
   return X, Y
end

-- ---- colours -----------------------------------------------------------------

-- series colours (Tableau's ten; chart.palette), and a light-to-dark colour
-- map for fields
scale.palette = {}
for _, h in ipairs{"1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd", "8c564b", "e377c2",
                   "7f7f7f", "bcbd22", "17becf"} do
   scale.palette[#scale.palette + 1] = {tonumber(h:sub(1, 2), 16) / 255,
      tonumber(h:sub(3, 4), 16) / 255, tonumber(h:sub(5, 6), 16) / 255}
end
local MAP = {                              -- viridis, at 0, 1/4, ... 1
   {0.267, 0.005, 0.329}, {0.230, 0.322, 0.546}, {0.128, 0.567, 0.551},
   {0.369, 0.789, 0.383}, {0.993, 0.906, 0.144},
}
local NOVALUE = {0.82, 0.82, 0.82}        -- a field's NaN, infinity or non-class

local function mapcolour(u)
   u = min(1, max(0, u)) * (#MAP - 1)
   local i = min(#MAP - 2, floor(u))
   local f, a, b = u - i, MAP[i + 1], MAP[i + 2]
   return {a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f, a[3] + (b[3] - a[3]) * f}
end

local function pale(c) return {0.55 + 0.45 * c[1], 0.55 + 0.45 * c[2], 0.55 + 0.45 * c[3]} end

-- the cells' colours, and the value range the colours span (for the bar)
local function fieldcolours(l, vals)
   local colors = {}
   if l.classes then
      local cache = {}
      for i, v in ipairs(vals) do
         local k = isnum(v) and floor(v) or nil
         if k then
            local c = (k - 1) % #scale.palette + 1
            cache[c] = cache[c] or pale(scale.palette[c])
            colors[i] = cache[c]
         else
            colors[i] = NOVALUE
         end
      end
      return colors
   end
   local lo, hi = huge, -huge
   for _, v in ipairs(vals) do if isnum(v) then lo, hi = min(lo, v), max(hi, v) end end
   if lo > hi then lo, hi = 0, 1 end
   lo, hi = drawable(lo, hi)
   local half = hi / 2 - lo / 2
   local bands = l.levels
   local function shade(v)
      local u = (v / 2 - lo / 2) / half
      if bands then u = min(bands - 1, floor(u * bands)) / (bands - 1) end
      return mapcolour(u)
   end
   for i, v in ipairs(vals) do colors[i] = isnum(v) and shade(v) or NOVALUE end
   return colors, lo, hi, shade
end

scale.isnum, scale.unit, scale.drawable, scale.label = isnum, unit, drawable, label
scale.summary, scale.axes, scale.fieldcolours = summary, axes, fieldcolours

return scale
