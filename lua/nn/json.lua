-- nn.json: the JSON that safetensors headers are written in (RFC 8259),
-- strict: decode(s) -> value, or nil and a message naming the byte where
-- the text goes wrong; encode(value) for the tables it makes (maps with
-- string keys, written sorted, lists, strings, whole numbers, booleans).
-- JSON null decodes to json.null, so that a key holding it is not lost.
--
-- What RFC 8259 allows is read, and nothing else: the text is UTF-8
-- (overlong forms, surrogates and code points past U+10FFFF refused); in
-- strings, only the characters below U+0020 must be escaped (DEL, 0x7F,
-- may stand as it is); the escapes are \" \\ \/ \b \f \n \r \t and \uXXXX,
-- a surrogate only as a high-low pair (a lone one has no UTF-8 form);
-- numbers are -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)?, an integer
-- where this Lua holds it exactly as written (5.3+: 64-bit; a literal past
-- that is the nearest double, as JSON's numbers are, never a wrapped
-- integer), and one beyond the range of a double is refused.  A repeated
-- key is refused (the RFC leaves its meaning open).  encode refuses a
-- string that is not UTF-8 rather than write text no reader must accept.
local compat = require "nn.compat"

local json = {null = setmetatable({}, {__tostring = function() return "null" end})}

