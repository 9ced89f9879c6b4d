-- Optimizers: SGD (momentum, dampening, Nesterov, weight decay), Adam,
-- AdamW, RMSprop, Adagrad, with PyTorch's semantics and defaults.  A step
-- is one C call for every parameter (nn.core.optim); this file holds the
-- options and the state.
--
--   local opt = nn.SGD(net, {lr = 0.1, momentum = 0.9})   -- or (params, grads, opts)
--   opt:zeroGrad(); ...backward...; opt:step()
--   opt.lr = opt.lr * 0.5            -- any option can change between steps
local core = require "nn.core"
local compat = require "nn.compat"
local K = core.optim
local isMatrix = require("nn.util").isMatrix

-- ---- options -----------------------------------------------------------

-- the largest float32: the kernels compute in float, so lr = 1e39 would
-- become infinity there
local FLT_MAX = 3.4028234663852886e38

local function number(lo, hi, hiopen)
   return function(v)
      return type(v) == "number" and v == v and v >= lo and v <= FLT_MAX
         and (hiopen and v < hi or not hiopen and v <= hi)
   end
end

local checks = {
   lr = {number(0, math.huge, true), "a float32 number >= 0"},
   momentum = {number(0, 1, true), "a number in [0, 1)"},
   dampening = {number(0, 1), "a number in [0, 1]"},
   weightDecay = {number(0, math.huge, true), "a float32 number >= 0"},
   eps = {number(0, math.huge, true), "a float32 number >= 0"},
   alpha = {number(0, 1, true), "a number in [0, 1)"},
   lrDecay = {number(0, math.huge, true), "a number >= 0"},
   initialAccumulatorValue = {number(0, math.huge, true), "a number >= 0"},
   nesterov = {function(v) return type(v) == "boolean" end, "a boolean"},
   amsgrad = {function(v) return type(v) == "boolean" end, "a boolean"},
   centered = {function(v) return type(v) == "boolean" end, "a boolean"},
   betas = {false, "a pair {beta1, beta2} of numbers in [0, 1)"},
}
do            -- made once: step runs the checks, and makes no closure
   local unit = number(0, 1, true)
   checks.betas[1] = function(v)
      return type(v) == "table" and #v == 2 and unit(v[1]) and unit(v[2])
   end
end

