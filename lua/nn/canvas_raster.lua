-- nn.canvas_raster: nn.canvas's raster surface (canvas.raster(w, h), which
-- checks the size): RGB pixels, drawn here with anti-aliased lines, discs
-- and text in nn.font's bitmap glyphs; s:finish() gives the PNG bytes
-- (nn.image).  Its work is bounded by its size whatever the coordinates:
-- each loop runs over the pixels of the clip box only, and a segment is
-- clipped to that box before its dashes are walked.
local canvas = require "nn.canvas"
local check = require "nn.canvas_check"
local font = require "nn.font"
local image = require "nn.image"
local compat = require "nn.compat"

local raster = {}

local floor, ceil, min, max, sqrt, abs = math.floor, math.ceil, math.min, math.max, math.sqrt, math.abs
local huge = math.huge
local fail, coords, checkcolour, checkpoints = check.fail, check.coords, check.colour, check.points
local checkdash, checkcells, ANCHORS = check.dash, check.cells, check.anchors
local lerp = canvas.lerp

local Raster = {}
Raster.__index = Raster

--- raster.new(w, h) -> a surface that draws pixels and writes a PNG
function raster.new(w, h)
   local px = {}
   for i = 1, w * h * 3 do px[i] = 255 end
   local full = {0, 0, w, h}
   return setmetatable({w = w, h = h, px = px, box = full, frame = full, ox = 0, oy = 0}, Raster)
end

-- blends colour c (0..255 each) into pixel (x, y) with coverage a (0..1)
local function blend(self, x, y, c, a)
   local b = self.box
   if a <= 0 or x < b[1] or y < b[2] or x >= b[3] or y >= b[4] then return end
   local i, px = (y * self.w + x) * 3 + 1, self.px
   if a >= 1 then
      px[i], px[i + 1], px[i + 2] = c[1], c[2], c[3]
   else
      px[i] = px[i] + (c[1] - px[i]) * a
      px[i + 1] = px[i + 1] + (c[2] - px[i + 1]) * a
      px[i + 2] = px[i + 2] + (c[3] - px[i + 2]) * a
   end
end

local function rgb255(c)
   return {min(1, max(0, c[1])) * 255, min(1, max(0, c[2])) * 255, min(1, max(0, c[3])) * 255}
end

-- the whole pixels from a to b (a pixel is in when its centre is), clamped
-- to lo..hi - 1: the range every loop below runs over
local function span(a, b, lo, hi)
   return max(lo, floor(a + 0.5)), min(hi, floor(b + 0.5)) - 1
end

function Raster:rect(x, y, w, h, fill, stroke)
   coords("canvas:rect", "x", x, "y", y, "w", w, "h", h)
   if fill then checkcolour("canvas:rect", fill, "fill") end
   if stroke then checkcolour("canvas:rect", stroke, "stroke") end
   x, y = x + self.ox, y + self.oy
   if fill then
      local c, b = rgb255(fill), self.box
      local y0, y1 = span(y, y + h, b[2], b[4])
      local x0, x1 = span(x, x + w, b[1], b[3])
      for py = y0, y1 do
         for px = x0, x1 do blend(self, px, py, c, 1) end
      end
   end
   if stroke then
      local ox, oy = self.ox, self.oy
      x, y = x - ox, y - oy
      self:polyline({x, y, x + w, y, x + w, y + h, x, y + h, x, y}, stroke, 1)
   end
end

-- a segment of width w: each pixel near it covered by how far its centre
-- is inside the stroke (a 1-pixel ramp at the edge: the anti-aliasing).
-- Only the band along the segment inside the clip box is visited (row by
-- row when it is steep, column by column when not), so a long line costs
-- its visible length, not its bounding box.
local function segment(self, x0, y0, x1, y1, c, w)
   local dx, dy = x1 - x0, y1 - y0
   local len2 = dx * dx + dy * dy
   local r = w / 2
   local reach = r + 1
   local cover, W, b = self.cover, self.w, self.box
   local function pixel(px, py)
      local cx, cy = px + 0.5, py + 0.5
      local t = len2 > 0 and ((cx - x0) * dx + (cy - y0) * dy) / len2 or 0
      t = min(1, max(0, t))
      local ex, ey = cx - (x0 + t * dx), cy - (y0 + t * dy)
      local a = min(1, r + 0.5 - sqrt(ex * ex + ey * ey))
      if a > 0 then
         local i = (py * W + px) * 3 + 1
         -- a joint drawn twice must not darken: only what this segment
         -- covers beyond the coverage already drawn is added
         local seen = cover[i]
         if not seen or seen < a then
            cover[i] = a
            blend(self, px, py, c, seen and (a - seen) / (1 - seen) or a)
         end
      end
   end
   local len = sqrt(len2)
   if abs(dy) >= abs(dx) then                    -- steep: walk the rows
      local half = len2 > 0 and reach * len / abs(dy) or reach
      for py = max(b[2], floor(min(y0, y1) - reach)), min(b[4] - 1, ceil(max(y0, y1) + reach)) do
         local t = dy ~= 0 and min(1, max(0, (py + 0.5 - y0) / dy)) or 0
         local xc = x0 + t * dx
         for px = max(b[1], floor(xc - half - 1)), min(b[3] - 1, ceil(xc + half + 1)) do pixel(px, py) end
      end
   else                                          -- shallow: walk the columns
      local half = reach * len / abs(dx)
      for px = max(b[1], floor(min(x0, x1) - reach)), min(b[3] - 1, ceil(max(x0, x1) + reach)) do
         local t = min(1, max(0, (px + 0.5 - x0) / dx))
         local yc = y0 + t * dy
         for py = max(b[2], floor(yc - half - 1)), min(b[4] - 1, ceil(yc + half + 1)) do pixel(px, py) end
      end
   end
