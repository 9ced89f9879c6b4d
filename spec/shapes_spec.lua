-- Containers check that their layers fit together (shapes, widths, image
-- shapes) when they are made, when a layer is added and when a model is
-- loaded, and print a summary that shows what each layer gives, marking
-- one that does not fit instead of raising.
local nn = require "nn"
local core = require "nn.core"

-- the message of the error f(...) raises (nil if it does not)
local function err(f, ...)
   local ok, e = pcall(f, ...)
   if ok then return nil end
   return tostring(e)
end

local function has(s, want)
   assert.is_string(s, "no error, expected: " .. want)
   assert.truthy(s:find(want, 1, true), ("expected %q in:\n%s"):format(want, s))
end

local function conv(inC, outC, k, opts) return nn.Conv2d(inC, outC, k, opts) end

describe("a Residual", function()
   it("refuses a module that changes the image shape but not the width", function()
      -- 4x8x8 in, 16x4x4 out: 256 numbers either way, two different layouts
      has(err(nn.Sequential, {conv(1, 4, 3, {padding = 1, input = {1, 8, 8}}),
                              nn.Residual(conv(4, 16, 1, {stride = 2}))}),
         "layer 2[1] (nn.Conv2d(4 -> 16, 1x1, stride 2)) maps 4x8x8 images to 16x4x4")
      has(err(nn.Residual, conv(4, 16, 1, {stride = 2, input = {4, 8, 8}})),
         "nn.Residual: layer 1 (nn.Conv2d(4 -> 16, 1x1, stride 2)) maps 4x8x8 images to 16x4x4")
      -- placed later, by add and by setInputShape
      local net = nn.Sequential{conv(1, 4, 3, {padding = 1, input = {1, 8, 8}})}
      has(err(net.add, net, nn.Residual(conv(4, 16, 1, {stride = 2}))),
         "nn.Sequential:add: layer 2[1] (nn.Conv2d(4 -> 16, 1x1, stride 2)) maps 4x8x8 images to 16x4x4")
      assert.are.equal(1, net:size())
      local r = nn.Residual(nn.Sequential{conv(4, 16, 1, {stride = 2})})
      has(err(r.setInputShape, r, 4, 8, 8), "maps 4x8x8 images to 16x4x4")
      -- and one that changes the width
      has(err(nn.Residual, nn.Linear(3, 2)), "nn.Residual: layer 1 (nn.Linear(3 -> 2)) maps 3 columns to 2")
   end)

   it("takes a module that keeps the shape, and says so in the summary", function()
      local net = nn.Sequential{conv(1, 4, 3, {padding = 1, input = {1, 8, 8}}),
                                nn.Residual(nn.Sequential{conv(4, 4, 3, {padding = 1}), nn.ReLU()})}
      assert.are.same({4, 8, 8}, net[2].outputShape)
      assert.truthy(tostring(net):find("out 4x8x8", 1, true))
      assert.are.same({3, 256}, {net:forward(nn.randn(3, 64)):shape()})
   end)
end)

