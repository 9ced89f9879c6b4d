-- digit.lua: a drawing made MNIST-like, in plain Lua (no LÖVE), so the
-- demo and the specs run the same code.
--
-- MNIST's digits (LeCun et al.) were size-normalised to fit a 20 x 20 box,
-- keeping their aspect ratio, with anti-aliasing, then placed in a 28 x 28
-- field so that their centre of mass is at its centre (pixel 14, 14).  prepare() does the
-- same to a drawing: a w x h grid of intensities in [0, 1].
local digit = {}

local floor, min, max = math.floor, math.min, math.max

-- the bounding box of the cells brighter than `ink`, or nil if none
local function bounds(px, w, h, ink)
   local x0, y0, x1, y1 = w, h, -1, -1
   for y = 0, h - 1 do
      local row = y * w
      for x = 0, w - 1 do
         if px[row + x + 1] > ink then
            if x < x0 then x0 = x end
            if x > x1 then x1 = x end
            if y < y0 then y0 = y end
            if y > y1 then y1 = y end
         end
      end
   end
   if x1 < 0 then return nil end
   return x0, y0, x1 - x0 + 1, y1 - y0 + 1
end

-- The box (bx, by, bw, bh) of px resampled to tw x th by area averaging:
-- each target cell is the mean of the source area it covers, partial
-- cells weighted by their overlap (the anti-aliasing).
local function resample(px, w, bx, by, bw, bh, tw, th)
   local out, sx, sy = {}, bw / tw, bh / th
   for ty = 0, th - 1 do
      local ya, yb = by + ty * sy, by + (ty + 1) * sy
      for tx = 0, tw - 1 do
         local xa, xb = bx + tx * sx, bx + (tx + 1) * sx
         local sum = 0
         for y = floor(ya), math.ceil(yb) - 1 do
            local wy = min(yb, y + 1) - max(ya, y)
            local row = y * w
            for x = floor(xa), math.ceil(xb) - 1 do
               local wx = min(xb, x + 1) - max(xa, x)
               sum = sum + wx * wy * px[row + x + 1]
            end
         end
         out[ty * tw + tx + 1] = sum / (sx * sy)
      end
   end
   return out
end

--- digit.prepare(px, w, h [, out]) -> out (784 intensities, row-major
--- 28 x 28) or nil when nothing is drawn.  px is the drawing, row-major,
--- 1-based, values in [0, 1]; out, if given, is a table to fill (reused
--- by a caller that runs every frame).
function digit.prepare(px, w, h, out)
   local bx, by, bw, bh = bounds(px, w, h, 0.05)
   if not bx then return nil end
   -- the longer side becomes 20 cells, the other keeps the aspect ratio
   local scale = 20 / max(bw, bh)
   local tw, th = max(1, floor(bw * scale + 0.5)), max(1, floor(bh * scale + 0.5))
   local small = resample(px, w, bx, by, bw, bh, tw, th)
   -- the centre of mass, then the shift that puts it where MNIST's is:
   -- on pixel (14, 14), 0-based (the mean over the training set is
   -- 14.01, 14.00), i.e. at 14.5 in these coordinates of cell centres
   local m, cx, cy = 0, 0, 0
   for y = 0, th - 1 do
      for x = 0, tw - 1 do
         local v = small[y * tw + x + 1]
         m, cx, cy = m + v, cx + v * (x + 0.5), cy + v * (y + 0.5)
      end
   end
   local ox = floor(14.5 - cx / m + 0.5)
   local oy = floor(14.5 - cy / m + 0.5)
   out = out or {}
   for i = 1, 784 do out[i] = 0 end
   for y = 0, th - 1 do
      local ty = y + oy
      if ty >= 0 and ty < 28 then
         for x = 0, tw - 1 do
            local tx = x + ox
            if tx >= 0 and tx < 28 then
               out[ty * 28 + tx + 1] = min(1, small[y * tw + x + 1])
            end
         end
      end
   end
   return out
end

--- digit.strokes(img [, threshold]) -> a list of strokes, each {x0, y, x1,
--- y} in cells: the horizontal runs of an image's cells brighter than the
--- threshold (0.5), row by row.  A stored digit becomes the pointer
--- movements that draw it: press at a run's start, drag to its end.
function digit.strokes(img, threshold)
   threshold = threshold or 0.5
   local list = {}
   for y = 0, 27 do
      local x = 0
      while x < 28 do
         if img[y * 28 + x + 1] > threshold then
            local x0 = x
            while x + 1 < 28 and img[y * 28 + x + 2] > threshold do x = x + 1 end
            list[#list + 1] = {x0, y, x, y}
         end
         x = x + 1
      end
   end
   return list
end

return digit
