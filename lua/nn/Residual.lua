-- nn.Residual(m): y = x + m(x), the skip connection of a residual network
-- (He et al. 2016).  m must give an output of its input's shape: the same
-- width, and for images the same (C, H, W) (a strided or widening m gives
-- as many numbers in another layout, and x + m(x) would add unrelated
-- pixels; PyTorch refuses it too).  Checked when it is made and when it is
-- placed after a layer whose shape is known.  It honours the module
-- contract, so it sits in a Sequential and saves.
local Container = require "nn.Container"

local Residual = {}
local methods = setmetatable({}, {__index = Container.methods})
local mt = {__call = function(self, x) return self:forward(x) end}

local shapestr = Container.shapestr

-- x + m(x) has x's shape, which m must keep
function methods:_flowchildren(s, dry)
   local m = self.modules[1]
   local out, need = Container.flowchild(self, 1, s, dry)
   local x = {w = need.w or s.w, img = need.img or s.img, step = need.step or s.step}
   if x.w and out.w and x.w ~= out.w or x.img and out.img and shapestr(x) ~= shapestr(out) then
      local what = x.img and out.img and "images" or "columns"
      if what == "columns" then x, out = {w = x.w}, {w = out.w} end
      Container.misfitat(1, m, "maps %s %s to %s; x + m(x) needs m to keep its input's shape",
         shapestr(x), what, shapestr(out))
   end
   if x.step and out.step and x.step ~= out.step then
      Container.misfitat(1, m, "maps steps of %d features to steps of %d; x + m(x) needs m to "
         .. "keep its input's shape", x.step, out.step)
   end
   local y = {w = x.w or out.w, img = x.img or out.img, step = x.step or out.step}
   return y, y
end

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
   inputShape = Container.fields.inputShape,
   outputShape = Container.fields.outputShape,
}
mt.__index = function(self, k)
   if type(k) == "number" then return rawget(self, "modules")[k] end
   if fields[k] then return fields[k](self) end
   return methods[k]
end

function Residual.new(m)
   local self = setmetatable({modules = {}, train = true, typename = "Residual"}, mt)
   local why = Container.admit(self, m, 1, "nn.Residual")
   if why then error(why, 2) end
   self.modules[1] = m
   Container.commit(self, "nn.Residual", function()
      self:_flow(Container.EMPTY, false, true)
   end)
   Container.link(m, self)
   return self
end

function Residual.is(x) return getmetatable(x) == mt end

return Residual
