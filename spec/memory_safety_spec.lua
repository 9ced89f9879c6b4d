-- Memory safety of the C core against hostile Lua values: metamethods
-- called with no Matrix, a target table that re-enters its loss, user values
-- changed through the debug library, userdata given another type's
-- metatable (found by the hostile-input review, issue #16).
local nn = require "nn"
local H = require "helpers"
local err, has = H.err, H.has

describe("memory safety", function()
   local mt = getmetatable(nn.Matrix(2, 2))

   it("metamethods called with no Matrix on either side raise, not crash", function()
      has(err(mt.__add, 1, 1), "Matrix +: expected an nn.Matrix operand, got number and number")
      has(err(mt.__sub, 1, "x"), "Matrix -: expected an nn.Matrix operand")
      has(err(mt.__mul, 2, {}), "Matrix *: expected an nn.Matrix operand")
      has(err(mt.__div, 2, 2), "Matrix /: expected an nn.Matrix operand")
      local t = setmetatable({}, {__mul = mt.__mul, __add = mt.__add})
      has(err(function() return 3 * t end), "Matrix *: expected an nn.Matrix operand")
      has(err(function() return t + 1 end), "Matrix +: expected an nn.Matrix operand")
   end)

   it("a target table that re-enters its loss is refused, not read into freed memory", function()
      for _, name in ipairs{"CrossEntropyLoss", "NLLLoss"} do
         local crit = nn[name]()
         local big, bigt = nn.randn(300, 300), {}
         for i = 1, 300 do bigt[i] = 300 end
         local x = nn.randn(4, 10)
         -- a hole at [2] reaches __index (the length stays 4 on every Lua:
         -- no __len, which 5.1 and LuaJIT ignore on tables)
         local t = setmetatable({1, 2, 3, 4}, {
            __index = function()
               crit:forward(big, bigt)
               collectgarbage()
               return 3
            end,
         })
         t[2] = nil
         has(err(crit.forward, crit, x, t), name .. ":forward: the target table's metamethods used this loss")
         has(err(crit.backward, crit, x, t), name .. ":backward: the target table's metamethods used this loss")
         -- and the loss still works
         assert.is_true(crit:forward(x, {1, 2, 3, 4}) == crit:forward(x, {1, 2, 3, 4}))
      end
   end)

   it("user values changed through the debug library are checked before use", function()
      local lin = nn.Linear(3, 2)
      H.setuservalue(lin, nil, 7)                    -- its weight view
      has(err(lin.forward, lin, nn.ones(1, 3)), "changed through the debug library")
      H.setuservalue(lin, nn.Matrix(1, 1), 7)
      has(err(lin.forward, lin, nn.ones(1, 3)), "is not its 2 x 3 parameter")
   end)

   it("a block given another type's metatable is refused by type, not misread", function()
      local relu = nn.ReLU()
      debug.setmetatable(relu, mt)
      has(err(nn.Matrix.sum, relu), "nn.Matrix expected, got a userdata of another type")
      local A = nn.Matrix(2, 2)
      debug.setmetatable(A, getmetatable(nn.Sigmoid()))
      has(err(nn.Tanh().forward, A, nn.ones(1, 1)), "nn.Module expected")
      debug.setmetatable(A, mt)
      assert.are.equal(0, A:sum())
   end)

   it("a table carrying the Matrix metatable is called a table", function()
      has(err(nn.Matrix.sum, setmetatable({}, mt)), "nn.Matrix expected, got table")
   end)
end)
