-- nn.canvas: what nn.plot's charts draw on.  Two surfaces with the same
-- calls, in pixels with y down: an SVG document (text), and an RGB raster
-- that becomes a PNG, drawn here with anti-aliased lines, discs and text
-- in nn.font (so no font or graphics package is needed).
--
-- A colour is {r, g, b}, each 0..1.  Every surface has:
--   s:rect(x, y, w, h, fill [, stroke])
--   s:polyline(pts, color, width [, dash])    pts: {x1, y1, x2, y2, ...}
--   s:disc(x, y, r, fill [, stroke])
--   s:text(x, y, str, color [, anchor [, vertical]])  anchor "start",
--        "middle" or "end" along the text; y is the baseline (vertical:
--        the text reads upwards, its baseline at x)
--   s:cells(x, y, w, h, cols, rows, colors)   a cols x rows grid of
--        colours (row-major, top row first) stretched over the box
--   s:clip(x, y, w, h) ... s:unclip()         draw only inside the box
--   s:finish() -> the SVG text or the PNG bytes
local font = require "nn.font"
local image = require "nn.image"
local compat = require "nn.compat"

local canvas = {}

local floor, ceil, min, max, sqrt = math.floor, math.ceil, math.min, math.max, math.sqrt

local function byte(v) return floor(min(1, max(0, v)) * 255 + 0.5) end

-- ---- SVG ----------------------------------------------------------------------

local Svg = {}
Svg.__index = Svg

local function hex(c) return ("#%02x%02x%02x"):format(byte(c[1]), byte(c[2]), byte(c[3])) end
local function num(v) return ("%.2f"):format(v):gsub("%.?0+$", "") end
local ESC = {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;"}

-- s as XML or HTML text (nn.report writes its HTML with it too)
function canvas.escape(s) return (tostring(s):gsub('[&<>"]', ESC)) end
local esc = canvas.escape

function canvas.svg(w, h)
   local self = setmetatable({w = w, h = h, out = {}, clips = 0}, Svg)
   self.out[1] = ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
      .. 'viewBox="0 0 %d %d" font-family="DejaVu Sans Mono, monospace" font-size="12">')
      :format(w, h, w, h)
   return self
end

