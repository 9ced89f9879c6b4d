-- The classic perceptron (Rosenblatt): o = step(w . x + b), and for each
-- sample   w = w + eta (t - o) x,   b = b + eta (t - o).
-- On linearly separable data it stops making mistakes after finitely many
-- updates (Novikoff's theorem).
local nn = require "nn"

nn.seed(3)
-- 2-D points labelled by a hidden line: 0.8 x - 0.5 y + 0.1 > 0 is class 1
local TRUE_W, TRUE_B = {0.8, -0.5}, 0.1
local X, T = {}, {}
while #X < 200 do
   local x, y = 2 * nn.random() - 1, 2 * nn.random() - 1
   local s = TRUE_W[1] * x + TRUE_W[2] * y + TRUE_B
   if math.abs(s) > 0.05 then       -- keep a margin between the classes
      X[#X + 1] = nn.Matrix{x, y}
      T[#T + 1] = s > 0 and 1 or 0
   end
end

local unit, step = nn.Linear(2, 1), nn.Step()
unit.weight:zero()
unit.bias:zero()
local eta = 0.1
for epoch = 1, 100 do
   local mistakes = 0
   for i, x in ipairs(X) do
      local o = step:forward(unit:forward(x)):get(1)
      local err = T[i] - o
      if err ~= 0 then
         mistakes = mistakes + 1
         unit.weight:add(x, eta * err)
         unit.bias:add(eta * err)
      end
   end
   print(("epoch %2d: %3d mistakes"):format(epoch, mistakes))
   if mistakes == 0 then
      local w1, w2, b = unit.weight:get(1, 1), unit.weight:get(1, 2), unit.bias:get(1)
      print(("converged: w = (%.3f, %.3f), b = %.3f"):format(w1, w2, b))
      -- a line is w . x + b = 0 at any scale: compare the lines, not the
      -- numbers, by scaling both to |w| = 1, and by the angle between them
      local function unit_line(a1, a2, c)
         local n = math.sqrt(a1 * a1 + a2 * a2)
         return a1 / n, a2 / n, c / n
      end
      local l1, l2, lc = unit_line(w1, w2, b)
      local t1, t2, tc = unit_line(TRUE_W[1], TRUE_W[2], TRUE_B)
      local angle = math.deg(math.acos(math.max(-1, math.min(1, l1 * t1 + l2 * t2))))
      print(("learnt line:    %.3f x %+.3f y %+.3f = 0"):format(l1, l2, lc))
      print(("the data's line: %.3f x %+.3f y %+.3f = 0"):format(t1, t2, tc))
      print(("they differ by %.1f degrees: any line through the margin separates "
         .. "the data, so the perceptron stops at one, not at the true one"):format(angle))
      os.exit(0)
   end
end
print("did not converge in 100 epochs")
os.exit(1)
