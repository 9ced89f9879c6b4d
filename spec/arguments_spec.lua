-- Layer constructors read their numbers strictly: a number given as a
-- string ("2") is refused by name, as PyTorch refuses it, where Lua
-- would convert it.  Every kind in the registry is covered, through the
-- examples its descriptor gives (core.layers()): every number of every
-- example is tried as a string.
local nn = require "nn"
local core = require "nn.core"
local H = require "helpers"

-- the arguments of a constructor call "nn.Kind(...)", as a list
local function arguments(call)
   local args
   local record = setmetatable({}, {__index = function()
      return function(...) args = {...} end
   end})
   assert(H.load("return " .. call, "=" .. call, {nn = record}))()
   return args
end

-- every example of every kind: {name, argument list}
local examples = {}
for _, k in ipairs(core.layers()) do
   for _, e in ipairs(k.examples) do examples[#examples + 1] = {k.name, arguments(e.lua)} end
end

local function copy(t)
   if type(t) ~= "table" then return t end
   local c = {}
   for k, v in pairs(t) do c[k] = copy(v) end
   return c
end

-- every path to a number in t: lists of keys
local function numbers(t, path, out)
   for k, v in pairs(t) do
      local p = {H.unpack(path)}
      p[#p + 1] = k
      if type(v) == "number" then out[#out + 1] = p
      elseif type(v) == "table" then numbers(v, p, out) end
   end
   return out
end

describe("layer constructors", function()
   it("cover every kind of the registry", function()
      for _, k in ipairs(core.layers()) do
         assert.is_true(#k.examples > 0, "no example for " .. k.name)
         for _, e in ipairs(k.examples) do
            local args = arguments(e.lua)
            assert.are.equal(k.name, nn[k.name](H.unpack(args)).typename)
         end
      end
   end)

   it("refuse a number given as a string, naming the argument and the string", function()
      local n = 0
      for _, ex in ipairs(examples) do
         local name, args = ex[1], ex[2]
         for _, path in ipairs(numbers(args, {}, {})) do
            local bad = copy(args)
            local t = bad
            for i = 1, #path - 1 do t = t[path[i]] end
            local v = t[path[#path]]
            local s = tostring(v)
            t[path[#path]] = s
            local e = H.err(nn[name], H.unpack(bad, 1, #args))
            H.has(e, "nn." .. name .. ": ")
            H.has(e, ", got string '" .. s .. "'")
            n = n + 1
         end
      end
      assert.is_true(n >= 30, n .. " numbers tried")
   end)

   it("say which argument and what they expected", function()
      H.has(H.err(nn.Linear, "2", 3),
         "nn.Linear: argument 1 (nin) must be a whole number from 1 to 2147483647, got string '2'")
      H.has(H.err(nn.Linear, 2, 3.5), "nn.Linear: argument 2 (nout) must be a whole number from 1 "
         .. "to 2147483647, got 3.5")
      H.has(H.err(nn.Conv2d, 1, "8", 3), "nn.Conv2d: argument 2 (outC) must be a whole number")
      H.has(H.err(nn.MaxPool2d, {2, "2"}), "nn.MaxPool2d: argument 1 (kernel size) must be a whole "
         .. "number from 1 to 65535 or {h, w}, got string '2'")
      H.has(H.err(nn.Dropout, "0.5"), "nn.Dropout: argument 1 (p) must be a finite float32 number, "
         .. "got string '0.5'")
      H.has(H.err(nn.BatchNorm1d, 4, {eps = "1e-5"}), "nn.BatchNorm1d: option eps must be a finite "
         .. "float32 number, got string '1e-5'")
      H.has(H.err(nn.ELU, ("9"):rep(50)), "got string '" .. ("9"):rep(37) .. "...'")
      -- a settable field reads as the constructor does; so does setInputShape
      local d = nn.Dropout()
      H.has(H.err(function() d.p = "0.1" end), "got string '0.1'")
      local c = nn.Conv2d(1, 1, 3)
      H.has(H.err(c.setInputShape, c, 1, "5", 5), "Conv2d:setInputShape: C, H and W must be a "
         .. "whole number from 1 to 2147483647, got string '5'")
      -- an integral float is a whole number on every Lua
      assert.are.equal(3, nn.Linear(2, 3.0).nout)
   end)

   it("refuse, through the model loader, a configuration holding such a string", function()
      local ok, e = pcall(core.build, "Linear", {"2", 3}, {nn.Matrix(3, 2), nn.Matrix(1, 3)})
      assert.is_false(ok)
      H.has(tostring(e), "argument 1 (nin) must be a whole number from 1 to 2147483647, got string '2'")
   end)
end)