function Svg:add(s) self.out[#self.out + 1] = s end

function Svg:rect(x, y, w, h, fill, stroke)
   self:add(('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"%s/>'):format(num(x), num(y),
      num(w), num(h), fill and hex(fill) or "none",
      stroke and (' stroke="%s"'):format(hex(stroke)) or ""))
end

function Svg:polyline(pts, color, width, dash)
   local t = {}
   for i = 1, #pts, 2 do t[#t + 1] = num(pts[i]) .. "," .. num(pts[i + 1]) end
   self:add(('<polyline points="%s" fill="none" stroke="%s" stroke-width="%s" '
      .. 'stroke-linejoin="round" stroke-linecap="round"%s/>'):format(table.concat(t, " "),
      hex(color), num(width), dash and (' stroke-dasharray="%s"'):format(dash) or ""))
end

function Svg:disc(x, y, r, fill, stroke)
   self:add(('<circle cx="%s" cy="%s" r="%s" fill="%s"%s/>'):format(num(x), num(y), num(r),
      hex(fill), stroke and (' stroke="%s"'):format(hex(stroke)) or ""))
end

function Svg:text(x, y, s, color, anchor, vertical)
   self:add(('<text x="%s" y="%s" fill="%s" text-anchor="%s"%s>%s</text>'):format(num(x),
      num(y), hex(color), anchor or "start",
      vertical and (' transform="rotate(-90 %s %s)"'):format(num(x), num(y)) or "", esc(s)))
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- base64 (RFC 4648) of a string, for data: URIs
function canvas.base64(s)
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
   self:add(('<image x="%s" y="%s" width="%s" height="%s" preserveAspectRatio="none" '
      .. 'href="data:image/png;base64,%s"/>'):format(num(x), num(y), num(w), num(h),
      canvas.base64(gridpng(cols, rows, colors))))
end

function Svg:clip(x, y, w, h)
   self.clips = self.clips + 1
   self:add(('<clipPath id="c%d"><rect x="%s" y="%s" width="%s" height="%s"/></clipPath>'
      .. '<g clip-path="url(#c%d)">'):format(self.clips, num(x), num(y), num(w), num(h), self.clips))
end

function Svg:unclip() self:add("</g>") end

function Svg:finish()
   return table.concat(self.out, "\n") .. "\n</svg>\n"
end

-- ---- raster -------------------------------------------------------------------

local Raster = {}
Raster.__index = Raster

function canvas.raster(w, h)
   local px = {}
   for i = 1, w * h * 3 do px[i] = 255 end
   return setmetatable({w = w, h = h, px = px, box = {0, 0, w, h}}, Raster)
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

local function rgb255(c) return {c[1] * 255, c[2] * 255, c[3] * 255} end

function Raster:rect(x, y, w, h, fill, stroke)
   if fill then
      local c = rgb255(fill)
      for py = max(0, floor(y + 0.5)), min(self.h, floor(y + h + 0.5)) - 1 do
         for px = max(0, floor(x + 0.5)), min(self.w, floor(x + w + 0.5)) - 1 do
            blend(self, px, py, c, 1)
         end
      end
   end
   if stroke then
      self:polyline({x, y, x + w, y, x + w, y + h, x, y + h, x, y}, stroke, 1)
   end
end

-- a segment of width w: each pixel near it covered by how far its centre
-- is inside the stroke (a 1-pixel ramp at the edge: the anti-aliasing).
-- Only the band along the segment is visited (row by row when it is
-- steep, column by column when not), so a long line costs its length, not
-- its bounding box.
local function segment(self, x0, y0, x1, y1, c, w)
   local dx, dy = x1 - x0, y1 - y0
   local len2 = dx * dx + dy * dy
   local r = w / 2
   local reach = r + 1
   local cover, W, H = self.cover, self.w, self.h
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
   if math.abs(dy) >= math.abs(dx) then          -- steep: walk the rows
      local half = len2 > 0 and reach * len / math.abs(dy) or reach
      for py = max(0, floor(min(y0, y1) - reach)), min(H - 1, ceil(max(y0, y1) + reach)) do
         local t = dy ~= 0 and min(1, max(0, (py + 0.5 - y0) / dy)) or 0
         local xc = x0 + t * dx
         for px = max(0, floor(xc - half - 1)), min(W - 1, ceil(xc + half + 1)) do pixel(px, py) end
      end
   else                                          -- shallow: walk the columns
      local half = reach * len / math.abs(dx)
      for px = max(0, floor(min(x0, x1) - reach)), min(W - 1, ceil(max(x0, x1) + reach)) do
         local t = min(1, max(0, (px + 0.5 - x0) / dx))
         local yc = y0 + t * dy
         for py = max(0, floor(yc - half - 1)), min(H - 1, ceil(yc + half + 1)) do pixel(px, py) end
      end
   end
end

function Raster:polyline(pts, color, width, dash)
   local c = rgb255(color)
   self.cover = {}
   local on, left = true, nil
   local pattern = dash and {} or nil
   if dash then for d in dash:gmatch("[%d.]+") do pattern[#pattern + 1] = tonumber(d) end end
   local k = 1
   left = pattern and pattern[1]
   for i = 1, #pts - 3, 2 do
      local x0, y0, x1, y1 = pts[i], pts[i + 1], pts[i + 2], pts[i + 3]
      if not pattern then
         segment(self, x0, y0, x1, y1, c, width)
      else                                 -- walk the segment through the dashes
         local len = sqrt((x1 - x0) ^ 2 + (y1 - y0) ^ 2)
         local done = 0
         while done < len do
            local step = min(left, len - done)
            if on then
               local a, b = done / len, (done + step) / len
               segment(self, x0 + (x1 - x0) * a, y0 + (y1 - y0) * a,
                  x0 + (x1 - x0) * b, y0 + (y1 - y0) * b, c, width)
            end
            done, left = done + step, left - step
            if left <= 0 then
               k = k % #pattern + 1
               left, on = pattern[k], not on
            end
         end
      end
   end
   self.cover = nil
end

function Raster:disc(x, y, r, fill, stroke)
   local c, s = rgb255(fill), stroke and rgb255(stroke)
   for py = max(0, floor(y - r - 1)), min(self.h - 1, ceil(y + r + 1)) do
      for px = max(0, floor(x - r - 1)), min(self.w - 1, ceil(x + r + 1)) do
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
-- once, on first use
local glyphs = {}
local function glyph(code)
   local g = glyphs[code]
   if not g then
      local hexes = font.glyphs[code] or font.glyphs[63]          -- "?"
      g = {}
      for i = 1, #hexes do g[i] = tonumber(hexes:sub(i, i), 16) / 15 end
      glyphs[code] = g
   end
   return g
end

function Raster:text(x, y, s, color, anchor, vertical)
   s = tostring(s)
   local c, fw, fh, asc = rgb255(color), font.width, font.height, font.ascent
   local len = #s * fw
   local start = anchor == "middle" and -len / 2 or anchor == "end" and -len or 0
   start = floor(start + 0.5)
   x, y = floor(x + 0.5), floor(y + 0.5)
   for k = 1, #s do
      local g = glyph(s:byte(k))
      local off = start + (k - 1) * fw
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

function Raster:cells(x, y, w, h, cols, rows, colors)
   local x0, y0 = floor(x + 0.5), floor(y + 0.5)
   local pw, ph = floor(x + w + 0.5) - x0, floor(y + h + 0.5) - y0
   local cache = {}
   for py = 0, ph - 1 do
      local r = min(rows - 1, floor((py + 0.5) * rows / ph))
      for px = 0, pw - 1 do
         local col = colors[r * cols + min(cols - 1, floor((px + 0.5) * cols / pw)) + 1]
         local c = cache[col]
         if not c then c = rgb255(col); cache[col] = c end
         blend(self, x0 + px, y0 + py, c, 1)
      end
   end
end

function Raster:clip(x, y, w, h)
   self.box = {max(0, floor(x)), max(0, floor(y)), min(self.w, ceil(x + w)), min(self.h, ceil(y + h))}
end

function Raster:unclip() self.box = {0, 0, self.w, self.h} end

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
