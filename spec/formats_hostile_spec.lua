-- Hostile input to the weight and model formats (issue #21 §3, §4, §6):
-- one regression spec per defect class, each of which failed before its
-- fix.  Shapes whose products wrap, state dicts that fail part-way, 2^53 + 1
-- on Luas without integers, text that is not UTF-8, registered layers
-- that misbehave, nn.help on an unknown name, and the README's recipes.
local nn = require "nn"
local H = require "helpers"
local json = require "nn.json"

local function err(f, ...)
   local ok, e = pcall(f, ...)
   assert.is_false(ok, "expected an error")
   return tostring(e)
end

local function has(msg, want, plain)
   assert.truthy(msg:find(want, 1, plain ~= false), ("expected %q in %q"):format(want, msg))
end

-- a safetensors file of one tensor "t", its header as JSON text (so that
-- sizes past 2^53 are written as digits on every Lua)
local function safetensors(shape, nbytes, name)
   local h = ('{"%s":{"dtype":"F32","shape":[%s],"data_offsets":[0,%d]}}')
      :format(name or "t", shape, nbytes)
   return H.strpack("<I8", #h) .. h .. ("\0"):rep(nbytes)
end

local function npyfile(shape, nbytes)
   local dict = ("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }"):format(shape)
   return "\147NUMPY\1\0" .. H.strpack("<I2", #dict) .. dict .. ("\0"):rep(nbytes)
end

describe("shape sizes are checked before they can wrap", function()
   -- 3 x 6148914691236517206 is 2 modulo 2^64; 2 x 2^62 is -2^63
   it("in nn.safetensors.decode: an error naming the function and the shape", function()
      local msg = err(nn.safetensors.decode, safetensors("1,3,6148914691236517206", 8))
      has(msg, '^nn%.safetensors%.decode: tensor "t"\'s shape %(1, 3, %d+%) has more than 2147483647 elements', false)
      msg = err(nn.safetensors.decode, safetensors("2,4611686018427387904", 0))
      has(msg, '^nn%.safetensors%.decode: tensor "t"\'s shape %(2, %d+%) has more than 2147483647 elements', false)
      -- a size past 2^64 (a float in every Lua) is too large, not malformed
      msg = err(nn.safetensors.decode, safetensors("99999999999999999999999", 4))
      has(msg, "has more than 2147483647 elements")
      -- and the largest that fits still reads
      local t = nn.safetensors.decode(safetensors("1,2,1", 8))
      assert.are.same({1, 2}, {t.t:shape()})
   end)

   it("in nn.safetensors.encode and save: a shape that wraps to the matrix's size is refused", function()
      local M = nn.Matrix{{1, 2}}
      local msg = err(nn.safetensors.encode, {x = {M, shape = {1, 3, 6148914691236517206}}})
      has(msg, 'nn.safetensors.encode: "x"\'s shape (1, 3, ')
      has(msg, ") has more than 2147483647 elements")
      msg = err(nn.safetensors.save, os.tmpname(), {x = {M, shape = {3, 6148914691236517206}}})
      has(msg, 'nn.safetensors.save: "x"\'s shape (3, ')
   end)

   it("in nn.npy: decode and encode", function()
      has(err(nn.npy.decode, npyfile("(3, 6148914691236517206)", 8)),
         "^nn%.npy%.decode: the shape %(3, %d+%) has more than 2147483647 elements", false)
      has(err(nn.npy.decode, npyfile("(99999999999999999999999,)", 8)),
         "nn.npy.decode: the shape (")
      has(err(nn.npy.decode, npyfile("(99999999999999999999999,)", 8)), ",) has more than 2147483647 elements")
      -- three dimensions whose product wraps: the size is what is wrong
      has(err(nn.npy.decode, npyfile("(4, 4611686018427387904, 2)", 8)), "has more than 2147483647 elements")
      local M = nn.Matrix{{1, 2}}
      local msg = err(nn.npy.encode, M, {shape = {3, 6148914691236517206}})
      has(msg, "nn.npy.encode: shape (3, ")
      has(msg, ") has more than 2147483647 elements")
      has(err(nn.npy.save, os.tmpname(), M, {shape = {3}}), "nn.npy.save: shape (3,) has 3 elements, the matrix 2")
      assert.are.same({1, 2}, {nn.npy.decode(nn.npy.encode(M, {shape = {2}})):shape()})
   end)

   it("in Matrix.fromdata: the shape's size comes before either side's range", function()
      local s = ("\0"):rep(64)
      has(err(nn.Matrix.fromdata, s, 2, 2^62, 0, "<f4"),
         "Matrix.fromdata: 2 x 4611686018427387904 is too large (at most 2147483647 elements)")
      has(err(nn.Matrix.fromdata, s, 2^40, 2^40, 0, "<f4"), "Matrix.fromdata: 1099511627776 x 1099511627776 is too large")
      has(err(nn.Matrix.fromdata, s, 2, 2, 0.5, "<f4"), "Matrix.fromdata: offset must be an integer, got 0.5")
      has(err(nn.Matrix.fromdata, s, 2, 2, nil, "<f4"), "Matrix.fromdata: offset must be an integer, got nil")
      assert.are.same({2, 2}, {nn.Matrix.fromdata(s, 2, 2, 48, "<f4"):shape()})
   end)

   it("in model files and state dicts", function()
      -- a model file's matrix declares its shape as two 32-bit counts
      local s = nn.serialize(nn.Linear(2, 3))
      local at = s:find("\8\3\0\0\0\2\0\0\0", 25, true)      -- the 3 x 2 weight
      assert.truthy(at)
      local bad = s:sub(1, at) .. H.strpack("<I4I4", 65536, 65536) .. s:sub(at + 9)
      bad = bad:sub(1, 12) .. H.strpack("<I4", require("nn.core").crc32(bad, 25)) .. bad:sub(17)
      has(err(nn.deserialize, bad), "a matrix declares 65536 x 65536 elements")
      -- a state dict's shape is compared as a whole, never multiplied out
      local net = nn.Sequential{nn.Linear(2, 3)}
      local sd = net:stateDict()
      sd["0.weight"] = {nn.zeros(3, 2), shape = {3, 6148914691236517206}}
      has(err(net.loadStateDict, net, sd), '"0.weight" has shape (3, ')
   end)
end)

-- every tensor and buffer of net, as bytes
local function snapshot(net)
   local out = {}
   for k, v in pairs(net:stateDict()) do out[k] = v[1] and v[1]:tobytes() or v.int end
   return out
end

describe("net:loadStateDict is all or nothing", function()
   local function fresh()
      nn.seed(11)
      return nn.Sequential{
         nn.Conv2d(1, 2, 3, {input = {1, 5, 5}}), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
         nn.Linear(18, 4), nn.Linear(4, 2, {bias = false}),
      }
   end

   -- every key of a good state dict (all zeros) in turn made bad in one way:
   -- each must fail, naming the key, and leave the network as it was
   local kinds = {
      {"a table that answers :shape() but is not a Matrix", function(v)
         return {shape = function() return v[1]:shape() end, copy = function() end}
      end, "is a table, not an nn.Matrix"},
      {"a {M, shape} whose M answers :shape() but is not a Matrix", function(v)
         return {{shape = function() return v[1]:shape() end}, shape = v.shape}
      end, "is a table, not an nn.Matrix"},
      {"a number", function() return 5 end, "is a number, not an nn.Matrix"},
      {"a Matrix of the wrong shape", function(v)
         local r, c = v[1]:shape()
         return nn.zeros(r, c + 1)
      end, "the layer's is"},
      {"a carried shape that differs", function(v)
         local shape = {}
         for i, d in ipairs(v.shape) do shape[i] = d end
         shape[#shape + 1] = 1
         return {nn.zeros(v[1]:shape()), shape = shape}
      end, "has shape"},
      {"a shape that is not a list", function(v)
         return {nn.zeros(v[1]:shape()), shape = "(1, 2)"}
      end, "shape is string, not a list"},
   }

   for _, kind in ipairs(kinds) do
      it("refuses " .. kind[1] .. " for any key, copying nothing", function()
         local net = fresh()
         local before = snapshot(net)
         for key, v in pairs(net:stateDict()) do
            if v[1] then
               local t = {}
               for k, w in pairs(net:stateDict()) do
                  t[k] = w[1] and {nn.zeros(w[1]:shape()), shape = w.shape} or {int = 0}
               end
               t[key] = kind[2](v)
               local msg = err(net.loadStateDict, net, t)
               has(msg, ("loadStateDict: %q"):format(key))
               has(msg, kind[3])
               assert.are.same(before, snapshot(net), key .. ": the network changed")
            end
         end
      end)
   end

   it("checks num_batches_tracked, and refuses a missing or unexpected key, copying nothing", function()
      local net = fresh()
      local before = snapshot(net)
      local function zeros()
         local t = {}
         for k, w in pairs(net:stateDict()) do
            t[k] = w[1] and nn.zeros(w[1]:shape()) or {int = 0}
         end
         return t
      end
      local t = zeros()
      t["1.num_batches_tracked"] = "many"
      has(err(net.loadStateDict, net, t), '"1.num_batches_tracked" is not a whole number')
      t["1.num_batches_tracked"] = nn.Matrix{{0.5}}
      has(err(net.loadStateDict, net, t), '"1.num_batches_tracked" is not a whole number')
      t = zeros()
      t["5.weight"] = nil
      has(err(net.loadStateDict, net, t), '"5.weight"')
      t = zeros()
      t["6.weight"] = nn.zeros(1, 1)
      has(err(net.loadStateDict, net, t), '"6.weight"')
      assert.are.same(before, snapshot(net))
      -- and what does fit loads, PyTorch's I64 scalar as a 1 x 1 Matrix
      t = zeros()
      t["1.num_batches_tracked"] = nn.Matrix{{7}}
      net:loadStateDict(t)
      assert.are.equal(0, net[1].weight:norm())
   end)

   it("lists every missing and unexpected key, and names a shifted index (nn.Flatten)", function()
      nn.seed(2)
      local ours = nn.Sequential{nn.Conv2d(1, 2, 3, {input = {1, 6, 6}}), nn.ReLU(),
                                 nn.Linear(32, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)}
      local theirs = nn.Sequential{nn.Conv2d(1, 2, 3, {input = {1, 6, 6}}), nn.ReLU(), nn.Flatten(),
                                   nn.Linear(32, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)}
      local before = snapshot(ours)
      local msg = err(ours.loadStateDict, ours, theirs:stateDict())
      has(msg, 'missing: "2.bias", "2.weight", "3.num_batches_tracked"')
      has(msg, 'no tensor for: "4.num_batches_tracked", "4.running_mean", "4.running_var", "5.bias", "5.weight"')
      has(msg, "from \"3.\" on are one index higher than this network's")
      has(msg, "add nn.Flatten() there")
      msg = err(theirs.loadStateDict, theirs, ours:stateDict())
      has(msg, "one index lower than this network's")
      assert.are.same(before, snapshot(ours))
      -- not a shift: no such hint
      local t = ours:stateDict()
      t["4.weight"] = nil
      msg = err(ours.loadStateDict, ours, t)
      has(msg, 'is missing: "4.weight"')
      assert.is_nil(msg:find("index higher", 1, true))
      -- strict = false still lists what it ignored when something is missing
      t["9.x"] = nn.zeros(1, 1)
      msg = err(ours.loadStateDict, ours, t, {strict = false})
      has(msg, 'no tensor for: "9.x"')
   end)
end)

describe("integers past 2^53 in a model file", function()
   -- a registered layer whose config is one integer, serialized, with that
   -- integer's 8 bytes replaced (and the checksum made right)
   local IntCfg = {}
   IntCfg.__index = IntCfg
   nn.register("FmtIntCfg", function(v)
      return setmetatable({typename = "FmtIntCfg", v = v}, IntCfg)
   end)
   function IntCfg:parameters() return {}, {} end
   function IntCfg:config() return {self.v} end
   function IntCfg:forward(x) return x end
   function IntCfg:backward(_, gy) return gy end

   local function withint(bytes)
      local s = nn.serialize(nn.Sequential{setmetatable({typename = "FmtIntCfg", v = 12345}, IntCfg)})
      local at = s:find("\3" .. H.strpack("<i8", 12345), 25, true)
      assert.truthy(at)
      s = s:sub(1, at) .. bytes .. s:sub(at + 9)
      return s:sub(1, 12) .. H.strpack("<I4", require("nn.core").crc32(s, 25)) .. s:sub(17)
   end

   it("load exactly where this Lua holds them, and are refused, never rounded, where it does not", function()
      -- 2^53 itself is exact everywhere
      local ok, net = pcall(nn.deserialize, withint("\0\0\0\0\0\0\32\0"))
      assert.is_true(ok, tostring(net))
      assert.are.equal(2^53, net[1].v)
      for _, c in ipairs{
         {"\1\0\0\0\0\0\32\0", "9007199254740993"},          -- 2^53 + 1
         {"\255\255\255\255\255\255\223\255", "-9007199254740993"},  -- -(2^53 + 1)
         {"\0\0\0\0\0\0\0\64", "4611686018427387904"},       -- 2^62
      } do
         local s = withint(c[1])
         if H.integers then
            net = nn.deserialize(s)
            assert.are.equal(c[2], ("%d"):format(net[1].v))
            assert.are.equal("integer", math.type(net[1].v))
         else
            has(err(nn.deserialize, s), "an integer beyond 2^53, which this Lua cannot hold exactly")
         end
      end
   end)

   it("compat.int64 judges the bytes, not the rounded value", function()
      local compat = require "nn.compat"
      assert.is_true(compat.int64("\0\0\0\0\0\0\32\0", 1) == 2^53)
      assert.is_true(compat.int64("\0\0\0\0\0\0\224\255", 1) == -2^53)
      local v, nxt = compat.int64("x\1\0\0\0\0\0\32\0", 2)
      assert.is_true(nxt == 10)
      if H.integers then
         assert.are.equal("9007199254740993", ("%d"):format(v))
      else
         assert.is_nil(v)
      end
   end)
end)

describe("nn.json, by RFC 8259", function()
   it("nn.json follows RFC 8259: DEL is allowed, controls and bad UTF-8 are not", function()
      assert.are.equal("a\127b", json.decode('"a\127b"'))
      assert.are.equal("\195\169\240\159\152\128", json.decode('"\195\169\\ud83d\\ude00"'))
      assert.are.equal("\0", json.decode('"\\u0000"'))
      local function bad(text, want)
         local v, e = json.decode(text)
         assert.is_nil(v, text)
         has(e, want)
      end
      bad('"a\31"', "byte 2: an unescaped control character (byte 0x1F) in a string")
      bad('"\0"', "byte 1: an unescaped control character (byte 0x00)")
      bad('"\\ud83d"', "a lone surrogate")
      bad('"\\ude00x"', "a lone surrogate")
      bad('"\\x"', "a bad escape")
      bad('"\\u12"', "a bad \\u escape")
      bad('"\255"', "byte 1: the text is not UTF-8")
      bad('"\192\175"', "the text is not UTF-8")                  -- overlong
      bad('"\237\160\128"', "the text is not UTF-8")              -- an encoded surrogate
      bad('"\244\144\128\128"', "the text is not UTF-8")          -- past U+10FFFF
      bad('"\226\130"', "the text is not UTF-8")                  -- cut short
      bad("1e400", "a number beyond the range of a double")
      bad("-1e400", "a number beyond the range of a double")
      bad("01", "trailing characters")
      bad("1.", "trailing characters")
      bad("-", "a malformed number")
      bad(".5", "unexpected character")
      bad("[1,]", "unexpected character")
      assert.are.same({1.5, -0.25, 100, 0}, json.decode("[1.5, -2.5e-1, 1E+2, -0]"))
      -- an integer literal past 64 bits is the nearest double, never a
      -- wrapped or saturated integer
      local v = json.decode("-9223372036854775809")
      assert.are.equal(-2^63, v)
      if H.integers then assert.are.equal("float", math.type(v)) end
      -- and it writes only UTF-8
      has(err(json.encode, {"\255"}), 'json.encode: the string "\255" is not UTF-8 (byte 1)')
   end)

   it("safetensors.decode reads a header with DEL in a name", function()
      local t = nn.safetensors.decode(safetensors("1", 4, "a\127b"))
      assert.are.same({1, 1}, {t["a\127b"]:shape()})
   end)
end)

describe("safetensors names and metadata, which the format's JSON requires to be UTF-8", function()
   it("safetensors.encode refuses a tensor name or metadata that is not UTF-8", function()
      local M = nn.Matrix{{1}}
      has(err(nn.safetensors.encode, {["w\255"] = M}),
         'nn.safetensors.encode: the tensor name "w\255" is not valid UTF-8 (byte 2)')
      has(err(nn.safetensors.encode, {["\192\175"] = M}), "is not valid UTF-8 (byte 1)")   -- overlong '/'
      has(err(nn.safetensors.encode, {["\237\160\128"] = M}), "is not valid UTF-8")       -- a surrogate
      has(err(nn.safetensors.save, os.tmpname(), {w = M}, {metadata = {k = "\255"}}),
         "nn.safetensors.save: metadata \"k\"'s value")
      has(err(nn.safetensors.encode, {w = M}, {metadata = {["\255"] = "v"}}), "the metadata key")
      -- UTF-8 names (and DEL) round-trip
      local t = nn.safetensors.decode(nn.safetensors.encode({["gewicht\195\188\127"] = M}))
      assert.is_true(t["gewicht\195\188\127"]:equal(M))
   end)
end)

describe("a model file whose layers do not fit together", function()
   it("is refused by name, not loaded to fail at its first forward or print", function()
      -- found by the fuzzer: the image seed with BatchNorm2d's saved input
      -- 2 x 3 x 134217731 after a convolution that gives 2 x 3 x 3
      local s = H.read("fuzz/regressions/unchained-batchnorm2d.nn")
      has(err(nn.deserialize, s), "nn.deserialize: the string: the network: cannot build "
         .. "Sequential: nn.Sequential: layer 2 (nn.BatchNorm2d(2)) takes 2x3x134217731 images, "
         .. "gets 2x3x3")
   end)
end)

describe("registered layers in model files", function()
   local Odd = {}
   Odd.__index = Odd
   local mode = "number"
   nn.register("FmtOdd", function(...)
      return setmetatable({typename = "FmtOdd", n = select("#", ...), w = nn.ones(1, 2)}, Odd)
   end)
   function Odd:parameters()
      if mode == "number" then return {5} end
      return {self.w}
   end
   function Odd:config() return {} end
   function Odd:forward(x) return x end
   function Odd:backward(_, gy) return gy end

   local function file(config, extra)
      -- the file a layer with this config would make: written by hand, as
      -- nn.save refuses to write it
      local core = require "nn.core"
      local function enc(v, out)
         if type(v) == "string" then out[#out + 1] = H.strpack("<BI4", 5, #v) .. v
         elseif v == true then out[#out + 1] = "\2"
         elseif nn.isMatrix(v) then
            out[#out + 1] = H.strpack("<BI4I4", 8, v:shape()) .. v:tobytes()
         elseif type(v) == "number" then out[#out + 1] = H.strpack("<Bi8", 3, v)
         elseif v[1] ~= nil or next(v) == nil then
            out[#out + 1] = H.strpack("<BI4", 6, #v)
            for i = 1, #v do enc(v[i], out) end
         else
            local keys = {}
            for k in pairs(v) do keys[#keys + 1] = k end
            table.sort(keys)
            out[#out + 1] = H.strpack("<BI4", 7, #keys)
            for _, k in ipairs(keys) do
               out[#out + 1] = H.strpack("<I4", #k) .. k
               enc(v[k], out)
            end
         end
      end
      local node = {type = "FmtOdd", train = true, config = config, params = extra or {nn.ones(1, 2)}}
      local out = {}
      enc({format = "lua-nn model", net = node}, out)
      local body = table.concat(out)
      return "LUANN\0\26\n" .. H.strpack("<I4I4I8", 2, core.crc32(body), #body) .. body
   end

   it("a parameter that is not a Matrix is named, not 'attempt to index a number'", function()
      mode = "number"
      local msg = err(nn.deserialize, file({}))
      has(msg, "nn.deserialize: the string: the network: FmtOdd's parameters() gave number as parameter 1, not an nn.Matrix")
      mode = "matrix"
      assert.are.equal(0, nn.deserialize(file({})).n)
   end)

   it("a config longer than every Lua can unpack is refused by name, saving and loading", function()
      mode = "matrix"
      -- 5.4 unpacks up to about a million values, 5.1 and LuaJIT about
      -- 8000 (and decode this format in Lua, slowly: 10000 there, and
      -- under a sanitizer or valgrind, where the refusal is the same)
      local n = (H.integers and not H.sanitized) and 1000000 or 10000
      local big = {}
      for i = 1, n do big[i] = 1 end
      local msg = err(nn.deserialize, file(big))
      has(msg, ("nn.deserialize: the string: the network: FmtOdd's config holds %d values, "
         .. "more than the 1000 arguments every Lua can pass to its constructor"):format(n))
      -- what every Lua can pass still loads
      local ok = {}
      for i = 1, 1000 do ok[i] = 1 end
      assert.are.equal(1000, nn.deserialize(file(ok)).n)
      -- and nn.save refuses to write what some Lua could not load
      local layer = nn.deserialize(file({}))
      function layer.config() return big end
      msg = err(nn.serialize, layer)
      has(msg, ("nn.serialize: the network (FmtOdd): config() returns %d values; "):format(n)
         .. "nn.load passes them to the constructor as arguments, and not every Lua can pass more than 1000")
   end)
end)

describe("nn.help on a name it does not know", function()
   local function printed(f)
      local lines = {}
      local real = _G.print                  -- nn.help's print, not busted's sandbox's
      _G.print = function(...)
         local parts = {}
         for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
         lines[#lines + 1] = table.concat(parts, "\t")
      end
      local ok, e = pcall(f)
      _G.print = real
      assert.is_true(ok, tostring(e))
      return table.concat(lines, "\n")
   end

   it("prints that there is no such topic and what exists, and raises nothing", function()
      local out = printed(function() nn.help("x") end)
      has(out, 'nn.help: there is no topic "x".')
      has(out, "These topics exist")
      has(out, "nn.Linear")
      has(out, "nn.loadStateDict")
      out = printed(function() nn.help("state") end)
      has(out, "Names that contain it: nn.stateDict, nn.loadStateDict")
      out = printed(function() nn.help(5) end)
      has(out, "nn.help: 5 is not a function or class of nn")
      -- a name in another case is still found
      has(printed(function() nn.help("linear") end), "nn.Linear(nin, nout")
   end)

   it("is in the README", function()
      local readme = H.read("README.md")
      has(readme, "nn.help()")
      has(readme, 'nn.help "Linear"')
   end)
end)

describe("one isMatrix", function()
   it("is derived in nn.util alone (the charts' files aside)", function()
      local p = io.popen("grep -ln 'getmetatable(core.Matrix\\|getmetatable(nn.Matrix' lua/nn/*.lua")
      local found = {}
      for line in p:lines() do
         if not line:find("/chart%.lua$") and not line:find("/canvas%.lua$")
            and not line:find("/report%.lua$") and not line:find("/plot%.lua$") then
            found[#found + 1] = line
         end
      end
      p:close()
      assert.are.same({"lua/nn/util.lua"}, found)
      assert.are.equal(require("nn.util").isMatrix, nn.isMatrix)
   end)
end)

describe("the README's recipes", function()
   it("lua-nn -> PyTorch: the Python block runs as printed, on python3 and torch alone", function()
      if not H.have_torch() then return pending("python3 with torch is not installed") end
      local readme = H.read("README.md")
      local section = assert(readme:match("\n### Weights to and from NumPy and PyTorch\n(.-)\n### "))
      local recipe = assert(section:match("```python\n(.-)```"), "no Python block in the section")
      -- the Lua block's network and file, saved here
      local lua = assert(section:match("```lua\n(.-)```"))
      assert.truthy(lua:find('nn.Sequential{nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)}', 1, true))
      assert.truthy(lua:find('nn.safetensors.save("mine.safetensors", net:stateDict())', 1, true))
      nn.seed(5)
      local net = nn.Sequential{nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)}
      local dir = H.tmpdir()
      nn.safetensors.save(dir .. "/mine.safetensors", net:stateDict())
      local x = nn.rand(3, 784)
      nn.npy.save(dir .. "/x.npy", x)
      -- the block as printed, then what checks it: no module the block
      -- does not import (numpy is not used; the input is read by hand)
      H.write(dir .. "/recipe.py", recipe .. [[

with open("x.npy", "rb") as f:
    raw = f.read()
at = 10 + struct.unpack("<H", raw[8:10])[0]
x = torch.tensor(struct.unpack("<%df" % (3 * 784), raw[at:])).reshape(3, 784)
with torch.no_grad():
    y = net(x)
print("y", " ".join("%.9g" % v for v in y.flatten().tolist()))
print("keys", " ".join(sorted(net.state_dict())))
]])
      local ok, out = H.run(("cd '%s' && env -u LD_PRELOAD /usr/bin/python3 -I recipe.py"):format(dir))
      assert.is_true(ok, out)
      local want = net:forward(x)
      local got = {}
      for v in assert(out:match("y ([^\n]+)")):gmatch("%S+") do got[#got + 1] = tonumber(v) end
      assert.are.equal(30, #got)
      assert.is_true(H.maxrel(nn.Matrix(3, 10, got), want) < 1e-5, out)
      H.has(out, "keys 0.bias 0.weight 2.bias 2.weight")
      os.execute("rm -rf '" .. dir .. "'")
   end)
end)
