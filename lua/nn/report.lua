-- nn.report: one self-contained HTML file about a training run: the
-- learning curves, the confusion matrix as a heat map with each class's
-- recall and precision, the first layer's weights as pictures, and the
-- samples the network got most confidently wrong.  Charts are SVG and
-- pictures PNG, inline as data: URIs; no script, no request leaves the
-- file.
--
--   nn.report("report.html", {history = h, net = net, confusion = cm,
--                             samples = {X = Xtest, Y = Ytest}})
local nn = require "nn"
local core = require "nn.core"
local chart = require "nn.chart"
local canvas = require "nn.canvas"
local image = require "nn.image"
local compat = require "nn.compat"

local report = {}

local FN = "nn.report"

local function fail(fmt, ...) error(FN .. ": " .. fmt:format(...), 3) end

-- what a report may hold: more values than fit in memory are not read,
-- and no more epochs are tabled than a reader can use
local MAXVALUES = 1e7
local MAXROWS = 100             -- epochs in the table (evenly spread, first and last kept)
local MAXCOUNT = 1000           -- mistakes shown
local MAXDEPTH = 100            -- containers searched for the first layer

local PARTS = {"confusion", "history", "net", "samples", "title"}
local SAMPLES = {"X", "Y", "count", "shape"}
local CURVES = {"loss", "valLoss", "accuracy", "valAccuracy"}

-- t's keys all among list (read with next: a __pairs could run forever);
-- an error is raised level levels out
local function known(what, t, list, level)
   local set = {}
   for _, k in ipairs(list) do set[k] = true end
   for k in next, t do
      if not set[k] then
         error(("%s: unknown %s '%s' (expected %s)"):format(FN, what, tostring(k),
            table.concat(list, ", ")), level + 1)
      end
   end
end

local esc = canvas.escape

local function datauri(kind, bytes)
   return ("data:%s;base64,%s"):format(kind, canvas.base64(bytes))
end

local function img(kind, bytes, alt, extra)
   return ('<img src="%s" alt="%s"%s>'):format(datauri(kind, bytes), esc(alt), extra or "")
end

-- history[name] copied (a list of numbers, at most MAXVALUES), or nil
-- when there is none
local function curve(h, name)
   local t = h[name]
   if t == nil then return nil end
   if type(t) ~= "table" then
      error(("%s: history.%s must be a list of numbers, got %s"):format(FN, name, type(t)), 5)
   end
   local n = #t
   if type(n) ~= "number" or n > MAXVALUES then
      error(("%s: history.%s has %s values, at most %d"):format(FN, name, tostring(n), MAXVALUES), 5)
   end
   local out = {}
   for i = 1, n do
      local v = t[i]
      if type(v) ~= "number" then
         error(("%s: history.%s: value %d is %s, expected a number"):format(FN, name, i, type(v)), 5)
      end
      out[i] = v
   end
   return out
end

-- the list if it holds a finite number (something to draw), else nil
local function series(t)
   if not t then return nil end
   for i = 1, #t do
      local v = t[i]
      if v == v and v > -math.huge and v < math.huge then return t end
   end
   return nil
end

