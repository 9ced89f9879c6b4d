-- nn.chart: charts as SVG or PNG (nn.plot.chart).  A chart is axes with
-- layers drawn on them: lines, points coloured by class, and fields (a
-- function of two variables as a heat map, banded levels or class
-- regions), with ticks, labels, a legend and a title.
--
--   local plot = require "nn.plot"
--   local c = plot.chart{title = "loss", xlabel = "epoch", ylabel = "loss", ylog = true}
--   c:line(h.loss, {name = "train"})
--   c:line(h.valLoss, {name = "validation", dash = "6 4"})
--   c:save("out/loss.svg")          -- or .png; c:svg() and c:png() give the bytes
local nn = require "nn"
local canvas = require "nn.canvas"
local core = require "nn.core"
local compat = require "nn.compat"

local chart = {}

local floor, ceil, min, max, abs = math.floor, math.ceil, math.min, math.max, math.abs
local huge = math.huge

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

local Chart = {}
Chart.__index = Chart

local function fail(fn, fmt, ...)
   error(("%s: " .. fmt):format(fn, ...), 3)
end

local function isnum(v) return type(v) == "number" and v == v and v > -huge and v < huge end

-- a list of numbers from a list, or from a Matrix with one row or column
local function numbers(fn, what, v)
   if nn.isMatrix(v) then
      local r, c = v:shape()
      if r ~= 1 and c ~= 1 then fail(fn, "%s: a Matrix must have one row or column, got %d x %d", what, r, c) end
      local t = {}
      for i = 1, r * c do t[i] = r == 1 and v:get(1, i) or v:get(i, 1) end
      return t
   end
   if type(v) ~= "table" then fail(fn, "%s must be a list of numbers or a Matrix, got %s", what, type(v)) end
   -- a copy, read once by index: the chart keeps no table of the caller's
   -- (a proxy's __index could answer forever, or the list change later)
   local n, t = #v, {}
   if type(n) ~= "number" or n > 1e7 then fail(fn, "%s has %s values, at most 1e7", what, tostring(n)) end
   for i = 1, n do
      local x = v[i]
      if type(x) ~= "number" then fail(fn, "%s: value %d is %s, expected a number", what, i, type(x)) end
      t[i] = x
   end
   return t
end

local function options(fn, opts)
   if opts == nil then return {} end
   if type(opts) ~= "table" then fail(fn, "opts must be a table, got %s", type(opts)) end
   return opts
end

local function colour(fn, c, default)
   if c == nil then return default end
   if type(c) ~= "table" or type(c[1]) ~= "number" or type(c[2]) ~= "number" or type(c[3]) ~= "number" then
      fail(fn, "color must be {r, g, b} with each from 0 to 1")
   end
   return c
end

--- plot.chart([opts]) -> a chart.  opts: title, xlabel, ylabel, width (640),
--- height (420), xlog, ylog (log scales), xrange, yrange ({lo, hi}: fixed
--- ranges instead of the data's), legend ("top-right", "top-left",
--- "bottom-right", "bottom-left", or false for none).
function chart.new(opts)
   local fn = "plot.chart"
   opts = opts or {}
   if type(opts) ~= "table" then fail(fn, "opts must be a table, got %s", type(opts)) end
   local self = setmetatable({layers = {}, opts = opts, n = 0}, Chart)
   self.width = compat.toint(opts.width or 640)
   self.height = compat.toint(opts.height or 420)
   if not self.width or not self.height or self.width < 160 or self.height < 120
      or self.width > 4096 or self.height > 4096 then
      fail(fn, "width and height must be integers from 160 x 120 to 4096 x 4096")
   end
   local lg = opts.legend
   if lg ~= nil and lg ~= false and lg ~= true and lg ~= "top-right" and lg ~= "top-left"
      and lg ~= "bottom-right" and lg ~= "bottom-left" then
      fail(fn, "legend must be \"top-right\", \"top-left\", \"bottom-right\", \"bottom-left\" or false, got %s", tostring(lg))
   end
   for _, k in ipairs{"xrange", "yrange"} do
      local r = opts[k]
      if r ~= nil and (type(r) ~= "table" or not isnum(r[1]) or not isnum(r[2]) or not (r[2] > r[1])) then
         fail(fn, "%s must be {lo, hi} with lo < hi", k)
      end
   end
   return self
end

local function nextcolour(self)
   self.n = self.n + 1
   return chart.palette[(self.n - 1) % #chart.palette + 1]
end

--- c:line(ys [, opts]) or c:line(xs, ys [, opts]): a line through the
--- points (x = 1, 2, ... when only ys).  opts: name (in the legend), color,
--- width (2), dash ("6 4": on and off lengths).  A NaN or an infinity
--- breaks the line.  Returns the chart.
function Chart:line(xs, ys, opts)
   local fn = "chart:line"
   -- c:line(ys [, opts]): the second argument is options, not numbers
   if ys == nil or (type(ys) == "table" and ys[1] == nil and next(ys) ~= nil) then
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
   if opts.dash ~= nil and (type(opts.dash) ~= "string" or not opts.dash:find("^[%d. ]+$")) then
      fail(fn, "dash must be a string of lengths such as \"6 4\"")
   end
   self.layers[#self.layers + 1] = {kind = "line", xs = xs, ys = ys, name = opts.name ~= nil and tostring(opts.name) or nil,
      color = colour(fn, opts.color, nil) or nextcolour(self), width = width,
      dash = opts.dash}
   return self
end

--- c:points(xs, ys [, opts]): a scatter plot.  opts: classes (a class index
--- per point, 1-based: each class its colour), names (a legend name per
--- class), name (the legend name when there are no classes), color,
--- radius (3.5).  Returns the chart.
function Chart:points(xs, ys, opts)
   local fn = "chart:points"
   xs, ys = numbers(fn, "xs", xs), numbers(fn, "ys", ys)
   if #xs ~= #ys then fail(fn, "xs has %d values, ys %d", #xs, #ys) end
   opts = options(fn, opts)
   local radius = opts.radius or 3.5
   if not isnum(radius) or radius <= 0 or radius > 50 then fail(fn, "radius must be a number from 0 to 50") end
   local names
   if opts.names ~= nil then
      if type(opts.names) ~= "table" then fail(fn, "names must be a list") end
      names = {}
      for k = 1, math.min(#opts.names, 64) do names[k] = tostring(opts.names[k]) end
   end
   local classes = opts.classes and numbers(fn, "classes", opts.classes)
   if classes and #classes ~= #xs then fail(fn, "classes has %d values, expected %d", #classes, #xs) end
   self.layers[#self.layers + 1] = {kind = "points", xs = xs, ys = ys, classes = classes,
      names = names, name = opts.name and tostring(opts.name), radius = radius,
      color = colour(fn, opts.color, nil) or (not classes and nextcolour(self))}
   return self
end

--- c:field(f [, opts]): f(x, y) over the chart's xrange and yrange (both
--- must be given to plot.chart) as colour.  opts: levels (a number: that
--- many bands, a filled contour; default a smooth map), classes (f
--- returns a class index: each class its colour, pale, as the decision
--- regions under c:points), batch (f takes an n x 2 Matrix of points and
--- returns an n x 1 Matrix, or n x k scores whose largest is the class:
--- one call for the whole grid), resolution (grid cells across, 200).
function Chart:field(f, opts)
   local fn = "chart:field"
   if type(f) ~= "function" then fail(fn, "f must be a function, got %s", type(f)) end
   if not self.opts.xrange or not self.opts.yrange then
      fail(fn, "the chart needs xrange and yrange (plot.chart{xrange = {lo, hi}, ...})")
   end
   opts = options(fn, opts)
   local res = opts.resolution or 200
   if not compat.isint(res) or res < 2 or res > 1000 then
      fail(fn, "resolution must be an integer from 2 to 1000, got %s", tostring(res))
   end
   if opts.levels ~= nil and (not compat.isint(opts.levels) or opts.levels < 2 or opts.levels > 256) then
      fail(fn, "levels must be an integer from 2 to 256, got %s", tostring(opts.levels))
   end
   self.layers[#self.layers + 1] = {kind = "field", f = f, levels = opts.levels,
      classes = opts.classes, batch = opts.batch, resolution = res}
   return self
end

-- ---- scales and ticks ----------------------------------------------------------

local function log10(v) return compat.log10(v) end

-- the data's range on one axis, over the finite (and, on a log axis,
-- positive) values
local function extent(self, axis, log)
   local lo, hi = huge, -huge
   for _, l in ipairs(self.layers) do
      local vs = axis == "x" and l.xs or l.ys
      for _, v in ipairs(vs or {}) do
         if isnum(v) and (not log or v > 0) then lo, hi = min(lo, v), max(hi, v) end
      end
   end
   if lo > hi then lo, hi = log and 1 or 0, log and 10 or 1 end
   if lo == hi then
      if log then lo, hi = lo / 2, hi * 2 else lo, hi = lo - 1, hi + 1 end
   end
   return lo, hi
end

-- about n ticks at 1, 2 or 5 times a power of ten, inside [lo, hi]
-- (whole numbers only when integral: epochs, counts)
local function ticks(lo, hi, n, integral)
   local raw = (hi - lo) / n
   local p = 10 ^ floor(log10(raw))
   local step = p
   for _, m in ipairs{1, 2, 5, 10} do
      if m * p >= raw then step = m * p; break end
   end
   if integral and step < 1 then step = 1 end
   local t = {}
   for k = ceil(lo / step - 1e-9), floor(hi / step + 1e-9) do t[#t + 1] = k * step end
   return t, step
end

local function label(v, step)
   if v == 0 then return "0" end
   local a = abs(v)
   if a >= 1e5 or a < 1e-3 then return ("%.0e"):format(v):gsub("e%+?(%-?)0*(%d)", "e%1%2") end
   local d = -floor(log10(step) + 1e-9)
   -- %d, not .. : LuaJIT writes -0 as "-0"
   return (("%%.%df"):format(d > 0 and d or 0)):format(v)
end

local function logticks(lo, hi)
   local t = {}
   local a, b = floor(log10(lo) + 1e-9), ceil(log10(hi) - 1e-9)
   local mult = (b - a) <= 2 and {1, 2, 5} or {1}
   for k = a, b do
      for _, m in ipairs(mult) do
         local v = m * 10 ^ k
         if v >= lo * (1 - 1e-9) and v <= hi * (1 + 1e-9) then t[#t + 1] = v end
      end
   end
   return t
end

local function loglabel(v)
   local e = floor(log10(v) + 0.5)
   if abs(v - 10 ^ e) < 1e-9 * v and (e < -3 or e > 4) then return "1e" .. e end
   return ("%g"):format(v)
end

-- a position on the axis for a value, and the axis's ticks and labels
local function axis(lo, hi, log, a0, a1, n, integral)
   local t, labels = {}, {}
   if log then
      local l0, l1 = log10(lo), log10(hi)
      local to = function(v) return a0 + (log10(v) - l0) / (l1 - l0) * (a1 - a0) end
      for _, v in ipairs(logticks(lo, hi)) do t[#t + 1] = v; labels[#labels + 1] = loglabel(v) end
      return to, t, labels
   end
   local to = function(v) return a0 + (v - lo) / (hi - lo) * (a1 - a0) end
   local tk, step = ticks(lo, hi, n, integral)
   for _, v in ipairs(tk) do t[#t + 1] = v; labels[#labels + 1] = label(v, step) end
   return to, t, labels
end

-- ---- fields ----------------------------------------------------------------------

local function mapcolour(u)
   u = min(1, max(0, u)) * (#MAP - 1)
   local i = min(#MAP - 2, floor(u))
   local f, a, b = u - i, MAP[i + 1], MAP[i + 2]
   return {a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f, a[3] + (b[3] - a[3]) * f}
end

local function pale(c) return {0.55 + 0.45 * c[1], 0.55 + 0.45 * c[2], 0.55 + 0.45 * c[3]} end

-- the field's values on a cols x rows grid of cell centres (top row first)
local function sample(l, xr, yr, cols, rows)
   local vals = {}
   if l.batch then
      local P = nn.Matrix(cols * rows, 2)
      for r = 0, rows - 1 do
         for c = 0, cols - 1 do
            local i = r * cols + c + 1
            P:set(i, 1, xr[1] + (c + 0.5) / cols * (xr[2] - xr[1]))
            P:set(i, 2, yr[2] - (r + 0.5) / rows * (yr[2] - yr[1]))
         end
      end
      local out = l.f(P)
      if not nn.isMatrix(out) or out:shape() ~= cols * rows then
         fail("chart:field", "f with batch = true must return a Matrix with %d rows", cols * rows)
      end
      local _, k = out:shape()
      local best = k > 1 and out:argmax(2)
      for i = 1, cols * rows do vals[i] = k > 1 and best:get(i, 1) or out:get(i, 1) end
   else
      for r = 0, rows - 1 do
         local y = yr[2] - (r + 0.5) / rows * (yr[2] - yr[1])
         for c = 0, cols - 1 do
            local x = xr[1] + (c + 0.5) / cols * (xr[2] - xr[1])
            local v = l.f(x, y)
            if type(v) ~= "number" then
               fail("chart:field", "f(%g, %g) returned %s, expected a number", x, y, type(v))
            end
            vals[r * cols + c + 1] = v
         end
      end
   end
   return vals
end

local function fieldcolours(l, vals)
   local colors = {}
   if l.classes then
      local cache = {}
      for i, v in ipairs(vals) do
         local k = floor(tonumber(v) or 0)
         cache[k] = cache[k] or pale(chart.palette[(k - 1) % #chart.palette + 1])
         colors[i] = cache[k]
      end
      return colors
   end
   local lo, hi = huge, -huge
   for _, v in ipairs(vals) do if isnum(v) then lo, hi = min(lo, v), max(hi, v) end end
   if not (hi > lo) then hi = lo + 1 end
   local bands = l.levels and max(2, floor(l.levels))
   for i, v in ipairs(vals) do
      local u = isnum(v) and (v - lo) / (hi - lo) or 1
      if bands then u = min(bands - 1, floor(u * bands)) / (bands - 1) end
      colors[i] = mapcolour(u)
   end
   return colors
end

-- ---- drawing -------------------------------------------------------------------

local function draw(self, s)
   local o, W, H = self.opts, self.width, self.height
   local left, right, top, bottom = 72, W - 18, o.title and 36 or 16, H - 48
   local xlo, xhi = compat.unpack(o.xrange or {extent(self, "x", o.xlog)})
   local ylo, yhi = compat.unpack(o.yrange or {extent(self, "y", o.ylog)})
   if not o.yrange then                          -- a little air above and below
      if o.ylog then
         local f = (yhi / ylo) ^ 0.04
         ylo, yhi = ylo / f, yhi * f
      else
         local pad = (yhi - ylo) * 0.04
         ylo, yhi = ylo - pad, yhi + pad
      end
   end
   -- x is whole numbers when every layer's xs are (epochs, steps)
   local integral = #self.layers > 0
   for _, l in ipairs(self.layers) do
      if l.kind ~= "line" then integral = false; break end
      for _, x in ipairs(l.xs) do
         if x ~= floor(x) then integral = false; break end
      end
   end
   local tx, xt, xl = axis(xlo, xhi, o.xlog, left, right, max(2, floor((right - left) / 90)), integral)
   local ty, yt, yl = axis(ylo, yhi, o.ylog, bottom, top, max(2, floor((bottom - top) / 60)))
   s:rect(0, 0, W, H, {1, 1, 1})
   -- fields under everything
   for _, l in ipairs(self.layers) do
      if l.kind == "field" then
         local cols = l.resolution
         local rows = max(2, min(1000, floor(cols * (bottom - top) / (right - left) + 0.5)))
         local colors = fieldcolours(l, sample(l, o.xrange, o.yrange, cols, rows))
         s:cells(left, top, right - left, bottom - top, cols, rows, colors)
      end
   end
   local hasfield = false
   for _, l in ipairs(self.layers) do hasfield = hasfield or l.kind == "field" end
   if not hasfield then                            -- grid lines
      for _, v in ipairs(xt) do s:polyline({tx(v), top, tx(v), bottom}, GRID, 1) end
      for _, v in ipairs(yt) do s:polyline({left, ty(v), right, ty(v)}, GRID, 1) end
   end
   s:clip(left, top, right - left, bottom - top)
   for _, l in ipairs(self.layers) do
      if l.kind == "line" then
         local pts = {}
         local function flush()
            if #pts >= 4 then s:polyline(pts, l.color, l.width, l.dash)
            elseif #pts == 2 then s:disc(pts[1], pts[2], l.width, l.color) end
            pts = {}
         end
         for i = 1, #l.ys do
            local x, y = l.xs[i], l.ys[i]
            if isnum(x) and isnum(y) and (not o.xlog or x > 0) and (not o.ylog or y > 0) then
               -- far outside the box: pinned a little beyond it (the clip hides it)
               local px, py = tx(x), ty(y)
               pts[#pts + 1] = max(-1e4, min(1e4, px))
               pts[#pts + 1] = max(-1e4, min(1e4, py))
            else
               flush()
            end
         end
         flush()
      elseif l.kind == "points" then
         for i = 1, #l.xs do
            local x, y = l.xs[i], l.ys[i]
            if isnum(x) and isnum(y) then
               local c = l.color
               if l.classes then c = chart.palette[(floor(l.classes[i]) - 1) % #chart.palette + 1] end
               -- a white rim, or a dark one round a light point
               s:disc(tx(x), ty(y), l.radius, c, c[1] + c[2] + c[3] > 2.4 and INK or {1, 1, 1})
            end
         end
      end
   end
   s:unclip()
   -- frame, ticks and labels
   s:rect(left, top, right - left, bottom - top, nil, FRAME)
   for i, v in ipairs(xt) do
      s:polyline({tx(v), bottom, tx(v), bottom + 5}, FRAME, 1)
      s:text(tx(v), bottom + 18, xl[i], INK, "middle")
   end
   for i, v in ipairs(yt) do
      s:polyline({left - 5, ty(v), left, ty(v)}, FRAME, 1)
      s:text(left - 8, ty(v) + 4, yl[i], INK, "end")
   end
   if o.xlabel then s:text((left + right) / 2, H - 10, o.xlabel, INK, "middle") end
   if o.ylabel then s:text(16, (top + bottom) / 2, o.ylabel, INK, "middle", true) end
   if o.title then s:text(W / 2, 22, o.title, INK, "middle") end
   -- the legend: every named line, and each named class of points
   local entries = {}
   for _, l in ipairs(self.layers) do
      if l.kind == "line" and l.name then
         entries[#entries + 1] = {tostring(l.name), l.color, "line", l.dash}
      elseif l.kind == "points" then
         if l.classes and l.names then
            for k, name in ipairs(l.names) do
               entries[#entries + 1] = {tostring(name), chart.palette[(k - 1) % #chart.palette + 1], "point"}
            end
         elseif l.name then
            entries[#entries + 1] = {tostring(l.name), l.color, "point"}
         end
      end
   end
   if #entries > 0 and o.legend ~= false then
      local wmax = 0
      for _, e in ipairs(entries) do wmax = max(wmax, #e[1]) end
      local bw, bh = wmax * 7 + 44, #entries * 18 + 8
      local where = type(o.legend) == "string" and o.legend or "top-right"
      local bx = where:find("left") and left + 8 or right - bw - 8
      local by = where:find("bottom") and bottom - bh - 8 or top + 8
      s:rect(bx, by, bw, bh, {1, 1, 1}, {0.75, 0.75, 0.75})
      for i, e in ipairs(entries) do
         local y = by + 4 + (i - 1) * 18 + 9
         if e[3] == "line" then s:polyline({bx + 8, y, bx + 30, y}, e[2], 2, e[4])
         else s:disc(bx + 19, y, 4.5, e[2], FRAME) end
         s:text(bx + 36, y + 4, e[1], INK)
      end
   end
   return s:finish()
end

--- c:svg() -> the chart as a standalone SVG document (a string)
function Chart:svg() return draw(self, canvas.svg(self.width, self.height)) end

--- c:png() -> the chart as PNG bytes (text in nn's built-in bitmap font)
function Chart:png() return draw(self, canvas.raster(self.width, self.height)) end

--- c:save(path): SVG or PNG, by the path's extension; true, or an error
function Chart:save(path)
   if type(path) ~= "string" then fail("chart:save", "path must be a string, got %s", type(path)) end
   local ext = path:match("%.(%w+)$")
   ext = ext and ext:lower()
   if ext ~= "svg" and ext ~= "png" then
      fail("chart:save", "%s: the name must end in .svg or .png", path)
   end
   local ok, err = core.writefile(path, ext == "svg" and self:svg() or self:png())
   if not ok then error("chart:save: " .. err, 2) end
   return true
end

return chart
