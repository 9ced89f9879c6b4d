-- nn.chart_geometry: what a chart (nn.chart) will draw, in pixels, worked
-- out before anything is drawn: where the plot box and the colour bar go,
-- the axes, each line's visible pieces thinned to what its pixels can
-- show, each scatter's visible points, and what all of it will cost.
local canvas = require "nn.canvas"
local compat = require "nn.compat"
local scale = require "nn.chart_scale"

local geometry = {}

local floor, min, max, sqrt = math.floor, math.min, math.max, math.sqrt
local huge = math.huge
local log10 = compat.log10
local lerp = canvas.lerp
local unit = scale.unit

-- ---- layout ------------------------------------------------------------------

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

-- the field's grid: cells across and down
local function fieldgrid(l, L)
   local w, h = L.right - L.left, L.bottom - L.top
   local cols = l.resolution or min(1000, max(2, floor(w + 0.5)))
   local rows = max(2, min(1000, floor(cols * h / w + 0.5)))
   return cols, rows
end

-- ---- lines and points, in pixels ---------------------------------------------

-- A piece of line is kept as the points its pixels can tell apart: of
-- each run of points in one pixel column, the first, the lowest, the
-- highest and the last, in the line's order (they cover what the whole run
-- covers in that column); and no point within half a pixel of the one
-- kept before it (but the piece's last).  So a piece keeps at most four
-- points a column it crosses, however many the data has; it is built one
-- point at a time, with no list of all of them.
-- What a drawing may cost, charged as it is worked out (so a drawing past
-- the limit is refused before it has kept more than the limit allows):
-- pixel visits, `per` (chart.WORK) per pixel of the picture.
local function meter(fn, W, H, per)
   return {fn = fn, work = 0, limit = per * W * H, per = per, W = W, H = H}
end

local function charge(m, work)
   m.work = m.work + work
   if m.work > m.limit then
      error(("%s: drawing this chart would take over %d pixel visits (%d per pixel of its "
         .. "%d x %d picture), even with its lines thinned to what its pixels can show: draw "
         .. "fewer points, or thinner or fewer long lines"):format(m.fn, m.limit, m.per,
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
   return (l.classes[i] - 1) % #scale.palette + 1
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

-- ---- the whole drawing -------------------------------------------------------

--- geometry.prepare(c, fn, work) -> everything drawing chart c needs,
--- computed once, and charged to its meter (work pixel visits a pixel of
--- the picture; past that, an error naming fn) before anything costly (a
--- field's function, the raster) runs: P.L (the layout), P.X and P.Y (the
--- axes), P.lines[i] and P.dots[i] (layer i's pieces and points).
function geometry.prepare(self, fn, work)
   local L = layout(self)
   local X, Y = scale.axes(self, L)
   local P = {L = L, X = X, Y = Y, lines = {}, dots = {}}
   local m = meter(fn, L.W, L.H, work)
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

geometry.fieldgrid = fieldgrid

return geometry
