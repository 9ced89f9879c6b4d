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
