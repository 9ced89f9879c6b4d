-- The LÖVE digit demo (examples/love) run for real: LÖVE under Xvfb, on
-- LuaJIT with the core `make test` builds for it, replays MNIST test
-- digits through the mouse handlers and prints its guesses; the
-- screenshots it saves must be real frames: the window's size, the digit
-- drawn in white on the pad, the guess's bar lit.  A small network is
-- trained for it first (make mnist's takes a minute).
local H = require "helpers"

-- Python's standard library reads the screenshot (any PNG filter, RGBA
-- or RGB) and reports what the checks need, as a Lua chunk.
local READER = [[
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(d):
    n, = struct.unpack(">I", d[pos:pos + 4])
    kind, body = d[pos + 4:pos + 8], d[pos + 8:pos + 8 + n]
    if kind == b"IHDR": w, h, depth, color = struct.unpack(">IIBB", body[:10])
    if kind == b"IDAT": idat += body
    pos += 12 + n
assert depth == 8 and color in (2, 6), (depth, color)
bpp = 4 if color == 6 else 3
raw, stride = zlib.decompress(idat), w * bpp
rows, prev = [], bytearray(stride)
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
def px(x, y): return tuple(rows[y][x * bpp:x * bpp + 3])
def count(x0, y0, x1, y1, test):
    return sum(1 for y in range(y0, y1) for x in range(x0, x1) if test(px(x, y)))
white = lambda p: min(p) > 200
green = lambda p: abs(p[0] - 89) < 12 and abs(p[1] - 217) < 12 and abs(p[2] - 115) < 12
colors = len(set(px(x, y) for y in range(0, h, 3) for x in range(0, w, 3)))
print("return {w = %d, h = %d, colors = %d, pad = %d, padwhite = %d, green = %d, guess = %d}" % (
    w, h, colors, 336 * 336, count(20, 70, 356, 406, white),
    count(545, 70, w, 400, green), count(415, 230, 520, 360, white)))
]]

local function shot(path)
   local dir = H.tmpdir()
   H.write(dir .. "/read.py", READER)
   local ok, out = H.run(("env -u LD_PRELOAD /usr/bin/python3 '%s/read.py' '%s'"):format(dir, path))
   H.sh("rm -rf '" .. dir .. "'")
   assert(ok, out)
   return assert(H.load(out, "screenshot", {}))()
end

local TRAIN = [[
local nn = require "nn"
local mnist = require "nn.mnist"
nn.seed(1)
local X, Y = mnist.load("data/mnist", "train")
local net = nn.Sequential{nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10)}
nn.fit(net, nn.CrossEntropyLoss(), nn.SGD(net, {lr = 0.1, momentum = 0.9}),
   X:narrow(1, 30000), Y:narrow(1, 30000), {epochs = 2, batchSize = 64, progress = false})
assert(nn.save(net, MODEL))
print("trained")
]]

describe("the LÖVE digit demo (examples/love)", function()
   local test = (H.sanitized or not H.have_mnist()) and pending or it
   test("replays test digits as mouse strokes under Xvfb, guesses them, and saves real frames", function()
      local dir = H.tmpdir()
      local model = dir .. "/model.nn"
      local ok, out = H.child(("local MODEL = %q\n"):format(model) .. TRAIN, nil, H.top, 300, "luajit")
      assert(ok and out:find("trained", 1, true), out)
      -- the first test digits: 7, 2, 1 and 0
      for n, label in ipairs{7, 2, 1, 0} do
         local png = ("%s/shot-%d.png"):format(dir, n)
         ok, out = H.run(("cd '%s' && NN_LOVE_MODEL='%s' timeout 120 xvfb-run -a -s '-screen 0 1024x768x24' "
            .. "love examples/love --replay %d --out '%s'%s"):format(H.top, model, n, png,
            n == 4 and " --keys w" or ""))
         local lab, pred = out:match("love%-digit: test digit " .. n .. " %(label (%d)%): predicted (%d)")
         assert(lab, out)
         assert.are.equal(tostring(label), lab, out)
         assert.are.equal(tostring(label), pred, out)
         local s = shot(png)
         assert.are.same({900, 440}, {s.w, s.h})
         assert.is_true(s.colors > 20, "a flat frame: " .. s.colors .. " colours")
         -- the digit, drawn white on the black pad: a few percent of it
         local share = s.padwhite / s.pad
         assert.is_true(share > 0.03 and share < 0.5, ("%.3f of the pad is white"):format(share))
         if n < 4 then
            assert.is_true(s.green > 1000, "no lit bar for the guess")
            assert.is_true(s.guess > 200, "no guess drawn")
         else                                   -- W: the weights replace the bars
            assert.are.equal(0, s.green)
         end
      end
      H.sh("rm -rf '" .. dir .. "'")
   end)
end)
