-- Model files: nn.save, nn.load, nn.serialize, nn.deserialize.
--
-- The format (docs/format.md) is a 24-byte header (magic, version, CRC-32
-- and length of the payload) and one tagged value: the architecture as
-- data (layer type names and constructor arguments, never code), each
-- parameter with its shape, and optionally an optimizer's state.  Reading
-- checks every declared size against the bytes actually present before it
-- allocates anything, and builds only the built-in layers and those the
-- program registered (nn.register), from their arguments.
local core = require "nn.core"
local compat = require "nn.compat"
local Sequential = require "nn.Sequential"
local Residual = require "nn.Residual"
local Concat = require "nn.Concat"
local layers = require "nn.layers"
local util = require "nn.util"

local serialize = {}

local MAGIC = "LUANN\0\26\n"
-- 2: image layers and buffers (running statistics); 1 still loads
local VERSION = 2
local HEADER = 24
local MAXDEPTH = 32
-- A registered layer is rebuilt by constructor(table.unpack(config)): every
-- Lua must be able to pass that many arguments (5.1 and LuaJIT stop near
-- 8000, 5.4 near a million), so a longer config is refused when saving, and
-- when loading, never unpacked.  A list of data belongs in one argument.
local MAXARGS = 1000

local T_NIL, T_FALSE, T_TRUE, T_INT, T_FLOAT, T_STRING, T_LIST, T_MAP, T_MATRIX =
   0, 1, 2, 3, 4, 5, 6, 7, 8

local isMatrix = util.isMatrix

-- ---- encoding ------------------------------------------------------------------

local function issequence(t)
   local n = #t
   for k in pairs(t) do
      if not compat.isint(k) or k < 1 or k > n then return false end
   end
   return true
end

