-- State dicts with PyTorch's names and shapes, so that weights move between
-- a lua-nn network and the torch.nn.Sequential of the same layers.
--
-- The keys are those of torch.nn.Sequential: layer i of a container is
-- "<i-1>.", nested containers add their own index ("2.0.weight"), and a
-- layer's tensors have the names its kind's descriptor gives them
-- (m:tensors(): weight and bias; for batch normalization running_mean,
-- running_var and num_batches_tracked).  A Residual's module is its child
-- "0", and a Concat's modules are "0", "1", ... (as a torch.nn.ModuleList
-- would name them).  Each value is {M, shape = {...}}: a view of the
-- layer's own Matrix with PyTorch's shape (a Linear bias (n), a Conv2d
-- weight (outC, inC, kh, kw)); a whole number PyTorch keeps and lua-nn
-- does not (num_batches_tracked) is {int = 0}.  A layer written in Lua
-- may have a tensors() method of its own; without one its parameters are
-- weight and bias.
--
--   t = net:stateDict()                  (nn.stateDict(m) for any module)
--   net:loadStateDict(t [, {strict = true}])
--
-- loadStateDict takes such a table, or what nn.safetensors.load returns
-- (plain matrices, the first dimension as rows): every value must be an
-- nn.Matrix (or {M, shape = {...}}) with the layer's 2-D shape, and, where
-- it carries a shape, that shape exactly; num_batches_tracked, a whole
-- number ({int = n}, a 1 x 1 Matrix or a number).  Missing keys and extra
-- ones (unless strict is false) are an error listing them all, with a hint
-- when the indices are shifted by one (a Flatten on one side only); a
-- wrong value is an error naming the key.  Every entry is checked before
-- the first is copied: after an error the network is unchanged.
local Container = require "nn.Container"
local util = require "nn.util"

local statedict = {}

-- A layer written in Lua without a tensors() method: PyTorch's name of a
-- buffer, and the shape of a 1 x n matrix is (n)
local BUFFERS = {runningMean = "running_mean", runningVar = "running_var"}

local function torchshape(M)
   local r, c = M:shape()
   if r == 1 then return {c} end
   return {r, c}
end

