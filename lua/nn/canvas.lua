-- nn.canvas: what nn.plot's charts draw on.  Two surfaces with the same
-- calls, in pixels with y down: an SVG document (text), and an RGB raster
-- that becomes a PNG, drawn here with anti-aliased lines, discs and text
-- in nn.font (so no font or graphics package is needed).
--
-- A colour is {r, g, b}, each 0..1.  Every surface has:
--   s:rect(x, y, w, h, fill [, stroke])
--   s:polyline(pts, color, width [, dash])    pts: {x1, y1, x2, y2, ...};
--        dash: a pattern from canvas.dash
--   s:disc(x, y, r, fill [, stroke])
--   s:text(x, y, str, color [, anchor [, vertical]])  anchor "start",
--        "middle" or "end" along the text; y is the baseline (vertical:
--        the text reads upwards, its baseline at x)
--   s:cells(x, y, w, h, cols, rows, colors)   a cols x rows grid of
--        colours (row-major, top row first) stretched over the box
--   s:clip(x, y, w, h) ... s:unclip()         draw only inside the box
--   s:panel(x, y, w, h) ... s:endpanel()      draw in that box, with its
--        top-left corner as (0, 0) (a figure's charts side by side)
--   s:finish() -> the SVG text or the PNG bytes
-- Every coordinate must be a finite number (an error says which is not).
-- The raster's work is bounded by its size whatever the coordinates: each
-- loop runs over the pixels of the clip box only, and a segment is clipped
-- to that box before its dashes are walked.
local font = require "nn.font"
local image = require "nn.image"
local compat = require "nn.compat"

local canvas = {}

local floor, ceil, min, max, sqrt, abs = math.floor, math.ceil, math.min, math.max, math.sqrt, math.abs
local huge = math.huge

-- the largest surface: 8192 on a side, 2^24 pixels (the raster keeps three
-- Lua numbers a pixel)
canvas.MAXSIDE, canvas.MAXPIXELS = 8192, 2 ^ 24

local function fail(fn, fmt, ...) error(("%s: " .. fmt):format(fn, ...), 3) end

local function finite(v) return type(v) == "number" and v == v and v > -huge and v < huge end

-- each argument (name, value, name, value, ...) a finite number
local function coords(fn, ...)
   local n = select("#", ...)
   for i = 1, n, 2 do
      local name, v = select(i, ...)
      if not finite(v) then fail(fn, "%s must be a finite number, got %s", name, tostring(v)) end
   end
end

local function checkcolour(fn, c, what)
   if type(c) ~= "table" or not finite(c[1]) or not finite(c[2]) or not finite(c[3]) then
      fail(fn, "%s must be {r, g, b} with each from 0 to 1", what or "color")
   end
end

local function byte(v) return floor(min(1, max(0, v)) * 255 + 0.5) end

-- ---- text --------------------------------------------------------------------

local REPLACEMENT = "\239\191\189"                -- U+FFFD
local ELLIPSIS = "\226\128\166"                   -- U+2026

local function cont(c) return c ~= nil and c >= 0x80 and c <= 0xBF end

-- the length of the well-formed UTF-8 sequence starting at s[i] (lead byte
-- b), or nil: no overlong forms, no surrogates, nothing past U+10FFFF, and
-- not U+FFFE or U+FFFF, which XML does not allow either
local function seqlen(s, i, b)
   local c1, c2, c3 = s:byte(i + 1, i + 3)
   if b >= 0xC2 and b <= 0xDF then return cont(c1) and 2 or nil
   elseif b == 0xE0 then return c1 and c1 >= 0xA0 and c1 <= 0xBF and cont(c2) and 3 or nil
   elseif (b >= 0xE1 and b <= 0xEC) or b == 0xEE then return cont(c1) and cont(c2) and 3 or nil
   elseif b == 0xED then return c1 and c1 >= 0x80 and c1 <= 0x9F and cont(c2) and 3 or nil
   elseif b == 0xEF then
      return cont(c1) and cont(c2) and not (c1 == 0xBF and (c2 == 0xBE or c2 == 0xBF)) and 3 or nil
   elseif b == 0xF0 then return c1 and c1 >= 0x90 and c1 <= 0xBF and cont(c2) and cont(c3) and 4 or nil
   elseif b >= 0xF1 and b <= 0xF3 then return cont(c1) and cont(c2) and cont(c3) and 4 or nil
   elseif b == 0xF4 then return c1 and c1 >= 0x80 and c1 <= 0x8F and cont(c2) and cont(c3) and 4 or nil
   end
   return nil
end

--- canvas.clean(s [, most]) -> s as text any XML or HTML file can hold,
--- and its length in characters: well-formed UTF-8 (each byte of a broken
--- sequence becomes U+FFFD), no control character but tab, line feed and
--- carriage return (the others become U+FFFD either), and at most `most`
--- characters (past that, the last one kept becomes "…").
function canvas.clean(s, most)
   s = tostring(s)
   most = most or huge
   if #s <= most and not s:find("[^\t\n\r\32-\126]") then return s, #s end
   local out, n, i, len = {}, 0, 1, #s
   while i <= len do                -- ends: i grows by 1 to 4 each pass
      if n >= most then
         out[#out] = ELLIPSIS
         break
      end
      local b = s:byte(i)
      local k = 1
      if b < 0x20 or b == 0x7F then
         out[#out + 1] = (b == 9 or b == 10 or b == 13) and string.char(b) or REPLACEMENT
      elseif b < 0x80 then
         out[#out + 1] = string.char(b)
      else
         k = seqlen(s, i, b)
         if k then out[#out + 1] = s:sub(i, i + k - 1) else out[#out + 1] = REPLACEMENT; k = 1 end
      end
      n, i = n + 1, i + k
   end
   return table.concat(out), n
end

local ESC = {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;"}

--- canvas.escape(s) -> s cleaned (canvas.clean) and escaped as XML or HTML
--- text (nn.report writes its HTML with it too)
function canvas.escape(s) return (canvas.clean(s):gsub('[&<>"\']', ESC)) end
local esc = canvas.escape

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

-- ---- dashes ------------------------------------------------------------------

local MAXDASHES = 16

--- canvas.dash(s) -> a dash pattern (the lengths, on and off, an even number
--- of them), or nil and what is wrong.  s: lengths in pixels separated by
--- spaces or commas ("6 4", "8,3,2,3"): 1 to 16 of them, each from 0 to
--- 1000, adding up to at least 2 (a shorter period would make a line of n
--- pixels n/period dashes; "0 0" would never end).  An odd list is
--- repeated once, as SVG does.
function canvas.dash(s)
   if type(s) ~= "string" then return nil, "must be a string such as \"6 4\", got " .. type(s) end
   if #s > 200 then return nil, "is longer than 200 characters" end
   local p, sum = {}, 0
   for tok in s:gmatch("[^%s,]+") do
      local v = (tok:find("^%d+%.?%d*$") or tok:find("^%.%d+$")) and tonumber(tok)
      if not v or v > 1000 then
         return nil, ("must be lengths from 0 to 1000 such as \"6 4\", got %q"):format(s)
      end
      if #p == MAXDASHES then return nil, ("has more than %d lengths"):format(MAXDASHES) end
      p[#p + 1], sum = v, sum + v
   end
   if s:find("[^%d%.%s,]") or #p == 0 then
      return nil, ("must be lengths such as \"6 4\", got %q"):format(s)
   end
   if sum < 2 then
      return nil, ("must add up to at least 2 pixels, got %q"):format(s)
   end
   if #p % 2 == 1 then
      for i = 1, #p do p[#p + 1] = p[i] end
   end
   p.period = 0
   for i = 1, #p do p.period = p.period + p[i] end
   return p
end

local function dashtext(p)
   local t = {}
   for i = 1, #p do t[i] = ("%g"):format(p[i]) end
   return table.concat(t, " ")
end

local function checkdash(fn, dash)
   if dash == nil then return nil end
   if type(dash) ~= "table" or not dash.period then fail(fn, "dash must be a pattern from canvas.dash") end
   return dash
end

-- ---- geometry ----------------------------------------------------------------

--- canvas.clipsegment(x0, y0, x1, y1, xmin, ymin, xmax, ymax) -> t0, t1: the
--- part of the segment inside the box is from t0 to t1 (0 <= t0 <= t1 <= 1,
--- as fractions of the way from (x0, y0) to (x1, y1)), or nil when none is
--- (Liang and Barsky).  Differences are taken in halves, so coordinates
--- anywhere in the doubles' range (-1e308 to 1e308) cannot overflow.
function canvas.clipsegment(x0, y0, x1, y1, xmin, ymin, xmax, ymax)
   if x0 >= xmin and x0 <= xmax and x1 >= xmin and x1 <= xmax and y0 >= ymin and y0 <= ymax
      and y1 >= ymin and y1 <= ymax then
      return 0, 1                                   -- inside: the common case
   end
   local hx, hy = x1 / 2 - x0 / 2, y1 / 2 - y0 / 2
   local t0, t1 = 0, 1
   -- p * t <= q for each edge: x0 + 2 hx t >= xmin, <= xmax, the same in y
   for k = 1, 4 do
      local p, q
      if k == 1 then p, q = -hx, x0 / 2 - xmin / 2
      elseif k == 2 then p, q = hx, xmax / 2 - x0 / 2
      elseif k == 3 then p, q = -hy, y0 / 2 - ymin / 2
      else p, q = hy, ymax / 2 - y0 / 2 end
      if p == 0 then
         if q < 0 then return nil end
      else
         local r = q / p
         if p < 0 then
            if r > t0 then t0 = r end
         elseif r < t1 then
            t1 = r
         end
         if t0 > t1 then return nil end
      end
   end
   return t0, t1
end

-- a + (b - a) t, without b - a (which overflows from -1e308 to 1e308)
function canvas.lerp(a, b, t) return a * (1 - t) + b * t end
local lerp = canvas.lerp

-- ---- SVG ----------------------------------------------------------------------

local Svg = {}
Svg.__index = Svg

local function hex(c) return ("#%02x%02x%02x"):format(byte(c[1]), byte(c[2]), byte(c[3])) end
local function num(v) return (("%.2f"):format(v):gsub("%.?0+$", ""):gsub("^%-0$", "0")) end

local function checksize(fn, w, h)
   if not compat.isint(w) or not compat.isint(h) or w < 1 or h < 1 or w > canvas.MAXSIDE
      or h > canvas.MAXSIDE or w * h > canvas.MAXPIXELS then
      fail(fn, "width and height must be integers from 1 to %d, at most %d pixels in all, got %s x %s",
         canvas.MAXSIDE, canvas.MAXPIXELS, tostring(w), tostring(h))
   end
end

--- canvas.svg(w, h) -> a surface that writes an SVG document
function canvas.svg(w, h)
   checksize("canvas.svg", w, h)
   local self = setmetatable({w = w, h = h, out = {}, clips = 0, panels = 0}, Svg)
   self.out[1] = ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
      .. 'viewBox="0 0 %d %d" font-family="DejaVu Sans Mono, monospace" font-size="12">')
      :format(w, h, w, h)
   return self
end

function Svg:add(s) self.out[#self.out + 1] = s end

function Svg:rect(x, y, w, h, fill, stroke)
   coords("canvas:rect", "x", x, "y", y, "w", w, "h", h)
   if fill then checkcolour("canvas:rect", fill, "fill") end
   if stroke then checkcolour("canvas:rect", stroke, "stroke") end
   self:add(('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"%s/>'):format(num(x), num(y),
      num(max(0, w)), num(max(0, h)), fill and hex(fill) or "none",
      stroke and (' stroke="%s"'):format(hex(stroke)) or ""))
end

local function checkpoints(fn, pts)
   if type(pts) ~= "table" then fail(fn, "pts must be a list of numbers, got %s", type(pts)) end
   local n = #pts
   if type(n) ~= "number" or n % 2 ~= 0 or n > 2 ^ 26 then
      fail(fn, "pts must hold an even number of coordinates, got %s", tostring(n))
   end
   local t = {}
   for i = 1, n do
      local v = pts[i]
      if not finite(v) then fail(fn, "pts[%d] must be a finite number, got %s", i, tostring(v)) end
      t[i] = v
   end
   return t
end

function Svg:polyline(pts, color, width, dash)
   local fn = "canvas:polyline"
   pts = checkpoints(fn, pts)
   checkcolour(fn, color)
   coords(fn, "width", width)
   dash = checkdash(fn, dash)
   local t = {}
   for i = 1, #pts, 2 do t[#t + 1] = num(pts[i]) .. "," .. num(pts[i + 1]) end
   self:add(('<polyline points="%s" fill="none" stroke="%s" stroke-width="%s" '
      .. 'stroke-linejoin="round" stroke-linecap="round"%s/>'):format(table.concat(t, " "),
      hex(color), num(width), dash and (' stroke-dasharray="%s"'):format(dashtext(dash)) or ""))
end

function Svg:disc(x, y, r, fill, stroke)
   coords("canvas:disc", "x", x, "y", y, "r", r)
   checkcolour("canvas:disc", fill, "fill")
   if stroke then checkcolour("canvas:disc", stroke, "stroke") end
   self:add(('<circle cx="%s" cy="%s" r="%s" fill="%s"%s/>'):format(num(x), num(y), num(max(0, r)),
      hex(fill), stroke and (' stroke="%s"'):format(hex(stroke)) or ""))
end

local ANCHORS = {start = true, middle = true, ["end"] = true}

function Svg:text(x, y, s, color, anchor, vertical)
   coords("canvas:text", "x", x, "y", y)
   checkcolour("canvas:text", color)
   if anchor ~= nil and not ANCHORS[anchor] then
      fail("canvas:text", "anchor must be \"start\", \"middle\" or \"end\", got %s", tostring(anchor))
   end
   -- tabs and line breaks are one line of text here, as in the raster
   s = esc(s):gsub("[\t\n\r]", " ")
   self:add(('<text x="%s" y="%s" fill="%s" text-anchor="%s"%s>%s</text>'):format(num(x),
      num(y), hex(color), anchor or "start",
      vertical and (' transform="rotate(-90 %s %s)"'):format(num(x), num(y)) or "", s))
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- base64 (RFC 4648) of a string, for data: URIs
function canvas.base64(s)
   if type(s) ~= "string" then error("canvas.base64: s must be a string, got " .. type(s), 2) end
   local out = {}
   for i = 1, #s, 3 do
      local a, b, c = s:byte(i, i + 2)
      local n = a * 65536 + (b or 0) * 256 + (c or 0)
      local q = {floor(n / 262144) % 64, floor(n / 4096) % 64, floor(n / 64) % 64, n % 64}
      out[#out + 1] = B64:sub(q[1] + 1, q[1] + 1) .. B64:sub(q[2] + 1, q[2] + 1)
         .. (b and B64:sub(q[3] + 1, q[3] + 1) or "=") .. (c and B64:sub(q[4] + 1, q[4] + 1) or "=")
   end
   return table.concat(out)
end

local function checkcells(fn, x, y, w, h, cols, rows, colors)
   coords(fn, "x", x, "y", y, "w", w, "h", h)
   if not compat.isint(cols) or not compat.isint(rows) or cols < 1 or rows < 1
      or cols * rows > canvas.MAXPIXELS then
      fail(fn, "cols and rows must be positive integers, at most %d cells, got %s and %s",
         canvas.MAXPIXELS, tostring(cols), tostring(rows))
   end
   if type(colors) ~= "table" then fail(fn, "colors must be a list of colours, got %s", type(colors)) end
   for i = 1, cols * rows do checkcolour(fn, colors[i], "colors[" .. i .. "]") end
end

-- the grid as a PNG of cols x rows pixels, which the browser stretches
local function gridpng(cols, rows, colors)
   local lines = {}
   for r = 0, rows - 1 do
      local t = {}
      for c = 0, cols - 1 do
         local col = colors[r * cols + c + 1]
         t[#t + 1] = string.char(byte(col[1]), byte(col[2]), byte(col[3]))
      end
      lines[r + 1] = table.concat(t)
   end
   return image.rgb(cols, rows, lines)
end

function Svg:cells(x, y, w, h, cols, rows, colors)
   checkcells("canvas:cells", x, y, w, h, cols, rows, colors)
   self:add(('<image x="%s" y="%s" width="%s" height="%s" preserveAspectRatio="none" '
      .. 'style="image-rendering:pixelated" href="data:image/png;base64,%s"/>'):format(num(x),
      num(y), num(max(0, w)), num(max(0, h)), canvas.base64(gridpng(cols, rows, colors))))
end

function Svg:clip(x, y, w, h)
   coords("canvas:clip", "x", x, "y", y, "w", w, "h", h)
   self.clips = self.clips + 1
   self:add(('<clipPath id="c%d"><rect x="%s" y="%s" width="%s" height="%s"/></clipPath>'
      .. '<g clip-path="url(#c%d)">'):format(self.clips, num(x), num(y), num(max(0, w)),
      num(max(0, h)), self.clips))
end

function Svg:unclip() self:add("</g>") end

-- a nested svg element: its own coordinates, and nothing drawn outside it
function Svg:panel(x, y, w, h)
   coords("canvas:panel", "x", x, "y", y, "w", w, "h", h)
   self.panels = self.panels + 1
   self:add(('<svg x="%s" y="%s" width="%s" height="%s" overflow="hidden">'):format(num(x),
      num(y), num(max(0, w)), num(max(0, h))))
end

function Svg:endpanel()
   if self.panels > 0 then
      self.panels = self.panels - 1
      self:add("</svg>")
   end
end

function Svg:finish()
   for _ = 1, self.panels do self:add("</svg>") end
   self.panels = 0
   return table.concat(self.out, "\n") .. "\n</svg>\n"
end

-- ---- raster -------------------------------------------------------------------

local Raster = {}
Raster.__index = Raster

--- canvas.raster(w, h) -> a surface that draws pixels and writes a PNG
function canvas.raster(w, h)
   checksize("canvas.raster", w, h)
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

--- canvas.width(s) -> how many character cells s takes (its characters
--- once clean)
function canvas.width(s)
   local _, n = canvas.clean(s)
   return n
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

return canvas
