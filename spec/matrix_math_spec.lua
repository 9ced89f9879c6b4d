-- Matrix arithmetic for data preparation: broadcasting in every
-- elementwise operation (a 1 x c row or an r x 1 column, on either side of
-- an operator, in place too), elementwise exp, log, sqrt, abs, pow and ^,
-- clamp, std and var, col, equal.  Checked by hand and against PyTorch on
-- random shapes.
local nn = require "nn"
local H = require "helpers"
local err = H.err

describe("broadcasting", function()
   it("a row or a column, on either side, for + - / and in place add, mul, div", function()
      local A = nn.Matrix{{1, 2}, {3, 4}}
      local r, c = nn.Matrix{10, 20}, nn.Matrix{{10}, {20}}
      assert.are.same({{11, 22}, {13, 24}}, (A + r):totable())
      assert.are.same({{11, 12}, {23, 24}}, (A + c):totable())
      assert.are.same({{9, 18}, {7, 16}}, (r - A):totable())
      assert.are.same({{9, 8}, {17, 16}}, (c - A):totable())
      assert.is_true((A / r):equal(nn.Matrix{{0.1, 0.1}, {0.3, 0.2}}, 1e-7))
      assert.is_true((A / c):equal(nn.Matrix{{0.1, 0.2}, {0.15, 0.2}}, 1e-7))
      assert.is_true((r / A):equal(nn.Matrix{{10, 10}, {10 / 3, 5}}, 1e-6))
      assert.is_true((2 / A):equal(nn.Matrix{{2, 1}, {2 / 3, 0.5}}, 1e-7))
      assert.are.same({{10, 40}, {30, 80}}, A:clone():mul(r):totable())
      assert.are.same({{10, 20}, {60, 80}}, A:clone():mul(c):totable())
      assert.is_true(A:clone():div(c):equal(A / c))
      assert.are.same({{21, 42}, {23, 44}}, A:clone():add(r, 2):totable())
      assert.are.same({{0.5, 1}, {1.5, 2}}, A:clone():div(2):totable())
      -- a 1 x 1 on the left of a 1 x c is a column of it (once read past its end)
      assert.are.same({{4, 3, 2}}, (nn.Matrix{{5}} - nn.Matrix{{1, 2, 3}}):totable())
      assert.are.same({{5, 5, 5}, {5, 5, 5}}, (nn.Matrix{{5}} + nn.Matrix(2, 3)):totable())
   end)

   it("standardizes features in one line", function()
      local X = nn.randn(50, 4, 3, 7)
      local Z = (X - X:mean(1)) / X:std(1)
      for j = 1, 4 do
         local col = Z:col(j)
         assert.is_true(math.abs(col:mean()) < 1e-5)
         assert.is_true(math.abs(col:std() - 1) < 1e-5)
      end
   end)

   it("names the shapes that do not fit", function()
      local A = nn.Matrix(3, 4)
      for _, f in ipairs{
         function() return A + nn.Matrix(2, 4) end,
         function() return A / nn.Matrix(1, 3) end,
         function() return A:mul(nn.Matrix(4, 1)) end,
         function() return A:div(nn.Matrix(3, 2)) end,
      } do
         assert.truthy(err(f):find("do not match (nor is one a 1 x 4 row, a 3 x 1 column or a 1 x 1", 1, true))
      end
      -- a row and a column make no outer product here
      assert.truthy(err(function() return nn.Matrix(1, 3) + nn.Matrix(3, 1) end):find("do not match"))
   end)

   it("in place, an operand that overlaps the result is read as it was", function()
      local A = nn.Matrix{{1, 2}, {3, 4}, {5, 6}}
      A:div(A:row(1))
      assert.are.same({{1, 1}, {3, 2}, {5, 3}}, A:totable())
   end)
end)