-- the entries of m:tensors() (a built-in layer's, from its descriptor),
-- or nil if m has no such method
local function tensors(m, prefix, out)
   local f = Container.get(m, "tensors")
   if type(f) ~= "function" then return nil end
   local ok, list = pcall(f, m)
   if not ok or type(list) ~= "table" then
      error(("nn.stateDict: %s (%s): tensors() failed: %s"):format(prefix == "" and "the module"
         or prefix:sub(1, -2), Container.describe(m), tostring(list)), 0)
   end
   for _, t in ipairs(list) do
      if t.count then out[prefix .. t.torch] = {int = 0}
      else out[prefix .. t.torch] = {t.value, shape = t.shape} end
   end
   return true
end

local function walk(m, prefix, out)
   if Container.is(m) then
      for i, child in ipairs(m.modules) do walk(child, prefix .. (i - 1) .. ".", out) end
      return
   end
   if tensors(m, prefix, out) then return end
   local ok, params = pcall(function() return m:parameters() end)
   if not ok or type(params) ~= "table" then
      error(("nn.stateDict: %s (%s) has no parameters()"):format(prefix == "" and "the module"
         or prefix:sub(1, -2), Container.describe(m)), 0)
   end
   local names = {"weight", "bias"}
   if #params > 2 then
      error(("nn.stateDict: %s (%s) has %d parameters; PyTorch's names are known for weight and bias")
         :format(prefix:sub(1, -2), Container.describe(m), #params), 0)
   end
   for i, p in ipairs(params) do
      out[prefix .. names[i]] = {p, shape = torchshape(p)}
   end
   local bufs = m.buffers and m:buffers() or {}
   if #bufs > 0 then
      for field, torch in pairs(BUFFERS) do
         local b = m[field]
         if b then out[prefix .. torch] = {b, shape = torchshape(b)} end
      end
      out[prefix .. "num_batches_tracked"] = {int = 0}
   end
end

-- nn.stateDict(m) -> {key = {M, shape = {...}}}, views of m's tensors
function statedict.stateDict(m)
   local out = {}
   walk(m, "", out)
   return out
end

local shapestr = util.shapestr

-- "a", "b" and 3 more: a list of keys for a message, sorted
local function keylist(keys)
   table.sort(keys)
   local parts = {}
   for i = 1, math.min(#keys, 8) do parts[i] = ("%q"):format(keys[i]) end
   if #keys > 8 then parts[#parts + 1] = ("and %d more"):format(#keys - 8) end
   return table.concat(parts, ", ")
end

-- the first index of a key ("4.0.weight" -> 4), or nil
local function index(key)
   local i = type(key) == "string" and key:match("^(%d+)%.")
   return i and tonumber(i)
end

-- When t's keys are the network's with every index from some point on one
-- higher (or lower), say so: one side has a layer without parameters (a
-- Flatten) that the other lacks.  "" otherwise.
local function shifthint(want, t, missing, unexpected)
   local from = math.huge                     -- where the two first differ
   for _, list in ipairs{missing, unexpected} do
      for _, k in ipairs(list) do from = math.min(from, index(k) or -1) end
   end
   if from < 0 or from == math.huge then return "" end
   local nwant = 0
   for _ in pairs(want) do nwant = nwant + 1 end
   for _, d in ipairs{-1, 1} do
      local n, first, fits = 0, math.huge, true
      for k in pairs(t) do
         local i = index(k)
         local moved = k
         if i and i >= from then
            moved = (i + d) .. k:sub(#tostring(i) + 1)
            first = math.min(first, i)
         end
         if want[moved] == nil then fits = false; break end
         n = n + 1
      end
      if fits and n == nwant and first < math.huge then
         if d == -1 then
            return ("; the state dict's keys from \"%d.\" on are one index higher than this "
               .. "network's: its network has a layer without parameters before them "
               .. "(torch.nn.Flatten()?) that this one lacks: add nn.Flatten() there "
               .. "(it changes no number)"):format(first)
         end
         return ("; the state dict's keys from \"%d.\" on are one index lower than this "
            .. "network's: this network has a layer without parameters before them "
            .. "(nn.Flatten()?) that the state dict's network lacks: add torch.nn.Flatten() "
            .. "to that one, or take this one's out"):format(first)
      end
   end
   return ""
end

-- the Matrix to copy from src into dst (an entry of stateDict): M, or
-- false (nothing to copy), or nil and what is wrong
local function source(key, src, dst)
   if dst.int ~= nil then                      -- num_batches_tracked
      local v = src
      if type(src) == "table" then
         if src.int ~= nil then v = src.int else v = src[1] end
      end
      if util.isMatrix(v) then
         local r, c = v:shape()
         v = r == 1 and c == 1 and v:get(1, 1) or nil
      end
      if type(v) ~= "number" or v ~= math.floor(v) then
         return nil, ("%q is not a whole number ({int = n}, a 1 x 1 Matrix or a number)"):format(key)
      end
      return false
   end
   local M, shape = src, nil
   if type(src) == "table" then M, shape = src[1], src.shape end
   if not util.isMatrix(M) then
      return nil, ("%q is a %s, not an nn.Matrix or {M, shape = {...}}"):format(key, type(src))
   end
   local r, c = M:shape()
   local wr, wc = dst[1]:shape()
   if r ~= wr or c ~= wc then
      return nil, ("%q is %d x %d, the layer's is %d x %d %s"):format(key, r, c, wr, wc,
         shapestr(dst.shape))
   end
   if shape ~= nil then
      if type(shape) ~= "table" then
         return nil, ("%q's shape is %s, not a list"):format(key, type(shape))
      end
      if shapestr(shape) ~= shapestr(dst.shape) then
         return nil, ("%q has shape %s, the layer's is %s"):format(key, shapestr(shape),
            shapestr(dst.shape))
      end
   end
   return M
end

-- nn.loadStateDict(m, t [, {strict = true}])
function statedict.loadStateDict(m, t, opts)
   local function fail(msg) error("loadStateDict: " .. msg, 3) end   -- at our caller
   if type(t) ~= "table" then error("loadStateDict: expected a table of tensors, got " .. type(t), 2) end
   if opts ~= nil and type(opts) ~= "table" then
      error("loadStateDict: options must be a table, got " .. type(opts), 2)
   end
   local strict = not (opts and opts.strict == false)
   local want = statedict.stateDict(m)
   local missing, unexpected = {}, {}
   for key in pairs(want) do
      if t[key] == nil then missing[#missing + 1] = key end
   end
   for key in pairs(t) do
      if want[key] == nil then unexpected[#unexpected + 1] = tostring(key) end
   end
   if #missing > 0 or (strict and #unexpected > 0) then
      local parts = {}
      if #missing > 0 then
         parts[#parts + 1] = ("%d of the network's tensors %s missing: %s"):format(#missing,
            #missing == 1 and "is" or "are", keylist(missing))
      end
      if #unexpected > 0 then
         parts[#parts + 1] = ("%d key%s the network has no tensor for: %s"):format(#unexpected,
            #unexpected == 1 and "" or "s", keylist(unexpected))
      end
      fail(table.concat(parts, "; ") .. shifthint(want, t, missing, unexpected))
   end
   -- every entry checked before the first is copied
   local copies = {}
   for key, dst in pairs(want) do
      local M, err = source(key, t[key], dst)
      if M == nil then fail(err) end
      if M then copies[#copies + 1] = {dst[1], M} end
   end
   for _, c in ipairs(copies) do c[1]:copy(c[2]) end
   return m
end

return statedict
