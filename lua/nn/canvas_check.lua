-- nn.canvas_check: the argument checks of the surfaces' calls, which
-- nn.canvas_svg and nn.canvas_raster share.  Every coordinate must be a
-- finite number, a colour {r, g, b}, a dash a pattern from canvas.dash;
-- an error names the call ("canvas:rect: x must be a finite number, got
-- nan"), raised where the surface's method was called.
local canvas = require "nn.canvas"
local compat = require "nn.compat"

local check = {}

local huge = math.huge

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

local function checkdash(fn, dash)
   if dash == nil then return nil end
   if type(dash) ~= "table" or not dash.period then fail(fn, "dash must be a pattern from canvas.dash") end
   return dash
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

-- check.fail(fn, fmt, ...) raises "fn: ..." at the caller of the surface's
-- method that called it; the others, called by that method, raise there.
check.fail, check.finite, check.coords, check.colour = fail, finite, coords, checkcolour
check.points, check.dash, check.cells = checkpoints, checkdash, checkcells
check.anchors = {start = true, middle = true, ["end"] = true}   -- s:text's anchor

return check
