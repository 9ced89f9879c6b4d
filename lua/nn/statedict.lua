-- State dicts with PyTorch's names and shapes, so that weights move between
-- a lua-nn network and the torch.nn.Sequential of the same layers.
--
-- The keys are those of torch.nn.Sequential: layer i of a container is
-- "<i-1>.", nested containers add their own index ("2.0.weight"), and a
-- layer's tensors are weight and bias, and for batch normalization
-- running_mean, running_var and num_batches_tracked.  A Residual's module
-- is its child "0", and a Concat's modules are "0", "1", ... (as a
-- torch.nn.ModuleList would name them).  Each value is {M, shape = {...}}:
-- a view of the layer's own Matrix with PyTorch's shape (a Linear bias (n),
-- a Conv2d weight (outC, inC, kh, kw)); num_batches_tracked, which lua-nn
-- does not count, is {int = 0}.
--
--   t = net:stateDict()                  (nn.stateDict(m) for any module)
--   net:loadStateDict(t [, {strict = true}])
--
-- loadStateDict takes such a table, or what nn.safetensors.load returns
-- (plain matrices, the first dimension as rows): every value must have the
-- layer's element count and 2-D shape, and, where it carries a shape, that
-- shape exactly.  A missing key, an extra one (unless strict is false) or a
-- wrong shape is an error naming the key; nothing is copied unless all fit.
local Container = require "nn.Container"

local statedict = {}

-- PyTorch's name of a buffer
local BUFFERS = {runningMean = "running_mean", runningVar = "running_var"}

local function torchshape(m, which, M)
   local r, c = M:shape()
   if m.typename == "Conv2d" and which == "weight" then
      local cfg = m:config()
      return {cfg[2], cfg[1], cfg[3][1], cfg[3][2]}
   end
   if r == 1 and (which ~= "weight" or m.typename ~= "Linear") then return {c} end
   return {r, c}
end

local function walk(m, prefix, out)
   if Container.is(m) then
      for i, child in ipairs(m.modules) do walk(child, prefix .. (i - 1) .. ".", out) end
      return
   end
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
      out[prefix .. names[i]] = {p, shape = torchshape(m, names[i], p)}
   end
   local bufs = m.buffers and m:buffers() or {}
   if #bufs > 0 then
      for field, torch in pairs(BUFFERS) do
         local b = m[field]
         if b then out[prefix .. torch] = {b, shape = torchshape(m, field, b)} end
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

local function describeshape(s)
   local parts = {}
   for i, d in ipairs(s) do parts[i] = tostring(d) end
   return "(" .. table.concat(parts, ", ") .. ")"
end

-- nn.loadStateDict(m, t [, {strict = true}])
function statedict.loadStateDict(m, t, opts)
   if type(t) ~= "table" then error("loadStateDict: expected a table of tensors, got " .. type(t), 2) end
   local strict = not (opts and opts.strict == false)
   local want = statedict.stateDict(m)
   local copies = {}
   for key, dst in pairs(want) do
      local src = t[key]
      if src == nil then error(("loadStateDict: key %q is missing"):format(key), 2) end
      if dst.int == nil then
         local M, shape = src, nil
         if type(src) == "table" and src[1] ~= nil then M, shape = src[1], src.shape end
         local ok, r, c = pcall(function() return M:shape() end)
         local wr, wc = dst[1]:shape()
         if not ok or type(r) ~= "number" then
            error(("loadStateDict: %q is not an nn.Matrix"):format(key), 2)
         end
         if r ~= wr or c ~= wc then
            error(("loadStateDict: %q is %d x %d, the layer's is %d x %d %s"):format(key, r, c,
               wr, wc, describeshape(dst.shape)), 2)
         end
         if shape and describeshape(shape) ~= describeshape(dst.shape) then
            error(("loadStateDict: %q has shape %s, the layer's is %s"):format(key,
               describeshape(shape), describeshape(dst.shape)), 2)
         end
         copies[#copies + 1] = {dst[1], M}
      end
   end
   if strict then
      for key in pairs(t) do
         if want[key] == nil then
            error(("loadStateDict: unexpected key %q (the network has no such tensor)"):format(key), 2)
         end
      end
   end
   for _, c in ipairs(copies) do c[1]:copy(c[2]) end
   return m
end

return statedict
