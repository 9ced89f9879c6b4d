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

local esc = canvas.escape

local function datauri(kind, bytes)
   return ("data:%s;base64,%s"):format(kind, canvas.base64(bytes))
end

local function img(kind, bytes, alt, extra)
   return ('<img src="%s" alt="%s"%s>'):format(datauri(kind, bytes), esc(alt), extra or "")
end

-- a list of the finite numbers in t, or nil when there are none
local function series(t)
   if type(t) ~= "table" then return nil end
   for i = 1, #t do
      local v = t[i]
      if type(v) == "number" and v == v then return t end
   end
   return nil
end

local function curves(h, out)
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
   for e = 1, #(h.loss or {}) do
      rows[#rows + 1] = ("<tr><td>%d</td>%s%s%s%s</tr>"):format(e, cell(h.loss[e]),
         cell((h.accuracy or {})[e], true), cell((h.valLoss or {})[e]), cell((h.valAccuracy or {})[e], true))
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

-- the network's first Linear layer, and its weights as pictures
local function firstlayer(net)
   local m = net
   while m and m.modules do m = m.modules[1] end
   if m and nn.isMatrix(m.weight) then return m end
   return nil
end

-- the square (or given) shape of a sample
local function shapeof(n, shape)
   if shape then return shape[1], shape[2] end
   local s = math.floor(math.sqrt(n) + 0.5)
   if s * s == n then return s, s end
   return nil
end

local function weights(net, shape, out)
   local m = firstlayer(net)
   if not m then
      out[#out + 1] = "<p>The network has no first layer with weights.</p>"
      return
   end
   local units, nin = m.weight:shape()
   local h, w = shapeof(nin, shape)
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

-- the samples predicted wrong with the highest confidence
local function mistakes(net, s, names, out)
   local X, Y = s.X, s.Y
   if not nn.isMatrix(X) then fail("samples.X must be a Matrix, got %s", type(X)) end
   local n, nin = X:shape()
   local labels = {}
   if nn.isMatrix(Y) then
      for i = 1, n do labels[i] = Y:get(i, 1) end
   elseif type(Y) == "table" then
      labels = Y
   else
      fail("samples.Y must be a Matrix or a list of labels, got %s", type(Y))
   end
   if #labels ~= n then fail("samples.Y has %d labels, X %d rows", #labels, n) end
   local h, w = shapeof(nin, s.shape)
   local count = s.count or 16
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
function report.report(path, parts)
   if type(path) ~= "string" then fail("path must be a string, got %s", type(path)) end
   if type(parts) ~= "table" then fail("parts must be a table, got %s", type(parts)) end
   local out = {"<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
      "<title>" .. esc(parts.title or "lua-nn training report") .. "</title>",
      "<style>" .. STYLE .. "</style></head><body>",
      "<h1>" .. esc(parts.title or "lua-nn training report") .. "</h1>"}
   if parts.net then
      out[#out + 1] = "<h2>The network</h2><pre>" .. esc(tostring(parts.net)) .. "</pre>"
   end
   if parts.history then
      if type(parts.history) ~= "table" then fail("history must be a table, got %s", type(parts.history)) end
      out[#out + 1] = "<h2>Learning curves</h2>"
      curves(parts.history, out)
   end
   if parts.confusion then
      local cm = parts.confusion
      if type(cm) ~= "table" or type(cm.counts) ~= "table" then
         fail("confusion must be an nn.ConfusionMatrix")
      end
      out[#out + 1] = "<h2>Confusion matrix</h2>"
      confusion(cm, out)
   end
   if parts.net then
      out[#out + 1] = "<h2>First-layer weights</h2>"
      weights(parts.net, parts.samples and parts.samples.shape, out)
   end
   if parts.net and parts.samples then
      out[#out + 1] = "<h2>The most confident mistakes</h2>"
      mistakes(parts.net, parts.samples, parts.confusion and parts.confusion.names or {}, out)
   end
   out[#out + 1] = "</body></html>\n"
   local ok, err = core.writefile(path, table.concat(out, "\n"))
   if not ok then error(FN .. ": " .. err, 2) end
   return true
end

return report