-- each optimizer's options and PyTorch's defaults (SGD's lr has none)
local defaults = {
   SGD = {lr = false, momentum = 0, dampening = 0, nesterov = false, weightDecay = 0},
   Adam = {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weightDecay = 0, amsgrad = false},
   AdamW = {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weightDecay = 1e-2, amsgrad = false},
   RMSprop = {lr = 1e-2, alpha = 0.99, eps = 1e-8, weightDecay = 0, momentum = 0,
              centered = false},
   Adagrad = {lr = 1e-2, lrDecay = 0, weightDecay = 0, initialAccumulatorValue = 0,
              eps = 1e-10},
}

local function sortedkeys(t)
   local ks = {}
   for k in pairs(t) do ks[#ks + 1] = k end
   table.sort(ks)
   return ks
end

-- each kind's option names, sorted once: step checks them every time, and
-- a steady training loop makes no table
local optionnames = {}

-- checks every option of self; where names the caller for the message,
-- which carries no position (like the C core's)
local function validate(self, where)
   local names = optionnames[self.typename]
   if not names then
      names = sortedkeys(defaults[self.typename])
      optionnames[self.typename] = names
   end
   for _, k in ipairs(names) do
      local v = self[k]
      if v == nil or v == false and k == "lr" then
         error(("%s: lr is required"):format(where), 0)
      end
      if not checks[k][1](v) then
         error(("%s: %s must be %s, got %s"):format(where, k, checks[k][2],
            tostring(v)), 0)
      end
   end
   if self.nesterov and (self.momentum <= 0 or self.dampening ~= 0) then
      error(("%s: nesterov needs momentum > 0 and dampening 0"):format(where), 0)
   end
end

-- ---- the optimizer object ------------------------------------------------

local Optimizer = {}
Optimizer.__index = Optimizer

-- opt.step() or opt.step(crit) (a dot for a colon) names the mistake
local function checkself(self, name)
   if getmetatable(self) ~= Optimizer then
      error(("Optimizer:%s: call it as opt:%s(...) (self is %s, not an optimizer)")
         :format(name, name, type(self)), 3)
   end
end

-- new(kind, module, opts) or new(kind, params, grads, opts)
local function new(kind, a, b, c)
   local fn = "nn." .. kind
   local params, grads, opts
   local ok, getp = pcall(function() return a.parameters end)
   if ok and type(getp) == "function" then
      params, grads = a:parameters()
      opts = b
   elseif type(a) == "table" and type(b) == "table" and (#a > 0 or next(b) == nil) then
      params, grads, opts = a, b, c
   elseif type(a) == "table" and type(b) == "table" then
      -- nn.SGD({}, {lr = 1}): b is options, and a has nothing to optimize
      error(("%s: the first argument (%s) has no parameters: expected a module "
         .. "(a layer or nn.Sequential), or params, grads lists of Matrices")
         :format(fn, isMatrix(a) and "a Matrix" or "an empty table"), 3)
   else
      error(fn .. ": expected a module, or a params, grads pair of Matrix lists", 3)
   end
   if #params ~= #grads then
      error(("%s: %d params but %d grads"):format(fn, #params, #grads), 3)
   end
   for i = 1, #params do
      local p, g = params[i], grads[i]
      if not isMatrix(p) or not isMatrix(g) then
         error(("%s: params[%d] and grads[%d] must be nn.Matrix"):format(fn, i, i), 3)
      end
      local pr, pc = p:shape()
      local gr, gc = g:shape()
      if pr ~= gr or pc ~= gc then
         error(("%s: params[%d] is %d x %d but grads[%d] is %d x %d")
            :format(fn, i, pr, pc, i, gr, gc), 3)
      end
   end
   if opts ~= nil and type(opts) ~= "table" then
      error(fn .. ": options must be a table", 3)
   end
   local self = setmetatable({typename = kind, params = params, grads = grads,
                              t = 0, buffers = {}, fresh = {}}, Optimizer)
   for k, v in pairs(defaults[kind]) do
      self[k] = type(v) == "table" and {v[1], v[2]} or v
   end
   for k, v in pairs(opts or {}) do
      if defaults[kind][k] == nil then
         error(("%s: unknown option '%s' (expected %s)"):format(fn, tostring(k),
            table.concat(sortedkeys(defaults[kind]), ", ")), 3)
      end
      self[k] = v
   end
   validate(self, fn)
   return self
end

-- the state buffer `name` of parameter i, made with value v on first use;
-- returns it and whether it is new
function Optimizer:buffer(name, i, v)
   checkself(self, "buffer")
   local list = self.buffers[name]
   if not list then
      list = {}
      self.buffers[name] = list
   end
   local b = list[i]
   if b then return b, false end
   local r, c = self.params[i]:shape()
   b = core.Matrix(r, c, v or 0)
   list[i] = b
   return b, true
end

-- every parameter's buffer `name` (a list), made with value v on first use;
-- fresh[i] is set where buffer i is new
local function all(self, name, v, fresh)
   for i = 1, #self.params do
      local _, new = self:buffer(name, i, v)
      if new and fresh then fresh[i] = true end
   end
   return self.buffers[name]
end

-- one update of every parameter, in one call (one job on nn.threads's
-- threads, core.optim's comment says why)
local steps = {}

function steps.SGD(self)
   local fresh, bufs = self.fresh
   if self.momentum ~= 0 then bufs = all(self, "momentum", nil, fresh) end
   K.sgd(self.params, self.grads, bufs, self.lr, self.momentum, self.dampening,
      self.weightDecay, self.nesterov, fresh)
   for i in pairs(fresh) do fresh[i] = nil end
end

local function adam(self, decoupled)
   K.adam(self.params, self.grads, all(self, "m"), all(self, "v"),
      self.amsgrad and all(self, "vmax") or nil, self.lr, self.betas[1],
      self.betas[2], self.eps, self.weightDecay, decoupled, self.t)
end

function steps.Adam(self) adam(self, false) end
function steps.AdamW(self) adam(self, true) end

function steps.RMSprop(self)
   K.rmsprop(self.params, self.grads, all(self, "v"),
      self.centered and all(self, "gavg") or nil,
      self.momentum > 0 and all(self, "momentum") or nil,
      self.lr, self.alpha, self.eps, self.weightDecay, self.momentum)
end

function steps.Adagrad(self)
   local clr = self.lr / (1 + (self.t - 1) * self.lrDecay)
   K.adagrad(self.params, self.grads, all(self, "sum", self.initialAccumulatorValue),
      clr, self.eps, self.weightDecay)
end

-- one update of every parameter from its gradient
function Optimizer:step()
   checkself(self, "step")
   validate(self, self.typename .. ":step")
   self.t = self.t + 1
   steps[self.typename](self)
   return self
end

function Optimizer:zeroGrad()
   checkself(self, "zeroGrad")
   K.zero(self.grads)
   return self
end

-- A copy of everything the next steps depend on: the options, the step
-- count and every buffer.  setState(s) restores it; training then resumes
-- bit for bit.
function Optimizer:state()
   checkself(self, "state")
   local s = {typename = self.typename, t = self.t, options = {}, buffers = {}}
   for k in pairs(defaults[self.typename]) do
      local v = self[k]
      s.options[k] = type(v) == "table" and {v[1], v[2]} or v
   end
   for name, list in pairs(self.buffers) do
      s.buffers[name] = {}
      for i, b in pairs(list) do s.buffers[name][i] = b:clone() end
   end
   return s
end

function Optimizer:setState(s)
   checkself(self, "setState")
   local fn = self.typename .. ":setState"
   if type(s) ~= "table" or s.typename ~= self.typename then
      error(("%s: expected a state from %s:state()"):format(fn, self.typename), 2)
   end
   if not compat.isint(s.t) or s.t < 0 then
      error(fn .. ": the state's step count is not a non-negative integer", 2)
   end
   local buffers = {}
   if s.buffers ~= nil and type(s.buffers) ~= "table" then
      error(fn .. ": the state's buffers are not a table", 2)
   end
   for name, list in pairs(s.buffers or {}) do
      if type(list) ~= "table" then
         error(("%s: buffer list %s is not a table"):format(fn, tostring(name)), 2)
      end
      buffers[name] = {}
      for i, b in pairs(list) do
         local p = self.params[i]
         if not p or not isMatrix(b) then
            error(("%s: buffer %s[%s] has no parameter to match"):format(fn, name,
               tostring(i)), 2)
         end
         local pr, pc = p:shape()
         local br, bc = b:shape()
         if pr ~= br or pc ~= bc then
            error(("%s: buffer %s[%d] is %d x %d, the parameter is %d x %d")
               :format(fn, name, i, br, bc, pr, pc), 2)
         end
         buffers[name][i] = b:clone()
      end
   end
   local saved = {}
   for k in pairs(defaults[self.typename]) do saved[k] = self[k] end
   if s.options ~= nil and type(s.options) ~= "table" then
      error(fn .. ": the state's options are not a table", 2)
   end
   for k, v in pairs(s.options or {}) do
      if defaults[self.typename][k] == nil then
         error(("%s: unknown option '%s' in the state"):format(fn, tostring(k)), 2)
      end
      self[k] = type(v) == "table" and {v[1], v[2]} or v
   end
   local ok, err = pcall(validate, self, fn)
   if not ok then
      for k, v in pairs(saved) do self[k] = v end
      error(err, 0)
   end
   self.t, self.buffers = s.t, buffers
   return self
end

function Optimizer:__tostring()
   local parts = {}
   for _, k in ipairs(sortedkeys(defaults[self.typename])) do
      local v = self[k]
      if type(v) == "table" then v = ("{%g, %g}"):format(v[1], v[2]) end
      parts[#parts + 1] = ("%s = %s"):format(k, tostring(v))
   end
   return ("nn.%s{%s}"):format(self.typename, table.concat(parts, ", "))
end

local optim = {}
for kind in pairs(defaults) do
   optim[kind] = function(...) return new(kind, ...) end
end
return optim
