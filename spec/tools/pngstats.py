# Reads a PNG (any filter; 8-bit RGB or RGBA) with Python's standard
# library and prints, as a Lua chunk, what the specs check of a picture:
#   pngstats.py FILE [NAME=TEST:X0,Y0,X1,Y1 ...]
# -> return {w = , h = , colors = (distinct colours, every 3rd pixel),
#            nonwhite = (share of pixels that are not near-white),
#            NAME = (pixels in the box passing TEST), ...}
# TEST: white, dark, nonwhite, or a colour as rrggbb (within 12 a channel).
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
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if f == 1:
        for i in range(bpp, stride): line[i] = (line[i] + line[i - bpp]) & 255
    elif f == 2:
        for i in range(stride): line[i] = (line[i] + prev[i]) & 255
    elif f == 3:
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((a + prev[i]) >> 1)) & 255
    elif f == 4:
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line

def px(x, y): return tuple(rows[y][x * bpp:x * bpp + 3])
def white(p): return min(p) > 235
tests = {"white": lambda p: min(p) > 200, "dark": lambda p: max(p) < 100,
         "nonwhite": lambda p: not white(p)}
sample = [px(x, y) for y in range(0, h, 3) for x in range(0, w, 3)]
out = {"w": w, "h": h, "colors": len(set(sample)),
       "nonwhite": sum(1 for p in sample if not white(p)) / len(sample)}
for spec in sys.argv[2:]:
    name, rest = spec.split("=", 1)
    test, box = rest.split(":")
    x0, y0, x1, y1 = (int(v) for v in box.split(","))
    if test in tests: t = tests[test]
    else:
        want = tuple(int(test[i:i + 2], 16) for i in (0, 2, 4))
        t = lambda p, want=want: all(abs(p[k] - want[k]) < 12 for k in range(3))
    out[name] = sum(1 for y in range(max(0, y0), min(h, y1))
                    for x in range(max(0, x0), min(w, x1)) if t(px(x, y)))
print("return {" + ", ".join("%s = %r" % kv for kv in out.items()) + "}")
