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
