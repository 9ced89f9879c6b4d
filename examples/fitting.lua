-- Under- and over-fitting, as in the lecture: a small noisy regression (20
-- training points of sin(2x) plus noise) fitted by one-hidden-layer tanh
-- networks of growing width.  The training loss keeps falling with more
-- units; the validation loss (200 fresh points) falls, then rises again
-- once the network starts fitting the noise.  A second chart follows the
-- widest network epoch by epoch, over the same 3000 epochs: its last
-- epoch is the first chart's point at 128 units.
-- Every network is trained full-batch with Adam in its AMSGrad form: plain
-- Adam (lr 0.01) makes the training loss spike every few hundred epochs
-- here, because near a minimum on a full batch its divisor sqrt(v) (a
-- running mean of squared gradients) shrinks faster than its step m, so
-- the step grows until it overshoots; AMSGrad divides by the largest v
-- seen so far, and the spikes go.
-- Usage: lua5.4 examples/fitting.lua [dir (out)]
-- writes fitting_width.{svg,png} and fitting_epochs.{svg,png}.
local nn = require "nn"
local plot = require "nn.plot"

local dir = arg and arg[1] or "out"
os.execute(("mkdir -p '%s'"):format(dir))

nn.seed(11)
local function data(n, noise)
   local X, Y = nn.Matrix(n, 1), nn.Matrix(n, 1)
   for i = 1, n do
      local x = -3 + 6 * (i - 0.5) / n + (noise > 0 and 0.1 * nn.randn(1, 1):get(1, 1) or 0)
      X:set(i, 1, x)
      Y:set(i, 1, math.sin(2 * x) + noise * nn.randn(1, 1):get(1, 1))
   end
   return X, Y
end
local X, Y = data(20, 0.3)
local Xv, Yv = data(200, 0.3)
local crit = nn.MSELoss()

local EPOCHS = 3000

-- trains a 1-h-1 network full-batch with Adam (AMSGrad); the loss curves
-- per epoch
local function fit(h, epochs)
   nn.seed(5)
   local net = nn.Sequential{nn.Linear(1, h), nn.Tanh(), nn.Linear(h, 1)}
   local opt = nn.Adam(net, {lr = 0.01, amsgrad = true})
   local train, val = {}, {}
   for e = 1, epochs do
      opt:zeroGrad()
      local out = net:forward(X)
      train[e] = crit:forward(out, Y)
      net:backward(X, crit:backward(out, Y))
      opt:step()
      val[e] = crit:forward(net:forward(Xv), Yv)
   end
   return train, val
end

local widths, trains, vals = {1, 2, 3, 4, 6, 8, 16, 32, 64, 128}, {}, {}
local last
for i, h in ipairs(widths) do
   local t, v = fit(h, EPOCHS)
   trains[i], vals[i] = t[#t], v[#v]
   last = {t, v}
   print(("%3d hidden units: training loss %.4f, validation loss %.4f"):format(h, trains[i], vals[i]))
end
local c = plot.chart{title = ("Under- and over-fitting: 20 noisy points of sin(2x), %d epochs each"):format(EPOCHS),
                     xlabel = "hidden units (log scale)", ylabel = "mean squared error", xlog = true,
                     ylog = true, width = 720, height = 440,
                     caption = "each width trained full-batch with Adam (AMSGrad, lr 0.01); the losses after the last epoch"}
c:line(widths, trains, {name = "training"})
c:line(widths, vals, {name = "validation", dash = "6 4"})
for _, ext in ipairs{"svg", "png"} do
   local path = ("%s/fitting_width.%s"):format(dir, ext)
   c:save(path)
   print("wrote " .. path)
end

-- the widest network's curves, epoch by epoch (the run above: its last
-- epoch is the chart's point at 128 units)
local t, v = last[1], last[2]
print(("128 units, epoch %d: training loss %.4f, validation loss %.4f"):format(#t, t[#t], v[#v]))
-- no spikes: the largest rise of the training loss from one epoch to the
-- next, after the first 100 (plain Adam's spikes multiply it tenfold)
local rise = 0
for k = 101, #t do rise = math.max(rise, t[k] / t[k - 1] - 1) end
print(("largest rise of the training loss from one epoch to the next after epoch 100: %.2f%%")
   :format(100 * rise))
local e = plot.chart{title = "The widest network (128 units) epoch by epoch",
                     xlabel = "epoch", ylabel = "mean squared error", ylog = true, width = 720, height = 456,
                     caption = "Adam in its AMSGrad form: plain Adam's loss spikes here every few hundred epochs\n"
                        .. "(on a full batch near a minimum its step grows); the validation loss rises: overfitting"}
e:line(t, {name = "training"})
e:line(v, {name = "validation", dash = "6 4"})
for _, ext in ipairs{"svg", "png"} do
   local path = ("%s/fitting_epochs.%s"):format(dir, ext)
   e:save(path)
   print("wrote " .. path)
end
