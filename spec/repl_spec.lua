-- What a student sees at the REPL: class labels that read as digits,
-- summaries that name Lua layers, NaN printed as nan (issue #12).
local nn = require "nn"
local H = require "helpers"
local err, has = H.err, H.has

describe("labels a student expects", function()
   it("mnist.classes names each class index with its digit", function()
      local mnist = require "nn.mnist"
      assert.are.equal("7", mnist.classes[8])
      assert.are.equal(10, #mnist.classes)
      assert.are.equal("Ankle boot", mnist.fashionClasses[10])
      local cm = nn.ConfusionMatrix(10, mnist.classes)
      cm:add(8, 8)
      assert.truthy(tostring(cm):find("\n7 ", 1, true))
   end)

   it("nn.onehot takes a Lua array as the README says", function()
      assert.are.same({{0, 1, 0}, {0, 0, 1}}, nn.onehot({2, 3}, 3):totable())
      assert.truthy(err(nn.onehot, {1, "x"}, 3):find("nn.onehot: label 2 is string", 1, true))
   end)
end)

describe("at the REPL", function()
   it("a Lua layer's summary line uses its name, not its address", function()
      local layer = {forward = function(_, x) return x end,
                     backward = function(_, _, g) return g end, name = "Scale2"}
      local s = tostring(nn.Sequential{nn.ReLU(), layer})
      has(s, "(2) Scale2")
      assert.is_nil(s:find("table: 0x", 1, true), s)
   end)

   it("prints NaN as nan, and an empty ConfusionMatrix as n/a", function()
      local s = tostring(nn.Matrix{0 / 0, 1})
      has(s, "nan")
      assert.is_nil(s:find("-nan", 1, true), s)
      local cm = nn.ConfusionMatrix(2)
      has(tostring(cm), "accuracy n/a")
      cm:add(1, 1)
      local t = tostring(cm)
      has(t, "100.00%")
      has(t, "n/a")
   end)
end)
