-- Weights in and out: NumPy's .npy, safetensors and PyTorch state dicts.
-- Round trips against NumPy and PyTorch (whose side, in
-- spec/xcheck/torch_weights.py, writes and reads safetensors with json and
-- struct only), every element type, and malformed files of every kind.
local nn = require "nn"
local H = require "helpers"

local function err(f, ...)
   local ok, e = pcall(f, ...)
   assert.is_false(ok, "expected an error")
   return tostring(e)
end

local function has(msg, want)
   assert.truthy(msg:find(want, 1, true), ("expected %q in %q"):format(want, msg))
end

local function py(code)
   local f = os.tmpname()
   H.write(f, code)
   local ok, out = H.run("env -u LD_PRELOAD /usr/bin/python3 " .. f)
   os.remove(f)
   return ok, out
end

describe("nn.npy", function()
   it("round-trips a Matrix, 2-D and 1-D, bit for bit", function()
      local A = nn.Matrix{{1.5, -2, 1e-30}, {3, 0 / 0, -0.0}}
      local B = nn.npy.decode(nn.npy.encode(A))
      assert.are.equal(A:tobytes(), B:tobytes())
      local v = nn.npy.decode(nn.npy.encode(nn.Matrix{{1, 2, 3}}, {shape = {3}}))
      assert.are.same({1, 3}, {v:shape()})
      -- the header is padded so that the data starts at a multiple of 64
      assert.are.equal(0, (#nn.npy.encode(A) - 24) % 64)
      has(err(nn.npy.encode, A, {shape = {4}}), "nn.npy.encode: shape (4,) has 4 elements, the matrix 6")
      has(err(nn.npy.encode, 5), "nn.npy.encode: expected an nn.Matrix, got number")
   end)

   it("reads what NumPy writes, every type and order, and NumPy reads what it writes", function()
      if not H.have_torch() then return pending("python3 with numpy is not installed") end
      local dir = H.tmpdir()
      local ok, out = py(([[
import numpy as np
d = %q
a = np.arange(12).reshape(3, 4) - 5
for t in ['<f4', '>f4', '<f8', '>f8', '<f2', '>f2', '|i1', '|u1', '<i2', '>i4', '<i8', '>u8', '<u4']:
    np.save('%%s/%%s.npy' %% (d, t.replace('<', 'l').replace('>', 'b').replace('|', 'n')), (a %% 100 if t[1] == 'u' else a).astype(t))
np.save(d + '/fortran.npy', np.asfortranarray(a.astype('<f4')))
np.save(d + '/bool.npy', np.array([True, False, True]))
np.save(d + '/scalar.npy', np.float64(2.5))
np.save(d + '/v2.npy', a.astype('<f4'), allow_pickle=False)
np.lib.format.write_array(open(d + '/version2.npy', 'wb'), a.astype('<f4'), version=(2, 0))
np.save(d + '/cube.npy', np.zeros((2, 2, 2), 'f4'))
np.save(d + '/empty.npy', np.zeros((0, 3), 'f4'))
np.save(d + '/c8.npy', np.zeros(3, 'c8'))
np.save(d + '/struct.npy', np.zeros(2, dtype=[('a', 'f4'), ('b', 'i4')]))
print('ok')
]]):format(dir))
      assert.is_true(ok, out)
      local want = nn.Matrix(3, 4):apply(function(_, i, j) return (i - 1) * 4 + j - 1 - 5 end)
      local unsigned = want:clone():apply(function(v) return v % 100 end)
      for _, t in ipairs{"lf4", "bf4", "lf8", "bf8", "lf2", "bf2", "ni1", "nu1", "li2", "bi4", "li8", "bu8", "lu4", "fortran", "v2", "version2"} do
         local M = nn.npy.load(dir .. "/" .. t .. ".npy")
         assert.is_true(M:equal(t:sub(2, 2) == "u" and unsigned or want), t)
      end
      assert.are.same({{1, 0, 1}}, nn.npy.load(dir .. "/bool.npy"):totable())
      assert.are.same({{2.5}}, nn.npy.load(dir .. "/scalar.npy"):totable())
      has(err(nn.npy.load, dir .. "/cube.npy"), "the array has 3 dimensions; lua-nn reads 1-D and 2-D arrays")
      has(err(nn.npy.load, dir .. "/empty.npy"), "the array is empty")
      has(err(nn.npy.load, dir .. "/c8.npy"), "the element type '<c8' is not one lua-nn reads")
      has(err(nn.npy.load, dir .. "/struct.npy"), "the header's 'descr' is a list: a structured array")
      -- and NumPy reads ours
      nn.npy.save(dir .. "/ours.npy", want)
      ok, out = py(("import numpy as np; a = np.load(%q); print(a.dtype, a.shape, int(a.sum()))")
         :format(dir .. "/ours.npy"))
      assert.is_true(ok, out)
      has(out, "float32 (3, 4) 6")
      os.execute("rm -rf '" .. dir .. "'")
   end)

   it("refuses malformed files by name, before allocating what they declare", function()
      local good = nn.npy.encode(nn.Matrix{{1, 2}, {3, 4}})
      local function header(dict, data, major)
         major = major or 1
         local pre = "\147NUMPY" .. string.char(major, 0)
         return pre .. (major == 1 and H.strpack("<I2", #dict) or H.strpack("<I4", #dict)) .. dict .. (data or "")
      end
      local cases = {
         {"", "not an .npy file (bad magic)"},
         {"\147NUMPX" .. good:sub(7), "not an .npy file (bad magic)"},
         {"\147NUMPY\4\0" .. good:sub(9), "format version 4.0 is not one lua-nn reads"},
         {good:sub(1, 9), "not an .npy file"},
         {"\147NUMPY\1\0\255\255{", "the header declares 65535 bytes"},
         {good:sub(1, -2), "a 2 x 2 array of '<f4' takes 16 bytes, the file has 15"},
         {good .. "x", "takes 16 bytes, the file has 17"},
         {header("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }"),
          "the shape (100000, 100000) has more than 2147483647 elements"},
         {header("{'descr': '<f4', 'fortran_order': False, 'shape': (30000, 30000), }"),
          "takes 3600000000 bytes, the file has 0"},
         {header("{'descr': '<f4', 'fortran_order': False}"), "the header's shape is not a tuple"},
         {header("{'descr': '<f4', 'fortran_order': 1, 'shape': (1,)}"), "is not a string, a boolean or a tuple"},
         {header("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}"), "is not whole numbers"},
         {header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}"), "is not a string, a boolean or a tuple"},
         {header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': True}"), "unknown key 'x'"},
         {header("{'descr': '<f4', 'descr': '<f4'}"), "names 'descr' twice"},
         {header("[1, 2]"), "the header is not a Python dict"},
         {header("{'descr': '<f3', 'fortran_order': False, 'shape': (1,)}", "xxx"), "the element type '<f3'"},
         {header("{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", "xxxx"), "not separated by commas"},
      }
      for _, c in ipairs(cases) do has(err(nn.npy.decode, c[1]), c[2]) end
      has(err(nn.npy.load, "/nonexistent/x.npy"), "nn.npy.load:")
      has(err(nn.npy.load, "/dev/zero"), "nn.npy.load:")
   end)
end)

describe("nn.safetensors", function()
   it("round-trips named matrices with their shapes, I64 scalars and metadata", function()
      local W = nn.randn(4, 18)
      local s = nn.safetensors.encode({
         ["conv.weight"] = {W, shape = {4, 2, 3, 3}}, ["b"] = nn.Matrix{{1, 2}},
         ["n"] = {int = 7},
      }, {metadata = {format = "pt"}})
      assert.are.equal(0, (H.strunpack("<I8", s)) % 8)
      local t, info, meta = nn.safetensors.decode(s)
      assert.are.equal(W:tobytes(), t["conv.weight"]:tobytes())
      assert.are.same({dtype = "F32", shape = {4, 2, 3, 3}}, info["conv.weight"])
      assert.are.same({dtype = "I64", shape = {}}, info.n)
      assert.are.same({{7}}, t.n:totable())
      assert.are.same({{1, 2}}, t.b:totable())
      assert.are.same({format = "pt"}, meta)
      local empty = nn.safetensors.decode(nn.safetensors.encode({}))
      assert.is_nil(next(empty))
      has(err(nn.safetensors.encode, {x = 5}), 'nn.safetensors.encode: "x" is not a Matrix, {M, shape = {...}} or {int = n}')
      has(err(nn.safetensors.encode, {x = {W, shape = {4, 4}}}), '"x"\'s shape (4, 4) has 16 elements, its matrix 72')
      has(err(nn.safetensors.encode, {[1] = W}), "a tensor's name must be a string")
   end)

   it("reads F16, BF16, F64 and the integers", function()
      local function file(entries, data)
         local h = require("nn.json").encode(entries)
         return H.strpack("<I8", #h) .. h .. data
      end
      local t = nn.safetensors.decode(file({
         h = {dtype = "F16", shape = {2}, data_offsets = {0, 4}},
         b = {dtype = "BF16", shape = {1}, data_offsets = {4, 6}},
         d = {dtype = "F64", shape = {1, 1}, data_offsets = {6, 14}},
         i = {dtype = "I16", shape = {2}, data_offsets = {14, 18}},
         u = {dtype = "U8", shape = {1}, data_offsets = {18, 19}},
      }, "\0\60\0\192" .. "\128\63" .. H.strpack("<d", 0.125) .. H.strpack("<I2I2", 65536 - 300, 5) .. "\250"))
      assert.are.same({{1, -2}}, t.h:totable())
      assert.are.same({{1}}, t.b:totable())
      assert.are.same({{0.125}}, t.d:totable())
      assert.are.same({{-300, 5}}, t.i:totable())
      assert.are.same({{250}}, t.u:totable())
   end)

   it("refuse malformed files by name, before allocating what they declare", function()
      local json = require "nn.json"
      local function file(header, data)
         local h = type(header) == "string" and header or json.encode(header)
         return H.strpack("<I8", #h) .. h .. (data or "")
      end
      local F = function(b, e, shape) return {dtype = "F32", shape = shape or {(e - b) / 4}, data_offsets = {b, e}} end
      local cases = {
         {"abc", "3 bytes is shorter than the 8-byte header length"},
         {H.strpack("<I8", 2^40) .. "{}", "the header declares 1099511627776 bytes"},
         {file("[1]"), "the header is not a JSON object"},
         {file('{"a": '), "the header is not valid JSON: byte 6: the text ends early"},
         {file('{"a": 1, "a": 2}'), 'the key "a" appears twice'},
         {file({a = F(0, 8)}, ("\0"):rep(4)), 'tensor "a"\'s bytes [0, 8) are outside the data (4 bytes)'},
         {file({a = F(0, 8, {3})}, ("\0"):rep(8)), 'tensor "a": 3 elements of F32 take 12 bytes, its offsets give 8'},
         {file({a = F(0, 8), b = F(4, 12)}, ("\0"):rep(12)), 'tensor "b" overlaps the one before it'},
         {file({a = F(0, 4), b = F(8, 12)}, ("\0"):rep(12)), 'the data has a gap of 4 bytes before tensor "b"'},
         {file({a = F(0, 4)}, ("\0"):rep(8)), "4 bytes of data after the last tensor"},
         {file({a = {dtype = "F8_E4M3", shape = {1}, data_offsets = {0, 1}}}, "\0"), 'tensor "a" has dtype F8_E4M3'},
         {file({a = {dtype = "F32", shape = {-1}, data_offsets = {0, 4}}}, "\0\0\0\0"), "'s shape (-1,) is not a list of whole numbers >= 0"},
         {file({a = {dtype = "F32", shape = {1}, data_offsets = {4, 0}}}, "\0\0\0\0"), "are outside the data"},
         {file({a = {dtype = "F32", shape = {1}}}, "\0\0\0\0"), "data_offsets are not [begin, end]"},
         {file({a = {dtype = "F32", shape = {1}, data_offsets = {0, 4}, extra = 1}}, "\0\0\0\0"), 'has an unknown field "extra"'},
         {file({a = {dtype = "F32", shape = {0}, data_offsets = {0, 0}}}), "has no elements"},
         {file({a = {dtype = "F32", shape = {65536, 65536}, data_offsets = {0, 4}}}, "\0\0\0\0"),
          "shape (65536, 65536) has more than 2147483647 elements"},
         {file({a = 5}), 'tensor "a" is not an object'},
         {file({__metadata__ = {k = 1}}), "__metadata__'s \"k\" is not a string"},
      }
      for _, c in ipairs(cases) do has(err(nn.safetensors.decode, c[1]), c[2]) end
      has(err(nn.safetensors.load, "/nonexistent/x.safetensors"), "nn.safetensors.load:")
   end)
end)

describe("state dicts", function()
   it("use PyTorch's keys and shapes and load back, refusing what does not fit", function()
      local net = nn.Sequential{
         nn.Conv2d(2, 3, {3, 2}, {input = {2, 5, 5}}), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
         nn.Sequential{nn.Linear(36, 4), nn.Tanh()}, nn.Linear(4, 2, {bias = false}),
      }
      local sd = net:stateDict()
      local keys = {}
      for k in pairs(sd) do keys[#keys + 1] = k end
      table.sort(keys)
      assert.are.same({"0.bias", "0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean",
         "1.running_var", "1.weight", "4.0.bias", "4.0.weight", "5.weight"}, keys)
      assert.are.same({3, 2, 3, 2}, sd["0.weight"].shape)
      assert.are.same({3}, sd["0.bias"].shape)
      assert.are.same({4, 36}, sd["4.0.weight"].shape)
      assert.are.same({2, 4}, sd["5.weight"].shape)
      -- through a safetensors file into another network of the same layers
      nn.seed(3)
      local other = nn.Sequential{
         nn.Conv2d(2, 3, {3, 2}, {input = {2, 5, 5}}), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
         nn.Sequential{nn.Linear(36, 4), nn.Tanh()}, nn.Linear(4, 2, {bias = false}),
      }
      net:forward(nn.randn(4, 50))            -- moves the running statistics
      net:evaluate(); other:evaluate()
      other:loadStateDict(nn.safetensors.decode(nn.safetensors.encode(net:stateDict())))
      local x = nn.randn(3, 50)
      assert.is_true(other:forward(x):equal(net:forward(x)))
      -- mismatches name the key, and nothing is copied
      local before = other[1].weight:clone()
      local t = nn.safetensors.decode(nn.safetensors.encode(net:stateDict()))
      t["0.weight"] = nn.zeros(3, 12)
      t["4.0.weight"] = nn.zeros(4, 35)
      has(err(other.loadStateDict, other, t), '"4.0.weight" is 4 x 35, the layer\'s is 4 x 36 (4, 36)')
      assert.is_true(other[1].weight:equal(before))
      t["4.0.weight"] = nil
      has(err(other.loadStateDict, other, t), 'tensors is missing: "4.0.weight"')
      t["4.0.weight"], t["9.weight"] = nn.zeros(4, 36), nn.zeros(1, 1)
      has(err(other.loadStateDict, other, t), 'no tensor for: "9.weight"')
      other:loadStateDict(t, {strict = false})
      assert.are.equal(0, other[1].weight:norm())
      local sd2 = net:stateDict()
      sd2["0.weight"] = {nn.zeros(3, 12), shape = {3, 2, 2, 3}}
      has(err(other.loadStateDict, other, sd2), '"0.weight" has shape (3, 2, 2, 3), the layer\'s is (3, 2, 3, 2)')
      has(err(other.loadStateDict, other, 5), "loadStateDict: expected a table of tensors, got number")
   end)

   for _, arch in ipairs{"mlp", "cnn"} do
      it(("round-trip PyTorch -> lua-nn -> PyTorch (%s), outputs within 1e-6"):format(arch), function()
         if not H.have_torch() then return pending("python3 with torch is not installed") end
         local dir = H.tmpdir()
         local ok, out = H.run(("env -u LD_PRELOAD /usr/bin/python3 spec/xcheck/torch_weights.py make %s %s")
            :format(dir, arch))
         assert.is_true(ok, out)
         local net = arch == "mlp" and nn.Sequential{
            nn.Linear(20, 16), nn.Tanh(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3),
         } or nn.Sequential{
            nn.Conv2d(2, 4, 3, {padding = 1, input = {2, 8, 8}}), nn.BatchNorm2d(4), nn.ReLU(),
            nn.MaxPool2d(2), nn.Conv2d(4, 3, {2, 3}, {bias = false}), nn.GELU(), nn.Flatten(),
            nn.Linear(3 * 3 * 2, 5),
         }
         net:loadStateDict(nn.safetensors.load(dir .. "/torch.safetensors"))
         net:evaluate()
         local y = net:forward(nn.npy.load(dir .. "/x.npy"))
         local want = nn.npy.load(dir .. "/y_torch.npy")
         local diff = (y - want):abs():max()
         assert.is_true(diff < 1e-6, ("lua-nn's outputs differ from PyTorch's by %g"):format(diff))
         nn.safetensors.save(dir .. "/lua.safetensors", net:stateDict())
         nn.npy.save(dir .. "/y_lua.npy", y)
         ok, out = H.run(("env -u LD_PRELOAD /usr/bin/python3 spec/xcheck/torch_weights.py check %s %s")
            :format(dir, arch))
         assert.is_true(ok, out)
         local back = tonumber(out:match("maxdiff (%S+)"))
         assert.is_true(back ~= nil and back < 1e-6, out)
         os.execute("rm -rf '" .. dir .. "'")
      end)
   end
end)

describe("examples/from_pytorch", function()
   it("runs a PyTorch-trained MLP in lua-nn with every test prediction equal", function()
      if not H.have_torch() then return pending("python3 with torch is not installed") end
      if not H.have_mnist() then return pending("data/mnist is absent (make data)") end
      local dir = H.tmpdir()
      local ok, out = H.run(("env -u LD_PRELOAD /usr/bin/python3 examples/from_pytorch/train.py data/mnist %s 1")
         :format(dir))
      assert.is_true(ok, out)
      local torch_acc = out:match("PyTorch test accuracy ([%d.]+)%%")
      ok, out = H.run(("%s examples/from_pytorch/run.lua data/mnist %s"):format(H.lua, dir))
      assert.is_true(ok, out)
      has(out, ("lua-nn test accuracy %s%%"):format(torch_acc))
      has(out, "predictions equal to PyTorch's: 10000 of 10000")
      os.execute("rm -rf '" .. dir .. "'")
   end)
end)
