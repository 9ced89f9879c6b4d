-- nn.chart: charts as SVG or PNG (nn.plot.chart).  A chart is axes with
-- layers drawn on them: lines, points coloured by class, and fields (a
-- function of two variables as a heat map, banded levels or class
-- regions, with a colour bar), with ticks, labels, a legend, a title and a
-- caption.  A figure (nn.plot.figure) puts charts side by side.
--
--   local plot = require "nn.plot"
--   local c = plot.chart{title = "loss", xlabel = "epoch", ylabel = "loss", ylog = true}
--   c:line(h.loss, {name = "train"})
--   c:line(h.valLoss, {name = "validation", dash = "6 4"})
--   c:save("out/loss.svg")          -- or .png; c:svg() and c:png() give the bytes
--
-- What a drawing costs is bounded by the picture, not by the data: a line
-- is clipped to the plot and thinned to what its pixels can show (of the
-- points that fall in one pixel column in a row, the first, lowest,
-- highest and last; no point within half a pixel of the one before), a
-- scatter keeps one point per pixel and colour (the one drawn last), only
-- the topmost field is computed, and what is left may take at most
-- chart.WORK (64) pixel visits per pixel of the picture; past that the
-- drawing is refused with an error that says so.  Every loop below runs a
-- number of times fixed before it starts (a count of ticks, of points, of
-- pixels), never until a float reaches a bound.
local nn = require "nn"
local canvas = require "nn.canvas"
local core = require "nn.core"
local compat = require "nn.compat"

local chart = {}

local floor, ceil, min, max, abs, sqrt = math.floor, math.ceil, math.min, math.max, math.abs, math.sqrt
local huge = math.huge
local log10 = compat.log10
local lerp = canvas.lerp

local MAXF = 1.7976931348623157e308          -- the largest double
-- a log axis's units are log10 of the values: from the smallest positive
-- double (a subnormal) to the largest
local LOGMIN, LOGMAX = log10(4.9406564584124654e-324), log10(MAXF)

chart.MAXVALUES = 1e7       -- values in one list
chart.MAXLAYERS = 256       -- layers in one chart
chart.MAXTEXT = 600         -- characters in a title, label or name (4096 px at 7 px each)
chart.MAXCAPTION = 4        -- lines of caption
chart.WORK = 64             -- pixel visits a drawing may take, per pixel of the picture

