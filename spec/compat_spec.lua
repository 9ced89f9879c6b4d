-- nn.compat: the Lua half's version shims.  On 5.3 and 5.4 the fallbacks
-- that 5.1, 5.2 and LuaJIT use are loaded too (with string.pack hidden)
-- and checked against the built-in string.pack byte for byte.
local nn = require "nn"
local compat = require "nn.compat"
local H = require "helpers"

-- the fallback module, whatever this Lua is
local function fallback()
   local pack, mtype, saved = string.pack, math.type, package.loaded["nn.compat"]
   string.pack, math.type = nil, nil
   package.loaded["nn.compat"] = nil
   local ok, fb = pcall(require, "nn.compat")
   string.pack, math.type = pack, mtype
   package.loaded["nn.compat"] = saved
   assert(ok, fb)
   return fb
end

-- -0.0 made at run time: Lua 5.1 folds the literal -0.0 into 0
local NZ = -1 / math.huge

describe("nn.compat", function()
   local fb = fallback()

   it("packs the formats lua-nn uses as string.pack does", function()
      local cases = {
         {">I4", 0}, {">I4", 0x803}, {">I4", 4294967295}, {"<I4", 123456789},
         {"<I8", 0}, {"<I8", 2^40 + 7}, {"<i8", -1}, {"<i8", -2^53}, {"<i8", 2^53},
         {"<i8", 123}, {"<d", 0.1}, {"<d", NZ}, {"<d", 1 / 0}, {"<d", 2^-1074},
         {"<Bs4", 5, "hello"}, {"<Bs4", 5, ""}, {"<BI4I4", 8, 3, 4},
         {"<c8I4I4I8", "LUANN\0\26\n", 1, 0xdeadbeef, 99},
         {">I4I4BBBBB", 28, 28, 8, 0, 0, 0, 0}, {"<I2", 65535}, {">I2", 258},
      }
      for _, c in ipairs(cases) do
         local fmt = c[1]
         local s = fb.strpack(fmt, (table.unpack or unpack)(c, 2))
         if string.pack then
            local want = string.pack(fmt, (table.unpack or unpack)(c, 2))
            if math.type(c[2]) == "float" and fmt:find("i8") then
               want = string.pack(fmt, math.tointeger(c[2]))
            end
            assert.are.equal(want, s, fmt)
         end
         local back = {fb.strunpack(fmt, s)}
         assert.are.equal(#s + 1, back[#back], fmt)
         for k = 2, #c do
            local v, w = back[k - 1], c[k]
            assert.is_true(v == w or (v ~= v and w ~= w), fmt .. ": " .. tostring(v))
         end
      end
      -- -0.0 keeps its sign through "<d"
      assert.are.equal(-1 / 0, 1 / fb.strunpack("<d", fb.strpack("<d", NZ)))
   end)

   it("refuses what it cannot do, naming it", function()
      H.has(H.err(fb.strpack, ">I3", 1), "unsupported format item 'I3'")
      H.has(H.err(fb.strpack, "<I2", 65536), "out of range")
      H.has(H.err(fb.strpack, "<I4", -1), "out of range")
      H.has(H.err(fb.strpack, "<I4", 2^32), "out of range")
      H.has(H.err(fb.strunpack, "<I4", "abc"), "data string too short")
      H.has(H.err(fb.strunpack, "<s4", "\5\0\0\0abc"), "data string too short")
      -- an 8-byte integer past 2^53 unpacks rounded, and isint says so
      local big = fb.strunpack("<I8", "\1\0\0\0\0\0\64\0")   -- 2^54 + 1
      assert.is_false(fb.isint(big))
   end)

   it("isint and toint: integers, as this Lua has them", function()
      assert.is_true(compat.isint(3))
      assert.is_false(compat.isint(3.5))
      assert.is_false(compat.isint("3"))
      assert.are.equal(3, compat.toint(3.0))
      assert.is_nil(compat.toint(0 / 0))
      assert.is_nil(compat.toint(1 / 0))
      -- no integer subtype before 5.3: 3.0 is the integer 3 there
      assert.are.equal(not H.integers, compat.isint(3.0))
      assert.is_true(fb.isint(3.0))
      assert.is_false(fb.isint(2^53 + 2))
      assert.is_false(fb.isint(NZ))
      assert.are.equal(2, compat.log10(100))
   end)

   it("model files keep integers and floats apart on every Lua", function()
      local net = nn.Sequential{nn.Linear(2, 3), nn.LeakyReLU(0.25)}
      local back = nn.deserialize(nn.serialize(net))
      assert.are.equal(0.25, back[2]:config()[1])
      assert.are.equal(3, back[1]:config()[2])
   end)
end)
