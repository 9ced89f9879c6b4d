-- nn.Concat{m1, m2, ...}: every module applied to the same input, their
-- outputs side by side, y = [m1(x), m2(x), ...] (Torch7's nn.Concat along
-- the columns; for images in (C, H, W) rows of the same H and W, that is
-- along the channels, as in an Inception block).  dL/dx is the sum of the
-- branches' dL/dx.
local Container = require "nn.Container"

local Concat = {}
local methods = setmetatable({}, {__index = Container.methods})
local mt

local function checkself(self, name) return Container.checkself(self, mt, "Concat", name) end

function methods:forward(x)
   checkself(self, "forward")
   local outs, width = self._outs or {}, 0
   self._outs = outs
   local rows = x:shape()
   for i = 1, #self.modules do
      local y = Container.call(self, i, "forward", x)
      local r, c = y:shape()
      if r ~= rows then
         error(("Concat[%d]: gives %d rows for a %d-row input"):format(i, r, rows), 2)
      end
      outs[i] = y
      width = width + c
   end
   for i = #self.modules + 1, #outs do outs[i] = nil end
   local out, j = Container.buffer(self, "output", rows, width), 1
   for i = 1, #outs do
      out:setcols(j, outs[i])
      j = j + select(2, outs[i]:shape())
   end
   self.output = out
   return out
end

-- each branch gets its columns of gy (copied into a buffer of its own:
-- views are whole rows only); dL/dx sums what the branches return
function methods:backward(x, gy, wantgx)
   checkself(self, "backward")
   local outs = self._outs
   if not outs or #outs ~= #self.modules then
      error("Concat:backward: call forward first", 2)
   end
   local rows = x:shape()
   local gx, j = nil, 1
   for i = 1, #self.modules do
      local c = select(2, outs[i]:shape())
      local gyi = gy:getcols(j, c, Container.buffer(self, "gy" .. i, rows, c))
      local g = Container.call(self, i, "backward", x, gyi, wantgx ~= false)
      if wantgx ~= false then
         if not gx then
            gx = Container.buffer(self, "gradInput", g:shape()):copy(g)
         else
            gx:add(g)
         end
      end
      j = j + c
   end
   self.gradInput = gx
   return gx
end

function methods:add(m)
   checkself(self, "add")
   Container.admit(self, m, #self.modules + 1, "nn.Concat")
   self.modules[#self.modules + 1] = m
   return self
end

-- the sum of the branches' widths for inputs of nin columns
function methods:outputSize(nin)
   checkself(self, "outputSize")
   local total = 0
   for _, m in ipairs(self.modules) do
      local w = m.outputSize and m:outputSize(nin)
      if not w then return nil end
      total = total + w
   end
   return total
end

-- m:setInputShape(C, H, W): passed on to every branch that takes one
function methods:setInputShape(C, H, W)
   checkself(self, "setInputShape")
   rawset(self, "_inshape", {C, H, W})
   for _, m in ipairs(self.modules) do
      if type(Container.get(m, "setInputShape")) == "function" then m:setInputShape(C, H, W) end
   end
   return self
end

-- images of one H and W side by side: the channels add up (a branch that
-- keeps its input's shape gives the input's)
local fields = {
   outputShape = function(self)
      local C, H, W = 0
      for _, m in ipairs(self.modules) do
         local s = Container.get(m, "outputShape")
         if s == nil and Container.get(m, "keepsShape") == true then s = rawget(self, "_inshape") end
         if type(s) ~= "table" or (H and (s[2] ~= H or s[3] ~= W)) then return nil end
         C, H, W = C + s[1], s[2], s[3]
      end
      return H and {C, H, W} or nil
   end,
   inputShape = function(self) return rawget(self, "_inshape") end,
}

mt = {
   __index = function(self, k)
      if type(k) == "number" then return rawget(self, "modules")[k] end
      if fields[k] then return fields[k](self) end
      return methods[k]
   end,
   __call = function(self, x) return self:forward(x) end,
   __tostring = function(self)
      local parts = {}
      for i, m in ipairs(self.modules) do parts[i] = Container.describe(m) end
      return "nn.Concat{" .. table.concat(parts, ", ") .. "}"
   end,
}

function Concat.new(list)
   if type(list) ~= "table" then
      error("nn.Concat: expected a list of modules, got " .. type(list), 2)
   end
   local self = setmetatable({modules = {}, train = true, typename = "Concat"}, mt)
   for i, m in ipairs(list) do
      Container.admit(self, m, i, "nn.Concat")
      self.modules[i] = m
   end
   if #self.modules == 0 then error("nn.Concat: the list of modules is empty", 2) end
   return self
end

function Concat.is(x) return getmetatable(x) == mt end

return Concat
