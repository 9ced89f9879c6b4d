-- nn.canvas_svg: nn.canvas's SVG surface (canvas.svg(w, h), which checks
-- the size): each call adds an element to an SVG document, s:finish()
-- gives its text.  A grid of cells is an image, a PNG of one pixel a cell
-- that the browser stretches.
local canvas = require "nn.canvas"
local check = require "nn.canvas_check"
local image = require "nn.image"

local svg = {}

local floor, min, max = math.floor, math.min, math.max
local fail, coords, checkcolour, checkpoints = check.fail, check.coords, check.colour, check.points
local checkdash, checkcells, ANCHORS = check.dash, check.cells, check.anchors
local esc = canvas.escape

local Svg = {}
Svg.__index = Svg

-- a colour as #rrggbb, a coordinate with at most two decimals
local function byte(v) return floor(min(1, max(0, v)) * 255 + 0.5) end
local function hex(c) return ("#%02x%02x%02x"):format(byte(c[1]), byte(c[2]), byte(c[3])) end
local function num(v) return (("%.2f"):format(v):gsub("%.?0+$", ""):gsub("^%-0$", "0")) end

-- a dash pattern as stroke-dasharray
local function dashtext(p)
   local t = {}
   for i = 1, #p do t[i] = ("%g"):format(p[i]) end
   return table.concat(t, " ")
end

--- svg.new(w, h) -> a surface that writes an SVG document
function svg.new(w, h)
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

return svg
