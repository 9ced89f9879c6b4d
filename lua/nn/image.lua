-- nn.image: matrices as pictures.  PNG files (8-bit grayscale, written
-- with zlib in the core) for a digit, a batch of digits or a layer's
-- weights, one row per picture; and characters for the terminal.
--
--   local image = require "nn.image"
--   image.save("w.png", image.grid(net[1].weight, 28, 28, {symmetric = true}))
--   print(image.ascii(X:row(1), 28, 28))
local core = require "nn.core"
local compat = require "nn.compat"
local nn = require "nn"

local image = {}

local function checkmatrix(fn, M, what)
   if not nn.isMatrix(M) then
      error(("%s: %s must be a Matrix, got %s"):format(fn, what, type(M)), 3)
   end
end

local function checkint(fn, v, name, lo, hi)
   if not compat.toint(v) then
      error(("%s: %s must be an integer, got %s"):format(fn, name, tostring(v)), 3)
   end
   if v < lo or v > hi then
      error(("%s: %s must be from %d to %d, got %s"):format(fn, name, lo, hi,
         tostring(v)), 3)
   end
   return compat.toint(v)
end

-- each function's options (an unknown one is an error listing them)
local OPTS = {
   ["image.png"] = {"hi", "lo", "symmetric", "zoom"},
   ["image.grid"] = {"collabels", "columns", "hi", "labels", "lo", "pad", "rowlabels", "scale",
                     "symmetric", "title", "zoom"},
   ["image.ascii"] = {"hi", "lo"},
}
local TEXT = {"labels", "rowlabels", "collabels", "title"}

local function checkopts(fn, opts)
   if opts == nil then return {} end
   if type(opts) ~= "table" then
      error(("%s: options must be a table, got %s"):format(fn, type(opts)), 3)
   end
   local list, known = OPTS[fn], {}
   for _, k in ipairs(list) do known[k] = true end
   -- next, not pairs: a __pairs could iterate forever
   for k in next, opts do
      if not known[k] then
         error(("%s: unknown option '%s' (expected %s)"):format(fn, tostring(k),
            table.concat(list, ", ")), 3)
      end
   end
   return opts
end

-- The range that maps to black..white: opts.lo/hi, else M's min and max
-- (with symmetric, -m..m for m = max |M|, so 0 is mid-gray).
local function range(fn, M, opts)
   local lo, hi = opts.lo, opts.hi
   if lo == nil or hi == nil then
      local mn, mx = M:min(), M:max()
      if mn ~= mn or mx ~= mx or mn == -math.huge or mx == math.huge then
         error(fn .. ": the matrix has NaN or infinite values; give lo and hi", 3)
      end
      if opts.symmetric then
         local m = math.max(-mn, mx)
         mn, mx = -m, m
      end
      lo, hi = lo or mn, hi or mx
   end
   if type(lo) ~= "number" or type(hi) ~= "number" or lo ~= lo or hi ~= hi then
      error(("%s: lo and hi must be numbers, got %s and %s"):format(fn,
         tostring(lo), tostring(hi)), 3)
   end
   if not (hi > lo) then hi = lo + 1 end   -- a flat picture is all black
   return lo, hi
end