end

-- a dash pattern's state: the length now drawn (k) and what is left of it
local function dashstate(p) return {k = 1, left = p[1], on = true} end

-- moves the state d pixels along the line (0 <= d); d is first reduced
-- modulo the period, then at most two passes over the pattern remain
local function dashskip(st, p, d)
   d = d % p.period
   for _ = 1, 2 * #p + 1 do
      if d < st.left then
         st.left = st.left - d
         return
      end
      d = d - st.left
      st.k = st.k % #p + 1
      st.left, st.on = p[st.k], st.k % 2 == 1
   end
end

function Raster:polyline(pts, color, width, dash)
   local fn = "canvas:polyline"
   pts = checkpoints(fn, pts)
   checkcolour(fn, color)
   coords(fn, "width", width)
   dash = checkdash(fn, dash)
   local c = rgb255(color)
   width = max(0, min(width, 100))
   self.cover = {}
   local st = dash and dashstate(dash)
   local ox, oy, b = self.ox, self.oy, self.box
   local reach = width / 2 + 2
   for i = 1, #pts - 3, 2 do
      local x0, y0, x1, y1 = pts[i] + ox, pts[i + 1] + oy, pts[i + 2] + ox, pts[i + 3] + oy
      local t0, t1 = canvas.clipsegment(x0, y0, x1, y1, b[1] - reach, b[2] - reach, b[3] + reach, b[4] + reach)
      if not dash then
         if t0 then
            segment(self, lerp(x0, x1, t0), lerp(y0, y1, t0), lerp(x0, x1, t1), lerp(y0, y1, t1), c, width)
         end
      else
         -- the dashes of the visible part only: the part before it moves
         -- the pattern on, the rest is walked dash by dash
         local len = 2 * sqrt((x1 / 2 - x0 / 2) ^ 2 + (y1 / 2 - y0 / 2) ^ 2)
         if not t0 or len == huge then
            dashskip(st, dash, len < huge and len or 0)
         else
            local from, to = t0 * len, t1 * len
            dashskip(st, dash, from)
            local done = from
            -- ends: every pass uses up the current length or reaches `to`,
            -- and the visible part is at most the box's diagonal long
            for _ = 1, ceil((to - from) / dash.period + 2) * #dash + 1 do
               if done >= to then break end
               local step = min(st.left, to - done)
               if st.on then        -- a length of 0 is a dot (the round cap)
                  local a, e = done / len, (done + step) / len
                  segment(self, lerp(x0, x1, a), lerp(y0, y1, a), lerp(x0, x1, e), lerp(y0, y1, e), c, width)
               end
               done = done + step
               st.left = st.left - step
               if st.left <= 0 then
                  st.k = st.k % #dash + 1
                  st.left, st.on = dash[st.k], st.k % 2 == 1
               end
            end
            dashskip(st, dash, len - to)
         end
      end
   end
   self.cover = nil
end

function Raster:disc(x, y, r, fill, stroke)
   coords("canvas:disc", "x", x, "y", y, "r", r)
   checkcolour("canvas:disc", fill, "fill")
   if stroke then checkcolour("canvas:disc", stroke, "stroke") end
   local c, s = rgb255(fill), stroke and rgb255(stroke)
   local b = self.box
   x, y = x + self.ox, y + self.oy
   for py = max(b[2], floor(y - r - 1)), min(b[4] - 1, ceil(y + r + 1)) do
      for px = max(b[1], floor(x - r - 1)), min(b[3] - 1, ceil(x + r + 1)) do
         local d = sqrt((px + 0.5 - x) ^ 2 + (py + 0.5 - y) ^ 2)
         if s then
            blend(self, px, py, s, min(1, r + 0.5 - d))
            blend(self, px, py, c, min(1, r - 0.5 - d))
         else
            blend(self, px, py, c, min(1, r + 0.5 - d))
         end
      end
   end
end

-- a glyph's coverage as numbers 0..1, decoded from nn.font's hex digits
-- once, on first use; a character the font lacks is drawn as "?"
local glyphs = {}
local function glyph(code)
   local g = glyphs[code]
   if not g then
      local hexes = font.glyphs[code] or font.glyphs[63]
      g = {}
      for i = 1, #hexes do g[i] = tonumber(hexes:sub(i, i), 16) / 15 end
      glyphs[code] = g
   end
   return g
end