describe("an image layer with its own input = {C, H, W}", function()
   local function first() return conv(1, 4, 3, {padding = 1, input = {1, 8, 8}}) end   -- gives 4x8x8

   it("is refused after a layer that gives another shape: made, added or loaded", function()
      has(err(nn.Sequential, {first(), conv(16, 2, 1, {input = {16, 4, 4}})}),
         "nn.Sequential: layer 2 (nn.Conv2d(16 -> 2, 1x1)) takes 16x4x4 images, gets 4x8x8")
      has(err(nn.Sequential, {first(), nn.ReLU(), nn.MaxPool2d(2, {input = {16, 4, 4}})}),
         "layer 3 (nn.MaxPool2d(2x2)) takes 16x4x4 images, gets 4x8x8")
      local net = nn.Sequential{first()}
      has(err(net.add, net, nn.BatchNorm2d(16, {input = {16, 4, 4}})),
         "nn.Sequential:add: layer 2 (nn.BatchNorm2d(16)) takes 16x4x4 images, gets 4x8x8")
      -- a model file carries every layer's input: one written by a program
      -- that changed a network's layers behind its back does not load
      local good = nn.Sequential{first(), conv(4, 2, 1)}
      good.modules[2] = conv(16, 2, 1, {input = {16, 4, 4}})
      local bytes = nn.serialize(good)
      has(err(nn.deserialize, bytes), "cannot build Sequential: nn.Sequential: layer 2 "
         .. "(nn.Conv2d(16 -> 2, 1x1)) takes 16x4x4 images, gets 4x8x8")
   end)

   it("is taken where the shapes agree, or after a layer that gives only a width", function()
      local net = nn.Sequential{first(), conv(4, 2, 1, {input = {4, 8, 8}})}
      assert.are.same({2, 8, 8}, net.outputShape)
      -- a Linear's 64 outputs read as a 1x8x8 image
      local up = nn.Sequential{nn.Linear(10, 64), conv(1, 2, 3, {input = {1, 8, 8}})}
      assert.are.same({5, 72}, {up:forward(nn.randn(5, 10)):shape()})
      has(err(nn.Sequential, {nn.Linear(10, 63), conv(1, 2, 3, {input = {1, 8, 8}})}),
         "layer 2 (nn.Conv2d(1 -> 2, 3x3)) takes 64 columns (1x8x8), gets 63")
   end)
end)

