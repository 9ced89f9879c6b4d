-- nn.Concat{m1, m2, ...}: every module applied to the same input, their
-- outputs side by side, y = [m1(x), m2(x), ...] (Torch7's nn.Concat along
-- the columns; for images in (C, H, W) rows of the same H and W, that is
-- along the channels, as in an Inception block).  dL/dx is the sum of the
-- branches' dL/dx.
local Container = require "nn.Container"
local isMatrix = require("nn.util").isMatrix

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
   for _, a in ipairs{{x, "input"}, {gy, "gradOutput"}} do
      if not isMatrix(a[1]) then
         error(("Concat:backward: %s must be an nn.Matrix, got %s"):format(a[2], type(a[1])), 2)
      end
   end
   -- each branch gets its columns of gy: gy must be the output's shape,
   -- or a branch would read another's columns (or past the end)
   local rows = x:shape()
   local orows, ocols = self.output:shape()
   local gr, gc = gy:shape()
   if rows ~= orows then
      error(("Concat:backward: no forward on a %d-row input to go back through (call forward first)")
         :format(rows), 2)
   end
   if gr ~= orows or gc ~= ocols then
      error(("Concat:backward: gradOutput is %d x %d, expected %d x %d (the output's shape)")
         :format(gr, gc, orows, ocols), 2)
   end
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
   local i = #self.modules + 1
   local why = Container.admit(self, m, i, "nn.Concat")
   if why then error(why, 2) end
   Container.commit(self, "nn.Concat:add", function()
      self.modules[i] = m
      self:_flow(rawget(self, "_shapein") or Container.EMPTY, false, true)
   end, function() self.modules[i] = nil end)
   Container.link(m, self)
   return self
end

-- every branch takes the same input (each refines what the next is
-- given: a branch that takes 3 columns and one that takes 4 do not fit);
-- the widths add up, and images of one H and W add their channels
function methods:_flowchildren(s, dry)
   local outs = {}
   for i = 1, #self.modules do
      local out, need = Container.flowchild(self, i, s, dry)
      outs[i] = out
      s = {w = need.w or s.w, img = need.img or s.img, step = need.step or s.step}
   end
   local w, C, H, W = 0, 0, nil, nil
   for _, o in ipairs(outs) do
      w = w and o.w and w + o.w
      if C and o.img and (not H or o.img[2] == H and o.img[3] == W) then
         C, H, W = C + o.img[1], o.img[2], o.img[3]
      else
         C = nil
      end
   end
   return {w = w, img = C and H and {C, H, W} or nil}, s
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

-- the image shapes it takes and gives (the channels of its branches' add up)
local fields = Container.fields

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
      local why = Container.admit(self, m, i, "nn.Concat")
      if why then error(why, 2) end
      self.modules[i] = m
   end
   if #self.modules == 0 then error("nn.Concat: the list of modules is empty", 2) end
   Container.commit(self, "nn.Concat", function()
      self:_flow(Container.EMPTY, false, true)
   end)
   for _, m in ipairs(self.modules) do Container.link(m, self) end
   return self
end

function Concat.is(x) return getmetatable(x) == mt end

return Concat
