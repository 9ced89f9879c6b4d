-- nn.canvas: what nn.plot's charts draw on.  Two surfaces with the same
-- calls, in pixels with y down: an SVG document (text, nn.canvas_svg), and
-- an RGB raster that becomes a PNG (nn.canvas_raster), drawn with
-- anti-aliased lines, discs and text in nn.font (so no font or graphics
-- package is needed).  This file is what they share: their constructors
-- and limits, clean text, dash patterns and segment clipping;
-- nn.canvas_check holds the argument checks of their calls.
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
local compat = require "nn.compat"

local canvas = {}

local floor, huge = math.floor, math.huge

-- the largest surface: 8192 on a side, 2^24 pixels (the raster keeps three
-- Lua numbers a pixel)
canvas.MAXSIDE, canvas.MAXPIXELS = 8192, 2 ^ 24

local function fail(fn, fmt, ...) error(("%s: " .. fmt):format(fn, ...), 3) end

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

--- canvas.width(s) -> how many character cells s takes (its characters
--- once clean)
function canvas.width(s)
   local _, n = canvas.clean(s)
   return n
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

-- ---- data: URIs --------------------------------------------------------------

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

-- ---- the surfaces ------------------------------------------------------------
--
-- Each is a file of its own, loaded on first use (it requires this one).

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
   return require("nn.canvas_svg").new(w, h)
end

--- canvas.raster(w, h) -> a surface that draws pixels and writes a PNG
function canvas.raster(w, h)
   checksize("canvas.raster", w, h)
   return require("nn.canvas_raster").new(w, h)
end

return canvas