-- PNG (ISO/IEC 15948): signature, IHDR, one IDAT, IEND; each chunk is
-- length, type, data and the CRC-32 of type and data, big-endian.
local function chunk(kind, data)
   return compat.strpack(">I4", #data) .. kind .. data
      .. compat.strpack(">I4", core.crc32(kind .. data))
end

local function checksize(fn, width, height, zoom)
   if width * height * zoom * zoom > 2^28 then
      error(("%s: a %d x %d picture is too big (at most 2^28 pixels)")
         :format(fn, width * zoom, height * zoom), 3)
   end
end

-- rows: height strings of width bytes each (rgb: width * 3, red, green,
-- blue); zoom repeats every pixel (grayscale only)
local function encode(fn, width, height, rows, zoom, rgb)
   checksize(fn, width, height, zoom)
   if zoom > 1 then
      local wide = {}
      for b = 0, 255 do wide[string.char(b)] = string.char(b):rep(zoom) end
      local out = {}
      for _, r in ipairs(rows) do
         r = r:gsub(".", wide)
         for _ = 1, zoom do out[#out + 1] = r end
      end
      rows, width, height = out, width * zoom, height * zoom
   end
   -- each scanline starts with its filter type, 0 (none)
   local raw = "\0" .. table.concat(rows, "\0")
   return "\137PNG\r\n\26\n"
      .. chunk("IHDR", compat.strpack(">I4I4BBBBB", width, height, 8, rgb and 2 or 0, 0, 0, 0))
      .. chunk("IDAT", core.deflate(raw))
      .. chunk("IEND", "")
end

--- image.png(M [, {lo, hi, symmetric, zoom}]) -> the bytes of a PNG file
-- showing M (rows x cols) as a grayscale picture, lo black, hi white.
function image.png(M, opts)
   checkmatrix("image.png", M, "M")
   opts = checkopts("image.png", opts)
   local zoom = checkint("image.png", opts.zoom or 1, "zoom", 1, 16)
   checksize("image.png", select(2, M:shape()), (M:shape()), zoom)
   local lo, hi = range("image.png", M, opts)
   local h, w = M:shape()
   local q, rows = M:quantize(lo, hi), {}
   for y = 0, h - 1 do rows[y + 1] = q:sub(y * w + 1, y * w + w) end
   return encode("image.png", w, h, rows, zoom)
end

--- image.rgb(width, height, rows) -> the bytes of a colour PNG file: rows
-- is a list of height strings, each width * 3 bytes (red, green, blue per
-- pixel, left to right).  nn.plot's charts are written with it.
function image.rgb(width, height, rows)
   local fn = "image.rgb"
   width = checkint(fn, width, "width", 1, 2^16)
   height = checkint(fn, height, "height", 1, 2^16)
   if type(rows) ~= "table" or #rows ~= height then
      error(("%s: rows must be a list of %d strings"):format(fn, height), 2)
   end
   for i = 1, height do
      if type(rows[i]) ~= "string" or #rows[i] ~= width * 3 then
         error(("%s: row %d must be a string of %d bytes"):format(fn, i, width * 3), 2)
      end
   end
   return encode(fn, width, height, rows, 1, true)
end

-- a list of n texts (or nil): strings or numbers, at most 200 characters
-- each (the picture cuts them to fit)
local function texts(fn, opts, key, n)
   local t = opts[key]
   if t == nil then return nil end
   if type(t) ~= "table" then error(("%s: %s must be a list of strings, got %s"):format(fn, key, type(t)), 3) end
   local out = {}
   for i = 1, n do
      local v = t[i]
      if v ~= nil and type(v) ~= "string" and type(v) ~= "number" then
         error(("%s: %s[%d] must be a string, got %s"):format(fn, key, i, type(v)), 3)
      end
      out[i] = v ~= nil and tostring(v):sub(1, 800) or nil
   end
   return out
end

-- The tiles with text, through nn.canvas: a title on top, a label over
-- each column and left of each row, and one under each tile, in dark text
-- on white; the tiles gray, with gaps of pad (zoomed) between them.
local function labelled(fn, tiles, n, h, w, cols, gridrows, pad, zoom, opts)
   local canvas, font = require "nn.canvas", require "nn.font"
   local fw = font.width
   local labels = texts(fn, opts, "labels", n)
   local rowlabels = texts(fn, opts, "rowlabels", gridrows)
   local collabels = texts(fn, opts, "collabels", cols)
   local title = opts.title
   if title ~= nil and type(title) ~= "string" and type(title) ~= "number" then
      error(("%s: title must be a string, got %s"):format(fn, type(title)), 3)
   end
   local tw, th, gap = w * zoom, h * zoom, math.max(pad * zoom, 2)
   local left = 0
   if rowlabels then
      for r = 1, gridrows do left = math.max(left, canvas.width(canvas.clean(rowlabels[r] or "", 24))) end
      left = left * fw + 10
   end
   local top = (title and 22 or 0) + (collabels and 16 or 0)
   local cellh = th + gap + (labels and 15 or 0)
   local width = left + cols * (tw + gap) + gap
   local height = top + gridrows * cellh + gap
   if width > canvas.MAXSIDE or height > canvas.MAXSIDE or width * height > canvas.MAXPIXELS then
      error(("%s: a %d x %d picture with labels is too big (at most %d pixels)"):format(fn,
         width, height, canvas.MAXPIXELS), 3)
   end
   local s = canvas.raster(width, height)
   local ink = {0.15, 0.15, 0.15}
   local grays = {}
   for b = 0, 255 do grays[b + 1] = {b / 255, b / 255, b / 255} end
   local chars = math.max(1, math.floor((tw + gap) / fw))
   if title then s:text(width / 2, 16, canvas.clean(title, math.floor(width / fw)), ink, "middle") end
   for c = 1, cols do
      local x = left + gap + (c - 1) * (tw + gap)
      if collabels and collabels[c] then
         s:text(x + tw / 2, top - 4, canvas.clean(collabels[c], chars), ink, "middle")
      end
   end
   for i = 1, n do
      local r, c = math.floor((i - 1) / cols), (i - 1) % cols
      local x, y = left + gap + c * (tw + gap), top + gap + r * cellh
      local colors, t = {}, tiles[i]
      for k = 1, h * w do colors[k] = grays[t:byte(k) + 1] end
      s:cells(x, y, tw, th, w, h, colors)
      if labels and labels[i] then
         s:text(x + tw / 2, y + th + 12, canvas.clean(labels[i], chars), ink, "middle")
      end
   end
   if rowlabels then
      for r = 1, gridrows do
         if rowlabels[r] then
            local y = top + gap + (r - 1) * cellh + th / 2 + 4
            s:text(left - 6, y, canvas.clean(rowlabels[r], 24), ink, "end")
         end
      end
   end
   return s:finish()
end

--- image.grid(M, h, w [, opts]) -> PNG bytes: each row of M (h*w values,
-- row-major) an h x w picture, tiled left to right, top to bottom.
-- opts: columns (ceil(sqrt(n))), pad (1 black pixel), zoom (1),
-- scale = "each" (each picture its own range, the default) or "all",
-- symmetric (0 mid-gray: for weights), lo and hi (a fixed range); and
-- text: labels (one under each picture), rowlabels and collabels (one
-- left of each row of pictures, one above each column), title: then the
-- picture is in colour, the text dark on white.
function image.grid(M, h, w, opts)
   local fn = "image.grid"
   checkmatrix(fn, M, "M")
   opts = checkopts(fn, opts)
   h = checkint(fn, h, "h", 1, 4096)
   w = checkint(fn, w, "w", 1, 4096)
   local n, c = M:shape()
   if c ~= h * w then
      error(("%s: M has %d columns, expected h * w = %d"):format(fn, c, h * w), 2)
   end
   local cols = checkint(fn, opts.columns or math.ceil(math.sqrt(n)), "columns", 1, n)
   local pad = checkint(fn, opts.pad or 1, "pad", 0, 64)
   local zoom = checkint(fn, opts.zoom or 1, "zoom", 1, 16)
   local scale = opts.scale or "each"
   if scale ~= "each" and scale ~= "all" then
      error(fn .. ": scale must be \"each\" or \"all\", got " .. tostring(scale), 2)
   end
   local gridrows = math.ceil(n / cols)
   local width, height = cols * (w + pad) + pad, gridrows * (h + pad) + pad
   checksize(fn, width, height, zoom)      -- before anything that large is made
   local lo, hi
   if scale == "all" then lo, hi = range(fn, M, opts) end
   local tiles = {}
   for i = 1, n do
      local r = M:row(i)
      if scale == "each" then lo, hi = range(fn, r, opts) end
      tiles[i] = r:quantize(lo, hi)
   end
   local text = false
   for _, k in ipairs(TEXT) do text = text or opts[k] ~= nil end
   if text then return labelled(fn, tiles, n, h, w, cols, gridrows, pad, zoom, opts) end
   local gap, blank = ("\0"):rep(pad), ("\0"):rep(w)
   local padrow = ("\0"):rep(width)
   local rows = {}
   for _ = 1, pad do rows[#rows + 1] = padrow end
   for tr = 0, gridrows - 1 do
      for y = 0, h - 1 do
         local parts = {gap}
         for tc = 1, cols do
            local t = tiles[tr * cols + tc]
            parts[#parts + 1] = t and t:sub(y * w + 1, y * w + w) or blank
            parts[#parts + 1] = gap
         end
         rows[#rows + 1] = table.concat(parts)
      end
      for _ = 1, pad do rows[#rows + 1] = padrow end
   end
   return encode(fn, width, height, rows, zoom)
end

--- image.save(path, png): writes the bytes (from png or grid) to path,
-- through a temporary file and a rename
function image.save(path, png)
   if type(path) ~= "string" then
      error("image.save: path must be a string, got " .. type(path), 2)
   end
   if type(png) ~= "string" or png:sub(1, 8) ~= "\137PNG\r\n\26\n" then
      error("image.save: png must be the bytes from image.png or image.grid", 2)
   end
   local ok, err = core.writefile(path, png)
   if not ok then error("image.save: " .. tostring(err), 2) end
   return path
end

local RAMP = " .:-=+*#%@"

--- image.ascii(v, h, w [, {lo, hi}]) -> a string of h lines showing the
-- h*w values of v (any shape, row-major) with the characters " .:-=+*#%@",
-- two per pixel, darkest (lo) as a space
function image.ascii(v, h, w, opts)
   local fn = "image.ascii"
   checkmatrix(fn, v, "v")
   opts = checkopts(fn, opts)
   h = checkint(fn, h, "h", 1, 4096)
   w = checkint(fn, w, "w", 1, 4096)
   if v:numel() ~= h * w then
      error(("%s: v has %d values, expected h * w = %d"):format(fn, v:numel(), h * w), 2)
   end
   local lo, hi = range(fn, v, opts)
   local map = {}
   for b = 0, 255 do
      local k = math.floor(b * #RAMP / 256) + 1
      map[string.char(b)] = RAMP:sub(k, k):rep(2)
   end
   local q, lines = v:quantize(lo, hi):gsub(".", map), {}
   for y = 0, h - 1 do lines[y + 1] = q:sub(2 * y * w + 1, 2 * (y + 1) * w) end
   return table.concat(lines, "\n")
end

return image