local function curves(hist, out)
   local h = {}
   for _, name in ipairs(CURVES) do h[name] = curve(hist, name) end
   local loss, val = series(h.loss), series(h.valLoss)
   if loss or val then
      local c = chart.new{title = "Loss per epoch", xlabel = "epoch", ylabel = "loss", width = 560, height = 340}
      if loss then c:line(loss, {name = "training"}) end
      if val then c:line(val, {name = "validation", dash = "6 4"}) end
      out[#out + 1] = img("image/svg+xml", c:svg(), "loss per epoch")
   end
   local acc, vacc = series(h.accuracy), series(h.valAccuracy)
   if acc or vacc then
      local c = chart.new{title = "Accuracy per epoch", xlabel = "epoch", ylabel = "accuracy",
                          width = 560, height = 340, legend = "bottom-right"}
      if acc then c:line(acc, {name = "training"}) end
      if vacc then c:line(vacc, {name = "validation", dash = "6 4"}) end
      out[#out + 1] = img("image/svg+xml", c:svg(), "accuracy per epoch")
   end
   local rows = {"<tr><th>epoch</th><th>loss</th><th>accuracy</th><th>validation loss</th>"
      .. "<th>validation accuracy</th></tr>"}
   local function cell(v, pct)
      if type(v) ~= "number" then return "<td></td>" end
      return pct and ("<td>%.2f%%</td>"):format(100 * v) or ("<td>%.4f</td>"):format(v)
   end
   local epochs = 0
   for _, name in ipairs(CURVES) do epochs = math.max(epochs, h[name] and #h[name] or 0) end
   -- at most MAXROWS rows: every epoch, or epochs evenly spread with the
   -- first and the last
   local shown = math.min(epochs, MAXROWS)
   for k = 1, shown do
      local e = shown == epochs and k or 1 + math.floor((k - 1) * (epochs - 1) / (shown - 1) + 0.5)
      rows[#rows + 1] = ("<tr><td>%d</td>%s%s%s%s</tr>"):format(e, cell((h.loss or {})[e]),
         cell((h.accuracy or {})[e], true), cell((h.valLoss or {})[e]), cell((h.valAccuracy or {})[e], true))
   end
   if shown < epochs then
      out[#out + 1] = ("<p>%d of the %d epochs, evenly spread:</p>"):format(shown, epochs)
   end
   out[#out + 1] = '<table class="epochs">' .. table.concat(rows) .. "</table>"
end

-- the counts as a table whose cells are shaded by their share of the row
-- (the true class), with recall per row and precision per column
local function confusion(cm, out)
   local C, names = cm.C, cm.names or {}
   local function name(k) return esc(names[k] or tostring(k)) end
   local rows = {("<tr><th>true \\ predicted</th>%s<th>recall</th></tr>"):format((function()
      local t = {}
      for p = 1, C do t[p] = "<th>" .. name(p) .. "</th>" end
      return table.concat(t)
   end)())}
   for t = 1, C do
      local total = 0
      for p = 1, C do total = total + cm.counts[t][p] end
      local cells = {}
      for p = 1, C do
         local n = cm.counts[t][p]
         local share = total > 0 and n / total or 0
         local bg = t == p and ("rgba(46,160,67,%.3f)"):format(0.15 + 0.85 * share)
            or ("rgba(214,39,40,%.3f)"):format(math.min(1, share * 4))
         cells[p] = ('<td style="background:%s">%d</td>'):format(n > 0 and bg or "transparent", n)
      end
      rows[#rows + 1] = ("<tr><th>%s</th>%s<td class=\"rate\">%.1f%%</td></tr>"):format(name(t),
         table.concat(cells), 100 * cm:recall(t))
   end
   local prec = {}
   for p = 1, C do prec[p] = ("<td class=\"rate\">%.1f%%</td>"):format(100 * cm:precision(p)) end
   rows[#rows + 1] = "<tr><th>precision</th>" .. table.concat(prec) .. "<td></td></tr>"
   out[#out + 1] = ("<p>%d samples, accuracy %.2f%%. Each row is a true class; green is the "
      .. "share predicted right, red the share taken for another class.</p>"):format(cm.total,
      100 * cm:accuracy())
   out[#out + 1] = '<table class="confusion">' .. table.concat(rows) .. "</table>"
end

-- the network's first layer, if it has a weight Matrix (at most MAXDEPTH
-- containers down: a container can hold itself)
local function firstlayer(net)
   local m = net
   for _ = 1, MAXDEPTH do
      local inner = type(m) == "table" and type(m.modules) == "table" and m.modules[1]
      if not inner then break end
      m = inner
   end
   local ok, w = pcall(function() return m.weight end)
   if ok and nn.isMatrix(w) then return m end
   return nil
end

-- the square shape of n values, or nil
local function shapeof(n)
   local s = math.floor(math.sqrt(n) + 0.5)
   if s * s == n then return s, s end
   return nil
end

-- samples.shape checked against X's columns: {h, w} with h * w = nin
local function checkshape(shape, nin)
   if shape == nil then return shapeof(nin) end
   local h, w = type(shape) == "table" and shape[1], type(shape) == "table" and shape[2]
   if not compat.isint(h) or not compat.isint(w) or h < 1 or w < 1 then
      error(("%s: samples.shape must be {h, w} (positive integers), got %s"):format(FN,
         type(shape) == "table" and ("{%s, %s}"):format(tostring(h), tostring(w)) or type(shape)), 4)
   end
   if nin and h * w ~= nin then
      error(("%s: samples.shape is %d x %d (%d values), but X has %d columns"):format(FN, h, w,
         h * w, nin), 4)
   end
   return h, w
end

local function weights(net, shape, out)
   local m = firstlayer(net)
   if not m then
      out[#out + 1] = "<p>The network has no first layer with weights.</p>"
      return
   end
   local units, nin = m.weight:shape()
   local h, w = shapeof(nin)
   if shape then h, w = shape[1], shape[2] end
   if not h or h * w ~= nin then
      out[#out + 1] = ("<p>The first layer's %d inputs are not a picture.</p>"):format(nin)
      return
   end
   local n = math.min(units, 64)
   out[#out + 1] = ("<p>The first %d of the first layer's %d units: each unit's %d weights "
      .. "as a %d x %d picture, gray 0, white positive, black negative.</p>"):format(n, units, nin, h, w)
   out[#out + 1] = img("image/png", image.grid(m.weight:narrow(1, 1, n), h, w,
      {symmetric = true, zoom = 2, columns = math.min(n, 16)}), "first-layer weights",
      ' class="pixels"')
end

-- samples checked: X a Matrix, Y its labels (copied), shape and count
local function checksamples(s)
   if type(s) ~= "table" then
      error(("%s: samples must be a table {X = , Y = }, got %s"):format(FN, type(s)), 3)
   end
   known("samples field", s, SAMPLES, 3)
   local X, Y = s.X, s.Y
   if not nn.isMatrix(X) then error(("%s: samples.X must be a Matrix, got %s"):format(FN, type(X)), 3) end
   local n, nin = X:shape()
   local labels = {}
   if nn.isMatrix(Y) then
      local r, c = Y:shape()
      if c ~= 1 then error(("%s: samples.Y must be n x 1, got %d x %d"):format(FN, r, c), 3) end
      if r ~= n then error(("%s: samples.Y has %d labels, X %d rows"):format(FN, r, n), 3) end
      for i = 1, n do labels[i] = Y:get(i, 1) end
   elseif type(Y) == "table" then
      local m = #Y
      if type(m) ~= "number" or m ~= n then
         error(("%s: samples.Y has %s labels, X %d rows"):format(FN, tostring(m), n), 3)
      end
      for i = 1, n do labels[i] = Y[i] end
   else
      error(("%s: samples.Y must be a Matrix or a list of labels, got %s"):format(FN, type(Y)), 3)
   end
   local count = s.count
   if count == nil then count = 16 end
   if not compat.isint(count) or count < 0 or count > MAXCOUNT then
      error(("%s: samples.count must be an integer from 0 to %d, got %s"):format(FN, MAXCOUNT,
         tostring(count)), 3)
   end
   local h, w = checkshape(s.shape, nin)
   return {X = X, labels = labels, n = n, h = h, w = w, count = count, shape = s.shape and {h, w}}
end

-- the samples predicted wrong with the highest confidence
local function mistakes(net, s, names, out)
   local X, labels, n, h, w, count = s.X, s.labels, s.n, s.h, s.w, s.count
   local was = net.train
   if net.evaluate then net:evaluate() end
   local soft = nn.Softmax()
   local wrong = {}
   for first = 1, n, 1000 do
      local k = math.min(1000, n - first + 1)
      local out = net:forward(X:narrow(first, k))
      local last = net.modules and net.modules[#net.modules]
      local kind = last and last.typename
      local P = kind == "Softmax" and out or kind == "LogSoftmax" and out:exp() or soft:forward(out)
      local best, at = P:max(2)
      for i = 1, k do
         local pred, truth = at:get(i, 1), labels[first + i - 1]
         if pred ~= truth then
            wrong[#wrong + 1] = {first + i - 1, truth, pred, best:get(i, 1)}
         end
      end
   end
   if net.training and was then net:training() end
   table.sort(wrong, function(a, b) return a[4] > b[4] end)
   out[#out + 1] = ("<p>%d of %d samples are predicted wrong; the %d the network was "
      .. "surest of:</p>"):format(#wrong, n, math.min(count, #wrong))
   if not h then return end
   local cells = {}
   for k = 1, math.min(count, #wrong) do
      local i, truth, pred, p = compat.unpack(wrong[k])
      local pic = image.png(X:row(i):reshape(h, w), {lo = 0, hi = 1, zoom = 3})
      cells[#cells + 1] = ('<figure>%s<figcaption>#%d: true %s, guessed %s (%.0f%%)</figcaption></figure>')
         :format(img("image/png", pic, "sample " .. i, ' class="pixels"'), i,
         esc(names[truth] or truth), esc(names[pred] or pred), 100 * p)
   end
   out[#out + 1] = '<div class="samples">' .. table.concat(cells) .. "</div>"
end

local STYLE = [[
body { font-family: "DejaVu Sans", sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
table.epochs { margin-top: 8px; }
td.rate { font-weight: bold; background: #f4f4f4; }
img { margin: 4px; vertical-align: top; }
img.pixels { image-rendering: pixelated; }
.samples { display: flex; flex-wrap: wrap; }
figure { margin: 4px; text-align: center; font-size: 12px; }
]]

--- nn.report(path, parts) -> true: writes the HTML file.  parts: title,
--- history (from nn.fit), confusion (an nn.ConfusionMatrix), net, samples
--- ({X = Matrix, Y = labels [, shape = {h, w}] [, count = 16]}: with net,
--- the most confident mistakes).  Each part is optional.
-- is m a network (a module with forward)?
local function ismodule(m)
   if type(m) ~= "table" and type(m) ~= "userdata" then return false end
   local ok, f = pcall(function() return m.forward end)
   return ok and type(f) == "function"
end

function report.report(path, parts)
   if type(path) ~= "string" then fail("path must be a string, got %s", type(path)) end
   if type(parts) ~= "table" then fail("parts must be a table, got %s", type(parts)) end
   known("part", parts, PARTS, 2)
   local title = parts.title
   if title ~= nil and type(title) ~= "string" and type(title) ~= "number" then
      fail("title must be a string, got %s", type(title))
   end
   title = title and canvas.clean(title, 600) or "lua-nn training report"
   local net, history, cm = parts.net, parts.history, parts.confusion
   if net ~= nil and not ismodule(net) then
      fail("net must be a network (a module with forward), got %s", type(net))
   end
   if history ~= nil and type(history) ~= "table" then
      fail("history must be a table (from nn.fit), got %s", type(history))
   end
   if cm ~= nil and getmetatable(cm) ~= require("nn.ConfusionMatrix") then
      fail("confusion must be an nn.ConfusionMatrix, got %s", type(cm))
   end
   local samples = parts.samples ~= nil and checksamples(parts.samples) or nil
   local out = {"<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
      "<title>" .. esc(title) .. "</title>",
      "<style>" .. STYLE .. "</style></head><body>",
      "<h1>" .. esc(title) .. "</h1>"}
   if net then
      out[#out + 1] = "<h2>The network</h2><pre>" .. esc(tostring(net)) .. "</pre>"
   end
   if history then
      out[#out + 1] = "<h2>Learning curves</h2>"
      curves(history, out)
   end
   if cm then
      out[#out + 1] = "<h2>Confusion matrix</h2>"
      confusion(cm, out)
   end
   if net then
      out[#out + 1] = "<h2>First-layer weights</h2>"
      weights(net, samples and samples.shape, out)
   end
   if net and samples then
      out[#out + 1] = "<h2>The most confident mistakes</h2>"
      mistakes(net, samples, cm and cm.names or {}, out)
   end
   out[#out + 1] = "</body></html>\n"
   local ok, err = core.writefile(path, table.concat(out, "\n"))
   if not ok then error(FN .. ": " .. err, 2) end
   return true
end

return report
