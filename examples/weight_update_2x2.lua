-- The lecture's worked example, step by step: a 2 x 2 layer h = W x + b,
-- softmax, cross-entropy L = -log p2 for target class 2, and one gradient
-- step W := W - eta * dW with eta = 0.1.  (The slide's printed result,
-- [0.198 -0.498; 0.303 0.801], adds the wrong signs: it is 0.2 - 0.1 * -0.01
-- = 0.201, and so on, as printed below.)
local nn = require "nn"

local function show(label, M) print(label .. ": " .. tostring(M)) end

local W = nn.Matrix{{0.2, -0.5}, {0.3, 0.8}}
local b = nn.Matrix{0.1, -0.2}
local x = nn.Matrix{0, 1}                      -- one sample, as a row
local layer = nn.Linear(2, 2)
layer.weight, layer.bias = W, b                -- copied in
local h = layer:forward(x)                     -- x W^T + b: the slide's W x + b
show("h = W x + b", h)
local p = nn.Softmax():forward(h)
show("softmax(h)", p)
local crit = nn.CrossEntropyLoss()
local L = crit:forward(h, {2})
print(("L = -log p2 = %.6f (p2 = %.6f)"):format(L, p:get(1, 2)))

-- Two different gradients appear in this example; say which is which.
-- (1) The illustration: the lecture shows the update with a made-up dW,
--     [-0.01 0.02; 0.03 -0.01], just to show the arithmetic of the step.
--     It is NOT the gradient of this L.
print("(1) the lecture's illustrative dW (made up, not this loss's gradient):")
local dW = nn.Matrix{{-0.01, 0.02}, {0.03, -0.01}}
show("illustrative dW", dW)
show("W - 0.1 dW", W - dW * 0.1)

-- the same step by nn.SGD, with that gradient put in the layer
layer.gradWeight:copy(dW)
layer.gradBias:zero()
nn.SGD(layer, {lr = 0.1}):step()
show("after nn.SGD", layer.weight)

-- (2) The true gradient of L = -log p2, by backprop: dL/dh = p - y,
--     dL/dW = (p - y)^T x.  With x = (0, 1) only the second column moves.
print("(2) the true gradient of this L, by backprop:")
layer.weight = W
layer:zeroGrad()
local g = crit:backward(h, {2})
layer:backward(x, g)
show("dL/dh = p - y", g)
show("dL/dW = (p - y)^T x", nn.matmul(g, x, true, false))
show("dL/dW from backward", layer.gradWeight)
show("W - 0.1 dL/dW (the true step)", W - layer.gradWeight * 0.1)
