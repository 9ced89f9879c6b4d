-- nn.chart_draw: a chart (nn.chart) drawn on a surface (nn.canvas) from
-- what nn.chart_geometry worked out: the field, the grid, the series, the
-- frame with its ticks and labels, the colour bar and the legend.
local nn = require "nn"
local canvas = require "nn.canvas"
local scale = require "nn.chart_scale"
local geometry = require "nn.chart_geometry"

local draw = {}

local floor, ceil, min, max, sqrt = math.floor, math.ceil, math.min, math.max, math.sqrt
local lerp = canvas.lerp
local unit, label, fieldcolours = scale.unit, scale.label, scale.fieldcolours
local fieldgrid = geometry.fieldgrid

-- the colours of what is not data (the series': chart_scale's palette)
local INK, GRID, FRAME = {0.15, 0.15, 0.15}, {0.90, 0.90, 0.90}, {0.35, 0.35, 0.35}
local WHITE = {1, 1, 1}
draw.INK, draw.WHITE = INK, WHITE

-- ---- fields ------------------------------------------------------------------

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

-- ---- the parts of a chart ----------------------------------------------------

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
            local c = d[3] == 0 and l.color or scale.palette[d[3]]
            -- a white rim, or a dark one round a light point
            s:disc(d[1], d[2], l.radius, c, c[1] + c[2] + c[3] > 2.4 and INK or WHITE)
         end
      end
   end
   s:unclip()
end

-- at most n characters of t (the rest "…")
local function fit(t, n) return (canvas.clean(t, max(1, floor(n)))) end
draw.fit = fit

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
   local vs, step = scale.ticks(bar.lo, bar.hi, max(2, floor(h / 50)))
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
               list[#list + 1] = {name, scale.palette[(k - 1) % #scale.palette + 1], "point"}
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

--- draw.chart(c, s, P): chart c on surface s, at its top-left corner, from
--- what geometry.prepare(c, ...) gave (P)
function draw.chart(self, s, P)
   s:rect(0, 0, self.width, self.height, WHITE)
   drawfield(self, s, P)
   if not P.L.field then drawgrid(s, P) end
   drawseries(self, s, P)
   drawframe(self, s, P)
   drawcolorbar(s, P)
   drawlegend(self, s, P)
end

return draw
