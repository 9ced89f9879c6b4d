-- nn.Sequential: modules applied one after another.  It honours the same
-- contract as every module (forward, backward, zeroGrad, parameters,
-- training, evaluate), so it can sit inside another Sequential.

local Container = require "nn.Container"

local Sequential = {}
local methods = setmetatable({}, {__index = Container.methods})

local mt

local describe, get = Container.describe, Container.get

local function checkself(self, name) return Container.checkself(self, mt, "Sequential", name) end

local function call(self, i, name, ...) return Container.call(self, i, name, ...) end

-- The (C, H, W) of the rows that leave layers 1..upto, if known: the last
-- image layer's output shape, carried through layers that keep their
-- input's shape (activations, Dropout, ...), lost at any other; start if
-- every layer keeps it.  Read from the end back, so that it stops at the
-- first layer that settles it (adding layer after layer stays linear).
local function imageshape(modules, upto, start)
   for i = upto, 1, -1 do
      local m = modules[i]
      local s = get(m, "outputShape")
      if type(s) == "table" then return s end
      if get(m, "keepsShape") ~= true then return nil end
   end
   return start
end

-- an image layer made without {input = ...} learns its input's shape from
-- the layers before it
local function place(self, m, i)
   if get(m, "inputShape") ~= nil or type(get(m, "setInputShape")) ~= "function" then return end
   local s = imageshape(self.modules, i - 1, rawget(self, "_inshape"))
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
   Container.admit(self, m, i, "nn.Sequential")
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

-- net:setInputShape(C, H, W): the images this Sequential takes, when it
-- sits after an image layer (in a Residual, a Concat or another
-- Sequential): its image layers made without {input = ...} learn theirs
function methods:setInputShape(C, H, W)
   checkself(self, "setInputShape")
   rawset(self, "_inshape", {C, H, W})
   for i, m in ipairs(self.modules) do place(self, m, i) end
   return self
end

-- the output width for inputs of nin columns (nil where a layer cannot say)
function methods:outputSize(nin)
   checkself(self, "outputSize")
   for _, m in ipairs(self.modules) do
      if m.outputSize then nin = m:outputSize(nin) else nin = nil end
   end
   return nin
end

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
      -- a Residual or a Concat by what it holds (tostring), in one line
      local name = nested and "nn.Sequential"
         or (Container.is(m) and tostring(m) or describe(m)):gsub("\n", " ")
      local label = ("%s(%d) %s"):format(indent, i, name)
      local s = imageshape(self.modules, i, rawget(self, "_inshape"))
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
   outputShape = function(self)
      return imageshape(self.modules, #self.modules, rawget(self, "_inshape"))
   end,
   -- what setInputShape was told (not its first layer's: asking down a
   -- deep nest at every level would cost the square of its depth)
   inputShape = function(self) return rawget(self, "_inshape") end,
   -- never by itself: asking every layer (and theirs) at every question
   -- costs more than a long, deep network can pay; once placed, a nested
   -- Sequential of activations says its outputShape instead
   keepsShape = function() return false end,
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