describe("elementwise functions and statistics", function()
   it("return new matrices and leave A alone", function()
      local A = nn.Matrix{{1, 4}, {9, 16}}
      assert.are.same({{1, 2}, {3, 4}}, A:sqrt():totable())
      assert.are.same({{1, 16}, {81, 256}}, (A ^ 2):totable())
      assert.are.same({{1, 4}, {9, 16}}, A:totable())
      assert.are.same({{2, 4}, {9, 10}}, A:clamp(2, 10):totable())
      assert.are.same({{1, 4}, {5, 5}}, A:clamp(nil, 5):totable())
      assert.are.same({{1, 4}, {9, 16}}, nn.Matrix{{-1, 4}, {-9, 16}}:abs():totable())
      local n = nn.Matrix{0 / 0}:clamp(0, 1):get(1)
      assert.is_true(n ~= n, "NaN stays NaN")
   end)

   it("col copies a column; equal compares values, not identity", function()
      local A = nn.Matrix{{1, 2}, {3, 4}}
      local c = A:col(2)
      assert.are.same({{2}, {4}}, c:totable())
      c:set(1, 1, 9)
      assert.are.equal(2, A:get(1, 2))
      assert.is_false(A == A:clone())
      assert.is_true(A:equal(A:clone()))
      assert.is_false(A:equal(A + 1e-3))
      assert.is_true(A:equal(A + 1e-3, 1e-2))
      assert.is_false(A:equal(nn.Matrix(2, 3)))
      assert.is_false(nn.Matrix{0 / 0}:equal(nn.Matrix{0 / 0}))
   end)

   it("refuse bad arguments by name", function()
      local A = nn.Matrix(2, 3)
      assert.truthy(err(A.col, A, 4):find("Matrix:col: column must be an integer from 1 to 3, got 4", 1, true))
      assert.truthy(err(A.clamp, A, 2, 1):find("Matrix:clamp: need lo <= hi", 1, true))
      assert.truthy(err(A.std, A, 3):find("Matrix:std: dim must be 1", 1, true))
      assert.truthy(err(A.pow, A, "x"):find("Matrix:pow: the exponent must be a number", 1, true))
      assert.truthy(err(function() return 2 ^ A end):find("Matrix ^: the base must be the Matrix", 1, true))
      assert.truthy(err(A.equal, A, A, -1):find("Matrix:equal: tol must be", 1, true))
   end)
end)

describe("against PyTorch on random shapes", function()
   if not H.have_torch() then
      pending("/usr/bin/python3 with torch is not installed (apt-get install python3-torch)")
      return
   end

   it("agrees on every operation and broadcast", function()
      nn.seed(7)
      local cases, mine = {}, {}
      local function add(case, got)
         cases[#cases + 1] = case
         mine[#mine + 1] = got
      end
      for _ = 1, 6 do
         local r, c = nn.random(6), nn.random(6)
         local A = nn.randn(r, c)
         local P = nn.rand(r, c, 0.1, 3)
         for _, b in ipairs{nn.randn(r, c), nn.randn(1, c), nn.randn(r, 1)} do
            local D = b:abs() + 0.5                   -- divisors away from 0
            add({op = "add", a = A, b = b}, A + b)
            add({op = "sub", a = A, b = b}, A - b)
            add({op = "sub", a = b, b = A}, b - A)
            add({op = "div", a = A, b = D}, A / D)
            add({op = "rdiv", a = P, b = b}, b / P)
            add({op = "mul", a = A, b = b}, A:clone():mul(b))
            add({op = "div", a = A, b = D}, A:clone():div(D))
         end
         local T = A * 1e-32                       -- over 1e-39: about 1e7
         add({op = "div", a = T, b = 1e-39}, T / 1e-39)
         for _, f in ipairs{"exp", "abs"} do add({op = f, a = A}, A[f](A)) end
         for _, f in ipairs{"log", "sqrt"} do add({op = f, a = P}, P[f](P)) end
         add({op = "pow", a = P, p = 2.5}, P ^ 2.5)
         add({op = "pow", a = A, p = 2}, A:pow(2))
         add({op = "clamp", a = A, lo = -0.5, hi = 0.7}, A:clamp(-0.5, 0.7))
         if r > 1 and c > 1 then
            for _, f in ipairs{"std", "var"} do
               add({op = f, a = A}, A[f](A))
               add({op = f, a = A, dim = 1}, A[f](A, 1))
               add({op = f, a = A, dim = 2}, A[f](A, 2))
            end
         end
      end
      local ref = H.torch("spec/xcheck/torch_elementwise.py", cases)
      assert.are.equal(#cases, #ref)
      for i, c in ipairs(cases) do
         if type(ref[i]) == "number" then
            assert.is_true(math.abs(mine[i] - ref[i]) <= 1e-5 * math.max(1, math.abs(ref[i])),
               ("%s: %.9g vs %.9g"):format(c.op, mine[i], ref[i]))
         else
            local e = H.xerr(mine[i], ref[i])
            assert.is_true(e < 1e-5, ("%s (%d x %d): error %g"):format(c.op, #ref[i], #ref[i][1], e))
         end
      end
   end)
end)