-- the code points of a clean string (canvas.clean), one by one
local function codepoints(s)
   return s:gmatch("[\1-\127\194-\244][\128-\191]*")
end

local function decode(ch)
   local b1, b2, b3, b4 = ch:byte(1, 4)
   if b1 < 0x80 then return b1
   elseif b1 < 0xE0 then return (b1 - 0xC0) * 64 + (b2 - 0x80)
   elseif b1 < 0xF0 then return ((b1 - 0xE0) * 64 + (b2 - 0x80)) * 64 + (b3 - 0x80)
   end
   return (((b1 - 0xF0) * 64 + (b2 - 0x80)) * 64 + (b3 - 0x80)) * 64 + (b4 - 0x80)
end

function Raster:text(x, y, s, color, anchor, vertical)
   coords("canvas:text", "x", x, "y", y)
   checkcolour("canvas:text", color)
   if anchor ~= nil and not ANCHORS[anchor] then
      fail("canvas:text", "anchor must be \"start\", \"middle\" or \"end\", got %s", tostring(anchor))
   end
   local n
   s, n = canvas.clean(s)
   local c, fw, fh, asc = rgb255(color), font.width, font.height, font.ascent
   local len = n * fw
   local start = anchor == "middle" and -len / 2 or anchor == "end" and -len or 0
   start = floor(start + 0.5)
   x, y = floor(x + self.ox + 0.5), floor(y + self.oy + 0.5)
   local b = self.box
   local k = 0
   for ch in codepoints(s) do
      local off = start + k * fw
      k = k + 1
      -- only a glyph whose cell meets the clip box is drawn
      local gx0, gy0, gx1, gy1
      if vertical then
         gx0, gx1, gy0, gy1 = x - asc, x - asc + fh, y - off - fw, y - off
      else
         gx0, gx1, gy0, gy1 = x + off, x + off + fw, y - asc, y - asc + fh
      end
      if gx1 > b[1] and gx0 < b[3] and gy1 > b[2] and gy0 < b[4] then
         local code = decode(ch)
         if code == 9 or code == 10 or code == 13 then code = 32 end
         local g = glyph(code)
         for gy = 0, fh - 1 do
            for gx = 0, fw - 1 do
               local v = g[gy * fw + gx + 1]
               if v > 0 then
                  if vertical then      -- reads upwards: along -y, baseline at x
                     blend(self, x + gy - asc, y - off - gx - 1, c, v)
                  else
                     blend(self, x + off + gx, y + gy - asc, c, v)
                  end
               end
            end
         end
      end
   end
end

function Raster:cells(x, y, w, h, cols, rows, colors)
   checkcells("canvas:cells", x, y, w, h, cols, rows, colors)
   x, y = x + self.ox, y + self.oy
   local x0, y0 = floor(x + 0.5), floor(y + 0.5)
   local pw, ph = floor(x + w + 0.5) - x0, floor(y + h + 0.5) - y0
   local b = self.box
   local cache = {}
   -- the pixels of the grid inside the clip box
   for py = max(0, b[2] - y0), min(ph, b[4] - y0) - 1 do
      local r = min(rows - 1, floor((py + 0.5) * rows / ph))
      for px = max(0, b[1] - x0), min(pw, b[3] - x0) - 1 do
         local col = colors[r * cols + min(cols - 1, floor((px + 0.5) * cols / pw)) + 1]
         local cc = cache[col]
         if not cc then cc = rgb255(col); cache[col] = cc end
         blend(self, x0 + px, y0 + py, cc, 1)
      end
   end
end

-- the intersection of the box {x0, y0, x1, y1} with the frame
local function within(f, x0, y0, x1, y1)
   return {max(f[1], floor(x0)), max(f[2], floor(y0)), min(f[3], ceil(x1)), min(f[4], ceil(y1))}
end

function Raster:clip(x, y, w, h)
   coords("canvas:clip", "x", x, "y", y, "w", w, "h", h)
   x, y = x + self.ox, y + self.oy
   self.box = within(self.frame, x, y, x + w, y + h)
end

function Raster:unclip() self.box = self.frame end

function Raster:panel(x, y, w, h)
   coords("canvas:panel", "x", x, "y", y, "w", w, "h", h)
   self.ox, self.oy = floor(x + 0.5), floor(y + 0.5)
   self.frame = within({0, 0, self.w, self.h}, self.ox, self.oy, self.ox + w, self.oy + h)
   self.box = self.frame
end

function Raster:endpanel()
   self.ox, self.oy = 0, 0
   self.frame = {0, 0, self.w, self.h}
   self.box = self.frame
end

function Raster:finish()
   local rows, px, w = {}, self.px, self.w
   local char, unpack = string.char, compat.unpack
   for y = 0, self.h - 1 do
      local parts, base = {}, y * w * 3
      for i = 1, w * 3, 240 do               -- string.char takes a few hundred arguments
         local t = {}
         for k = i, min(w * 3, i + 239) do t[#t + 1] = floor(px[base + k] + 0.5) end
         parts[#parts + 1] = char(unpack(t))
      end
      rows[y + 1] = table.concat(parts)
   end
   return image.rgb(w, self.h, rows)
end

return raster
