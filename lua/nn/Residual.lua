-- nn.Residual(m): y = x + m(x), the skip connection of a residual network
-- (He et al. 2016).  m must give an output of its input's shape.  It
-- honours the module contract, so it sits in a Sequential and saves.
local Container = require "nn.Container"

local Residual = {}
local methods = setmetatable({}, {__index = Container.methods})
local mt = {__call = function(self, x) return self:forward(x) end}

function methods:forward(x)
   Container.checkself(self, mt, "Residual", "forward")
   local y = Container.call(self, 1, "forward", x)
   local rows, cols = x:shape()
   local yr, yc = y:shape()
   if yr ~= rows or yc ~= cols then
      error(("Residual:forward: the inner module gives %d x %d for a %d x %d input; "
         .. "x + m(x) needs the same shape"):format(yr, yc, rows, cols), 2)
   end
   self.output = Container.buffer(self, "output", rows, cols):copy(x):add(y)
   return self.output
end

-- dL/dx = gy + dL/dx through m
function methods:backward(x, gy, wantgx)
   Container.checkself(self, mt, "Residual", "backward")
   local g = Container.call(self, 1, "backward", x, gy, wantgx ~= false)
   if wantgx == false then
      self.gradInput = nil
      return nil
   end
   self.gradInput = Container.buffer(self, "gradInput", gy:shape()):copy(gy):add(g)
   return self.gradInput
end

function methods:outputSize(nin)
   local m = self.modules[1]
   local nout = m.outputSize and m:outputSize(nin)
   if nin and nout and nout ~= nin then
      error(("Residual: the inner module maps %d columns to %d"):format(nin, nout), 2)
   end
   return nin
end

local function tostring_(self)
   return "nn.Residual(" .. Container.describe(self.modules[1]) .. ")"
end
mt.__tostring = tostring_

-- its image shape is its input's: x + m(x)
local fields = {
   keepsShape = function() return true end,
   inputShape = function(self) return Container.get(self.modules[1], "inputShape") end,
}
mt.__index = function(self, k)
   if type(k) == "number" then return rawget(self, "modules")[k] end
   if fields[k] then return fields[k](self) end
   return methods[k]
end

-- m:setInputShape(C, H, W): passed on to the inner module
function methods:setInputShape(C, H, W)
   local m = self.modules[1]
   if type(Container.get(m, "setInputShape")) == "function" then m:setInputShape(C, H, W) end
   return self
end

function Residual.new(m)
   local self = setmetatable({modules = {}, train = true, typename = "Residual"}, mt)
   Container.admit(self, m, 1, "nn.Residual")
   self.modules[1] = m
   return self
end

function Residual.is(x) return getmetatable(x) == mt end

return Residual
