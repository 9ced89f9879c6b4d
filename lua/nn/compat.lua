-- nn.compat: the one place where the Lua half meets Lua versions.
--
-- lua-nn's Lua code is written for Lua 5.4; this gives Lua 5.1, 5.2 and
-- LuaJIT what it uses of 5.3 and 5.4: integer tests, string.pack and string.unpack as
-- strpack and strunpack, for the formats the model files, PNG and IDX use, and
-- table.unpack.  On 5.3 and 5.4 every function here is the built-in one,
-- so nothing changes there.
--
-- What no fallback can make equal: 5.1, 5.2 and LuaJIT have no integer
-- subtype, so there an integral float (3.0) is an integer (isint(3.0) is
-- true), and integers are exact only up to 2^53.
local core = require "nn.core"

local compat = {}

local floor, huge = math.floor, math.huge
local native = string.pack ~= nil and math.type ~= nil

compat.unpack = table.unpack or unpack

-- isint(v): v is an integer (5.3+: of integer subtype)
-- toint(v): v as an integer if it has an exact integer value, else nil
if native then
   local mtype, tointeger = math.type, math.tointeger
   function compat.isint(v) return mtype(v) == "integer" end
   function compat.toint(v) return type(v) == "number" and tointeger(v) or nil end
else
   local LIMIT = 2^53
   local function isint(v)
      return type(v) == "number" and v == floor(v) and v >= -LIMIT and v <= LIMIT
         and (v ~= 0 or 1 / v > 0)           -- -0.0 stays a float
   end
   compat.isint = isint
   function compat.toint(v)
      if type(v) == "number" and v == floor(v) and v >= -LIMIT and v <= LIMIT then
         return v == 0 and 0 or v          -- -0.0 becomes 0
      end
      return nil
   end
end

-- log10(v): base-10 logarithm (5.1 has math.log10 and no base argument)
compat.log10 = math.log10 or function(v) return math.log(v, 10) end

