-- The classic perceptron (Rosenblatt): o = step(w . x + b), and for each
-- sample   w = w + eta (t - o) x,   b = b + eta (t - o).
-- On linearly separable data it stops making mistakes after finitely many
-- updates (Novikoff's theorem).
local nn = require "nn"

nn.seed(3)
local X, T = {}, {}                 -- 2-D points labelled by a hidden line
while #X < 200 do
   local x, y = 2 * nn.random() - 1, 2 * nn.random() - 1
   local s = 0.8 * x - 0.5 * y + 0.1
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
      print(("converged: w = (%.3f, %.3f), b = %.3f"):format(
         unit.weight:get(1, 1), unit.weight:get(1, 2), unit.bias:get(1)))
      os.exit(0)
   end
end
print("did not converge in 100 epochs")
os.exit(1)
