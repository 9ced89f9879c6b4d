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
-- drawing is refused with an error that says so.  Every loop runs a
-- number of times fixed before it starts (a count of ticks, of points, of
-- pixels), never until a float reaches a bound.
--
-- This file is the chart and the figure: what they are given, checked,
-- and their methods.  The drawing is three modules: nn.chart_scale (axes,
-- ticks and colours), nn.chart_geometry (the layout, the lines and points
-- in pixels, thinned, and what they cost) and nn.chart_draw (the parts on
-- a surface of nn.canvas).
local nn = require "nn"
local canvas = require "nn.canvas"
local core = require "nn.core"
local compat = require "nn.compat"
local scale = require "nn.chart_scale"
local geometry = require "nn.chart_geometry"
local drawing = require "nn.chart_draw"

local chart = {}

local floor, ceil, min, max = math.floor, math.ceil, math.min, math.max

chart.MAXVALUES = 1e7       -- values in one list
chart.MAXLAYERS = 256       -- layers in one chart
chart.MAXTEXT = 600         -- characters in a title, label or name (4096 px at 7 px each)
chart.MAXCAPTION = 4        -- lines of caption
chart.WORK = 64             -- pixel visits a drawing may take, per pixel of the picture

-- nn.chart_scale's: the series colours (Tableau's ten; every part of the
-- drawing reads this one table, so change its colours rather than replace
-- it), and the ticks of every axis, chart.ticks(lo, hi, n [, integral]) ->
-- ticks, step
chart.palette, chart.ticks = scale.palette, scale.ticks

local Chart = {}
Chart.__index = Chart

-- an error naming the function, raised at the caller of the public
-- function that called fail (level 3), or one further out (bad, from a
-- checker that the public function called)
local function fail(fn, fmt, ...) error(("%s: " .. fmt):format(fn, ...), 3) end
local function bad(fn, fmt, ...) error(("%s: " .. fmt):format(fn, ...), 4) end

local isnum = scale.isnum
local unit, drawable, summary = scale.unit, scale.drawable, scale.summary

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
   return scale.palette[(self.n - 1) % #scale.palette + 1]
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

-- ---- drawing ----------------------------------------------------------------------

local function prepare(self, fn) return geometry.prepare(self, fn, chart.WORK) end
local draw = drawing.chart
local WHITE, INK, fit = drawing.WHITE, drawing.INK, drawing.fit

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
