-- nn.util: what several of nn's Lua modules share, so that each is said
-- once: the Matrix test, the size of a shape (checked before it can wrap),
-- and reading and writing a whole file with errors that name the caller.
-- Internal: `require "nn"` exports isMatrix as nn.isMatrix.
local core = require "nn.core"

local util = {}

local floor = math.floor
local mtype = math.type

-- the most elements a Matrix holds (the core's NN_MAXELEMS)
util.MAXELEMS = 2147483647

local matrix_mt = getmetatable(core.Matrix(1, 1))

-- isMatrix(x): is x an nn.Matrix?
function util.isMatrix(x)
   return getmetatable(x) == matrix_mt
end

-- isdim(d): d is a whole number >= 0.  An integral float counts on Lua 5.1,
-- 5.2 and LuaJIT, which have no integers, and everywhere from 2^53 on,
-- where a JSON reader gives floats: such a size is too large, not a fraction.
function util.isdim(d)
   if type(d) ~= "number" or d ~= d or d < 0 or d == math.huge or d ~= floor(d) then
      return false
   end
   return mtype == nil or mtype(d) == "integer" or d >= 2^53
end

-- shapestr(shape) -> "(1, 3, 6148914691236517206)", whatever its entries
function util.shapestr(shape)
   local parts = {}
   for i, d in ipairs(shape) do
      if type(d) == "number" and d == floor(d) and (mtype == nil or mtype(d) == "float")
         and d > -2^63 and d < 2^63 then
         parts[i] = ("%.0f"):format(d)   -- 3, not 3.0; 1e20 as its digits
      else
         parts[i] = tostring(d)
      end
   end
   return "(" .. table.concat(parts, ", ") .. (#parts == 1 and ",)" or ")")
end

-- numel(shape) -> the product of the dimensions (1 for no dimensions), or
-- nil and what is wrong: a dimension that is not a whole number >= 0, or a
-- product past MAXELEMS.  Each factor is checked before it multiplies, so
-- the product never wraps (3 x 6148914691236517206 is 2 in 64 bits).  A
-- zero dimension gives 0 whatever the others are.
function util.numel(shape)
   if type(shape) ~= "table" then return nil, "is not a list" end
   local n = 0
   for _ in pairs(shape) do n = n + 1 end
   for i = 1, n do
      if not util.isdim(shape[i]) then return nil, "is not a list of whole numbers >= 0" end
   end
   for i = 1, n do
      if shape[i] == 0 then return 0 end
   end
   local count = 1
   for i = 1, n do
      if shape[i] > util.MAXELEMS / count then
         return nil, ("has more than %d elements"):format(util.MAXELEMS)
      end
      count = count * shape[i]
   end
   return count
end

-- Inside LÖVE (a global love with love.filesystem, looked up at each
-- call), a relative path names a file of the game's filesystem: read with
-- love.filesystem (the save directory first, then the game, a .love
-- included), written into the save directory.  An absolute path ("/...",
-- "\\...", "C:...") is a real file everywhere, read and written by the C
-- core.  Outside LÖVE every path is a real file.
local function lovefs(path)
   local love = rawget(_G, "love")
   if type(love) ~= "table" or type(love.filesystem) ~= "table" then return nil end
   if path:find("^[/\\]") or path:find("^%a:") then return nil end
   return love.filesystem
end

-- what a relative path means inside LÖVE, for the messages
local LOVEPATHS = "a relative path inside LÖVE names a file of love.filesystem "
   .. "(the save directory, then the game); an absolute path, any other file"

-- read(fn, path [, max]) -> the bytes of the regular file at path (at most
-- max); an error "fn: ..." at the caller of fn otherwise
function util.read(fn, path, max)
   if type(path) ~= "string" then
      error(("%s: path must be a string, got %s"):format(fn, type(path)), 3)
   end
   local fs = lovefs(path)
   if fs then
      local info = fs.getInfo(path)
      if not info then
         error(("%s: cannot open %s: no such file in LÖVE's save directory or the game (%s)")
            :format(fn, path, LOVEPATHS), 3)
      end
      if info.type ~= "file" then
         error(("%s: cannot read %s: it is a %s in LÖVE's filesystem, not a file")
            :format(fn, path, tostring(info.type)), 3)
      end
      local s, err = fs.read(path, max)
      if type(s) ~= "string" then
         error(("%s: cannot read %s: %s"):format(fn, path, tostring(err)), 3)
      end
      return s
   end
   local s, err = core.readfile(path, max, true)
   if not s then error(fn .. ": " .. err, 3) end
   return s
end

-- write(fn, path, bytes): atomically (core.writefile); an error "fn: ..."
-- at the caller of fn if it cannot.  Inside LÖVE a relative path goes into
-- the save directory, through the same atomic writer (love.filesystem.write
-- truncates the old file first): createDirectory("") makes the save
-- directory if the game has not written there yet.
function util.write(fn, path, bytes)
   if type(path) ~= "string" then
      error(("%s: path must be a string, got %s"):format(fn, type(path)), 3)
   end
   local fs = lovefs(path)
   local real = path
   if fs then
      if not fs.createDirectory("") then
         error(("%s: cannot write %s: LÖVE's save directory %s cannot be made")
            :format(fn, path, tostring(fs.getSaveDirectory())), 3)
      end
      real = fs.getSaveDirectory() .. "/" .. path
   end
   local ok, err = core.writefile(real, bytes)
   if not ok then error(fn .. ": " .. err, 3) end
   return true
end

return util
