-- nn.safetensors: the weight files of the PyTorch ecosystem: an 8-byte
-- little-endian header length N, N bytes of JSON naming each tensor's
-- dtype, shape and [begin, end) byte offsets into the data that follows,
-- then the data.  Read: F32, F64, F16, BF16 and the integer types, as
-- float32; written: F32 (and I64 for whole-number scalars such as
-- BatchNorm's num_batches_tracked).
--
-- A tensor of shape (d1, d2, ..., dk) becomes a d1 x (d2 ... dk) Matrix, as
-- PyTorch's flatten(1) would make it: a Conv2d weight (outC, inC, kh, kw)
-- is outC x inC*kh*kw, lua-nn's own layout; 1-D (n) is 1 x n and 0-D 1 x 1.
--
--   tensors, info, metadata = safetensors.load(path)
--      tensors[name] a Matrix; info[name] = {dtype = "F32", shape = {...}}
--   safetensors.save(path, tensors [, {metadata = {k = "v"}}])
--      tensors[name] a Matrix (written with its 2-D shape), {M, shape =
--      {...}} (written with that shape), or {int = n} (an I64 scalar)
--   safetensors.decode(s) and safetensors.encode(tensors [, opts]): the same
--   on a string
--
-- Reading checks everything before it allocates: the header's length
-- against the file, the JSON, every entry's dtype, shape and offsets, that
-- the shape's size matches the byte count and that the tensors cover the
-- data exactly, without overlap or gap (as the format requires).
local core = require "nn.core"
local compat = require "nn.compat"
local json = require "nn.json"
local util = require "nn.util"

local safetensors = {}

local MAXHEADER = 100 * 1024 * 1024          -- the format's own limit

-- dtype -> Matrix.fromdata's type, and the element width
local DTYPES = {
   F64 = {"<f8", 8}, F32 = {"<f4", 4}, F16 = {"<f2", 2}, BF16 = {"<b2", 2},
   I64 = {"<i8", 8}, I32 = {"<i4", 4}, I16 = {"<i2", 2}, I8 = {"|i1", 1},
   U64 = {"<u8", 8}, U32 = {"<u4", 4}, U16 = {"<u2", 2}, U8 = {"|u1", 1},
   BOOL = {"|u1", 1},
}

local isMatrix = util.isMatrix

-- a JSON list of whole numbers >= 0, or nil
local function counts(v)
   if type(v) ~= "table" then return nil end
   local n = 0
   for _ in pairs(v) do n = n + 1 end
   for i = 1, n do
      local d = v[i]
      if not compat.isint(d) or d < 0 then return nil end
   end
   return v
end

-- the tensors, info and metadata in s; errors "fn: source: ..."
local function decode(s, fn, source)
   local function fail(msg)
      error(("%s: %s%s"):format(fn, source and source .. ": " or "", msg), 0)
   end
   if #s < 8 then fail(("%d bytes is shorter than the 8-byte header length"):format(#s)) end
   local n = compat.strunpack("<I8", s, 1)
   if n > #s - 8 then fail(("the header declares %.0f bytes, the file has %d after the length"):format(n, #s - 8)) end
   if n > MAXHEADER then fail(("the header declares %d bytes, more than the format's 100 MB"):format(n)) end
   if n < 2 or s:sub(9, 9) ~= "{" then fail("the header is not a JSON object") end
   local header, err = json.decode(s:sub(9, 8 + n))
   if not header then fail("the header is not valid JSON: " .. err) end
   if type(header) ~= "table" or header[1] ~= nil then fail("the header is not a JSON object") end
   local datalen, base = #s - 8 - n, 8 + n
   local tensors, info, metadata, spans = {}, {}, nil, {}
   for name, e in pairs(header) do
      if name == "__metadata__" then
         if type(e) ~= "table" or e[1] ~= nil then fail("__metadata__ is not an object") end
         for k, v in pairs(e) do
            if type(v) ~= "string" then fail(("__metadata__'s %q is not a string"):format(k)) end
         end
         metadata = e
      else
         local where = ("tensor %q"):format(name)
         if type(e) ~= "table" or e[1] ~= nil then fail(where .. " is not an object") end
         for k in pairs(e) do
            if k ~= "dtype" and k ~= "shape" and k ~= "data_offsets" then
               fail(("%s has an unknown field %q"):format(where, tostring(k)))
            end
         end
         local dt = DTYPES[e.dtype]
         if not dt then
            fail(("%s has dtype %s; lua-nn reads F64, F32, F16, BF16, the integers and BOOL")
               :format(where, tostring(e.dtype)))
         end
         -- the shape's size first: its product must not wrap, and a size
         -- past 2^53 is a float on Lua 5.1 (too large, not a fraction)
         local shape = e.shape
         local count, why = util.numel(shape)
         if not count then
            fail(("%s's shape %s %s"):format(where,
               type(shape) == "table" and util.shapestr(shape) or tostring(shape), why))
         end
         local offs = counts(e.data_offsets)
         if not offs or #offs ~= 2 then fail(where .. "'s data_offsets are not [begin, end]") end
         local b, en = offs[1], offs[2]
         if b > en or en > datalen then
            fail(("%s's bytes [%d, %d) are outside the data (%d bytes)"):format(where, b, en, datalen))
         end
         if count * dt[2] ~= en - b then
            fail(("%s: %d elements of %s take %d bytes, its offsets give %d")
               :format(where, count, e.dtype, count * dt[2], en - b))
         end
         if count == 0 then fail(where .. " has no elements (a Matrix has at least one)") end
         local rows = #shape >= 2 and shape[1] or 1
         spans[#spans + 1] = {b, en, name}
         info[name] = {dtype = e.dtype, shape = shape, rows = rows, cols = math.floor(count / rows),
                       at = base + b, type = dt[1]}
      end
   end
   -- the tensors tile the data: sorted, each starts where the last ended
   table.sort(spans, function(x, y) return x[1] < y[1] or (x[1] == y[1] and x[3] < y[3]) end)
   local at = 0
   for _, sp in ipairs(spans) do
      if sp[1] ~= at then
         fail(sp[1] < at and ("tensor %q overlaps the one before it"):format(sp[3])
            or ("the data has a gap of %d bytes before tensor %q"):format(sp[1] - at, sp[3]))
      end
      at = sp[2]
   end
   if at ~= datalen then fail(("%d bytes of data after the last tensor"):format(datalen - at)) end
   for name, t in pairs(info) do
      tensors[name] = core.Matrix.fromdata(s, t.rows, t.cols, t.at, t.type)
      info[name] = {dtype = t.dtype, shape = t.shape}
   end
   return tensors, info, metadata
end

-- safetensors.decode(s [, source]) -> tensors, info, metadata
function safetensors.decode(s, source)
   if type(s) ~= "string" then error("nn.safetensors.decode: expected a string, got " .. type(s), 2) end
   return decode(s, "nn.safetensors.decode", source and tostring(source))
end

-- the header's strings are JSON's, which is UTF-8: a name that is not
-- would be written as it is and make a file PyTorch's reader refuses
local function checkutf8(fn, what, str)
   local ok, at = json.isutf8(str)
   if not ok then
      error(("%s: %s %q is not valid UTF-8 (byte %d), which the format's JSON header requires")
         :format(fn, what, str, at), 0)
   end
end

-- the dtype, shape and bytes of one entry of save's table
local function entry(fn, name, v)
   if isMatrix(v) then return "F32", {v:shape()}, v:tobytes() end
   if type(v) == "table" and compat.isint(v.int) then
      return "I64", {}, compat.strpack("<i8", v.int)
   end
   if type(v) == "table" and isMatrix(v[1]) and type(v.shape) == "table" then
      local n, why = util.numel(v.shape)
      if not n then
         error(("%s: %q's shape %s %s"):format(fn, name, util.shapestr(v.shape), why), 0)
      end
      if n ~= v[1]:numel() then
         error(("%s: %q's shape %s has %d elements, its matrix %d"):format(fn, name,
            util.shapestr(v.shape), n, v[1]:numel()), 0)
      end
      local shape = {}                      -- as integers, for the JSON
      for i, d in ipairs(v.shape) do shape[i] = compat.toint(d) end
      return "F32", shape, v[1]:tobytes()
   end
   error(("%s: %q is not a Matrix, {M, shape = {...}} or {int = n}"):format(fn, tostring(name)), 0)
end

-- the file's bytes; errors "fn: ..."
local function encode(fn, tensors, opts)
   if type(tensors) ~= "table" then error(fn .. ": tensors must be a table, got " .. type(tensors), 0) end
   local names = {}
   for k in pairs(tensors) do
      if type(k) ~= "string" or k == "__metadata__" then
         error(("%s: a tensor's name must be a string other than __metadata__, got %s")
            :format(fn, tostring(k)), 0)
      end
      checkutf8(fn, "the tensor name", k)
      names[#names + 1] = k
   end
   table.sort(names)
   local header, data, at = {}, {}, 0
   for i, name in ipairs(names) do
      local dtype, shape, bytes = entry(fn, name, tensors[name])
      header[name] = {dtype = dtype, shape = shape, data_offsets = {at, at + #bytes}}
      data[i] = bytes
      at = at + #bytes
   end
   local meta = opts and opts.metadata
   if meta ~= nil then
      if type(meta) ~= "table" then error(fn .. ": metadata must be a table of strings", 0) end
      for k, v in pairs(meta) do
         if type(k) ~= "string" or type(v) ~= "string" then
            error(fn .. ": metadata must map strings to strings", 0)
         end
         checkutf8(fn, "the metadata key", k)
         checkutf8(fn, ("metadata %q's value"):format(k), v)
      end
      header.__metadata__ = meta
   end
   local h = next(header) == nil and "{}" or json.encode(header)
   h = h .. (" "):rep((8 - #h % 8) % 8)
   return compat.strpack("<I8", #h) .. h .. table.concat(data)
end

-- safetensors.encode(tensors [, {metadata = {...}}]) -> the file's bytes;
-- tensors in name order, the header padded with spaces to 8 bytes
function safetensors.encode(tensors, opts)
   local ok, s = pcall(encode, "nn.safetensors.encode", tensors, opts)
   if not ok then error(s, 2) end
   return s
end

function safetensors.load(path)
   return decode(util.read("nn.safetensors.load", path), "nn.safetensors.load", path)
end

-- written atomically, as model files are
function safetensors.save(path, tensors, opts)
   local ok, s = pcall(encode, "nn.safetensors.save", tensors, opts)
   if not ok then error(s, 2) end
   return util.write("nn.safetensors.save", path, s)
end

return safetensors
