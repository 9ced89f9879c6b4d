-- nn.ConfusionMatrix(C [, names]): counts of (true class, predicted class).
--
--   local cm = nn.ConfusionMatrix(10)
--   cm:add(nn.predict(net, X), Y)     -- n x 1 Matrices, or two numbers
--   print(cm)                          -- the table, per-class recall, accuracy
local core = require "nn.core"
local compat = require "nn.compat"

local ConfusionMatrix = {}
ConfusionMatrix.__index = ConfusionMatrix

local isMatrix = require("nn.util").isMatrix

local MAXCLASSES = 4096      -- C x C Lua numbers: 4096 is 128 MB already

function ConfusionMatrix.new(C, names)
   if not compat.isint(C) or C < 1 then
      error(("nn.ConfusionMatrix: C must be a positive integer, got %s"):format(tostring(C)), 2)
   end
   if C > MAXCLASSES then
      error(("nn.ConfusionMatrix: C must be at most %d, got %d"):format(MAXCLASSES, C), 2)
   end
   if names ~= nil and (type(names) ~= "table" or #names ~= C) then
      error(("nn.ConfusionMatrix: names must be a list of %d names"):format(C), 2)
   end
   local self = setmetatable({C = C, names = names, counts = {}, total = 0}, ConfusionMatrix)
   return self:zero()
end

local function checkself(self, name)
   if getmetatable(self) ~= ConfusionMatrix then
      error(("ConfusionMatrix:%s: call it as cm:%s(...) (self is %s)"):format(name,
         name, type(self)), 3)
   end
end

-- a class number argument of recall and precision
local function checkclass(self, c, name)
   checkself(self, name)
   c = compat.toint(c) or c
   if not compat.isint(c) or c < 1 or c > self.C then
      error(("ConfusionMatrix:%s: class must be an integer from 1 to %d, got %s")
         :format(name, self.C, tostring(c)), 3)
   end
   return c
end

function ConfusionMatrix:zero()
   checkself(self, "zero")
   for t = 1, self.C do
      self.counts[t] = {}
      for p = 1, self.C do self.counts[t][p] = 0 end
   end
   self.total = 0
   return self
end

local function class(self, v, what, i)
   v = compat.toint(v) or v
   if not compat.isint(v) or v < 1 or v > self.C then
      error(("ConfusionMatrix:add: %s %d is %s, expected a class from 1 to %d")
         :format(what, i, tostring(v), self.C), 3)
   end
   return v
end

-- a Lua array of class numbers as an n x 1 Matrix
local function aslabels(v, what)
   if type(v) ~= "table" or isMatrix(v) then return v end
   if #v == 0 then error(("ConfusionMatrix:add: %s is an empty table"):format(what), 3) end
   for i = 1, #v do
      if type(v[i]) ~= "number" then
         error(("ConfusionMatrix:add: %s[%d] is %s, expected a class number")
            :format(what, i, type(v[i])), 3)
      end
   end
   return core.Matrix(#v, 1, v)
end

-- cm:add(pred, target): two class numbers, or two n x 1 Matrices or Lua
-- arrays of classes (pred may also be n x C scores: each row's largest
-- counts)
function ConfusionMatrix:add(pred, target)
   checkself(self, "add")
   pred, target = aslabels(pred, "pred"), aslabels(target, "target")
   if isMatrix(pred) then
      if select(2, pred:shape()) == self.C and self.C > 1 then pred = pred:argmax(2) end
      if not isMatrix(target) then
         error("ConfusionMatrix:add: target must be an nn.Matrix or a list like pred, got "
            .. type(target), 2)
      end
      local n, tn = pred:shape(), target:shape()
      if n ~= tn or select(2, target:shape()) ~= 1 or select(2, pred:shape()) ~= 1 then
         error(("ConfusionMatrix:add: pred is %d x %d and target %d x %d; expected "
            .. "n x 1 each (or pred n x %d scores), of the same n"):format(n,
            select(2, pred:shape()), tn, select(2, target:shape()), self.C), 2)
      end
      for i = 1, n do
         local t = class(self, target:get(i, 1), "target", i)
         local p = class(self, pred:get(i, 1), "prediction", i)
         self.counts[t][p] = self.counts[t][p] + 1
      end
      self.total = self.total + n
   else
      local t, p = class(self, target, "target", 1), class(self, pred, "prediction", 1)
      self.counts[t][p] = self.counts[t][p] + 1
      self.total = self.total + 1
   end
   return self
end

function ConfusionMatrix:accuracy()
   checkself(self, "accuracy")
   if self.total == 0 then return 0 end
   local right = 0
   for c = 1, self.C do right = right + self.counts[c][c] end
   return right / self.total
end

-- the fraction of class c's samples predicted as c
function ConfusionMatrix:recall(c)
   c = checkclass(self, c, "recall")
   local row = 0
   for p = 1, self.C do row = row + self.counts[c][p] end
   return row > 0 and self.counts[c][c] / row or 0
end

-- the fraction of predictions of c that were right
function ConfusionMatrix:precision(c)
   c = checkclass(self, c, "precision")
   local col = 0
   for t = 1, self.C do col = col + self.counts[t][c] end
   return col > 0 and self.counts[c][c] / col or 0
end

function ConfusionMatrix:__tostring()
   local C, w = self.C, 5
   for t = 1, C do
      for p = 1, C do w = math.max(w, #tostring(self.counts[t][p]) + 1) end
   end
   local label = {}
   local lw = 6
   for c = 1, C do
      label[c] = self.names and tostring(self.names[c]) or tostring(c)
      lw = math.max(lw, #label[c])
      w = math.max(w, #label[c] + 1)
   end
   local function pct(x, n) return n > 0 and ("%.2f%%"):format(100 * x) or "n/a" end
   local lines = {("ConfusionMatrix: %d samples, accuracy %s (rows: true, columns: predicted)")
      :format(self.total, pct(self:accuracy(), self.total))}
   local head = {(" "):rep(lw)}
   for c = 1, C do head[#head + 1] = ("%" .. w .. "s"):format(label[c]) end
   head[#head + 1] = "   recall"
   lines[#lines + 1] = table.concat(head)
   for t = 1, C do
      local row = {("%-" .. lw .. "s"):format(label[t])}
      local n = 0
      for p = 1, C do
         row[#row + 1] = ("%" .. w .. "d"):format(self.counts[t][p])
         n = n + self.counts[t][p]
      end
      row[#row + 1] = ("   %7s"):format(pct(self:recall(t), n))
      lines[#lines + 1] = table.concat(row)
   end
   return table.concat(lines, "\n")
end

return ConfusionMatrix
