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

local safetensors = {}

local MAXHEADER = 100 * 1024 * 1024          -- the format's own limit
local MAXELEMS = 2147483647

-- dtype -> Matrix.fromdata's type, and the element width
local DTYPES = {
   F64 = {"<f8", 8}, F32 = {"<f4", 4}, F16 = {"<f2", 2}, BF16 = {"<b2", 2},
   I64 = {"<i8", 8}, I32 = {"<i4", 4}, I16 = {"<i2", 2}, I8 = {"|i1", 1},
   U64 = {"<u8", 8}, U32 = {"<u4", 4}, U16 = {"<u2", 2}, U8 = {"|u1", 1},
   BOOL = {"|u1", 1},
}

local matrix_mt = getmetatable(core.Matrix(1, 1))
local function isMatrix(x) return getmetatable(x) == matrix_mt end

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

-- safetensors.decode(s [, source]) -> tensors, info, metadata
function safetensors.decode(s, source)
   local function fail(msg)
      error(("nn.safetensors: %s: %s"):format(source or "the string", msg), 0)
   end
   if type(s) ~= "string" then error("nn.safetensors.decode: expected a string, got " .. type(s), 2) end
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
         local shape, offs = counts(e.shape), counts(e.data_offsets)
         if not shape then fail(where .. "'s shape is not a list of whole numbers") end
         if not offs or #offs ~= 2 then fail(where .. "'s data_offsets are not [begin, end]") end
         local b, en = offs[1], offs[2]
         if b > en or en > datalen then
            fail(("%s's bytes [%d, %d) are outside the data (%d bytes)"):format(where, b, en, datalen))
         end
         local count = 1
         for _, d in ipairs(shape) do
            count = count * d
            if count > MAXELEMS then fail(where .. " is too large") end
         end
         if count * dt[2] ~= en - b then
            fail(("%s: %d elements of %s take %d bytes, its offsets give %d")
               :format(where, count, e.dtype, count * dt[2], en - b))
         end
         if count == 0 then fail(where .. " has no elements (a Matrix has at least one)") end
         local rows = #shape >= 2 and shape[1] or 1
         spans[#spans + 1] = {b, en, name}
         info[name] = {dtype = e.dtype, shape = shape, rows = rows, cols = count / rows,
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

-- the dtype, shape and bytes of one entry of save's table
local function entry(name, v)
   if isMatrix(v) then return "F32", {v:shape()}, v:tobytes() end
   if type(v) == "table" and compat.isint(v.int) then
      return "I64", {}, compat.strpack("<i8", v.int)
   end
   if type(v) == "table" and isMatrix(v[1]) and type(v.shape) == "table" then
      local n = 1
      for _, d in ipairs(v.shape) do
         if not compat.isint(d) or d < 1 then
            error(("nn.safetensors: %q's shape must hold positive whole numbers"):format(name), 4)
         end
         n = n * d
      end
      if n ~= v[1]:numel() then
         error(("nn.safetensors: %q's shape has %d elements, its matrix %d"):format(name, n, v[1]:numel()), 4)
      end
      return "F32", v.shape, v[1]:tobytes()
   end
   error(("nn.safetensors: %q is not a Matrix, {M, shape = {...}} or {int = n}"):format(tostring(name)), 4)
end

-- safetensors.encode(tensors [, {metadata = {...}}]) -> the file's bytes;
-- tensors in name order, the header padded with spaces to 8 bytes
function safetensors.encode(tensors, opts)
   if type(tensors) ~= "table" then error("nn.safetensors: tensors must be a table", 2) end
   local names = {}
   for k in pairs(tensors) do
      if type(k) ~= "string" or k == "__metadata__" then
         error(("nn.safetensors: a tensor's name must be a string other than __metadata__, got %s")
            :format(tostring(k)), 2)
      end
      names[#names + 1] = k
   end
   table.sort(names)
   local header, data, at = {}, {}, 0
   for i, name in ipairs(names) do
      local dtype, shape, bytes = entry(name, tensors[name])
      header[name] = {dtype = dtype, shape = shape, data_offsets = {at, at + #bytes}}
      data[i] = bytes
      at = at + #bytes
   end
   local meta = opts and opts.metadata
   if meta ~= nil then
      if type(meta) ~= "table" then error("nn.safetensors: metadata must be a table of strings", 2) end
      for k, v in pairs(meta) do
         if type(k) ~= "string" or type(v) ~= "string" then
            error("nn.safetensors: metadata must map strings to strings", 2)
         end
      end
      header.__metadata__ = meta
   end
   local h = next(header) == nil and "{}" or json.encode(header)
   h = h .. (" "):rep((8 - #h % 8) % 8)
   return compat.strpack("<I8", #h) .. h .. table.concat(data)
end

function safetensors.load(path)
   if type(path) ~= "string" then error("nn.safetensors.load: path must be a string, got " .. type(path), 2) end
   local s, err = core.readfile(path, nil, true)
   if not s then error("nn.safetensors.load: " .. err, 2) end
   return safetensors.decode(s, path)
end

-- written atomically, as model files are
function safetensors.save(path, tensors, opts)
   if type(path) ~= "string" then error("nn.safetensors.save: path must be a string, got " .. type(path), 2) end
   local ok, err = core.writefile(path, safetensors.encode(tensors, opts))
   if not ok then error("nn.safetensors.save: " .. err, 2) end
   return true
end

return safetensors
