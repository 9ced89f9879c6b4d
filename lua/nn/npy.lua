-- nn.npy: NumPy's .npy files (format versions 1.0 to 3.0) to and from
-- nn.Matrix.  A 2-D array is a Matrix of its shape, a 1-D array of n a 1 x
-- n row, a 0-D array 1 x 1.  float32 and float64, float16, and signed and
-- unsigned integers (and bool) are read, in either byte order, and become
-- float32; Fortran (column-major) order is converted.  save writes float32,
-- little-endian, C order.  Every size in a file is checked against the
-- bytes present before anything is allocated.
--   npy.load(path) -> Matrix          npy.save(path, M [, {shape = {n}}])
--   npy.decode(s) -> Matrix           npy.encode(M [, opts]) -> bytes
local core = require "nn.core"
local compat = require "nn.compat"
local util = require "nn.util"

local npy = {}

local MAGIC = "\147NUMPY"

-- the header, a Python dict literal:
--   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
local function parseheader(h, fail)
   local body = h:match("^%s*{(.*)}%s*$")
   if not body then fail("the header is not a Python dict") end
   local fields, pos = {}, 1
   while true do
      pos = body:find("%S", pos)
      if not pos then break end
      local key, at = body:match("^'([%w_]+)'%s*:%s*()", pos)
      if not key then fail(("the header is malformed at %q"):format(body:sub(pos, pos + 15))) end
      if fields[key] ~= nil then fail(("the header names '%s' twice"):format(key)) end
      local v, nxt = body:match("^'([^']*)'()", at)
      if not v then
         local word, e = body:match("^(%a+)()", at)
         if word == "True" or word == "False" then
            v, nxt = word == "True", e
         else
            local tuple, e2 = body:match("^(%b())()", at)
            if body:sub(at, at) == "[" then
               fail(("the header's '%s' is a list: a structured array, which lua-nn does not read"):format(key))
            end
            if not tuple then fail(("the header's '%s' is not a string, a boolean or a tuple"):format(key)) end
            local dims, inner = {}, tuple:sub(2, -2):gsub("%s", "")
            if inner ~= "" then
               if inner:sub(-1) ~= "," then inner = inner .. "," end
               for d in inner:gmatch("([^,]*),") do
                  d = d:gsub("L$", "")                 -- Python 2 longs: (3L, 4L)
                  if not d:match("^%d+$") then fail(("the shape %s is not whole numbers"):format(tuple)) end
                  -- any number of digits: a size past 2^63 reads as a
                  -- float, and is too large, not malformed
                  dims[#dims + 1] = tonumber(d)
               end
            end
            v, nxt = dims, e2
         end
      end
      fields[key] = v
      pos = body:find("%S", nxt)
      if pos and body:sub(pos, pos) ~= "," then fail("the header's entries are not separated by commas") end
      pos = pos and pos + 1 or #body + 1
   end
   for k in pairs(fields) do
      if k ~= "descr" and k ~= "fortran_order" and k ~= "shape" then
         fail(("the header has an unknown key '%s'"):format(k))
      end
   end
   if type(fields.descr) ~= "string" then fail("the header's descr is not a simple type (a structured array?)") end
   if type(fields.fortran_order) ~= "boolean" then fail("the header's fortran_order is not True or False") end
   if type(fields.shape) ~= "table" then fail("the header's shape is not a tuple") end
   return fields
end

-- NumPy's type codes to Matrix.fromdata's; bool is one byte of 0 or 1
local function datatype(descr, fail)
   local order, kind, width = descr:match("^([<>|=])([fiub])(%d+)$")
   width = tonumber(width)
   if kind == "b" and width == 1 then return "|u1", 1 end
   if not order or kind == "b" or not (width == 1 or width == 2 or width == 4 or width == 8)
      or (kind == "f" and width == 1) then
      fail(("the element type '%s' is not one lua-nn reads (float16/32/64, int and uint "
         .. "of 1 to 8 bytes, bool)"):format(descr))
   end
   return order .. kind .. width, width
end

-- the array in s as a Matrix; errors "fn: source: ..."
local function decode(s, fn, source)
   local function fail(msg)
      error(("%s: %s%s"):format(fn, source and source .. ": " or "", msg), 0)
   end
   if #s < 10 or s:sub(1, 6) ~= MAGIC then fail("not an .npy file (bad magic)") end
   local major = s:byte(7)
   local hlen, start
   if major == 1 then
      hlen, start = compat.strunpack("<I2", s, 9), 11
   elseif major == 2 or major == 3 then
      if #s < 12 then fail("the file ends inside its preamble") end
      hlen, start = compat.strunpack("<I4", s, 9), 13
   else
      fail(("format version %d.%d is not one lua-nn reads (1.0 to 3.0)"):format(major, s:byte(8)))
   end
   if hlen > #s - start + 1 then
      fail(("the header declares %d bytes, the file has %d after the preamble"):format(hlen, #s - start + 1))
   end
   local h = parseheader(s:sub(start, start + hlen - 1), fail)
   local dtype, width = datatype(h.descr, fail)
   -- the shape's size first, checked as it multiplies (it must not wrap)
   local dims = h.shape
   local count, why = util.numel(dims)
   if not count then fail(("the shape %s %s"):format(util.shapestr(dims), why)) end
   if #dims > 2 then
      fail(("the array has %d dimensions; lua-nn reads 1-D and 2-D arrays"):format(#dims))
   end
   if count == 0 then fail("the array is empty (a Matrix has at least one element)") end
   local rows = #dims == 2 and dims[1] or 1
   local cols = #dims == 0 and 1 or dims[#dims]
   local off = start - 1 + hlen
   if #s - off ~= count * width then
      fail(("a %d x %d array of '%s' takes %d bytes, the file has %d"):format(rows, cols,
         h.descr, count * width, #s - off))
   end
   if h.fortran_order and #dims == 2 then      -- column by column: read the transpose
      return core.Matrix.fromdata(s, cols, rows, off, dtype):t()
   end
   return core.Matrix.fromdata(s, rows, cols, off, dtype)
end

-- npy.decode(s [, source]) -> the array in s (an .npy file's bytes) as a Matrix
function npy.decode(s, source)
   if type(s) ~= "string" then error("nn.npy.decode: expected a string, got " .. type(s), 2) end
   return decode(s, "nn.npy.decode", source and tostring(source))
end

-- the bytes of an .npy file; errors "fn: ..."
local function encode(fn, M, opts)
   if not util.isMatrix(M) then
      error(("%s: expected an nn.Matrix, got %s"):format(fn, type(M)), 0)
   end
   local r, c = M:shape()
   local shape = opts and opts.shape or {r, c}
   if type(shape) ~= "table" or (#shape ~= 1 and #shape ~= 2) then
      error(fn .. ": shape must be {n} or {rows, cols}", 0)
   end
   -- checked as it multiplies: {3, 6148914691236517206} is 2 in 64 bits
   local n, why = util.numel(shape)
   if not n then error(("%s: shape %s %s"):format(fn, util.shapestr(shape), why), 0) end
   if n == 0 then
      error(("%s: shape %s must hold positive whole numbers"):format(fn, util.shapestr(shape)), 0)
   end
   if n ~= r * c then
      error(("%s: shape %s has %d elements, the matrix %d"):format(fn, util.shapestr(shape), n, r * c), 0)
   end
   local dict = ("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }"):format(util.shapestr(shape))
   -- padded with spaces to a multiple of 64 bytes, preamble included, then \n
   local total = 10 + #dict + 1
   dict = dict .. (" "):rep((64 - total % 64) % 64) .. "\n"
   return MAGIC .. "\1\0" .. compat.strpack("<I2", #dict) .. dict .. M:tobytes()
end

-- npy.encode(M [, {shape = {n} | {r, c}}]) -> the bytes of an .npy file
-- (version 1.0, '<f4', C order); shape {n} writes a 1-D array
function npy.encode(M, opts)
   local ok, s = pcall(encode, "nn.npy.encode", M, opts)
   if not ok then error(s, 2) end
   return s
end

-- npy.load(path) -> Matrix
function npy.load(path)
   return decode(util.read("nn.npy.load", path), "nn.npy.load", path)
end

-- npy.save(path, M [, opts]): written atomically, as model files are
function npy.save(path, M, opts)
   local ok, s = pcall(encode, "nn.npy.save", M, opts)
   if not ok then error(s, 2) end
   return util.write("nn.npy.save", path, s)
end

return npy