local MAXDEPTH = 64
local escapes = {['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f",
                 n = "\n", r = "\r", t = "\t"}

local function utf8char(c)
   if c < 0x80 then return string.char(c) end
   if c < 0x800 then
      return string.char(0xC0 + math.floor(c / 64), 0x80 + c % 64)
   end
   if c < 0x10000 then
      return string.char(0xE0 + math.floor(c / 4096), 0x80 + math.floor(c / 64) % 64,
         0x80 + c % 64)
   end
   return string.char(0xF0 + math.floor(c / 262144), 0x80 + math.floor(c / 4096) % 64,
      0x80 + math.floor(c / 64) % 64, 0x80 + c % 64)
end

-- where s[i..j] stops being UTF-8 (RFC 3629): nil if it all is, else the
-- position of the first byte of the bad sequence
local function badutf8(s, i, j)
   local byte = string.byte
   i = i or 1
   j = j or #s
   while true do
      i = s:find("[\128-\255]", i)
      if not i or i > j then return nil end
      local c, n, lo, hi = byte(s, i), 0, 0x80, 0xBF
      if c >= 0xC2 and c <= 0xDF then n = 1
      elseif c == 0xE0 then n, lo = 2, 0xA0              -- not overlong
      elseif c == 0xED then n, hi = 2, 0x9F              -- not a surrogate
      elseif c >= 0xE1 and c <= 0xEF then n = 2
      elseif c == 0xF0 then n, lo = 3, 0x90              -- not overlong
      elseif c == 0xF4 then n, hi = 3, 0x8F              -- not past U+10FFFF
      elseif c >= 0xF1 and c <= 0xF3 then n = 3
      else return i end
      if i + n > j then return i end
      local c2 = byte(s, i + 1)
      if c2 < lo or c2 > hi then return i end
      for k = i + 2, i + n do
         local ck = byte(s, k)
         if ck < 0x80 or ck > 0xBF then return i end
      end
      i = i + n + 1
   end
end

-- json.isutf8(s) -> true, or false and the 1-based byte where it stops
-- being UTF-8
function json.isutf8(s)
   local at = badutf8(s)
   if at then return false, at end
   return true
end

-- decodes the value at pos; fail(msg, pos) raises
local function value(s, pos, depth, fail)
   pos = s:find("[^ \t\r\n]", pos) or #s + 1
   if depth > MAXDEPTH then fail("values nest too deeply", pos) end
   local c = s:sub(pos, pos)
   if c == "{" or c == "[" then
      local t, close, n = {}, c == "{" and "}" or "]", 0
      pos = s:find("[^ \t\r\n]", pos + 1) or #s + 1
      if s:sub(pos, pos) == close then return t, pos + 1 end
      while true do
         local k
         if close == "}" then
            if s:sub(pos, pos) ~= '"' then fail("expected a string key", pos) end
            k, pos = value(s, pos, depth + 1, fail)
            pos = s:find("[^ \t\r\n]", pos) or #s + 1
            if s:sub(pos, pos) ~= ":" then fail("expected ':'", pos) end
            if t[k] ~= nil then fail(("the key %q appears twice"):format(k), pos) end
            t[k], pos = value(s, pos + 1, depth + 1, fail)
         else
            n = n + 1
            t[n], pos = value(s, pos, depth + 1, fail)
         end
         pos = s:find("[^ \t\r\n]", pos) or #s + 1
         local d = s:sub(pos, pos)
         if d == close then return t, pos + 1 end
         if d ~= "," then fail("expected ',' or '" .. close .. "'", pos) end
         pos = s:find("[^ \t\r\n]", pos + 1) or #s + 1
      end
   elseif c == '"' then
      local parts, i = {}, pos + 1
      while true do
         -- the string's end, an escape, or a byte below 0x20 (%z: 5.1's NUL)
         local j = s:find('["\\%z\1-\31]', i)
         if not j then fail("the string does not end", pos) end
         parts[#parts + 1] = s:sub(i, j - 1)
         local d = s:sub(j, j)
         if d == '"' then return table.concat(parts), j + 1 end
         if d ~= "\\" then
            fail(("an unescaped control character (byte 0x%02X) in a string"):format(d:byte()), j)
         end
         local e = s:sub(j + 1, j + 1)
         if escapes[e] then
            parts[#parts + 1] = escapes[e]
            i = j + 2
         elseif e == "u" then
            local hex = s:match("^%x%x%x%x", j + 2)
            if not hex then fail("a bad \\u escape", j) end
            local code = tonumber(hex, 16)
            i = j + 6
            if code >= 0xD800 and code < 0xDC00 then       -- a surrogate pair
               local lo = s:match("^\\u(%x%x%x%x)", i)
               lo = lo and tonumber(lo, 16)
               if not lo or lo < 0xDC00 or lo > 0xDFFF then fail("a lone surrogate", j) end
               code = 0x10000 + (code - 0xD800) * 1024 + (lo - 0xDC00)
               i = i + 6
            elseif code >= 0xDC00 and code <= 0xDFFF then
               fail("a lone surrogate", j)
            end
            parts[#parts + 1] = utf8char(code)
         else
            fail("a bad escape", j)
         end
      end
   end
   -- -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)?
   local i = pos + (c == "-" and 1 or 0)
   local int = s:match("^0", i) or s:match("^[1-9]%d*", i)
   if int then
      i = i + #int
      local frac = s:match("^%.%d+", i)
      i = i + (frac and #frac or 0)
      local exp = s:match("^[eE][-+]?%d+", i)
      i = i + (exp and #exp or 0)
      -- tonumber gives an integer for an integer literal that fits in 64
      -- bits (5.3+), else the nearest double: never a wrapped or rounded
      -- integer (-9223372036854775809 is not math.mininteger)
      local n = tonumber(s:sub(pos, i - 1))
      if n == math.huge or n == -math.huge then
         fail("a number beyond the range of a double", pos)
      end
      return n, i
   end
   if c == "-" then fail("a malformed number", pos) end
   for word, v in pairs{["true"] = true, ["false"] = false, null = json.null} do
      if s:sub(pos, pos + #word - 1) == word then return v, pos + #word end
   end
   fail(pos > #s and "the text ends early" or "unexpected character", pos)
end

-- json.decode(s) -> the value, or nil and "byte N: what is wrong"
function json.decode(s)
   if type(s) ~= "string" then return nil, "expected a string, got " .. type(s) end
   local bad = badutf8(s)                -- once, for the whole text
   if bad then return nil, ("byte %d: the text is not UTF-8"):format(bad - 1) end
   local ok, v, pos = pcall(value, s, 1, 1, function(msg, at)
      error({msg = ("byte %d: %s"):format(at - 1, msg)})
   end)
   if not ok then
      if type(v) == "table" then return nil, v.msg end
      error(v, 0)
   end
   pos = s:find("[^ \t\r\n]", pos)
   if pos then return nil, ("byte %d: trailing characters after the value"):format(pos - 1) end
   return v
end

local function quote(str)
   local bad = badutf8(str)
   if bad then
      error(("json.encode: the string %q is not UTF-8 (byte %d)"):format(str, bad), 0)
   end
   return '"' .. str:gsub('[%c"\\]', function(c)
      for k, v in pairs(escapes) do
         if v == c and k ~= "/" then return "\\" .. k end
      end
      return ("\\u%04x"):format(c:byte())
   end) .. '"'
end

-- json.encode(v): maps (string keys, sorted) and lists of strings, whole
-- numbers and booleans
function json.encode(v)
   local t = type(v)
   if t == "string" then return quote(v) end
   if t == "boolean" then return tostring(v) end
   if t == "number" then
      local i = compat.toint(v)
      if not i then error("json.encode: " .. v .. " is not a whole number", 2) end
      return ("%d"):format(i)
   end
   if t ~= "table" then error("json.encode: cannot write a " .. t, 2) end
   if v[1] ~= nil or next(v) == nil then
      local parts = {}
      for i = 1, #v do parts[i] = json.encode(v[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
   end
   local keys = {}
   for k in pairs(v) do keys[#keys + 1] = k end
   table.sort(keys)
   local parts = {}
   for i, k in ipairs(keys) do parts[i] = quote(k) .. ":" .. json.encode(v[k]) end
   return "{" .. table.concat(parts, ",") .. "}"
end

return json
