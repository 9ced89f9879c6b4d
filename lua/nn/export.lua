-- nn.export(net [, path]): the network's evaluation-mode forward as one
-- self-contained Lua file (issue #22 section 4), for where no C can go: a
-- game that ships no binaries, a VM that cannot load C (Fengari, Luau),
-- a sandbox.  The file requires nothing, holds the weights inline and is
-- Lua 5.1 syntax that runs unchanged on 5.1, 5.2, 5.3, 5.4 and LuaJIT and
-- avoids what Luau lacks (goto, //, bit operators, string.pack):
--
--   local model = dofile("net.lua")
--   local y = model.forward({...})            -- one sample: an array
--   local ys = model.forward({{...}, {...}})  -- a batch: an array of arrays
--
-- How it is made.  The network becomes a list of stages, each one Lua
-- function F[k](x, n) -> y, m over flat arrays (an image is its (C, H, W)
-- row, as in a Matrix): a producer (Linear, Conv2d, a pool, BatchNorm,
-- Softmax, a Residual or a Concat) followed by the elementwise layers
-- after it, fused into its last loop; Identity, Flatten and Dropout (the
-- identity in evaluation) vanish.  Each stage is made by a function of its
-- own that holds its weights and its output buffer, so that no function
-- of the file comes near an interpreter's limit of locals (200), upvalues
-- (60 on 5.1 and LuaJIT) or constants (2^18 on 5.1, 65536 on LuaJIT):
-- weights go into flat arrays from table constructors of at most CHUNK
-- numbers, each in a function of its own.  A small Linear is written
-- twice, chosen when the file loads: unrolled with its weights as
-- constants for PUC Lua, a loop over its rows for LuaJIT.
-- Numbers are double in the file: every weight is printed with %.9g, which
-- a float32 survives (read back and rounded to float32, the same bits),
-- and the arithmetic is in double, so the file agrees with the C path to
-- float32's rounding of the C path itself.
local core = require "nn.core"
local layers = require "nn.layers"
local Sequential = require "nn.Sequential"
local Residual = require "nn.Residual"
local Concat = require "nn.Concat"
local Container = require "nn.Container"

local export = {}

local MAXDEPTH = 64

local fmt, concat = string.format, table.concat

local function fail(msg) error("nn.export: " .. msg, 0) end

-- the numbers and the elementwise layers (lua/nn/export_math.lua); the
-- code of the stages (lua/nn/export_code.lua, lua/nn/export_sequence.lua)
local maths, code = require "nn.export_math", require "nn.export_code"
local num, flat = maths.num, maths.flat
local HELPERS, HELPER_ORDER = maths.HELPERS, maths.HELPER_ORDER
local ELEMENTWISE, PASS = maths.ELEMENTWISE, maths.PASS
local Gen, gen = code.Gen, code.gen

-- ---- the network as stages -------------------------------------------------
-- A node: {op = "seq", list = {...}} or a stage {op = ..., chain = {...},
-- insize, outsize, ...}; sizes are numbers or nil (known only at run time:
-- a network of elementwise layers takes any width).

local isMatrix = require("nn.util").isMatrix

local function get(m, k) return Container.get(m, k) end

local function describe(m) return Container.describe(m) end

local function pair(v)
   if type(v) == "table" then return v[1], v[2] end
   return v, v
end

local function shape3(m, where, what)
   local s = get(m, what)
   if type(s) ~= "table" then
      fail(fmt("%s (%s) does not know its %s; make it with {input = {C, H, W}}"
         .. " or after the layer that gives its images", where, describe(m),
         what == "inputShape" and "input's shape" or "output's shape"))
   end
   return s[1], s[2], s[3]
end

local function params(m, where)
   local ok, p = pcall(function() return m:parameters() end)
   if not ok or type(p) ~= "table" then
      fail(fmt("%s (%s): parameters() failed: %s", where, describe(m), tostring(p)))
   end
   for i, M in ipairs(p) do
      if not isMatrix(M) then fail(fmt("%s (%s): parameter %d is not an nn.Matrix", where, describe(m), i)) end
   end
   return p
end

local function config(m, where)
   local ok, c = pcall(function() return m:config() end)
   if not ok or type(c) ~= "table" then
      fail(fmt("%s (%s): config() failed: %s", where, describe(m), tostring(c)))
   end
   return c
end

-- kind -> function(m, where) -> a stage
local STAGES = {}

function STAGES.Linear(m, where)
   local W = m.weight
   local nout, nin = W:shape()
   local p = params(m, where)
   local opts = config(m, where)[3] or {}
   if opts.sequence then            -- each step of a sequence, any count
      return {op = "steplinear", nin = nin, nout = nout, W = flat(W),
              b = p[2] and flat(p[2]) or nil, step = nin, ostep = nout}
   end
   return {op = "linear", nin = nin, nout = nout, W = flat(W),
           b = p[2] and flat(p[2]) or nil, insize = nin, outsize = nout}
end

-- the sequence layers: rows of T steps (any T) of step values each
function STAGES.LayerNorm(m, where)
   local c = config(m, where)
   local opts = c[2] or {}
   local p = params(m, where)
   return {op = "layernorm", D = c[1], eps = opts.eps or 1e-5,
           gamma = p[1] and flat(p[1]) or nil, beta = p[2] and flat(p[2]) or nil,
           step = c[1], ostep = c[1]}
end

function STAGES.Embedding(m, where)
   local c = config(m, where)
   local opts = c[3] or {}
   return {op = "embedding", num = c[1], D = c[2], W = flat(m.weight),
           maxnorm = opts.maxNorm, p = opts.normType or 2, step = 1, ostep = c[2]}
end

-- the recurrent layers: every weight by layer and direction, in
-- parameters() order (w_ih, w_hh [, b_ih, b_hh]); the cell's equations are
-- written into the file
local function recurrent(name)
   return function(m, where)
      local c = config(m, where)
      local opts = c[3] or {}
      local p = params(m, where)
      local per = opts.bias == false and 2 or 4
      local L, dirs = opts.layers or 1, opts.bidirectional and 2 or 1
      local w = {}
      for k = 1, L * dirs do
         local o = (k - 1) * per
         w[k] = {flat(p[o + 1]), flat(p[o + 2]), per == 4 and flat(p[o + 3]) or nil,
                 per == 4 and flat(p[o + 4]) or nil}
      end
      local cell = name == "LSTM" and "lstm" or name == "GRU" and "gru"
         or (opts.nonlinearity == "relu" and "relu" or "tanh")
      return {op = "rnn", cell = cell, D = c[1], H = c[2], L = L, dirs = dirs,
              last = opts.returns == "last", w = w, step = c[1], ostep = dirs * c[2]}
   end
end
STAGES.RNN = recurrent("RNN")
STAGES.LSTM = recurrent("LSTM")
STAGES.GRU = recurrent("GRU")

function STAGES.Softmax() return {op = "softmax"} end
function STAGES.LogSoftmax() return {op = "logsoftmax"} end

function STAGES.Conv2d(m, where)
   local c = config(m, where)
   local opts = c[4] or {}
   local C, H, W = shape3(m, where, "inputShape")
   local OC, OH, OW = shape3(m, where, "outputShape")
   local kh, kw = pair(c[3])
   local sh, sw = pair(opts.stride or 1)
   local ph, pw = pair(opts.padding or 0)
   local dh, dw = pair(opts.dilation or 1)
   local p = params(m, where)
   return {op = "conv", C = C, H = H, W = W, OC = OC, OH = OH, OW = OW, kh = kh, kw = kw,
           sh = sh, sw = sw, ph = ph, pw = pw, dh = dh, dw = dw,
           weight = flat(p[1]), bias = p[2] and flat(p[2]) or nil,
           insize = C * H * W, outsize = OC * OH * OW}
end

local function pool(op)
   return function(m, where)
      local c = config(m, where)
      local opts = c[2] or {}
      local C, H, W = shape3(m, where, "inputShape")
      local OC, OH, OW = shape3(m, where, "outputShape")
      local kh, kw = pair(c[1])
      local sh, sw = pair(opts.stride or c[1])
      local ph, pw = pair(opts.padding or 0)
      local dh, dw = pair(opts.dilation or 1)
      return {op = op, C = C, H = H, W = W, OH = OH, OW = OW, kh = kh, kw = kw,
              sh = sh, sw = sw, ph = ph, pw = pw, dh = dh, dw = dw,
              inpad = opts.countIncludePad ~= false,
              insize = C * H * W, outsize = OC * OH * OW}
   end
end
STAGES.MaxPool2d = pool("maxpool")
STAGES.AvgPool2d = pool("avgpool")

local function batchnorm(image)
   return function(m, where)
      local c = config(m, where)
      local opts = c[2] or {}
      local C, S = c[1], 1
      if image then
         local C2, H, W = shape3(m, where, "inputShape")
         C, S = C2, H * W
      end
      local mean, var = m.runningMean, m.runningVar
      if not isMatrix(mean) or not isMatrix(var) then
         fail(fmt("%s (%s) has no running statistics", where, describe(m)))
      end
      local affine = opts.affine ~= false
      return {op = "batchnorm", C = C, S = S, eps = opts.eps or 1e-5,
              mean = flat(mean), var = flat(var),
              gamma = affine and flat(m.weight) or nil, beta = affine and flat(m.bias) or nil,
              insize = C * S, outsize = C * S}
   end
end
STAGES.BatchNorm1d = batchnorm(false)
STAGES.BatchNorm2d = batchnorm(true)

-- every kind nn.export can write (spec/export_spec.lua checks the
-- registry against it)
function export.kinds()
   local t = {}
   for k in pairs(STAGES) do t[#t + 1] = k end
   for k in pairs(ELEMENTWISE) do t[#t + 1] = k end
   for k in pairs(PASS) do t[#t + 1] = k end
   table.sort(t)
   return t
end
-- for the spec: the tables of kinds, and how a number is printed
export.STAGES, export.ELEMENTWISE, export.PASS, export.literal = STAGES, ELEMENTWISE, PASS, num

-- m as a node; where names it in messages ("the network[3][1]")
local function walk(m, where, depth)
   if depth > MAXDEPTH then fail("the network nests more than " .. MAXDEPTH .. " deep") end
   if Sequential.is(m) then
      local list = {}
      for i, child in ipairs(m.modules) do
         list[i] = walk(child, fmt("%s[%d]", where, i), depth + 1)
      end
      return {op = "seq", list = list, where = where}
   elseif Residual.is(m) then
      return {op = "residual", inner = walk(m.modules[1], where .. "[1]", depth + 1),
              where = where}
   elseif Concat.is(m) then
      local list = {}
      for i, child in ipairs(m.modules) do
         list[i] = walk(child, fmt("%s[%d]", where, i), depth + 1)
      end
      return {op = "concat", list = list, where = where}
   end
   local ok, name = pcall(function() return m.typename end)
   local kind = ok and type(name) == "string" and layers.kind(name)
   if kind == "lua" then
      fail(fmt("%s (%s) is a layer written in Lua (nn.register); nn.export writes "
         .. "only the built-in kinds, whose forward it knows", where, name))
   elseif kind ~= "builtin" then
      fail(fmt("%s (%s) is not a built-in layer; nn.export writes only those",
         where, describe(m)))
   end
   if PASS[name] then return {op = "pass", where = where} end
   if ELEMENTWISE[name] then
      local code, helper = ELEMENTWISE[name](config(m, where))
      return {op = "elementwise", code = code, helper = helper, where = where}
   end
   local stage = STAGES[name]
   if not stage then
      fail(fmt("%s (%s): no exporter for the kind %s", where, describe(m), name))
   end
   local node = stage(m, where)
   node.where, node.name = where, describe(m)
   return node
end

-- A Sequential's children as stages: nested Sequentials inlined, the
-- identities dropped, each run of elementwise layers joined to the stage
-- before it (or a "map" stage of its own, at the start)
local function stages(node, out)
   out = out or {}
   for _, child in ipairs(node.list) do
      if child.op == "seq" then
         stages(child, out)
      elseif child.op == "elementwise" then
         local last = out[#out]
         if not last then
            last = {op = "map", where = child.where}
            out[1] = last
         end
         last.chain = last.chain or {}
         last.chain[#last.chain + 1] = child
      elseif child.op ~= "pass" then
         out[#out + 1] = child
      end
   end
   return out
end

-- every Sequential to its stages; a Residual's module and a Concat's
-- branches each to a Sequential of one
local function normalize(node)
   if node.op == "seq" then
      node.stages = stages(node)
      for _, s in ipairs(node.stages) do normalize(s) end
   elseif node.op == "residual" then
      node.inner = normalize({op = "seq", list = {node.inner}, where = node.where})
   elseif node.op == "concat" then
      for i, child in ipairs(node.list) do
         node.list[i] = normalize({op = "seq", list = {child}, where = child.where})
      end
   end
   return node
end

-- checks the widths where they are known: n in, the width out (nil: any)
local function size(node, n)
   if node.op == "seq" then
      for _, s in ipairs(node.stages) do n = size(s, n) end
      return n
   elseif node.op == "residual" then
      local m = size(node.inner, n)
      if n and m and m ~= n then
         fail(fmt("%s (nn.Residual): its module maps %d values to %d; x + m(x) needs the same",
            node.where, n, m))
      end
      return n or m
   elseif node.op == "concat" then
      local total = 0
      for _, child in ipairs(node.list) do
         local m = size(child, n)
         total = total and m and total + m
      end
      return total or nil
   elseif node.op == "map" or node.op == "softmax" or node.op == "logsoftmax" then
      return n
   elseif node.step then                      -- a sequence layer: any T
      if n and n % node.step ~= 0 then
         fail(fmt("%s (%s) takes steps of %d values, but gets %d from the layers before it",
            node.where, node.name or node.op, node.step, n))
      end
      if node.last then return node.ostep end  -- the final states only
      return n and math.floor(n / node.step) * node.ostep
   end
   if n and n ~= node.insize then
      fail(fmt("%s (%s) takes %d values, but gets %d from the layers before it",
         node.where, node.name or node.op, node.insize, n))
   end
   return node.outsize
end

-- the width a node needs, if any layer of it fixes one: nil if none
-- does, false if a sequence layer comes first (it takes any T steps, so
-- what follows it fixes nothing: a recurrent layer's last state has the
-- same width for every T)
local function need(node)
   if node.op == "seq" then
      for _, s in ipairs(node.stages) do
         local r = need(s)
         if r ~= nil then return r end
      end
      return nil
   elseif node.op == "residual" then
      return need(node.inner)
   elseif node.op == "concat" then
      for _, child in ipairs(node.list) do
         local r = need(child)
         if r ~= nil then return r end
      end
      return nil
   elseif node.step then
      return false
   end
   return node.insize
end

-- ---- the file --------------------------------------------------------------

local function header(net, nin, nout)
   local nn = require "nn"
   local ok, summary = pcall(tostring, net)
   if not ok or type(summary) ~= "string" then summary = describe(net) end
   local lines = {
      "-- A neural network's forward pass (evaluation mode), exported by lua-nn's",
      "-- nn.export: plain Lua that needs no lua-nn, no C and no require.  It runs",
      "-- unchanged on Lua 5.1, 5.2, 5.3, 5.4 and LuaJIT (and uses nothing Luau lacks).",
      "--",
      fmt("-- Made %s by %s.", os.date("!%Y-%m-%d %H:%M:%S UTC"), nn._VERSION),
      "--",
      "--   local model = dofile(\"this file\")     -- or require, or load(source)()",
      fmt("--   local y = model.forward(x)            -- x: %s numbers; y: %s",
         nin and tostring(nin) or "any count of", nout and (nout .. " numbers") or "the outputs"),
      "--   local ys = model.forward({x1, x2})    -- a batch: a list of samples in, of outputs out",
      "--                                         -- (and {} for {})",
      "--",
      "-- A sample is a flat array (an image its (C, H, W) values, channel by",
      "-- channel, row by row, as in an nn.Matrix row).  Each call returns new",
      "-- tables.  model.inputSize and model.outputSize are the widths (nil: any).",
      "-- The numbers are float32 weights printed with %.9g, computed in double.",
      "--",
      "-- Licence: the weights are the property of whoever trained the network; this",
      "-- file is the output of a program and carries no licence from lua-nn.",
      "--",
      "-- The network:",
   }
   for l in (summary .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = "--   " .. l end
   return concat(lines, "\n")
end

local function source(net)
   if type(net) ~= "table" and type(net) ~= "userdata" then
      fail("expected a network (a layer or a container), got " .. type(net))
   end
   local root = walk(net, "the network", 1)
   if root.op ~= "seq" then root = {op = "seq", list = {root}, where = "the network"} end
   normalize(root)
   local nout = size(root, nil)
   local nin = need(root) or nil
   if nin then nout = size(root, nin) end

   local g = setmetatable({out = {}, count = 0, helpers = {}, pad = ""}, Gen)
   local top = gen(g, root)
   local body = g.out

   local out = {header(net, nin, nout), "",
      "local exp, log, sqrt, huge = math.exp, math.log, math.sqrt, math.huge",
      "local type, error, tostring = type, error, tostring",
      "local F = {}"}
   -- the helpers the layers name, each after those it needs
   local function addhelper(name)
      local h = HELPERS[name]
      if h.done then return end
      if h[2] then addhelper(h[2]) end
      out[#out + 1] = h[1]
      h.done = true
   end
   for _, name in ipairs(HELPER_ORDER) do
      if g.helpers[name] then addhelper(name) end
   end
   for _, name in ipairs(HELPER_ORDER) do HELPERS[name].done = nil end
   if g.usesfill then
      out[#out + 1] = [[
-- t[o + 1], t[o + 2], ... = c[1], c[2], ...
local function fill(t, o, c)
   for i = 1, #c do t[o + i] = c[i] end
end]]
   end
   if g.recurrent then
      out[#out + 1] = [[
-- the recurrent layers' state: CARRY makes them go on from it (model.step)
local floor, pcall = math.floor, pcall
local CARRY, RESETS = false, {}]]
   end
   out[#out + 1] = concat(body, "\n")
   -- the outputs into a new table: a constructor of the right size when
   -- the width is known and small
   local copy = "   local out = {}\n   for i = 1, m do out[i] = y[i] end\n   return out"
   if nout and nout <= 32 then
      local t = {}
      for i = 1, nout do t[i] = fmt("y[%d]", i) end
      copy = "   return {" .. concat(t, ", ") .. "}"
   end
   out[#out + 1] = fmt([[

local model = {inputSize = %s, outputSize = %s}
local root, NIN = F[%d], model.inputSize

local function bad(s, what)
   error("model.forward: " .. (s > 0 and ("sample " .. s) or "the input") .. " " .. what, 0)
end

-- one sample: checked, through the network, copied into a new table
local function one(x, s)
   local n = #x
   if NIN and n ~= NIN then bad(s, "has " .. n .. " values, expected " .. NIN) end
   for i = 1, n do
      if type(x[i]) ~= "number" then bad(s, "has " .. type(x[i]) .. " at " .. i .. ", expected a number") end
   end
   local y, m = root(x, n)
%s
end

-- model.forward(x): x a sample (an array of numbers), y its outputs; or x a
-- batch (an array of samples), y an array of their outputs ({} for {})
function model.forward(x)
   if type(x) ~= "table" then
      error("model.forward: expected an array of numbers (a sample) or an array of them (a batch), got "
         .. type(x), 2)
   end
   local out = {}
   if x[1] == nil then return out end            -- an empty batch
   if type(x[1]) ~= "table" then return one(x, 0) end
   for s = 1, #x do
      if type(x[s]) ~= "table" then bad(s, "is " .. type(x[s]) .. ", expected an array of numbers") end
      out[s] = one(x[s], s)
   end
   return out
end
%s
return model
]], nin and tostring(nin) or "nil", nout and tostring(nout) or "nil", top, copy,
      g.recurrent and [[

-- The recurrent layers keep their state between calls: model.forward
-- starts them from zeros, model.step(x) goes on from where the last
-- forward or step ended (x: the next steps of one sequence, often one:
-- generation a token at a time), and model.reset() sets them to zeros.
function model.step(x)
   if type(x) ~= "table" or type(x[1]) == "table" then
      error("model.step: expected an array of numbers (the next steps of one sample), got "
         .. (type(x) == "table" and "a batch" or type(x)), 2)
   end
   CARRY = true
   local ok, y = pcall(one, x, 0)
   CARRY = false
   if not ok then error(y, 0) end
   return y
end

function model.reset()
   for i = 1, #RESETS do RESETS[i]() end
end
]] or "")
   return concat(out, "\n")
end

-- nn.export(net [, path]): the source, or true once written to path
-- (atomically, as nn.save)
function export.export(net, path)
   if path ~= nil and type(path) ~= "string" then
      error("nn.export: path must be a string, got " .. type(path), 2)
   end
   local ok, src = pcall(source, net)
   if not ok then error(src, 2) end
   if path == nil then return src end
   local done, err = core.writefile(path, src)
   if not done then error("nn.export: " .. tostring(err), 2) end
   return true
end

return export