-- int64(s, pos) -> the little-endian signed 8-byte integer at pos, and the
-- position after it; nil (and that position) when this Lua cannot hold it
-- exactly: 5.1, 5.2 and LuaJIT beyond 2^53, judged on the bytes themselves
-- (strunpack's result is already rounded there: 2^53 + 1 reads as 2^53)
if native then
   compat.strpack, compat.strunpack = string.pack, string.unpack
   function compat.int64(s, pos)
      return string.unpack("<i8", s, pos)
   end
   return compat
end

-- ---- string.pack / string.unpack for Lua 5.1, 5.2 and LuaJIT -----------
-- The formats used: "<" and ">" (endianness), "B", "I4", "I8", "i8", "d"
-- (little-endian only), "s4" and "cN".  Integers are exact to 2^53; an
-- 8-byte one past that unpacks rounded, to a float that may look whole and
-- in range (2^53 + 1 gives 2^53): where the exact value matters, read it
-- with compat.int64, which checks the bytes.

local char, byte = string.char, string.byte
local TWO32 = 2^32

-- the n-byte little-endian digits of 0 <= v < 256^n
local function uint(v, n, big, what)
   if type(v) ~= "number" or v ~= floor(v) or v < 0 or v >= 256^n then
      error(("bad argument to 'pack' (%s out of range)"):format(what), 3)
   end
   local t = {}
   for i = 1, n do
      t[i] = v % 256
      v = floor(v / 256)
   end
   if big then
      for i = 1, floor(n / 2) do t[i], t[n + 1 - i] = t[n + 1 - i], t[i] end
   end
   return char(compat.unpack(t))
end

local function readuint(s, pos, n, big)
   if pos < 1 or pos + n - 1 > #s then
      error("bad argument to 'unpack' (data string too short)", 3)
   end
   local v = 0
   for i = 0, n - 1 do
      local b = big and byte(s, pos + i) or byte(s, pos + n - 1 - i)
      v = v * 256 + b
   end
   return v
end

-- each format item: its letters, then what it packs and unpacks
local function items(fmt)
   local list, i, big = {}, 1, false
   while i <= #fmt do
      local c = fmt:sub(i, i)
      if c == "<" then big = false; i = i + 1
      elseif c == ">" then big = true; i = i + 1
      else
         local n = fmt:match("^%d+", i + 1)
         if (c == "I" or c == "i" or c == "s" or c == "c") and not n then
            error(("nn.compat: format '%s' needs a size"):format(fmt), 3)
         end
         n = tonumber(n)
         if not (c == "B" or c == "d" or (c == "I" and (n == 2 or n == 4 or n == 8))
                 or (c == "i" and n == 8) or (c == "s" and n == 4) or c == "c") then
            error(("nn.compat: unsupported format item '%s%s'"):format(c, n or ""), 3)
         end
         if c == "d" and big then error("nn.compat: 'd' is little-endian only", 3) end
         list[#list + 1] = {c, n, big}
         i = i + 1 + (n and #tostring(n) or 0)
      end
   end
   return list
end

function compat.int64(s, pos)
   pos = pos or 1
   local lo = readuint(s, pos, 4, false)
   local hi = readuint(s, pos + 4, 4, false)
   if hi >= 2^31 then hi = hi - TWO32 end
   -- |v| <= 2^53: hi in [-2^21, 2^21), or hi = 2^21 with lo = 0
   if hi < -2^21 or hi > 2^21 or (hi == 2^21 and lo ~= 0) then return nil, pos + 8 end
   return hi * TWO32 + lo, pos + 8
end

function compat.strpack(fmt, ...)
   local out = {}
   for k, it in ipairs(items(fmt)) do
      local c, n, big, v = it[1], it[2], it[3], select(k, ...)
      if c == "B" then out[k] = uint(v, 1, big, "unsigned byte")
      elseif c == "I" then out[k] = uint(v, n, big, "unsigned integer")
      elseif c == "i" then
         if type(v) ~= "number" or not compat.isint(v) then
            error("bad argument to 'pack' (number has no integer representation)", 2)
         end
         local hi = floor(v / TWO32)
         local lo = v - hi * TWO32
         if hi < 0 then hi = hi + TWO32 end
         out[k] = big and uint(hi, 4, true, "") .. uint(lo, 4, true, "")
            or uint(lo, 4, false, "") .. uint(hi, 4, false, "")
      elseif c == "d" then out[k] = core.packdouble(v)
      elseif c == "s" then
         if type(v) ~= "string" then error("bad argument to 'pack' (string expected)", 2) end
         out[k] = uint(#v, n, big, "string length") .. v
      else
         if type(v) ~= "string" or #v > n then
            error("bad argument to 'pack' (string longer than given size)", 2)
         end
         out[k] = v .. ("\0"):rep(n - #v)
      end
   end
   return table.concat(out)
end

function compat.strunpack(fmt, s, pos)
   pos = pos or 1
   local vals = {}
   for k, it in ipairs(items(fmt)) do
      local c, n, big = it[1], it[2], it[3]
      if c == "B" then vals[k] = readuint(s, pos, 1, big); pos = pos + 1
      elseif c == "I" or c == "i" then
         local lo, hi
         if n <= 4 then vals[k] = readuint(s, pos, n, big)
         else
            lo = readuint(s, big and pos + 4 or pos, 4, big)
            hi = readuint(s, big and pos or pos + 4, 4, big)
            if c == "i" and hi >= 2^31 then hi = hi - TWO32 end
            vals[k] = hi * TWO32 + lo       -- rounded beyond 2^53: callers check
         end
         pos = pos + n
      elseif c == "d" then
         if pos < 1 or pos + 7 > #s then
            error("bad argument to 'unpack' (data string too short)", 2)
         end
         vals[k] = core.unpackdouble(s, pos); pos = pos + 8
      elseif c == "s" then
         local len = readuint(s, pos, n, big)
         if pos + n + len - 1 > #s then
            error("bad argument to 'unpack' (data string too short)", 2)
         end
         vals[k] = s:sub(pos + n, pos + n + len - 1); pos = pos + n + len
      else
         if pos + n - 1 > #s then error("bad argument to 'unpack' (data string too short)", 2) end
         vals[k] = s:sub(pos, pos + n - 1); pos = pos + n
      end
   end
   vals[#vals + 1] = pos
   return compat.unpack(vals)
end

return compat
