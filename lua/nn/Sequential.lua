-- nn.Sequential: modules applied one after another.  It honours the same
-- contract as every module (forward, backward, zeroGrad, parameters,
-- training, evaluate), so it can sit inside another Sequential.

local Sequential = {}
local methods = {}

local mt

-- a one-line description of a layer, for messages: at most 80 characters
-- (a nested Sequential is just "nn.Sequential", not its whole summary)
local function describe(m)
   if getmetatable(m) == mt then return "nn.Sequential" end
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
local function checkself(self, name)
   if getmetatable(self) ~= mt then
      error(("nn.Sequential:%s: call it as net:%s(...) (self is %s, not a Sequential)")
         :format(name, name, type(self)), 3)
   end
end

-- does m, or any container inside it, hold target?
local function contains(m, target)
   if m == target then return true end
   if getmetatable(m) == mt then
      for _, child in ipairs(m.modules) do
         if contains(child, target) then return true end
      end
   end
   return false
end

local function checklayer(m, i)
   if type(m) == "function" then            -- nn.Sequential{nn.ReLU}: a constructor
      local name
      for k, v in pairs(require "nn") do
         if v == m then name = k end
      end
      error(("nn.Sequential: layer %d is a function, not a layer; did you mean %s()?")
         :format(i, name and "nn." .. name or "to call it"), 4)
   end
   local ok, fwd, bwd = pcall(function() return m.forward, m.backward end)
   if not ok or fwd == nil or bwd == nil then
      error(("nn.Sequential: layer %d (%s) has no forward and backward")
         :format(i, describe(m)), 4)
   end
end

-- calls m[name](m, ...) and puts the layer's position and type in front of
-- any error it raises.  An error from a nested Sequential already starts
-- with its own path, which this one extends: "Sequential[2][1] nn.Linear
-- (...): ...", so the message grows by a few characters a level, not by a
-- summary of the whole network.
local function call(self, i, name, ...)
   local m = self.modules[i]
   local ok, a = pcall(m[name], m, ...)
   if not ok then
      a = tostring(a)
      if getmetatable(m) == mt and a:sub(1, 11) == "Sequential[" then
         error(("Sequential[%d]%s"):format(i, a:sub(11)), 0)
      end
      error(("Sequential[%d] %s: %s"):format(i, describe(m), a), 0)
   end
   return a
end

