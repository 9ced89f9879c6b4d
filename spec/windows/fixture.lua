-- The fixture's format, shared by record.lua (Linux) and run.lua
-- (Windows): values written as Lua source that makes them again.  A
-- Matrix is M(rows, cols, "hex"), its little-endian float32 bytes in hex
-- (exact, and no limit on a function's constants is reached); a number
-- has 17 significant digits (exact for a double); a string that is not
-- plain text is H"hex" (the file holds no control or high bytes, so it
-- reads the same in text or binary mode); NaN and the infinities are 0/0,
-- 1/0 and -1/0.
local fixture = {}

local function num(x)
   if x ~= x then return "0/0" end
   if x == 1 / 0 then return "1/0" end
   if x == -1 / 0 then return "-1/0" end
   if x == 0 and 1 / x < 0 then return "-0.0" end
   return ("%.17g"):format(x)
end

local function hex(s)
   return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

function fixture.unhex(h)
   return (h:gsub("%x%x", function(b) return string.char(tonumber(b, 16)) end))
end

-- the source of v: a number, string, boolean, nil, Matrix, or a table of
-- them (keys strings or numbers)
function fixture.encode(v, isMatrix)
   local t = type(v)
   if t == "number" then return num(v) end
   if t == "boolean" or t == "nil" then return tostring(v) end
   if t == "string" then
      if v:find("^[%w%p ]*$") then return ("%q"):format(v) end
      return ("H%q"):format(hex(v))
   end
   if isMatrix(v) then
      local r, c = v:shape()
      return ("M(%d, %d, %q)"):format(r, c, hex(v:tobytes()))
   end
   if t == "table" then
      local out, n = {}, 0
      for i = 1, math.huge do
         if v[i] == nil then break end
         out[#out + 1] = fixture.encode(v[i], isMatrix)
         n = i
      end
      local keys = {}
      for k in pairs(v) do
         if not (type(k) == "number" and k >= 1 and k <= n and k % 1 == 0) then
            keys[#keys + 1] = k
         end
      end
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      for _, k in ipairs(keys) do
         local key = type(k) == "string" and k:find("^[%a_][%w_]*$") and k
            or "[" .. fixture.encode(k, isMatrix) .. "]"
         out[#out + 1] = key .. " = " .. fixture.encode(v[k], isMatrix)
      end
      return "{" .. table.concat(out, ",\n") .. "}"
   end
   error("fixture.encode: cannot write a " .. t)
end

-- the value a fixture file holds, given nn to make its matrices
function fixture.load(path, nn)
   local f = assert(io.open(path, "rb"))
   local src = f:read("*a")
   f:close()
   local chunk = assert((loadstring or load)(src, "=fixture"))
   local make = chunk()
   local function M(r, c, h) return nn.Matrix.fromfloats(fixture.unhex(h), r, c) end
   return make(M, fixture.unhex)
end

return fixture
