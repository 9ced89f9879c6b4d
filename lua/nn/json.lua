-- nn.json: the JSON that safetensors headers are written in (RFC 8259),
-- strict: decode(s) -> value, or nil and a message naming the byte where
-- the text goes wrong; encode(value) for the tables it makes (maps with
-- string keys, written sorted, lists, strings, whole numbers, booleans).
-- JSON null decodes to json.null, so that a key holding it is not lost.
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
         local j = s:find('["\\%c]', i)
         if not j then fail("the string does not end", pos) end
         parts[#parts + 1] = s:sub(i, j - 1)
         local d = s:sub(j, j)
         if d == '"' then return table.concat(parts), j + 1 end
         if d ~= "\\" then fail("a control character in a string", j) end
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
      local n = tonumber(s:sub(pos, i - 1))
      -- a whole number written without a fraction or exponent is an
      -- integer, where this Lua can hold it exactly
      if not frac and not exp then n = compat.toint(n) or n end
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
