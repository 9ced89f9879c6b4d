-- nn.Container: what the containers (Sequential, Residual, Concat) share:
-- checking and admitting their layers, calling one with its position put
-- in front of any error, the methods that go to every child, and reused
-- output buffers.  Torch7's nn.Container, in the same spirit.
local core = require "nn.core"

local Container = {}
local methods = {}
Container.methods = methods

-- a field of a layer that may be any table (a Lua layer's __index may throw)
function Container.get(m, k)
   local ok, v = pcall(function() return m[k] end)
   if ok then return v end
end

-- is m a container (one of these, or anything holding a modules list)?
function Container.is(m)
   return type(m) == "table" and type(rawget(m, "modules")) == "table"
end

-- a one-line description of a layer, for messages: at most 80 characters
-- (a nested container is just its name, not its whole summary)
function Container.describe(m)
   if Container.is(m) and type(rawget(m, "typename")) == "string" then
      return "nn." .. rawget(m, "typename")
   end
   -- a Lua layer without __tostring: its name or typename, not "table: 0x..."
   if type(m) == "table" and not (getmetatable(m) and getmetatable(m).__tostring) then
      local name = rawget(m, "name") or rawget(m, "typename")
      return type(name) == "string" and name or "a Lua layer"
   end
   local ok, s = pcall(tostring, m)
   s = ok and type(s) == "string" and s:gsub("\n", " ") or type(m)
   return #s > 80 and s:sub(1, 77) .. "..." or s
end

-- the methods' check of self: net.forward(x) (a dot for a colon) names
-- the mistake instead of failing somewhere inside
function Container.checkself(self, mt, kind, name)
   if getmetatable(self) ~= mt then
      error(("nn.%s:%s: call it as net:%s(...) (self is %s, not a %s)")
         :format(kind, name, name, type(self), kind), 3)
   end
end

-- does m, or any container inside it, hold target?
local function contains(m, target)
   if m == target then return true end
   if Container.is(m) then
      for _, child in ipairs(m.modules) do
         if contains(child, target) then return true end
      end
   end
   return false
end

local function checklayer(m, i, fn)
   if type(m) == "function" then            -- nn.Sequential{nn.ReLU}: a constructor
      local name
      for k, v in pairs(require "nn") do
         if v == m then name = k end
      end
      error(("%s: layer %d is a function, not a layer; did you mean %s()?")
         :format(fn, i, name and "nn." .. name or "to call it"), 4)
   end
   local ok, fwd, bwd = pcall(function() return m.forward, m.backward end)
   if not ok or fwd == nil or bwd == nil then
      error(("%s: layer %d (%s) has no forward and backward")
         :format(fn, i, Container.describe(m)), 4)
   end
end

-- refuses m if it has no forward and backward, or holds self (a container
-- inside itself would recurse until the stack runs out)
function Container.admit(self, m, i, fn)
   checklayer(m, i, fn)
   if contains(m, self) then
      error(("%s: layer %d contains this %s; a container cannot hold itself")
         :format(fn, i, self.typename), 3)
   end
end

-- calls m[name](m, ...) and puts the layer's position and type in front of
-- any error it raises.  An error from a nested container already starts
-- with its own path, which this one extends: "Sequential[2][1] nn.Linear
-- (...): ...", so the message grows by a few characters a level, not by a
-- summary of the whole network.
function Container.call(self, i, name, ...)
   local m = self.modules[i]
   local ok, a = pcall(m[name], m, ...)
   if not ok then
      a = tostring(a)
      local inner = Container.is(m) and rawget(m, "typename")
      if inner and a:sub(1, #inner + 1) == inner .. "[" then
         error(("%s[%d]%s"):format(self.typename, i, a:sub(#inner + 1)), 0)
      end
      error(("%s[%d] %s: %s"):format(self.typename, i, Container.describe(m), a), 0)
   end
   return a
end

-- self[key], an r x c Matrix made once and kept while the shape holds
function Container.buffer(self, key, r, c)
   local b = rawget(self, "_" .. key)
   if not b or select(1, b:shape()) ~= r or select(2, b:shape()) ~= c then
      b = core.Matrix(r, c)
      rawset(self, "_" .. key, b)
   end
   return b
end

-- the check of self for the methods below, as checkself for any container
local function check(self, name)
   if not Container.is(self) then
      error(("nn.Container:%s: call it as net:%s(...) (self is %s, not a container)")
         :format(name, name, type(self)), 3)
   end
end

local function each(self, name)
   check(self, name)
   for _, m in ipairs(self.modules) do
      if m[name] then m[name](m) end
   end
   return self
end

-- the number of layers, as #net (which Lua 5.1 and LuaJIT do not pass to
-- __len for a table); Torch7's Container:size()
function methods:size()
   check(self, "size")
   return #self.modules
end

function methods:zeroGrad() return each(self, "zeroGrad") end

function methods:training()
   self.train = true
   return each(self, "training")
end

function methods:evaluate()
   self.train = false
   return each(self, "evaluate")
end

function methods:parameters()
   check(self, "parameters")
   local params, grads = {}, {}
   for _, m in ipairs(self.modules) do
      if m.parameters then
         local p, g = m:parameters()
         for k = 1, #p do
            params[#params + 1] = p[k]
            grads[#grads + 1] = g[k]
         end
      end
   end
   return params, grads
end

function methods:config() return {} end

-- PyTorch's state dict of the network, and loading one (nn.statedict)
function methods:stateDict() return require("nn.statedict").stateDict(self) end

function methods:loadStateDict(t, opts)
   return require("nn.statedict").loadStateDict(self, t, opts)
end

return Container