describe("layers that do not chain", function()
   -- every built-in kind that takes a fixed width, made to take 5 columns
   -- (an image kind: 5 channels of 1 x 1) and to give as many, after a
   -- layer that gives 4
   local takes5 = {
      Linear = function() return nn.Linear(5, 5) end,
      BatchNorm1d = function() return nn.BatchNorm1d(5) end,
      Conv2d = function() return nn.Conv2d(5, 5, 1, {input = {5, 1, 1}}) end,
      MaxPool2d = function() return nn.MaxPool2d(1, {input = {5, 1, 1}}) end,
      AvgPool2d = function() return nn.AvgPool2d(1, {input = {5, 1, 1}}) end,
      BatchNorm2d = function() return nn.BatchNorm2d(5, {input = {5, 1, 1}}) end,
   }

   it("are refused when the container is made or the layer added, in every container", function()
      has(err(nn.Sequential, {nn.Linear(2, 8), nn.Linear(9, 1)}),
         "nn.Sequential: layer 2 (nn.Linear(9 -> 1)) takes 9 columns, gets 8")
      local seq = nn.Sequential{nn.Linear(2, 8), nn.ReLU()}
      has(err(seq.add, seq, nn.Linear(9, 1)), "nn.Sequential:add: layer 3 (nn.Linear(9 -> 1)) takes 9 columns, gets 8")
      assert.are.equal(2, seq:size())
      seq:add(nn.Linear(8, 1))                        -- still usable
      assert.are.same({2, 1}, {seq:forward(nn.randn(2, 2)):shape()})
      -- nested: the error names the path
      has(err(nn.Sequential, {nn.Linear(2, 8), nn.Sequential{nn.Tanh(), nn.Linear(9, 1)}}),
         "nn.Sequential: layer 2[2] (nn.Linear(9 -> 1)) takes 9 columns, gets 8")
      -- Concat: every branch takes the same input
      has(err(nn.Concat, {nn.Linear(3, 2), nn.Linear(4, 2)}),
         "nn.Concat: layer 2 (nn.Linear(4 -> 2)) takes 4 columns, gets 3")
      local cat = nn.Concat{nn.Linear(3, 2)}
      has(err(cat.add, cat, nn.Linear(4, 2)), "nn.Concat:add: layer 2 (nn.Linear(4 -> 2)) takes 4 columns, gets 3")
      assert.are.equal(1, cat:size())
      has(err(nn.Sequential, {nn.Linear(2, 3), nn.Concat{nn.ReLU(), nn.Linear(4, 1)}}),
         "layer 2[2] (nn.Linear(4 -> 1)) takes 4 columns, gets 3")
      -- Residual, inside a Sequential
      has(err(nn.Sequential, {nn.Linear(2, 3), nn.Residual(nn.Linear(4, 4))}),
         "layer 2[1] (nn.Linear(4 -> 4)) takes 4 columns, gets 3")
   end)

   it("are refused for every built-in kind that takes a fixed width", function()
      local n = 0
      for _, k in ipairs(core.layers()) do
         local make = takes5[k.name]
         if make then
            n = n + 1
            for _, build in ipairs{
               function() return nn.Sequential{nn.Linear(3, 4), make()} end,
               function() return nn.Sequential{nn.Linear(3, 4)}:add(make()) end,
               function() return nn.Sequential{nn.Linear(3, 4), nn.Concat{nn.Identity(), make()}} end,
               function() return nn.Sequential{nn.Linear(3, 4), nn.Residual(make())} end,
            } do
               has(err(build), "takes 5 columns")
            end
            -- and the same layer fits where the width is right
            assert.is_not_nil(nn.Sequential{nn.Linear(3, 5), make()})
         end
      end
      assert.are.equal(6, n)
   end)

   it("are refused when a layer added to a nested container breaks the network around it", function()
      local inner = nn.Sequential{nn.Linear(2, 8)}
      local outer = nn.Sequential{inner, nn.Linear(8, 1)}
      has(err(inner.add, inner, nn.Linear(8, 3)),
         "nn.Sequential:add: in the Sequential that holds this one, layer 2 (nn.Linear(8 -> 1)) takes 8 columns, gets 3")
      assert.are.equal(1, inner:size())
      -- another network holding it flowed the refused layer, and forgot it
      local other = nn.Sequential{inner}
      has(err(inner.add, inner, nn.Linear(8, 3)), "takes 8 columns, gets 3")
      other:add(nn.Linear(8, 2))
      inner:add(nn.Tanh())                            -- keeps the width: fine
      assert.are.same({4, 1}, {outer:forward(nn.randn(4, 2)):shape()})
      -- and what the nested one is given is known to it
      local tail = nn.Sequential()
      nn.Sequential{nn.Linear(2, 8), tail}
      has(err(tail.add, tail, nn.Linear(9, 1)), "layer 1 (nn.Linear(9 -> 1)) takes 9 columns, gets 8")
   end)

   it("a failed network leaves its layers free to join another", function()
      local inner = nn.Sequential{nn.Linear(2, 8)}
      assert.is_not_nil(err(nn.Sequential, {inner, nn.Linear(99, 1)}))
      collectgarbage()
      inner:add(nn.Linear(8, 3))                      -- the failed one is no parent
      assert.are.same({1, 3}, {inner:forward(nn.randn(1, 2)):shape()})
   end)

   it("a Lua layer that says nothing of its shape is taken, and fits anything", function()
      local Double = {forward = function(self, x) self.output = x * 2; return self.output end,
                      backward = function(_, _, gy) return gy * 2 end}
      local net = nn.Sequential{nn.Linear(2, 8), Double, nn.Linear(9, 1)}   -- no way to know
      assert.truthy(tostring(net):find("out ?", 1, true))
      -- one with outputSize is checked like a built-in layer
      local Pick = {forward = Double.forward, backward = Double.backward,
                    outputSize = function(_, n) if n ~= 6 then error("Pick takes 6 columns") end return 3 end}
      has(err(nn.Sequential, {nn.Linear(2, 8), Pick}), "layer 2 (a Lua layer) does not fit: ")
      assert.is_not_nil(nn.Sequential{nn.Linear(2, 6), Pick, nn.Linear(3, 1)})
   end)
end)

describe("setInputShape", function()
   it("a second call with another shape is obeyed or refused, never ignored", function()
      local s = nn.Sequential{conv(1, 2, 3)}
      s:setInputShape(1, 8, 8)
      assert.are.same({2, 6, 6}, s.outputShape)
      has(err(s.setInputShape, s, 1, 10, 10),
         "Sequential:setInputShape: layer 1 (nn.Conv2d(1 -> 2, 3x3)) takes 1x8x8 images, gets 1x10x10")
      assert.are.same({1, 8, 8}, s.inputShape)         -- unchanged by the refusal
      s:setInputShape(1, 8, 8)                         -- the same again: fine
      local acts = nn.Sequential{nn.ReLU(), nn.Tanh()}
      acts:setInputShape(2, 4, 4)
      acts:setInputShape(3, 5, 5)                      -- nothing holds it to the first
      assert.are.same({3, 5, 5}, acts.outputShape)
      for _, bad in ipairs{{0, 1, 1}, {1, -1, 1}, {1, 1.5, 1}, {"1", 1, 1}} do
         has(err(s.setInputShape, s, bad[1], bad[2], bad[3]), "Sequential:setInputShape: ")
      end
   end)
end)