-- a field of a layer that may be any table (a Lua layer's __index may throw)
local function get(m, k)
   local ok, v = pcall(function() return m[k] end)
   if ok then return v end
end

-- The (C, H, W) of the rows that leave layers 1..upto, if known: the last
-- image layer's output shape, carried through layers that keep their
-- input's shape (activations, Dropout, ...), lost at any other.
local function imageshape(modules, upto)
   local shape
   for i = 1, upto do
      local m = modules[i]
      local s = get(m, "outputShape")
      if type(s) == "table" then shape = s
      elseif get(m, "keepsShape") ~= true then shape = nil end
   end
   return shape
end

-- an image layer made without {input = ...} learns its input's shape from
-- the layers before it
local function place(self, m, i)
   if get(m, "inputShape") ~= nil or type(get(m, "setInputShape")) ~= "function" then return end
   local s = imageshape(self.modules, i - 1)
   if not s then return end
   local ok, err = pcall(m.setInputShape, m, s[1], s[2], s[3])
   if not ok then
      error(("nn.Sequential: layer %d (%s) cannot take the %dx%dx%d images before it: %s")
         :format(i, describe(m), s[1], s[2], s[3], tostring(err)), 4)
   end
end

-- refuses m if it has no forward and backward, or holds self (a container
-- inside itself would recurse until the stack runs out)
local function admit(self, m, i)
   checklayer(m, i)
   if contains(m, self) then
      error(("nn.Sequential: layer %d contains this Sequential; a container "
         .. "cannot hold itself"):format(i), 3)
   end
   place(self, m, i)
end

function methods:add(m)
   checkself(self, "add")
   admit(self, m, #self.modules + 1)
   self.modules[#self.modules + 1] = m
   return self
end

function methods:forward(x)
   checkself(self, "forward")
   local inputs = self.inputs
   for i = 1, #self.modules do
      inputs[i] = x
      x = call(self, i, "forward", x)
   end
   for i = #self.modules + 1, #inputs do inputs[i] = nil end
   self.output = x
   return x
end

-- backward goes through the layers in reverse, each with the input it saw
-- in the last forward (the first layer's is x).  With wantgx false the
-- first layer may skip dL/dx (nn.fit: nothing reads the data's gradient).
function methods:backward(x, gy, wantgx)
   checkself(self, "backward")
   local inputs = self.inputs
   inputs[1] = x
   for i = #self.modules, 2, -1 do
      gy = call(self, i, "backward", inputs[i], gy)
   end
   if #self.modules > 0 then
      gy = call(self, 1, "backward", x, gy, wantgx ~= false)
   end
   self.gradInput = gy
   return gy
end

local function each(self, name)
   checkself(self, name)
   for _, m in ipairs(self.modules) do
      if m[name] then m[name](m) end
   end
   return self
end

-- the number of layers, as #net (which Lua 5.1 and LuaJIT do not pass to
-- __len for a table); Torch7's Container:size()
function methods:size()
   checkself(self, "size")
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
   checkself(self, "parameters")
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

-- the output width for inputs of nin columns (nil where a layer cannot say)
function methods:outputSize(nin)
   checkself(self, "outputSize")
   for _, m in ipairs(self.modules) do
      if m.outputSize then nin = m:outputSize(nin) else nin = nil end
   end
   return nin
end

function methods:config() return {} end

local function count(m)
   local n = 0
   if m.parameters then
      for _, p in ipairs((m:parameters())) do n = n + p:numel() end
   end
   return n
end

-- A summary in the manner of Keras: each layer, its output shape (C x H x
-- W for images, else the width) and its parameter count, then the total.  A nested Sequential lists its layers
-- indented under its own line.
local function rows(self, lines, indent, width)
   for i, m in ipairs(self.modules) do
      local input = width
      if m.outputSize then width = m:outputSize(width) else width = nil end
      local nested = Sequential.is(m)
      local name = nested and "nn.Sequential" or describe(m):gsub("\n", " ")
      local label = ("%s(%d) %s"):format(indent, i, name)
      local s = imageshape(self.modules, i)
      local out = s and ("%dx%dx%d"):format(s[1], s[2], s[3]) or width and tostring(width) or "?"
      if #label > 40 then label = label:sub(1, 37) .. "..." end
      lines[#lines + 1] = ("  %-40s out %-9s params %d"):format(label, out, count(m))
      if nested then rows(m, lines, indent .. "    ", input) end
   end
end

local function summary(self)
   local lines = {"nn.Sequential"}
   rows(self, lines, "")
   lines[#lines + 1] = ("  total parameters: %d"):format(count(self))
   return table.concat(lines, "\n")
end

-- a Sequential as a layer of another: its image shape is its last one's
local fields = {
   outputShape = function(self) return imageshape(self.modules, #self.modules) end,
   keepsShape = function(self)
      for _, m in ipairs(self.modules) do
         if get(m, "keepsShape") ~= true then return false end
      end
      return true
   end,
}

mt = {
   __index = function(self, k)
      if type(k) == "number" then return rawget(self, "modules")[k] end
      if fields[k] then return fields[k](self) end
      return methods[k]
   end,
   __len = function(self) return #self.modules end,
   __call = function(self, x) return self:forward(x) end,
   __tostring = summary,
}

-- nn.Sequential{m1, m2, ...} or nn.Sequential() then :add(m)
function Sequential.new(list)
   local self = setmetatable({
      modules = {}, inputs = {}, train = true, typename = "Sequential",
   }, mt)
   if list ~= nil and type(list) ~= "table" then
      error("nn.Sequential: expected a list of layers, got " .. type(list), 2)
   end
   for i, m in ipairs(list or {}) do
      admit(self, m, i)
      self.modules[i] = m
   end
   return self
end

function Sequential.is(x) return getmetatable(x) == mt end

return Sequential
