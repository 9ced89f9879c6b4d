-- nn.image: PNG files and terminal pictures from matrices.  The PNGs are
-- decoded by an independent reader (Python's zlib and struct) to check
-- every chunk's CRC and every pixel.
local nn = require "nn"
local core = require "nn.core"
local image = require "nn.image"
local H = require "helpers"

-- Decodes PNG bytes with python3's standard library: returns width,
-- height and the pixels as a Lua list of rows of numbers.
local DECODER = [[
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n", "signature"
pos, idat, ihdr, kinds = 8, b"", None, []
while pos < len(d):
    n, = struct.unpack(">I", d[pos:pos + 4])
    kind, body = d[pos + 4:pos + 8], d[pos + 8:pos + 8 + n]
    crc, = struct.unpack(">I", d[pos + 8 + n:pos + 12 + n])
    assert crc == zlib.crc32(kind + body), "crc of " + kind.decode()
    kinds.append(kind.decode())
    if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", body)
    if kind == b"IDAT": idat += body
    pos += 12 + n
assert kinds[0] == "IHDR" and kinds[-1] == "IEND", kinds
w, h, depth, color, comp, filt, inter = ihdr
assert (depth, color, comp, filt, inter) == (8, 0, 0, 0, 0), ihdr
raw = zlib.decompress(idat)
assert len(raw) == h * (w + 1), "size"
rows = []
for y in range(h):
    line = raw[y * (w + 1):(y + 1) * (w + 1)]
    assert line[0] == 0, "filter"
    rows.append("{" + ",".join(str(b) for b in line[1:]) + "}")
print("return %d, %d, {%s}" % (w, h, ",".join(rows)))
]]

local function decode(png)
   local dir = H.tmpdir()
   local f = assert(io.open(dir .. "/x.png", "wb"))
   f:write(png)
   f:close()
   local g = assert(io.open(dir .. "/d.py", "w"))
   g:write(DECODER)
   g:close()
   local p = io.popen(("env -u LD_PRELOAD /usr/bin/python3 '%s/d.py' '%s/x.png' 2>&1")
      :format(dir, dir))
   local out = p:read("*a")
   p:close()
   os.execute("rm -rf '" .. dir .. "'")
   local chunk = H.load(out, "decoder", {})
   assert(chunk, "the decoder failed:\n" .. out)
   return chunk()
end

describe("Matrix:quantize", function()
   it("maps lo..hi to 0..255, rounding, clamping, NaN to 0", function()
      local A = nn.Matrix{{0, 0.5, 1, 2, -1, 0 / 0, 0.25, math.huge}}
      assert.are.same({0, 128, 255, 255, 0, 0, 64, 255}, {A:quantize(0, 1):byte(1, -1)})
      assert.are.same({0, 255}, {nn.Matrix{{-3, 3}}:quantize(-3, 3):byte(1, -1)})
   end)

   it("works on views, row-major", function()
      local A = nn.Matrix{{0, 1}, {2, 3}, {4, 5}}
      assert.are.same({0, 51, 102, 153, 204, 255}, {A:quantize(0, 5):byte(1, -1)})
      assert.are.same({102, 153}, {A:row(2):quantize(0, 5):byte(1, -1)})
   end)

   it("refuses a range that is empty, reversed or not finite", function()
      local A = nn.Matrix(2, 2)
      assert.has_error(function() A:quantize(1, 1) end,
         "Matrix:quantize: need finite lo < hi, got 1.0 and 1.0")
      assert.has_error(function() A:quantize(1, 0) end)
      assert.has_error(function() A:quantize(0, 0 / 0) end)
      assert.has_error(function() A:quantize(-math.huge, 0) end)
      assert.has_error(function() A:quantize(0) end)
   end)
end)

describe("nn.core.deflate", function()
   it("makes a zlib stream that zlib inflates back", function()
      local s = ("lua-nn "):rep(500) .. "\0\1\2\255"
      local z = core.deflate(s)
      assert.is_true(#z < #s / 10)
      -- a stored PNG carries it: decode an IDAT of known bytes
      local w, h, rows = decode(image.png(nn.Matrix{{0, 1}}))
      assert.are.same({2, 1, {{0, 255}}}, {w, h, rows})
   end)

   it("checks its level", function()
      assert.has_error(function() core.deflate("x", 10) end,
         "deflate: level must be from 0 to 9, got 10")
      assert.are.equal("string", type(core.deflate("", 0)))
   end)
end)

describe("image.png", function()
   it("writes every pixel, lo black and hi white, with valid CRCs", function()
      local M = nn.Matrix{{0, 1, 2}, {3, 4, 5}}
      local w, h, rows = decode(image.png(M))
      assert.are.same({3, 2}, {w, h})
      assert.are.same({{0, 51, 102}, {153, 204, 255}}, rows)
      w, h, rows = decode(image.png(M, {lo = 0, hi = 2.5}))
      assert.are.same({{0, 102, 204}, {255, 255, 255}}, rows)
   end)

   it("zooms by repeating pixels", function()
      local w, h, rows = decode(image.png(nn.Matrix{{0, 1}}, {zoom = 3}))
      assert.are.same({6, 3}, {w, h})
      for y = 1, 3 do assert.are.same({0, 0, 0, 255, 255, 255}, rows[y]) end
   end)

   it("puts 0 at mid-gray with symmetric", function()
      local _, _, rows = decode(image.png(nn.Matrix{{-1, 0, 0.5}}, {symmetric = true}))
      assert.are.same({{0, 128, 191}}, rows)
   end)

   it("draws a flat matrix black", function()
      local _, _, rows = decode(image.png(nn.Matrix(2, 2, 7)))
      assert.are.same({{0, 0}, {0, 0}}, rows)
   end)

   it("refuses bad input by name", function()
      assert.has_error(function() image.png({}) end,
         "image.png: M must be a Matrix, got table")
      assert.has_error(function() image.png(nn.Matrix(1, 2), {zoom = 0}) end,
         "image.png: zoom must be from 1 to 16, got 0")
      assert.has_error(function() image.png(nn.Matrix(1, 2), {zoom = 1.5}) end,
         "image.png: zoom must be an integer, got 1.5")
      assert.has_error(function() image.png(nn.Matrix(1, 2), {colour = 1}) end,
         "image.png: unknown option 'colour' (expected hi, lo, symmetric, zoom)")
      assert.has_error(function() image.png(nn.Matrix(1, 2, 0 / 0)) end,
         "image.png: the matrix has NaN or infinite values; give lo and hi")
      assert.has_error(function() image.png(nn.Matrix(1, 2), {lo = "a", hi = 1}) end,
         "image.png: lo and hi must be numbers, got a and 1")
      assert.has_error(function() image.png(nn.Matrix(4096, 4096), {zoom = 16}) end,
         "image.png: a 65536 x 65536 picture is too big (at most 2^28 pixels)")
      -- NaN with a range given is drawn black
      local _, _, rows = decode(image.png(nn.Matrix{{0 / 0, 1}}, {lo = 0, hi = 1}))
      assert.are.same({{0, 255}}, rows)
   end)
end)

describe("image.grid", function()
   it("tiles each row as an h x w picture with padding", function()
      -- three 2 x 2 pictures, two per row: 2 * (2 + 1) + 1 = 7 wide, 7 high
      local M = nn.Matrix{{0, 1, 2, 3}, {10, 10, 10, 20}, {5, 6, 7, 8}}
      local w, h, rows = decode(image.grid(M, 2, 2, {columns = 2}))
      assert.are.same({7, 7}, {w, h})
      assert.are.same({
         {0, 0, 0, 0, 0, 0, 0},
         {0, 0, 85, 0, 0, 0, 0},
         {0, 170, 255, 0, 0, 255, 0},
         {0, 0, 0, 0, 0, 0, 0},
         {0, 0, 85, 0, 0, 0, 0},         -- the third picture; the fourth slot blank
         {0, 170, 255, 0, 0, 0, 0},
         {0, 0, 0, 0, 0, 0, 0},
      }, rows)
   end)

   it("scales all pictures together with scale = \"all\"", function()
      local M = nn.Matrix{{0, 1}, {2, 3}}
      local _, _, rows = decode(image.grid(M, 1, 2, {scale = "all", pad = 0, columns = 1}))
      assert.are.same({{0, 85}, {170, 255}}, rows)
   end)

   it("defaults to a square arrangement", function()
      local w, h = decode(image.grid(nn.rand(10, 9), 3, 3))
      assert.are.same({4 * 4 + 1, 3 * 4 + 1}, {w, h})    -- 4 columns, 3 rows
   end)

   it("refuses shapes and options that do not fit", function()
      assert.has_error(function() image.grid(nn.Matrix(2, 783), 28, 28) end,
         "image.grid: M has 783 columns, expected h * w = 784")
      assert.has_error(function() image.grid(nn.Matrix(2, 4), 2, 2, {scale = "some"}) end,
         "image.grid: scale must be \"each\" or \"all\", got some")
      assert.has_error(function() image.grid(nn.Matrix(2, 4), 2, 2, {columns = 3}) end,
         "image.grid: columns must be from 1 to 2, got 3")
      assert.has_error(function() image.grid(nn.Matrix(2, 4), 2, 2, {pad = -1}) end,
         "image.grid: pad must be from 0 to 64, got -1")
      assert.has_error(function() image.grid(nn.Matrix(2, 4), "2", 2) end,
         "image.grid: h must be an integer, got 2")
      assert.has_error(function() image.grid(nn.Matrix(2, 4), 2, 2, 5) end,
         "image.grid: options must be a table, got number")
   end)
end)

describe("image.save", function()
   it("writes the bytes and refuses what is not a PNG", function()
      local dir = H.tmpdir()
      local png = image.png(nn.eye(3))
      assert.are.equal(dir .. "/e.png", image.save(dir .. "/e.png", png))
      local f = assert(io.open(dir .. "/e.png", "rb"))
      assert.are.equal(png, f:read("*a"))
      f:close()
      assert.has_error(function() image.save(dir .. "/x.png", "hello") end,
         "image.save: png must be the bytes from image.png or image.grid")
      assert.has_error(function() image.save(nil, png) end,
         "image.save: path must be a string, got nil")
      local ok, err = pcall(image.save, dir .. "/no/such/dir/x.png", png)
      assert.is_false(ok)
      assert.truthy(err:find("image.save: ", 1, true), err)
      os.execute("rm -rf '" .. dir .. "'")
   end)
end)

describe("image.ascii", function()
   it("draws two characters per pixel from dark to light", function()
      local v = nn.Matrix{{0, 0.5}, {0.9, 1}}
      assert.are.equal("  ++\n%%@@", image.ascii(v, 2, 2))
      assert.are.equal("  ++%%@@", image.ascii(v, 1, 4))
      assert.are.equal("    \n    ", image.ascii(v, 2, 2, {lo = 1, hi = 2}))
   end)

   it("checks the size", function()
      assert.has_error(function() image.ascii(nn.Matrix(1, 5), 2, 2) end,
         "image.ascii: v has 5 values, expected h * w = 4")
   end)
end)

describe("image.grid with text", function()
   local nn = require "nn"
   local image = require "nn.image"
   local H = require "helpers"

   it("labels tiles, rows and columns in dark text on white", function()
      local M = nn.Matrix(4, 16, 0.5)
      local png = image.grid(M, 4, 4, {columns = 2, zoom = 8, lo = 0, hi = 1, labels = {"one", "two", "three", "four"},
         rowlabels = {"row 1", "row 2"}, collabels = {"a", "b"}, title = "a title ≠"})
      local f = os.tmpname()
      image.save(f, png)
      -- row labels: 5 characters and 10 px; title 22 px, column labels 16;
      -- then a gap of 8, tiles 32 px, their labels 15
      local s = H.pngstats(f, "title=dark:0,0,200,20", "label=dark:53,79,85,93", "row=dark:0,50,45,70",
         "col=dark:53,24,85,38", "tile=808080:53,46,85,78")
      os.remove(f)
      assert.is_true(s.title > 30 and s.label > 10 and s.row > 10 and s.col > 5,
         ("title %d, label %d, row %d, column %d dark pixels"):format(s.title, s.label, s.row, s.col))
      assert.are.equal(32 * 32, s.tile)
      assert.has_error(function() image.grid(M, 4, 4, {labels = 5}) end,
         "image.grid: labels must be a list of strings, got number")
      assert.has_error(function() image.png(M, {labels = {}}) end,
         "image.png: unknown option 'labels' (expected hi, lo, symmetric, zoom)")
   end)
end)
