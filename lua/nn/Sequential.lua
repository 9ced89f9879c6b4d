-- nn.Sequential: modules applied one after another.  It honours the same
-- contract as every module (forward, backward, zeroGrad, parameters,
-- training, evaluate), so it can sit inside another Sequential.
--
-- Its layers must fit together: each takes the shape the one before gives
-- (Container.lua's shapes), checked when the Sequential is made and when a
-- layer is added, so that nn.Sequential{nn.Linear(2, 8), nn.Linear(9, 1)}
-- is an error there, not at the first forward.

local Container = require "nn.Container"

local Sequential = {}
local methods = setmetatable({}, {__index = Container.methods})

local mt

local describe, get = Container.describe, Container.get

local function checkself(self, name) return Container.checkself(self, mt, "Sequential", name) end

local function call(self, i, name, ...) return Container.call(self, i, name, ...) end

-- the layers one after another: each takes the shape the one before gives
function methods:_flowchildren(s, dry)
   local need
   for i = 1, #self.modules do
      local out, nd = Container.flowchild(self, i, s, dry)
      need = need or nd
      s = out
   end
   return s, need or s
end

function methods:add(m)
   checkself(self, "add")
   local i = #self.modules + 1
   local why = Container.admit(self, m, i, "nn.Sequential")
   if why then error(why, 2) end
   Container.commit(self, "nn.Sequential:add", function()
      self.modules[i] = m
      local last = rawget(self, "_shapeout")
      if i == 1 or not last then
         self:_flow(rawget(self, "_shapein") or Container.EMPTY, false, true)
      else                    -- the layers before are checked: only m flows
         rawset(self, "_shapeout", (Container.flowchild(self, i, last)))
      end
   end, function() self.modules[i] = nil end)
   Container.link(m, self)
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
   local ok, params = pcall(function() return m.parameters and (m:parameters()) end)
   if ok and type(params) == "table" then
      for _, p in ipairs(params) do n = n + p:numel() end
   end
   return n
end

-- A summary in the manner of Keras: each layer, its output shape (C x H x
-- W for images, else the width) and its parameter count, then the total.
-- A nested Sequential lists its layers indented under its own line.  The
-- shapes flow as in Container.lua, but change nothing and raise nothing:
-- a layer that does not take what the one before gives is marked, with
-- why, and the summary goes on from the output it declares.
local function rows(self, lines, indent, s)
   for i, m in ipairs(self.modules) do
      local input = s
      local ok, out = pcall(Container.flow, m, s, true)
      local bad
      if not ok then
         bad = Container.misfitmessage(out)
         out = Container.declared(m)
      end
      local nested = Sequential.is(m)
      -- a Residual or a Concat by what it holds (tostring), in one line
      local name = nested and "nn.Sequential"
         or (Container.is(m) and tostring(m) or describe(m)):gsub("\n", " ")
      local label = ("%s(%d) %s"):format(indent, i, name)
      if #label > 40 then label = label:sub(1, 37) .. "..." end
      lines[#lines + 1] = ("  %-40s out %-9s params %d"):format(label,
         Container.shapestr(out), count(m))
      if bad then
         lines[#lines + 1] = ("  %s    ^ does not fit: %s"):format(indent, bad)
      end
      if nested then rows(m, lines, indent .. "    ", input) end
      s = out
   end
end

local function summary(self)
   local lines = {"nn.Sequential"}
   rows(self, lines, "", rawget(self, "_shapein") or Container.EMPTY)
   lines[#lines + 1] = ("  total parameters: %d"):format(count(self))
   return table.concat(lines, "\n")
end

-- a Sequential as a layer of another: the image shapes it takes and gives
local fields = Container.fields

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
      local why = Container.admit(self, m, i, "nn.Sequential")
      if why then error(why, 2) end
      self.modules[i] = m
   end
   Container.commit(self, "nn.Sequential", function()
      self:_flow(Container.EMPTY, false, true)
   end)
   for _, m in ipairs(self.modules) do Container.link(m, self) end
   return self
end

function Sequential.is(x) return getmetatable(x) == mt end

return Sequential
