-- The layer registry (csrc/module.h): each kind's descriptor carries its
-- tensors (names, PyTorch's names and shapes), its docs' text and
-- examples, and everything that lists layers (the docs, the state dicts,
-- the hostile sweep, the PyTorch cross-check, the arguments spec,
-- nn.export's spec) reads them through core.layers().  This spec holds
-- every descriptor to what it says, through every example it gives.
local nn = require "nn"
local core = require "nn.core"
local H = require "helpers"

local function example(e)
   local f = assert(H.load("return " .. e.lua, "=" .. e.lua, {nn = nn}))
   return f()
end

-- an input for an example: 4 rows of normal numbers, or of token ids
local function input(e)
   if e.ids then return nn.rand(4, e.cols, 1, e.ids + 1):apply(math.floor) end
   return nn.randn(4, e.cols)
end

local function numel(shape)
   local n = 1
   for _, d in ipairs(shape) do n = n * d end
   return n
end

describe("the layer registry", function()
   it("gives every kind a signature, docs' text and at least one example", function()
      local names = {}
      for _, k in ipairs(core.layers()) do
         assert.is_nil(names[k.name], "two kinds named " .. k.name)
         names[k.name] = true
         assert.truthy(k.sig:find("^nn%." .. k.name .. "%("), k.sig)
         assert.truthy(k.doc and #k.doc > 0, k.name .. ": no doc")
         assert.truthy(k.config, k.name .. ": no config text for docs/format.md")
         assert.is_true(#k.examples >= 1, k.name .. ": no example")
         for _, e in ipairs(k.examples) do
            assert.truthy(e.lua:find("^nn%." .. k.name .. "%("), e.lua)
            assert.is_true(e.cols >= 1, e.lua)
         end
      end
   end)

   it("runs every example: forward, backward, the widths it declares", function()
      for _, k in ipairs(core.layers()) do
         for _, e in ipairs(k.examples) do
            nn.seed(1)
            local m = example(e)
            assert.are.equal(k.name, m.typename)
            local x = input(e)
            local y = m:forward(x)
            local w = m:outputSize(e.cols)
            if w then assert.are.equal(w, select(2, y:shape()), e.lua .. ": outputSize") end
            local gx = m:backward(x, nn.randn(y:shape()))
            assert.are.same({x:shape()}, {gx:shape()})
            assert.is_true(y:allfinite(), e.lua)
         end
      end
   end)

   it("names each tensor, with PyTorch's name and shape, as parameters() and buffers() list them",
      function()
      for _, k in ipairs(core.layers()) do
         local hasparams, hasbuffers = false, false
         for _, e in ipairs(k.examples) do
            local m = example(e)
            local params, grads = m:parameters()
            local bufs = m:buffers()
            local ts = m:tensors()
            local np, nb, names, torch = 0, 0, {}, {}
            for _, t in ipairs(ts) do
               assert.is_nil(torch[t.torch], e.lua .. ": two tensors named " .. t.torch)
               torch[t.torch] = true
               if t.count then
                  assert.are.equal(k.torchcount, t.torch)
               else
                  assert.is_nil(names[t.name], e.lua .. ": two tensors named " .. t.name)
                  names[t.name] = true
                  local r, c = t.value:shape()
                  assert.are.equal(r * c, numel(t.shape), e.lua .. ": " .. t.name .. "'s PyTorch shape")
                  assert.are.equal(t.value, m[t.name], e.lua .. ": m." .. t.name)
                  if t.buffer then
                     nb = nb + 1
                     assert.are.equal(bufs[nb], t.value, e.lua .. ": buffer " .. nb)
                  else
                     np = np + 1
                     assert.are.equal(params[np], t.value, e.lua .. ": parameter " .. np)
                     assert.are.equal(grads[np], t.gradient, e.lua .. ": gradient " .. np)
                     assert.are.equal(t.gradient, m[t.grad], e.lua .. ": m." .. t.grad)
                     assert.are.same({r, c}, {t.gradient:shape()})
                  end
               end
            end
            assert.are.equal(#params, np, e.lua)
            assert.are.equal(#bufs, nb, e.lua)
            hasparams = hasparams or np > 0
            hasbuffers = hasbuffers or nb > 0
            -- the state dict has exactly these names
            local keys = {}
            for key in pairs(nn.stateDict(m)) do keys[key] = true end
            assert.are.same(torch, keys)
         end
         -- the docs say what there is
         assert.are.equal(hasparams, k.params ~= nil, k.name .. ": params text and parameters disagree")
         assert.are.equal(hasbuffers, k.buffers ~= nil, k.name .. ": buffers text and buffers disagree")
      end
   end)

   it("saves and loads every example with its outputs bit for bit", function()
      for _, k in ipairs(core.layers()) do
         for _, e in ipairs(k.examples) do
            nn.seed(2)
            local m = example(e)
            m:evaluate()
            local x = input(e)
            local y = m:forward(x):clone()
            local back = nn.deserialize(nn.serialize(m))
            assert.are.equal(tostring(m), tostring(back))
            assert.are.equal(y:tobytes(), back:forward(x):tobytes(), e.lua)
         end
      end
   end)
end)