describe("Concat:backward", function()
   it("refuses a gradOutput that is not its output's shape", function()
      local c = nn.Concat{nn.Linear(3, 2), nn.Linear(3, 2)}
      local x = nn.ones(2, 3)
      c:forward(x)
      has(err(c.backward, c, x, nn.ones(2, 6)),
         "Concat:backward: gradOutput is 2 x 6, expected 2 x 4 (the output's shape)")
      has(err(c.backward, c, x, nn.ones(2, 3)), "gradOutput is 2 x 3, expected 2 x 4")
      has(err(c.backward, c, nn.ones(5, 3), nn.ones(5, 4)), "no forward on a 5-row input")
      has(err(c.backward, c, x, 7), "gradOutput must be an nn.Matrix, got number")
      assert.are.same({2, 3}, {c:backward(x, nn.ones(2, 4)):shape()})
   end)
end)

describe("print(net)", function()
   it("shows the summary of a network whose layers do not fit, marking the layer", function()
      local s = nn.Sequential{nn.Linear(3, 4), nn.ReLU()}
      s.modules[3] = nn.Linear(5, 2)                   -- behind the container's back
      local ok, text = pcall(tostring, s)
      assert.is_true(ok, text)
      has(text, "(3) nn.Linear(5 -> 2)                    out 2         params 12")
      has(text, "^ does not fit: takes 5 columns, gets 4")
      has(text, "total parameters: 28")
   end)

   it("shows Flatten's output as a width", function()
      local net = nn.Sequential{conv(1, 8, 3, {padding = 1, input = {1, 14, 14}}), nn.MaxPool2d(2),
                                nn.Flatten(), nn.Linear(392, 10)}
      has(tostring(net), "(3) nn.Flatten                           out 392       params 0")
      assert.is_nil(net.outputShape)
      -- and an image layer after Flatten learns nothing from before it
      local after = nn.Sequential{conv(1, 2, 1, {input = {1, 4, 4}}), nn.Flatten(), conv(2, 2, 1)}
      assert.is_nil(after[3].inputShape)
   end)

   it("shows nested containers' shapes", function()
      local net = nn.Sequential{conv(1, 4, 3, {padding = 1, input = {1, 6, 6}}),
                                nn.Sequential{nn.ReLU(), nn.MaxPool2d(2)},
                                nn.Concat{nn.MaxPool2d(3), nn.AvgPool2d(3)}, nn.Flatten(), nn.Linear(8, 2)}
      local text = tostring(net)
      has(text, "(2) nn.Sequential                        out 4x3x3")
      has(text, "    (1) nn.ReLU                          out 4x6x6")
      has(text, "(3) nn.Concat{nn.MaxPool2d(3x3), nn.A... out 8x1x1")
      has(text, "(5) nn.Linear(8 -> 2)                    out 2 ")
   end)
end)

describe("container errors", function()
   it("point at the caller, not inside lua-nn", function()
      local here = debug.getinfo(1, "S").short_src
      for _, f in ipairs{
         function() local s = nn.Sequential{nn.Linear(2, 2), 5}; return s end,
         function() local s = nn.Sequential():add(5); return s end,
         function() local s = nn.Sequential{nn.Linear(2, 8), nn.Linear(9, 1)}; return s end,
         function() local s = nn.Concat{nn.Linear(2, 8), 5}; return s end,
         function() local s = nn.Residual(5); return s end,
      } do
         local e = err(f)
         assert.is_string(e)
         assert.are.equal(here, e:match("^([^:]+):%d+: "), e)
      end
   end)
end)