-- series colours (Tableau's ten), and a light-to-dark colour map for fields
chart.palette = {}
for _, h in ipairs{"1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd", "8c564b", "e377c2",
                   "7f7f7f", "bcbd22", "17becf"} do
   chart.palette[#chart.palette + 1] = {tonumber(h:sub(1, 2), 16) / 255,
      tonumber(h:sub(3, 4), 16) / 255, tonumber(h:sub(5, 6), 16) / 255}
end
local MAP = {                              -- viridis, at 0, 1/4, ... 1
   {0.267, 0.005, 0.329}, {0.230, 0.322, 0.546}, {0.128, 0.567, 0.551},
   {0.369, 0.789, 0.383}, {0.993, 0.906, 0.144},
}
local INK, GRID, FRAME = {0.15, 0.15, 0.15}, {0.90, 0.90, 0.90}, {0.35, 0.35, 0.35}
local NOVALUE = {0.82, 0.82, 0.82}        -- a field's NaN, infinity or non-class
local WHITE = {1, 1, 1}

local Chart = {}
Chart.__index = Chart

-- an error naming the function, raised at the caller of the public
-- function that called fail (level 3), or one further out (bad, from a
-- checker that the public function called)
local function fail(fn, fmt, ...) error(("%s: " .. fmt):format(fn, ...), 3) end
local function bad(fn, fmt, ...) error(("%s: " .. fmt):format(fn, ...), 4) end

local function isnum(v) return type(v) == "number" and v == v and v > -huge and v < huge end

-- ---- checking what is given -------------------------------------------------------

local OPTIONS = {
   ["plot.chart"] = {"title", "xlabel", "ylabel", "caption", "width", "height", "xlog", "ylog",
                     "xrange", "yrange", "legend"},
   ["chart:line"] = {"name", "color", "width", "dash"},
   ["chart:points"] = {"classes", "names", "name", "color", "radius"},
   ["chart:field"] = {"levels", "classes", "batch", "resolution", "label", "colorbar"},
   ["plot.figure"] = {"title", "columns"},
}
for _, list in pairs(OPTIONS) do table.sort(list) end
chart.options = OPTIONS

-- opts, checked against the names fn knows (an unknown one is an error
-- that lists them all).  Read with next, not pairs: a __pairs could
-- iterate forever.
local function options(fn, opts)
   if opts == nil then return {} end
   if type(opts) ~= "table" then bad(fn, "opts must be a table, got %s", type(opts)) end
   local list, known = OPTIONS[fn], {}
   for _, k in ipairs(list) do known[k] = true end
   for k in next, opts do
      if not known[k] then
         bad(fn, "unknown option '%s' (expected %s)", tostring(k), table.concat(list, ", "))
      end
   end
   return opts
end

-- a title, label or name: clean text (canvas.clean), at most MAXTEXT
-- characters
local function text(fn, what, v)
   if v == nil then return nil end
   if type(v) ~= "string" and type(v) ~= "number" then
      bad(fn, "%s must be a string, got %s", what, type(v))
   end
   return (canvas.clean(v, chart.MAXTEXT))
end

local function flag(fn, what, v)
   if v ~= nil and type(v) ~= "boolean" then bad(fn, "%s must be true or false, got %s", what, tostring(v)) end
   return v or false
end

-- a list of numbers from a list, or from a Matrix with one row or column
local function numbers(fn, what, v)
   if nn.isMatrix(v) then
      local r, c = v:shape()
      if r ~= 1 and c ~= 1 then bad(fn, "%s: a Matrix must have one row or column, got %d x %d", what, r, c) end
      local t = {}
      for i = 1, r * c do t[i] = r == 1 and v:get(1, i) or v:get(i, 1) end
      return t
   end
   if type(v) ~= "table" then bad(fn, "%s must be a list of numbers or a Matrix, got %s", what, type(v)) end
   -- a copy, read once by index: the chart keeps no table of the caller's
   -- (a proxy's __index could answer forever, or the list change later)
   local n, t = #v, {}
   if type(n) ~= "number" or n > chart.MAXVALUES then
      bad(fn, "%s has %s values, at most %d", what, tostring(n), chart.MAXVALUES)
   end
   for i = 1, n do
      local x = v[i]
      if type(x) ~= "number" then bad(fn, "%s: value %d is %s, expected a number", what, i, type(x)) end
      t[i] = x
   end
   return t
end

local function colour(fn, c)
   if c == nil then return nil end
   if type(c) ~= "table" or not isnum(c[1]) or not isnum(c[2]) or not isnum(c[3]) then
      bad(fn, "color must be {r, g, b} with each from 0 to 1")
   end
   return {min(1, max(0, c[1])), min(1, max(0, c[2])), min(1, max(0, c[3]))}
end

local function addlayer(self, fn, layer)
   if #self.layers >= chart.MAXLAYERS then
      bad(fn, "a chart holds at most %d layers", chart.MAXLAYERS)
   end
   self.layers[#self.layers + 1] = layer
end

-- ---- scales and ticks ----------------------------------------------------------
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
function chart.ticks(lo, hi, n, integral)
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
      for _, k in ipairs((chart.ticks(a, b, b - a <= 10 and b - a or n, true))) do
         t[#t + 1], labels[#labels + 1] = k, loglabel(1, k)
      end
   end
   if #t >= 2 then return t, labels end
   t, labels = {}, {}
   local vlo, vhi = 10 ^ l0, 10 ^ l1
   local vs, step = chart.ticks(vlo, vhi, n)
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
      A.ticks, step = chart.ticks(lo, hi, n, integral)
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

-- ---- checking and adding layers ----------------------------------------------

-- {lo, hi} as given, checked: finite, lo < hi, positive on a log axis and
-- not too narrow to draw
local function range(fn, what, r, log)
   if r == nil then return nil end
   local lo, hi
   if type(r) == "table" then lo, hi = r[1], r[2] end
   if not isnum(lo) or not isnum(hi) or not (hi > lo) then
      bad(fn, "%s must be {lo, hi}: finite numbers with lo < hi", what)
   end
   if log and lo <= 0 then bad(fn, "%s must be positive on a log axis, got {%s, %s}", what, lo, hi) end
   local u0, u1 = unit(lo, log), unit(hi, log)
   local d0, d1 = drawable(u0, u1, log)
   if d0 ~= u0 or d1 ~= u1 then
      bad(fn, "%s {%.17g, %.17g} is too narrow to draw: its ends must differ by at least %s",
         what, lo, hi, log and "a millionth of a decade" or "1e-12 of their size")
   end
   return {lo, hi}
end

local LEGENDS = {["top-right"] = true, ["top-left"] = true, ["bottom-right"] = true,
                 ["bottom-left"] = true, auto = true}

--- plot.chart([opts]) -> a chart.  opts: title, xlabel, ylabel, caption
--- (text under the chart; "\n" between lines, at most 4), width (640),
--- height (420), xlog, ylog (log scales), xrange, yrange ({lo, hi}: fixed
--- ranges instead of the data's), legend ("auto": the corner the data
--- leaves freest, the default; "top-right", "top-left", "bottom-right",
--- "bottom-left", or false for none).
function chart.new(opts)
   local fn = "plot.chart"
   opts = options(fn, opts)
   local self = setmetatable({layers = {}, n = 0}, Chart)
   self.width = compat.toint(opts.width or 640)
   self.height = compat.toint(opts.height or 420)
   if not self.width or not self.height or self.width < 160 or self.height < 120
      or self.width > 4096 or self.height > 4096 then
      fail(fn, "width and height must be integers from 160 x 120 to 4096 x 4096")
   end
   self.title = text(fn, "title", opts.title)
   self.xlabel = text(fn, "xlabel", opts.xlabel)
   self.ylabel = text(fn, "ylabel", opts.ylabel)
   self.caption = {}
   local cap = text(fn, "caption", opts.caption)
   if cap then
      for line in (cap .. "\n"):gmatch("([^\n]*)\n") do
         if #self.caption == chart.MAXCAPTION then
            fail(fn, "caption has more than %d lines", chart.MAXCAPTION)
         end
         self.caption[#self.caption + 1] = line
      end
   end
   self.xlog = flag(fn, "xlog", opts.xlog)
   self.ylog = flag(fn, "ylog", opts.ylog)
   self.xrange = range(fn, "xrange", opts.xrange, self.xlog)
   self.yrange = range(fn, "yrange", opts.yrange, self.ylog)
   local lg = opts.legend
   if lg == nil or lg == true then lg = "auto" end
   if lg ~= false and not LEGENDS[lg] then
      fail(fn, "legend must be \"auto\", \"top-right\", \"top-left\", \"bottom-right\", \"bottom-left\" or false, got %s", tostring(lg))
   end
   self.legend = lg
   return self
end

local function nextcolour(self)
   self.n = self.n + 1
   return chart.palette[(self.n - 1) % #chart.palette + 1]
end

local function checkself(self, fn)
   if getmetatable(self) ~= Chart then bad(fn, "call it as c:%s(...) on a chart", fn:match(":(.*)")) end
end

--- c:line(ys [, opts]) or c:line(xs, ys [, opts]): a line through the
--- points (x = 1, 2, ... when only ys).  opts: name (in the legend), color,
--- width (2), dash ("6 4": on and off lengths, canvas.dash).  A NaN or an
--- infinity breaks the line.  Returns the chart.
function Chart:line(xs, ys, opts)
   local fn = "chart:line"
   checkself(self, fn)
   -- c:line(ys [, opts]): the second argument is options, not numbers
   if ys == nil or (type(ys) == "table" and not nn.isMatrix(ys) and rawget(ys, 1) == nil
                    and next(ys) ~= nil) then
      xs, ys, opts = nil, xs, ys
   end
   ys = numbers(fn, "ys", ys)
   if xs then
      xs = numbers(fn, "xs", xs)
      if #xs ~= #ys then fail(fn, "xs has %d values, ys %d", #xs, #ys) end
   else
      xs = {}
      for i = 1, #ys do xs[i] = i end
   end
   opts = options(fn, opts)
   local width = opts.width or 2
   if not isnum(width) or width <= 0 or width > 50 then fail(fn, "width must be a number from 0 to 50") end
   local dash
   if opts.dash ~= nil then
      local why
      dash, why = canvas.dash(opts.dash)
      if not dash then fail(fn, "dash %s", why) end
   end
   addlayer(self, fn, {kind = "line", xs = xs, ys = ys, xsum = summary(xs), ysum = summary(ys),
      name = text(fn, "name", opts.name),
      color = colour(fn, opts.color) or nextcolour(self), width = width, dash = dash})
   return self
end

--- c:points(xs, ys [, opts]): a scatter plot.  opts: classes (a class per
--- point, a whole number from 1: each class its colour), names (a legend
--- name per class), name (the legend name when there are no classes),
--- color, radius (3.5).  Returns the chart.
function Chart:points(xs, ys, opts)
   local fn = "chart:points"
   checkself(self, fn)
   xs, ys = numbers(fn, "xs", xs), numbers(fn, "ys", ys)
   if #xs ~= #ys then fail(fn, "xs has %d values, ys %d", #xs, #ys) end
   opts = options(fn, opts)
   local radius = opts.radius or 3.5
   if not isnum(radius) or radius <= 0 or radius > 50 then fail(fn, "radius must be a number from 0 to 50") end
   local names
   if opts.names ~= nil then
      if type(opts.names) ~= "table" then fail(fn, "names must be a list") end
      names = {}
      local n = #opts.names
      if type(n) ~= "number" then fail(fn, "names must be a list") end
      for k = 1, min(n, 64) do names[k] = text(fn, "names[" .. k .. "]", tostring(opts.names[k])) end
   end
   local classes = opts.classes and numbers(fn, "classes", opts.classes)
   if classes then
      if #classes ~= #xs then fail(fn, "classes has %d values, expected %d", #classes, #xs) end
      for i = 1, #classes do
         local k = classes[i]
         if not (isnum(k) and k >= 1 and k == floor(k)) then
            fail(fn, "classes: value %d is %s, expected a class (a whole number from 1)", i, tostring(k))
         end
      end
   end
   addlayer(self, fn, {kind = "points", xs = xs, ys = ys, xsum = summary(xs), ysum = summary(ys),
      classes = classes,
      names = names, name = text(fn, "name", opts.name), radius = radius,
      color = colour(fn, opts.color) or (not classes and nextcolour(self))})
   return self
end

--- c:field(f [, opts]): f(x, y) over the chart's xrange and yrange (both
--- must be given to plot.chart) as colour, under the lines and points; a
--- later field covers an earlier one.  opts: levels (a number: that many
--- bands, a filled contour; default a smooth map), classes (f returns a
--- class index: each class its colour, pale, as the decision regions under
--- c:points), batch (f takes an n x 2 Matrix of points and returns an n x
--- 1 Matrix, or n x k scores whose largest is the class: one call for the
--- whole grid), resolution (grid cells across; default one a pixel),
--- label (the colour bar's), colorbar (false: none; a map or bands have
--- one by default).
function Chart:field(f, opts)
   local fn = "chart:field"
   checkself(self, fn)
   if type(f) ~= "function" then fail(fn, "f must be a function, got %s", type(f)) end
   if not self.xrange or not self.yrange then
      fail(fn, "the chart needs xrange and yrange (plot.chart{xrange = {lo, hi}, ...})")
   end
   opts = options(fn, opts)
   local res = opts.resolution
   if res ~= nil and (not compat.isint(res) or res < 2 or res > 1000) then
      fail(fn, "resolution must be an integer from 2 to 1000, got %s", tostring(res))
   end
   if opts.levels ~= nil and (not compat.isint(opts.levels) or opts.levels < 2 or opts.levels > 256) then
      fail(fn, "levels must be an integer from 2 to 256, got %s", tostring(opts.levels))
   end
   local classes = flag(fn, "classes", opts.classes)
   local bar = flag(fn, "colorbar", opts.colorbar)
   if opts.colorbar == nil then bar = not classes end
   addlayer(self, fn, {kind = "field", f = f, levels = opts.levels, classes = classes,
      batch = flag(fn, "batch", opts.batch), resolution = res, colorbar = bar,
      label = text(fn, "label", opts.label)})
   return self
end

-- ---- layout -----------------------------------------------------------------------

-- the topmost field (it covers any other)
local function topfield(self)
   for i = #self.layers, 1, -1 do
      if self.layers[i].kind == "field" then return self.layers[i] end
   end
   return nil
end

-- where everything goes: the plot box, and the colour bar's column
local function layout(self)
   local W, H = self.width, self.height
   local field = topfield(self)
   local bar = field and field.colorbar
   local L = {W = W, H = H, field = field, bar = bar}
   L.left, L.top = 72, self.title and 36 or 16
   L.right = W - 18 - (bar and (field.label and 96 or 80) or 0)
   L.bottom = H - 48 - 16 * #self.caption
   -- a small chart with a bar and a caption keeps a plot to draw in
   L.right, L.bottom = max(L.right, L.left + 40), max(L.bottom, L.top + 30)
   return L
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

-- ---- geometry: what will be drawn, in pixels ----------------------------------

-- A piece of line is kept as the points its pixels can tell apart: of
-- each run of points in one pixel column, the first, the lowest, the
-- highest and the last, in the line's order (they cover what the whole run
-- covers in that column); and no point within half a pixel of the one
-- kept before it (but the piece's last).  So a piece keeps at most four
-- points a column it crosses, however many the data has; it is built one
-- point at a time, with no list of all of them.
-- What a drawing may cost, charged as it is worked out (so a drawing past
-- the limit is refused before it has kept more than the limit allows):
-- pixel visits, chart.WORK per pixel of the picture.
local function meter(fn, W, H)
   return {fn = fn, work = 0, limit = chart.WORK * W * H, W = W, H = H}
end

local function charge(m, work)
   m.work = m.work + work
   if m.work > m.limit then
      error(("%s: drawing this chart would take over %d pixel visits (%d per pixel of its "
         .. "%d x %d picture), even with its lines thinned to what its pixels can show: draw "
         .. "fewer points, or thinner or fewer long lines"):format(m.fn, m.limit, chart.WORK,
         m.W, m.H), 0)
   end
end

-- a piece of a line of width w (with a dash pattern or none), charged to m
local function newpiece(x, y, m, w, dash)
   local reach = w / 2 + 1
   return {pts = {x, y}, n = 1, col = floor(x), lo = 1, lx = x, ly = y, hi = 1, hx = x, hy = y,
           zx = x, zy = y, m = m, w = w, dash = dash, ends = 2 * reach + 2, across = 2.9 * reach + 3}
end

-- the pixels a segment of len visits: along it, and round each end of
-- each dash
local function segwork(pc, len)
   local dash = pc.dash
   local parts = dash and (len / dash.period * #dash + 1) or 1
   return (len + parts * pc.ends) * pc.across
end

local function emit(pc, x, y)
   local pts = pc.pts
   local k = #pts
   local dx, dy = x - pts[k - 1], y - pts[k]
   local d2 = dx * dx + dy * dy
   if d2 >= 0.25 then
      charge(pc.m, segwork(pc, sqrt(d2)))
      pts[k + 1], pts[k + 2] = x, y
   end
end

-- the column's run ends: its lowest and highest in the order the line
-- visits them (the first was kept when it came), then its last
local function flush(pc)
   local n = pc.n
   if n >= 2 then
      local a, ax, ay, b, bx, by = pc.lo, pc.lx, pc.ly, pc.hi, pc.hx, pc.hy
      if b < a then a, ax, ay, b, bx, by = b, bx, by, a, ax, ay end
      if a ~= 1 and a ~= n then emit(pc, ax, ay) end
      if b ~= 1 and b ~= n and b ~= a then emit(pc, bx, by) end
      emit(pc, pc.zx, pc.zy)
   end
end

local function extend(pc, x, y)
   local col = floor(x)
   if col ~= pc.col then
      flush(pc)
      pc.col, pc.n = col, 0
   end
   local n = pc.n + 1
   pc.n = n
   if n == 1 then
      pc.lo, pc.lx, pc.ly, pc.hi, pc.hx, pc.hy = 1, x, y, 1, x, y
      emit(pc, x, y)
   else
      if y < pc.ly then pc.lo, pc.lx, pc.ly = n, x, y end
      if y > pc.hy then pc.hi, pc.hx, pc.hy = n, x, y end
   end
   pc.zx, pc.zy = x, y
end

-- the piece's points, its last one kept (a piece of one point is a dot)
local function finish(pc)
   flush(pc)
   local pts = pc.pts
   local k = #pts
   if pts[k - 1] ~= pc.zx or pts[k] ~= pc.zy then
      charge(pc.m, segwork(pc, sqrt((pc.zx - pts[k - 1]) ^ 2 + (pc.zy - pts[k]) ^ 2)))
      pts[k + 1], pts[k + 2] = pc.zx, pc.zy
   end
   if #pts == 2 then charge(pc.m, (2 * pc.w + 3) ^ 2) end
   return pts
end

-- the visible pieces of a line layer, in pixels and thinned: each run of
-- drawable points (a NaN, an infinity, or a value <= 0 on a log axis ends
-- one) clipped to the axes' clip ranges, segment by segment, in units
local function pieces(l, X, Y, xlog, ylog, m)
   local out, cur, pu, pv = {}, nil, nil, nil
   local w, dash = l.width, l.dash
   local xs, ys = l.xs, l.ys
   local clo, chi, dlo, dhi, xpx, ypx = X.clo, X.chi, Y.clo, Y.chi, X.px, Y.px
   local function close()
      if cur then out[#out + 1] = finish(cur); cur = nil end
   end
   local xa, xk, xm, ya, yk, ym = X.a0, X.k, X.mid, Y.a0, Y.k, Y.mid
   for i = 1, #ys do
      local u, v = xs[i], ys[i]
      -- unit(), inline: this loop is the one that sees every point
      if xlog then u = u > 0 and u < huge and log10(u) or nil
      elseif u ~= u or u == huge or u == -huge then u = nil end
      if ylog then v = v > 0 and v < huge and log10(v) or nil
      elseif v ~= v or v == huge or v == -huge then v = nil end
      if u and v then
         if pu and u >= clo and u <= chi and v >= dlo and v <= dhi and cur then
            extend(cur, xa + (u / 2 - xm) * xk, ya + (v / 2 - ym) * yk)   -- inside, as before
         elseif pu then
            local t0, t1 = canvas.clipsegment(pu, pv, u, v, clo, dlo, chi, dhi)
            if t0 then
               if not cur or t0 > 0 then      -- entering the plot: a new piece
                  close()
                  cur = newpiece(xpx(lerp(pu, u, t0)), ypx(lerp(pv, v, t0)), m, w, dash)
               end
               if t1 < 1 then
                  extend(cur, xpx(lerp(pu, u, t1)), ypx(lerp(pv, v, t1)))
                  close()                         -- leaving it
               else
                  extend(cur, xpx(u), ypx(v))
               end
            else
               close()
            end
         elseif u >= clo and u <= chi and v >= dlo and v <= dhi then
            cur = newpiece(xpx(u), ypx(v), m, w, dash)   -- a run's first point: a dot if alone
         end
         pu, pv = u, v
      else
         close()
         pu, pv = nil, nil
      end
   end
   close()
   return out
end

-- the class colour of point i of a layer (an index into the palette), or
-- 0 for the layer's own colour
local function classof(l, i)
   if not l.classes then return 0 end
   return (l.classes[i] - 1) % #chart.palette + 1
end

-- the points of a scatter inside the plot (with their radius), one per
-- pixel and colour: the one drawn last, which would cover the others.
-- What is kept is a point's index by pixel and colour, so no more than
-- the picture can show is ever held.
local function dots(l, X, Y, L, xlog, ylog, m)
   local last = {}
   local r = l.radius + 1
   local cost = (2 * l.radius + 3) ^ 2
   local xs, ys = l.xs, l.ys
   local function at(i)
      local u, v = unit(xs[i], xlog), unit(ys[i], ylog)
      if u and v and u >= X.clo and u <= X.chi and v >= Y.clo and v <= Y.chi then
         local x, y = X.px(u), Y.px(v)
         if x >= L.left - r and x <= L.right + r and y >= L.top - r and y <= L.bottom + r then
            return x, y
         end
      end
      return nil
   end
   for i = 1, #xs do
      local x, y = at(i)
      if x then
         local key = ((floor(y) + 8192) * 32768 + floor(x) + 8192) * 16 + classof(l, i)
         if not last[key] then charge(m, cost) end
         last[key] = i
      end
   end
   local order = {}
   for _, i in next, last do order[#order + 1] = i end
   table.sort(order)
   local out = {}
   for k, i in ipairs(order) do
      local x, y = at(i)
      out[k] = {x, y, classof(l, i)}
   end
   return out
end

-- the field's grid: cells across and down
local function fieldgrid(l, L)
   local w, h = L.right - L.left, L.bottom - L.top
   local cols = l.resolution or min(1000, max(2, floor(w + 0.5)))
   local rows = max(2, min(1000, floor(cols * h / w + 0.5)))
   return cols, rows
end

-- Everything a drawing needs, computed once, and charged to its meter
-- before anything costly (a field's function, the raster) runs.
local function prepare(self, fn)
   local L = layout(self)
   local X, Y = axes(self, L)
   local P = {L = L, X = X, Y = Y, lines = {}, dots = {}}
   local m = meter(fn, L.W, L.H)
   charge(m, 2 * L.W * L.H)                      -- the background, and writing it out
   if L.field then
      local cols, rows = fieldgrid(L.field, L)
      charge(m, cols * rows + (L.right - L.left) * (L.bottom - L.top))
   end
   for i, l in ipairs(self.layers) do
      if l.kind == "line" then
         P.lines[i] = pieces(l, X, Y, self.xlog, self.ylog, m)
      elseif l.kind == "points" then
         P.dots[i] = dots(l, X, Y, L, self.xlog, self.ylog, m)
      end
   end
   return P
end

-- ---- fields ----------------------------------------------------------------------

local function mapcolour(u)
   u = min(1, max(0, u)) * (#MAP - 1)
   local i = min(#MAP - 2, floor(u))
   local f, a, b = u - i, MAP[i + 1], MAP[i + 2]
   return {a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f, a[3] + (b[3] - a[3]) * f}
end

local function pale(c) return {0.55 + 0.45 * c[1], 0.55 + 0.45 * c[2], 0.55 + 0.45 * c[3]} end

-- the field's values on a cols x rows grid of cell centres (top row
-- first), spread evenly in the axes' units
local function sample(self, l, cols, rows)
   local xl, yl = self.xlog, self.ylog
   local x0, x1 = unit(self.xrange[1], xl), unit(self.xrange[2], xl)
   local y0, y1 = unit(self.yrange[1], yl), unit(self.yrange[2], yl)
   local function at(a, b, f, log)
      local u = lerp(a, b, f)
      return log and 10 ^ u or u
   end
   local vals = {}
   if l.batch then
      local P = nn.Matrix(cols * rows, 2)
      for r = 0, rows - 1 do
         local y = at(y1, y0, (r + 0.5) / rows, yl)
         for c = 0, cols - 1 do
            local i = r * cols + c + 1
            P:set(i, 1, at(x0, x1, (c + 0.5) / cols, xl))
            P:set(i, 2, y)
         end
      end
      local out = l.f(P)
      if not nn.isMatrix(out) or out:shape() ~= cols * rows then
         error(("chart:field: f with batch = true must return a Matrix with %d rows"):format(cols * rows), 0)
      end
      local _, k = out:shape()
      local best = k > 1 and out:argmax(2)
      for i = 1, cols * rows do vals[i] = k > 1 and best:get(i, 1) or out:get(i, 1) end
   else
      for r = 0, rows - 1 do
         local y = at(y1, y0, (r + 0.5) / rows, yl)
         for c = 0, cols - 1 do
            local x = at(x0, x1, (c + 0.5) / cols, xl)
            local v = l.f(x, y)
            if type(v) ~= "number" then
               error(("chart:field: f(%g, %g) returned %s, expected a number"):format(x, y, type(v)), 0)
            end
            vals[r * cols + c + 1] = v
         end
      end
   end
   return vals
end

-- the cells' colours, and the value range the colours span (for the bar)
local function fieldcolours(l, vals)
   local colors = {}
   if l.classes then
      local cache = {}
      for i, v in ipairs(vals) do
         local k = isnum(v) and floor(v) or nil
         if k then
            local c = (k - 1) % #chart.palette + 1
            cache[c] = cache[c] or pale(chart.palette[c])
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

-- ---- drawing ----------------------------------------------------------------------

local function drawfield(self, s, P)
   local L = P.L
   local l = L.field
   if not l then return end
   local cols, rows = fieldgrid(l, L)
   -- an error in f is named as f's
   local ok, vals = pcall(sample, self, l, cols, rows)
   if not ok then
      local msg = tostring(vals)
      error(msg:find("^chart:field: ") and msg or "chart:field: f raised an error: " .. msg, 0)
   end
   local colors, lo, hi, shade = fieldcolours(l, vals)
   s:cells(L.left, L.top, L.right - L.left, L.bottom - L.top, cols, rows, colors)
   if l.colorbar and lo then P.bar = {lo = lo, hi = hi, shade = shade} end
end

local function drawgrid(s, P)
   local L, X, Y = P.L, P.X, P.Y
   for _, u in ipairs(X.ticks) do s:polyline({X.px(u), L.top, X.px(u), L.bottom}, GRID, 1) end
   for _, u in ipairs(Y.ticks) do s:polyline({L.left, Y.px(u), L.right, Y.px(u)}, GRID, 1) end
end

local function drawseries(self, s, P)
   local L = P.L
   s:clip(L.left, L.top, L.right - L.left, L.bottom - L.top)
   for i, l in ipairs(self.layers) do
      if l.kind == "line" then
         for _, p in ipairs(P.lines[i]) do
            if #p >= 4 then s:polyline(p, l.color, l.width, l.dash)
            else s:disc(p[1], p[2], l.width, l.color) end
         end
      elseif l.kind == "points" then
         for _, d in ipairs(P.dots[i]) do
            local c = d[3] == 0 and l.color or chart.palette[d[3]]
            -- a white rim, or a dark one round a light point
            s:disc(d[1], d[2], l.radius, c, c[1] + c[2] + c[3] > 2.4 and INK or WHITE)
         end
      end
   end
   s:unclip()
end

-- at most n characters of t (the rest "…")
local function fit(t, n) return (canvas.clean(t, max(1, floor(n)))) end

local function drawframe(self, s, P)
   local L, X, Y = P.L, P.X, P.Y
   s:rect(L.left, L.top, L.right - L.left, L.bottom - L.top, nil, FRAME)
   for i, u in ipairs(X.ticks) do
      s:polyline({X.px(u), L.bottom, X.px(u), L.bottom + 5}, FRAME, 1)
      s:text(X.px(u), L.bottom + 18, X.labels[i], INK, "middle")
   end
   for i, u in ipairs(Y.ticks) do
      s:polyline({L.left - 5, Y.px(u), L.left, Y.px(u)}, FRAME, 1)
      s:text(L.left - 8, Y.px(u) + 4, fit(Y.labels[i], (L.left - 10) / 7), INK, "end")
   end
   local chars = (L.W - 8) / 7
   local below = L.bottom + 38
   if self.xlabel then s:text((L.left + L.right) / 2, below, fit(self.xlabel, chars), INK, "middle") end
   if self.ylabel then
      s:text(16, (L.top + L.bottom) / 2, fit(self.ylabel, (L.bottom - L.top + 60) / 7), INK, "middle", true)
   end
   if self.title then s:text(L.W / 2, 22, fit(self.title, chars), INK, "middle") end
   for k, line in ipairs(self.caption) do
      s:text(L.W / 2, below + 16 * k, fit(line, chars), INK, "middle")
   end
end

-- the colour bar: the field's colours from its lowest value to its
-- highest, with ticks
local function drawcolorbar(s, P)
   local L, bar = P.L, P.bar
   if not bar then return end
   local x, w, h = L.right + 14, 12, L.bottom - L.top
   local rows = max(1, floor(h + 0.5))
   local colors = {}
   for r = 1, rows do
      colors[r] = bar.shade(lerp(bar.hi, bar.lo, (r - 0.5) / rows))
   end
   s:cells(x, L.top, w, h, 1, rows, colors)
   s:rect(x, L.top, w, h, nil, FRAME)
   local vs, step = chart.ticks(bar.lo, bar.hi, max(2, floor(h / 50)))
   local half = bar.hi / 2 - bar.lo / 2
   local widest = 0
   for _, v in ipairs(vs) do
      local y = L.bottom - (v / 2 - bar.lo / 2) / half * h
      -- the tick inside the bar: one outside would read as a minus sign
      s:polyline({x + w - 4, y, x + w, y}, FRAME, 1)
      local t = fit(label(v, step), 8)
      widest = max(widest, canvas.width(t))
      s:text(x + w + 5, y + 4, t, INK)
   end
   if L.field.label then
      s:text(min(L.W - 8, x + w + 5 + widest * 7 + 16), (L.top + L.bottom) / 2,
         fit(L.field.label, (h + 40) / 7), INK, "middle", true)
   end
end

-- the legend's entries: every named line, and each named class of points
local function entries(self)
   local list = {}
   for _, l in ipairs(self.layers) do
      if l.kind == "line" and l.name then
         list[#list + 1] = {l.name, l.color, "line", l.dash}
      elseif l.kind == "points" then
         if l.classes and l.names then
            for k, name in ipairs(l.names) do
               list[#list + 1] = {name, chart.palette[(k - 1) % #chart.palette + 1], "point"}
            end
         elseif l.name then
            list[#list + 1] = {l.name, l.color or INK, "point"}
         end
      end
   end
   return list
end

-- how much of the drawn data falls in a box: points, and the lines
-- sampled every 8 pixels
local function crowding(self, P, bx, by, bw, bh)
   local n = 0
   local function at(x, y)
      if x >= bx and x <= bx + bw and y >= by and y <= by + bh then n = n + 1 end
   end
   for i, l in ipairs(self.layers) do
      for _, p in ipairs(P.lines[i] or {}) do
         at(p[1], p[2])
         for k = 1, #p - 3, 2 do
            local steps = min(1000, ceil(sqrt((p[k + 2] - p[k]) ^ 2 + (p[k + 3] - p[k + 1]) ^ 2) / 8))
            for j = 1, steps do at(lerp(p[k], p[k + 2], j / steps), lerp(p[k + 1], p[k + 3], j / steps)) end
         end
      end
      for _, d in ipairs(P.dots[i] or {}) do at(d[1], d[2]) end
   end
   return n
end

local CORNERS = {"top-right", "top-left", "bottom-right", "bottom-left"}

local function drawlegend(self, s, P)
   if self.legend == false then return end
   local list = entries(self)
   if #list == 0 then return end
   local L = P.L
   -- as many entries as fit the plot's height; names as long as fit its width
   local room = max(1, floor((L.bottom - L.top - 24) / 18))
   if #list > room then
      local more = #list - room + 1
      for k = room + 1, #list do list[k] = nil end
      list[room] = {("… %d more"):format(more), nil, "more"}
   end
   local chars = max(4, floor((L.right - L.left - 60) / 7))
   local wmax = 0
   for _, e in ipairs(list) do
      e[1] = fit(e[1], chars)
      wmax = max(wmax, canvas.width(e[1]))
   end
   local bw, bh = wmax * 7 + 44, #list * 18 + 8
   local function place(where)
      return where:find("left") and L.left + 8 or L.right - bw - 8,
             where:find("bottom") and L.bottom - bh - 8 or L.top + 8
   end
   local where = self.legend
   if where == "auto" then                -- the corner the data leaves freest
      local best
      for _, c in ipairs(CORNERS) do
         local x, y = place(c)
         local n = crowding(self, P, x, y, bw, bh)
         if not best or n < best then best, where = n, c end
      end
   end
   local bx, by = place(where)
   s:rect(bx, by, bw, bh, WHITE, {0.75, 0.75, 0.75})
   for i, e in ipairs(list) do
      local y = by + 4 + (i - 1) * 18 + 9
      if e[3] == "line" then s:polyline({bx + 8, y, bx + 30, y}, e[2], 2, e[4])
      elseif e[3] == "point" then s:disc(bx + 19, y, 4.5, e[2], FRAME) end
      s:text(bx + 36, y + 4, e[1], INK)
   end
end

-- the chart on a surface, at its top-left corner
local function draw(self, s, P)
   s:rect(0, 0, self.width, self.height, WHITE)
   drawfield(self, s, P)
   if not P.L.field then drawgrid(s, P) end
   drawseries(self, s, P)
   drawframe(self, s, P)
   drawcolorbar(s, P)
   drawlegend(self, s, P)
end

--- c:svg() -> the chart as a standalone SVG document (a string)
function Chart:svg()
   checkself(self, "chart:svg")
   local P = prepare(self, "chart:svg")
   local s = canvas.svg(self.width, self.height)
   draw(self, s, P)
   return s:finish()
end

--- c:png() -> the chart as PNG bytes (text in nn's built-in bitmap font)
function Chart:png()
   checkself(self, "chart:png")
   local P = prepare(self, "chart:png")
   local s = canvas.raster(self.width, self.height)
   draw(self, s, P)
   return s:finish()
end

local function save(fn, self, path)
   if type(path) ~= "string" then bad(fn, "path must be a string, got %s", type(path)) end
   local ext = path:match("%.(%w+)$")
   ext = ext and ext:lower()
   if ext ~= "svg" and ext ~= "png" then
      bad(fn, "%s: the name must end in .svg or .png", path)
   end
   local ok, err = core.writefile(path, ext == "svg" and self:svg() or self:png())
   if not ok then error(fn .. ": " .. err, 3) end
   return true
end

--- c:save(path): SVG or PNG, by the path's extension; true, or an error
function Chart:save(path)
   checkself(self, "chart:save")
   return save("chart:save", self, path)
end

-- ---- figures: charts side by side -------------------------------------------------

local Figure = {}
Figure.__index = Figure

--- plot.figure([opts]) -> a figure: charts side by side, in rows (small
--- multiples).  opts: title, columns (3).  f:add(chart) adds one (and
--- returns the figure); f:svg(), f:png(), f:save(path) as for a chart.
--- Every cell is as large as the largest chart; at most 4096 x 4096 in all.
function chart.figure(opts)
   local fn = "plot.figure"
   opts = options(fn, opts)
   local cols = opts.columns or 3
   if not compat.isint(cols) or cols < 1 or cols > 64 then
      fail(fn, "columns must be an integer from 1 to 64, got %s", tostring(cols))
   end
   return setmetatable({charts = {}, columns = cols, title = text(fn, "title", opts.title)}, Figure)
end

local function figsize(self)
   local cw, ch = 0, 0
   for _, c in ipairs(self.charts) do cw, ch = max(cw, c.width), max(ch, c.height) end
   local cols = min(self.columns, max(1, #self.charts))
   local rows = max(1, ceil(#self.charts / cols))
   local top = self.title and 30 or 0
   return cols * cw, rows * ch + top, cw, ch, cols, top
end

function Figure:add(c)
   local fn = "figure:add"
   if getmetatable(self) ~= Figure then fail(fn, "call it as f:add(chart) on a figure") end
   if getmetatable(c) ~= Chart then fail(fn, "expected a chart (plot.chart), got %s", type(c)) end
   self.charts[#self.charts + 1] = c
   local W, H = figsize(self)
   if W > 4096 or H > 4096 then
      self.charts[#self.charts] = nil
      fail(fn, "the figure would be %d x %d, larger than 4096 x 4096", W, H)
   end
   return self
end

local function drawfigure(self, fn, make)
   if getmetatable(self) ~= Figure then error(fn .. ": call it on a figure", 3) end
   if #self.charts == 0 then error(fn .. ": the figure has no charts (f:add(chart))", 3) end
   local W, H, cw, ch, cols, top = figsize(self)
   local prepared = {}
   for i, c in ipairs(self.charts) do prepared[i] = prepare(c, fn) end
   local s = make(W, H)
   s:rect(0, 0, W, H, WHITE)
   if self.title then s:text(W / 2, 21, fit(self.title, (W - 8) / 7), INK, "middle") end
   for i, c in ipairs(self.charts) do
      local x, y = ((i - 1) % cols) * cw, top + floor((i - 1) / cols) * ch
      s:panel(x, y, c.width, c.height)
      draw(c, s, prepared[i])
      s:endpanel()
   end
   return s:finish()
end

function Figure:svg() return drawfigure(self, "figure:svg", canvas.svg) end
function Figure:png() return drawfigure(self, "figure:png", canvas.raster) end
function Figure:save(path)
   if getmetatable(self) ~= Figure then fail("figure:save", "call it as f:save(path) on a figure") end
   return save("figure:save", self, path)
end

return chart