local function encode(v, out, fn, depth)
   if depth > MAXDEPTH then error(fn .. ": the value nests too deeply", 0) end
   local t = type(v)
   if v == nil then out[#out + 1] = string.char(T_NIL)
   elseif v == false then out[#out + 1] = string.char(T_FALSE)
   elseif v == true then out[#out + 1] = string.char(T_TRUE)
   elseif compat.isint(v) then out[#out + 1] = compat.strpack("<Bi8", T_INT, v)
   elseif t == "number" then out[#out + 1] = compat.strpack("<Bd", T_FLOAT, v)
   elseif t == "string" then out[#out + 1] = compat.strpack("<Bs4", T_STRING, v)
   elseif isMatrix(v) then
      out[#out + 1] = compat.strpack("<BI4I4", T_MATRIX, v:shape())
      out[#out + 1] = v:tobytes()
   elseif t == "table" and issequence(v) then
      out[#out + 1] = compat.strpack("<BI4", T_LIST, #v)
      for i = 1, #v do encode(v[i], out, fn, depth + 1) end
   elseif t == "table" then
      local keys = {}
      for k in pairs(v) do
         if type(k) ~= "string" then
            error(("%s: cannot save a table key of type %s"):format(fn, type(k)), 0)
         end
         keys[#keys + 1] = k
      end
      table.sort(keys)                       -- the same model, the same bytes
      out[#out + 1] = compat.strpack("<BI4", T_MAP, #keys)
      for _, k in ipairs(keys) do
         out[#out + 1] = compat.strpack("<s4", k)
         encode(v[k], out, fn, depth + 1)
      end
   else
      error(("%s: cannot save a value of type %s"):format(fn, t), 0)
   end
end

-- the architecture and parameters of a module, as plain data
local function describe(m, fn, where, depth)
   if depth > MAXDEPTH then error(fn .. ": the network nests too deeply", 0) end
   if Sequential.is(m) or Residual.is(m) or Concat.is(m) then
      local children = {}
      for i, child in ipairs(m.modules) do
         children[i] = describe(child, fn, ("%s[%d]"):format(where, i), depth + 1)
      end
      return {type = m.typename, train = m.train, modules = children}
   end
   local ok, name = pcall(function() return m.typename end)
   local kind = ok and type(name) == "string" and layers.kind(name)
   if not kind then
      error(("%s: %s (%s) is neither a built-in layer nor a registered one; "
         .. "nn.register(name, constructor) makes a Lua layer savable")
         :format(fn, where, tostring(m)), 0)
   end
   local node = {type = name, train = m.train ~= false}
   local ok2, err = pcall(function()
      node.config = m:config()
      node.params = m:parameters()
      if m.buffers then node.buffers = m:buffers() end
   end)
   if not ok2 then error(("%s: %s (%s): %s"):format(fn, where, name, tostring(err)), 0) end
   if type(node.config) ~= "table" or type(node.params) ~= "table" then
      error(("%s: %s (%s): config() and parameters() must return lists")
         :format(fn, where, name), 0)
   end
   if #node.config > MAXARGS then
      error(("%s: %s (%s): config() returns %d values; nn.load passes them to the "
         .. "constructor as arguments, and not every Lua can pass more than %d: "
         .. "give the constructor a table instead"):format(fn, where, name, #node.config, MAXARGS), 0)
   end
   for i, p in ipairs(node.params) do
      if not isMatrix(p) then
         error(("%s: %s (%s): parameter %d is %s, not an nn.Matrix")
            :format(fn, where, name, i, type(p)), 0)
      end
   end
   if node.buffers and #node.buffers == 0 then node.buffers = nil end
   return node
end

local function payload(net, opts, fn)
   if opts ~= nil and type(opts) ~= "table" then error(fn .. ": options must be a table", 0) end
   opts = opts or {}
   for k in pairs(opts) do
      if k ~= "optimizer" then
         error(("%s: unknown option '%s' (expected optimizer)"):format(fn, tostring(k)), 0)
      end
   end
   local value = {format = "lua-nn model", net = describe(net, fn, "the network", 1)}
   if opts.optimizer then
      if type(opts.optimizer) ~= "table" or type(opts.optimizer.state) ~= "function" then
         error(fn .. ": optimizer must be an optimizer (nn.SGD, nn.Adam, ...)", 0)
      end
      value.optimizer = opts.optimizer:state()
   end
   local out = {}
   encode(value, out, fn, 1)
   return table.concat(out)
end

-- nn.serialize(net [, {optimizer = opt}]) -> the model file's bytes
function serialize.serialize(net, opts)
   local body = payload(net, opts, "nn.serialize")
   return compat.strpack("<c8I4I4I8", MAGIC, VERSION, core.crc32(body), #body) .. body
end

-- nn.save(net, path [, {optimizer = opt}]): written to a temporary file
-- beside path, synced, then renamed over it
function serialize.save(net, path, opts)
   if type(path) ~= "string" then
      error("nn.save: path must be a string, got " .. type(path), 2)
   end
   local body = payload(net, opts, "nn.save")
   return util.write("nn.save", path,
      compat.strpack("<c8I4I4I8", MAGIC, VERSION, core.crc32(body), #body) .. body)
end

-- ---- decoding --------------------------------------------------------------------

-- Decodes one value of s at pos; fail(msg, pos) raises.  Every count is
-- checked against the bytes left before anything is allocated.
local function decode(s, pos, depth, fail)
   if depth > MAXDEPTH then fail("values nest too deeply", pos) end
   local n = #s
   if pos > n then fail("the data ends early", pos) end
   local tag = s:byte(pos)
   pos = pos + 1
   local function need(k, what)
      if n - pos + 1 < k then
         fail(("%s needs %d bytes, %d are left"):format(what, k, n - pos + 1), pos)
      end
   end
   if tag == T_NIL then return nil, pos
   elseif tag == T_FALSE then return false, pos
   elseif tag == T_TRUE then return true, pos
   elseif tag == T_INT then
      need(8, "an integer")
      -- Lua 5.1, 5.2 and LuaJIT hold integers exactly only to 2^53: judged
      -- on the bytes, since a rounded 2^53 + 1 would pass for 2^53
      local v, nxt = compat.int64(s, pos)
      if v == nil then fail("an integer beyond 2^53, which this Lua cannot hold exactly", pos) end
      return v, nxt
   elseif tag == T_FLOAT then need(8, "a number"); return compat.strunpack("<d", s, pos)
   elseif tag == T_STRING then
      need(4, "a string length")
      local len = compat.strunpack("<I4", s, pos)
      need(4 + len, "a string")
      return compat.strunpack("<s4", s, pos)
   elseif tag == T_LIST or tag == T_MAP then
      need(4, "a table size")
      local count = compat.strunpack("<I4", s, pos)
      pos = pos + 4
      if count > n - pos + 1 then         -- every entry takes a byte at least
         fail(("a table declares %d entries in %d bytes"):format(count, n - pos + 1), pos)
      end
      local t = {}
      for i = 1, count do
         local k
         if tag == T_MAP then
            need(4, "a key length")
            local len = compat.strunpack("<I4", s, pos)
            need(4 + len, "a key")
            k, pos = compat.strunpack("<s4", s, pos)
         else
            k = i
         end
         t[k], pos = decode(s, pos, depth + 1, fail)
      end
      return t, pos
   elseif tag == T_MATRIX then
      need(8, "a matrix shape")
      local r, c = compat.strunpack("<I4I4", s, pos)
      pos = pos + 8
      if r < 1 or c < 1 or r > math.floor(2147483647 / c) then
         fail(("a matrix declares %d x %d elements"):format(r, c), pos - 8)
      end
      need(r * c * 4, ("a %d x %d matrix"):format(r, c))
      return core.Matrix.fromfloats(s, r, c, pos - 1), pos + r * c * 4
   end
   fail(("unknown value tag %d"):format(tag), pos - 1)
end

local function field(t, k, kind, fail, where)
   local v = t[k]
   if type(v) ~= kind then
      fail(("%s: field %s is %s, expected %s"):format(where, k, type(v), kind))
   end
   return v
end

-- t[k] as a proper list: keys exactly 1..n, no holes (a list with a nil
-- in it, or a map, would otherwise load as a shorter list or an empty one)
local function listfield(t, k, fail, where)
   local v = field(t, k, "table", fail, where)
   local n = 0
   for _ in pairs(v) do n = n + 1 end
   for i = 1, n do
      if v[i] == nil then
         fail(("%s: field %s is not a list (entry %d of %d is missing)"):format(where,
            k, i, n))
      end
   end
   return v
end

-- builds a module from its description; fail(msg) raises
local function build(node, fail, where, depth)
   local nn = require "nn"
   if depth > MAXDEPTH then fail("the network nests too deeply") end
   if type(node) ~= "table" then fail(where .. " is not a layer description") end
   local name = field(node, "type", "string", fail, where)
   local m
   if name == "Sequential" or name == "Residual" or name == "Concat" then
      local children = {}
      for i, child in ipairs(listfield(node, "modules", fail, where)) do
         children[i] = build(child, fail, ("%s[%d]"):format(where, i), depth + 1)
      end
      if name ~= "Sequential" and #children == 0 or name == "Residual" and #children ~= 1 then
         fail(("%s: %s holds %d modules"):format(where, name, #children))
      end
      local ok, made = pcall(name == "Residual" and nn.Residual or nn[name],
         name == "Residual" and children[1] or children)
      if not ok then fail(("%s: cannot build %s: %s"):format(where, name, tostring(made))) end
      -- the layers must chain: one whose saved input shape is not what the
      -- layer before it gives (a BatchNorm2d of 2 x 3 x 134217731 after
      -- 2 x 3 x 3) would fail only at the first forward, or print
      local chained, err = pcall(function() return made:outputSize() end)
      if not chained then
         fail(("%s: the layers of this %s do not fit together: %s"):format(where, name,
            (tostring(err):gsub("^[^:\n]*%.lua:%d+: ", ""))))
      end
      m = made
   elseif layers.kind(name) == "builtin" then
      local config = listfield(node, "config", fail, where)
      local saved = listfield(node, "params", fail, where)
      local buffers = node.buffers ~= nil and listfield(node, "buffers", fail, where) or nil
      -- the core checks every saved shape against the layer's before it
      -- allocates anything, and draws nothing from the generator
      local ok, made = pcall(core.build, name, config, saved, buffers)
      if not ok then fail(("%s: cannot build %s: %s"):format(where, name, made)) end
      m = made
   elseif layers.kind(name) == "lua" then
      local config = listfield(node, "config", fail, where)
      local saved = listfield(node, "params", fail, where)
      if #config > MAXARGS then
         fail(("%s: %s's config holds %d values, more than the %d arguments every Lua "
            .. "can pass to its constructor"):format(where, name, #config, MAXARGS))
      end
      local ok, made = pcall(layers.constructor(name), compat.unpack(config, 1, #config))
      if not ok then fail(("%s: cannot build %s: %s"):format(where, name, tostring(made))) end
      if type(made) ~= "table" and type(made) ~= "userdata" then
         fail(("%s: %s's constructor returned %s, not a layer"):format(where, name, type(made)))
      end
      local params
      ok, params = pcall(function() return made:parameters() end)
      if not ok or type(params) ~= "table" then
         fail(("%s: %s's parameters() did not return a list"):format(where, name))
      end
      if #saved ~= #params then
         fail(("%s: %s has %d parameters, the file holds %d"):format(where, name,
            #params, #saved))
      end
      -- every parameter checked before any is written
      for i = 1, #params do
         local p, q = params[i], saved[i]
         if not isMatrix(p) then
            fail(("%s: %s's parameters() gave %s as parameter %d, not an nn.Matrix")
               :format(where, name, type(p), i))
         end
         local pr, pc = p:shape()
         if not isMatrix(q) or select(1, q:shape()) ~= pr or select(2, q:shape()) ~= pc then
            fail(("%s: parameter %d of %s must be %d x %d"):format(where, i, name, pr, pc))
         end
      end
      -- and its buffers (running statistics), which describe saved too,
      -- all checked before anything is written
      local bufs
      ok, bufs = pcall(function() return made.buffers and made:buffers() or {} end)
      if not ok or type(bufs) ~= "table" then
         fail(("%s: %s's buffers() did not return a list"):format(where, name))
      end
      local savedbufs = node.buffers ~= nil and listfield(node, "buffers", fail, where) or {}
      if #savedbufs ~= #bufs then
         fail(("%s: %s has %d buffers, the file holds %d"):format(where, name, #bufs, #savedbufs))
      end
      for i, q in ipairs(savedbufs) do
         if not isMatrix(bufs[i]) then
            fail(("%s: %s's buffer %d is %s, not an nn.Matrix"):format(where, name, i, type(bufs[i])))
         end
         local br, bc = bufs[i]:shape()
         if not isMatrix(q) or select(1, q:shape()) ~= br or select(2, q:shape()) ~= bc then
            fail(("%s: buffer %d of %s must be %d x %d"):format(where, i, name, br, bc))
         end
      end
      for i = 1, #params do params[i]:copy(saved[i]) end
      for i = 1, #savedbufs do bufs[i]:copy(savedbufs[i]) end
      m = made
   else
      fail(("%s: unknown layer type '%s'"):format(where, name))
   end
   if node.train == false then
      local ok, err = pcall(function() if m.evaluate then m:evaluate() end end)
      if not ok then fail(("%s: %s's evaluate() failed: %s"):format(where, name, tostring(err))) end
   end
   return m
end

local function parse(s, fn, source)
   local function fail(msg, pos)
      error(("%s: %s: %s%s"):format(fn, source, msg,
         pos and (" (at byte %d)"):format(pos - 1) or ""), 0)
   end
   if #s < HEADER then
      fail(("not a lua-nn model: %d bytes is shorter than the header"):format(#s))
   end
   local magic, version, crc, len = compat.strunpack("<c8I4I4I8", s)
   if magic ~= MAGIC then fail("not a lua-nn model file (bad magic)") end
   if version > VERSION then
      fail(("format version %d is newer than this lua-nn reads (%d)"):format(version, VERSION))
   end
   if version < 1 then fail(("format version %d is invalid"):format(version)) end
   if len ~= #s - HEADER then
      fail(("truncated or padded: the header declares %d payload bytes, there are %d")
         :format(len, #s - HEADER))
   end
   if core.crc32(s, HEADER + 1) ~= crc then fail("checksum mismatch: the file is corrupt") end
   local value, pos = decode(s, HEADER + 1, 1, fail)
   if pos ~= #s + 1 then fail("trailing bytes after the model", pos) end
   if type(value) ~= "table" or value.format ~= "lua-nn model" then
      fail("the payload is not a model")
   end
   local net = build(value.net, fail, "the network", 1)
   local opt = value.optimizer
   if opt ~= nil and type(opt) ~= "table" then fail("the optimizer state is not a table") end
   return net, opt
end

-- nn.deserialize(s) -> net [, optimizer state]
function serialize.deserialize(s)
   if type(s) ~= "string" then
      error("nn.deserialize: expected a string, got " .. type(s), 2)
   end
   return parse(s, "nn.deserialize", "the string")
end

-- nn.load(path) -> net [, optimizer state for opt:setState]
-- Reads only a regular file (not a directory, a FIFO or /dev/zero), and
-- never more than its header declares, plus one byte to see that the file
-- ends there.
function serialize.load(path)
   local s = util.read("nn.load", path, HEADER)
   if #s == HEADER and s:sub(1, #MAGIC) == MAGIC then
      local len = compat.strunpack("<I8", s, 17)
      -- a length past 2^40 (or one that wraps negative) cannot be right:
      -- read a byte past the header and let parse say what is wrong
      if len < 0 or len > 2^40 then len = 0 end
      s = util.read("nn.load", path, HEADER + len + 1)
   end
   return parse(s, "nn.load", path)
end

return serialize
