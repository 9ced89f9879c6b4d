-- nn.plot: line charts in characters.
local plot = require "nn.plot"

describe("plot.lines", function()
   it("draws each series with its mark, the y range and a legend", function()
      local s = plot.lines({{1, 2, 3}, {3, 2, 1}}, {height = 3, width = 8})
      assert.are.equal(table.concat({
         "3 |oo    **",
         "  |  oooo  ",
         "1 |**    oo",
         "  +--------",
         "   1      3",
         "   * 1   o 2",
      }, "\n"), s)
   end)

   it("takes one list, or named series sorted by name", function()
      local s = plot.lines({0, 1}, {height = 2, width = 8})
      assert.truthy(s:find("^1 |    %*%*%*%*\n0 |%*%*%*%*    \n"), s)
      s = plot.lines({valLoss = {1, 2}, loss = {2, 1}}, {height = 2, width = 8})
      assert.truthy(s:find("* loss   o valLoss", 1, true), s)
   end)

   it("leaves out NaN and infinities, and draws a flat series mid-way", function()
      local s = plot.lines({{5, 0 / 0, math.huge, 5}}, {height = 3, width = 8})
      local rows = {}
      for line in s:gmatch("[^\n]+") do rows[#rows + 1] = line end
      assert.are.equal("5.5 |        ", rows[1])
      assert.are.equal("    |**     *", rows[2])
      assert.are.equal("4.5 |        ", rows[3])
   end)

   it("has a log scale for losses that span decades", function()
      local s = plot.lines({{100, 10, 1}}, {height = 3, width = 8, log = true})
      assert.truthy(s:find("^100 |%*", 1), s)
      assert.truthy(s:find("\n  1 |      %*%*"), s)
      assert.truthy(s:find("(log scale)", 1, true), s)
      assert.has_error(function() plot.lines({{0, -1}}, {log = true}) end,
         "plot.lines: nothing to draw: no finite positive values")
   end)

   it("refuses bad input by name", function()
      assert.has_error(function() plot.lines(5) end,
         "plot.lines: series must be a table, got number")
      assert.has_error(function() plot.lines({}) end, "plot.lines: no series to draw")
      assert.has_error(function() plot.lines({a = 5}) end,
         "plot.lines: series a must be a list of numbers, got number")
      assert.has_error(function() plot.lines({{1, "x"}}) end,
         "plot.lines: series 1: value 2 is string, expected a number")
      assert.has_error(function() plot.lines({1, 2}, {width = 3}) end,
         "plot.lines: width must be an integer from 8 to 1000, got 3")
      assert.has_error(function() plot.lines({1, 2}, {colour = true}) end,
         "plot.lines: unknown option 'colour' (expected height, log, width)")
      assert.has_error(function() plot.lines({0 / 0}) end,
         "plot.lines: nothing to draw: no finite values")
      local many = {}
      for i = 1, 9 do many[i] = {1, 2} end
      assert.has_error(function() plot.lines(many) end, "plot.lines: at most 8 series, got 9")
   end)
end)

-- Charts, the canvas and the report on the inputs of issue #21: each hang
-- or unbounded allocation runs in a child process of 5.4, 5.1 and LuaJIT
-- (their floats differ: 5.4 counts loops in integers, the others in
-- doubles) under a time limit and 3 GB of address space, so on the code
-- before the fix it fails instead of stalling the suite.
local nn = require "nn"
local H = require "helpers"
local canvas = require "nn.canvas"
local chart = require "nn.chart"

local LUAS = H.sanitized and {H.lua} or {"lua5.4", "lua5.1", "luajit"}
-- under a sanitizer a child runs a few times slower; under valgrind the
-- drawings of 1e5 points and the fuzzer would take an hour (and reach no
-- C of their own): those wait
local SLOW = H.sanitized and 4 or 1
local heavy = H.sanitized == "valgrind" and pending or it

-- code (which ends by printing "done") in a child of each Lua, bounded
local function bounded(code, seconds)
   for _, lua in ipairs(LUAS) do
      local ok, out = H.child('local plot = require "nn.plot"\n' .. code,
         not H.sanitized and "ulimit -v 3000000; " or nil, nil, SLOW * (seconds or 30),
         lua ~= H.lua and lua or nil)
      assert(ok and out:find("done", 1, true), lua .. ": " .. out:sub(-2000))
   end
end

-- Python's XML parser on an SVG string
local function validxml(svg)
   local f = os.tmpname()
   H.write(f, svg)
   local ok, out = H.run(("env -u LD_PRELOAD /usr/bin/python3 '%s/spec/tools/svginfo.py' '%s'")
      :format(H.top, f))
   os.remove(f)
   return ok, out
end

describe("charts end, and in bounded memory, on any numbers", function()
   it("draws a constant series far from 0 (1e16), as lines, points and a report", function()
      bounded([[
         local svg = plot.chart():line({1e16, 1e16}):svg()
         assert(svg:find(">1e16<", 1, true), svg)
         assert(#plot.chart():line({1e16, 1e16}):png() > 1000)
         assert(#plot.chart():points({1e16, 1e16}, {1, 2}):svg() > 1000)
         assert(#plot.chart():points({1e16, 1e16}, {1, 2}):png() > 1000)
         local f = os.tmpname()
         assert(require("nn").report(f, {history = {loss = {1e16, 1e16}}}))
         os.remove(f)
         print("done")
      ]])
   end)

   it("ticks a span of one ulp (0.9 to 0.9000000000000001) and of subnormals", function()
      bounded([[
         for _, ys in ipairs{{0.9, 0.9000000000000001}, {0, 5e-324}, {5e-324, 1e-323},
                             {-2.2250738585072014e-308, 2.2250738585072014e-308}} do
            local c = plot.chart():line(ys)
            assert(not c:svg():find("nan"))
            assert(#c:png() > 1000)
         end
         print("done")
      ]])
   end)

   it("pads a log axis from 1 to 1e300 and refuses a log range from 0", function()
      bounded([[
         local c = plot.chart{ylog = true}:line({1, 1e300})
         local svg = c:svg()
         assert(svg:find(">1e100<", 1, true) and svg:find(">1e200<", 1, true), svg)
         assert(#c:png() > 1000)
         assert(#plot.chart{ylog = true, xlog = true}:line({1e-320, 1e308}, {1e308, 1e-320}):svg() > 1000)
         local ok, err = pcall(plot.chart, {ylog = true, yrange = {0, 1}})
         assert(not ok and err:find("plot.chart: yrange must be positive on a log axis", 1, true), err)
         print("done")
      ]])
   end)

   it("spans -1e308 to 1e308 with numbers, not NaN", function()
      bounded([[
         local c = plot.chart():line({-1e308, 1e308})
         local svg = c:svg()
         assert(not svg:find("nan") and svg:find(">1e308<", 1, true), svg)
         assert(#c:png() > 1000)
         local f = plot.chart{xrange = {-1e308, 1e308}, yrange = {-1e308, 1e308}}
         f:field(function(x, y) assert(x == x and y == y and x > -math.huge and x < math.huge); return x end)
         f:points({-1e308, 0, 1e308}, {1e308, 0, -1e308})
         assert(not f:svg():find("nan"))
         print("done")
      ]])
   end)

   it("refuses dashes that would never end, or that would cost a dash per pixel", function()
      bounded([[
         for _, d in ipairs{"0", "0 0", "0.001 0.001", " ", "", "1e9", "6;4", "-1 2", "inf", "nan", 5} do
            local ok, err = pcall(function() return plot.chart():line({1, 2, 3}, {dash = d}):png() end)
            assert(not ok and err:find("chart:line: dash", 1, true), d .. ": " .. tostring(err))
         end
         assert(#plot.chart():line({1, 2, 3}, {dash = "0 4"}):png() > 1000)    -- dots
         print("done")
      ]])
   end)

   heavy("draws 1e5 zigzag points and a 1e6-point line in a time set by the picture", function()
      bounded([[
         local z = {}
         for i = 1, 1e5 do z[i] = i % 2 end
         assert(#plot.chart():line(z):png() > 1000)
         local long = {}
         for i = 1, 1e6 do long[i] = math.sin(i / 1e4) end
         assert(#plot.chart():line(long):png() > 1000)
         local xs, ys = {}, {}
         for i = 1, 2e4 do xs[i], ys[i] = (i * 7919) % 1000, (i * 104729) % 997 end
         assert(#plot.chart():points(xs, ys):png() > 1000)
         print("done")
      ]], 60)
   end)

   heavy("refuses by name a drawing whose lines would take too long", function()
      bounded([[
         local xs, ys = {}, {}
         for i = 1, 1e5 do xs[i], ys[i] = i % 2, (i * 104729) % 997 end
         local ok, err = pcall(function() return plot.chart():line(xs, ys):png() end)
         assert(not ok and err:find("chart:png: drawing this chart would take over", 1, true), err)
         print("done")
      ]])
   end)

   it("counts its ticks out: at most n + 2 for any span", function()
      local spans = {{0, 1}, {-1e308, 1e308}, {1e16 - 2, 1e16 + 2}, {0.9, 0.9000000000001}, {0.9, 1.8},
                     {5e-291, 1e-290}, {1, 1e300}, {-5, 5}}
      for _, s in ipairs(spans) do
         for _, n in ipairs{1, 2, 5, 45} do
            for _, integral in ipairs{false, true} do
               local t = chart.ticks(s[1], s[2], n, integral)
               assert.is_true(#t <= n + 2, ("%d ticks for n = %d on {%.17g, %.17g}"):format(#t, n, s[1], s[2]))
               for _, v in ipairs(t) do assert.is_true(v == v and v > -math.huge and v < math.huge) end
            end
         end
      end
      assert.are.same({}, (chart.ticks(1, 1, 5)))
      assert.are.same({}, (chart.ticks(0.9, 0.9000000000000001, 5)))   -- too narrow to tell apart
      assert.are.same({}, (chart.ticks(0 / 0, 1, 5)))
      assert.are.same({}, (chart.ticks(-math.huge, math.huge, 5)))
   end)
end)

describe("the charts' fuzzer (fuzz/charts.lua)", function()
   heavy("mutates the seed charts and draws each to an end: a result or a named error", function()
      local dir = H.tmpdir()
      local n = tonumber(os.getenv("NN_FUZZ_CHARTS")) or 300
      local ok, out = H.child(("arg = {[0] = %q, %q, '1', %q}\ndofile(arg[0])")
         :format(H.top .. "/fuzz/charts.lua", tostring(n), dir),
         not H.sanitized and "ulimit -v 3000000; " or nil, nil, SLOW * 600)
      assert.is_true(ok, out:sub(-3000))
      local drawings = tonumber(out:match("fuzz charts: (%d+) drawings"))
      assert.is_true(drawings ~= nil and drawings > n / 5, out)
      -- what it kept is valid XML
      local valid, said = H.run(("env -u LD_PRELOAD /usr/bin/python3 -c 'import glob, sys, "
         .. "xml.etree.ElementTree as E; fs = glob.glob(sys.argv[1] + \"/*.svg\"); "
         .. "[E.parse(f) for f in fs]; print(len(fs))' '%s'"):format(dir))
      H.sh("rm -rf '" .. dir .. "'")
      assert.is_true(valid and tonumber(said) > 0, said)
   end)
end)

describe("chart and report errors", function()
   local plot = require "nn.plot"

   it("names unknown options and lists the known ones", function()
      H.has(H.err(plot.chart, {titel = "x"}), "plot.chart: unknown option 'titel' (expected caption, "
         .. "height, legend, title, width, xlabel, xlog, xrange, ylabel, ylog, yrange)")
      H.has(H.err(plot.chart, {widht = 300}), "plot.chart: unknown option 'widht'")
      local c = plot.chart()
      H.has(H.err(c.line, c, {1, 2}, {colour = {1, 0, 0}}),
         "chart:line: unknown option 'colour' (expected color, dash, name, width)")
      H.has(H.err(c.points, c, {1}, {1}, {size = 3}),
         "chart:points: unknown option 'size' (expected classes, color, name, names, radius)")
      local f = plot.chart{xrange = {0, 1}, yrange = {0, 1}}
      H.has(H.err(f.field, f, math.max, {level = 3}), "chart:field: unknown option 'level' (expected batch, ")
      H.has(H.err(plot.figure, {cols = 2}), "plot.figure: unknown option 'cols' (expected columns, title)")
      H.has(H.err(nn.report, os.tmpname(), {histroy = {}}),
         "nn.report: unknown part 'histroy' (expected confusion, history, net, samples, title)")
   end)

   it("writes valid XML whatever the title, labels and names hold", function()
      local nasty = "a\0b\1c\27d\127 \128\255\254 \237\160\128 \239\191\190 \192\175 ok é ≠ <&>\"'"
      local c = plot.chart{title = nasty, xlabel = nasty, ylabel = nasty, caption = nasty}
      c:line({1, 2}, {name = nasty})
      c:points({1, 2}, {1, 2}, {classes = {1, 2}, names = {nasty, "\2"}})
      local svg = c:svg()
      local ok, out = validxml(svg)
      assert.is_true(ok, out)
      H.has(svg, "ok é ≠ &lt;&amp;&gt;&quot;&#39;")
      assert.is_true(#c:png() > 1000)
      local clean, n = canvas.clean("x\255y\1z")
      assert.are.equal("x\239\191\189y\239\191\189z", clean)
      assert.are.equal(5, n)
   end)

   it("names a NaN or infinite class and a blank dash", function()
      local c = plot.chart()
      H.has(H.err(c.points, c, {1, 2}, {1, 2}, {classes = {1, 0 / 0}}),
         "chart:points: classes: value 2 is")
      H.has(H.err(c.points, c, {1, 2}, {1, 2}, {classes = {math.huge, 1}}),
         "chart:points: classes: value 1 is inf")
      H.has(H.err(c.points, c, {1}, {1}, {classes = {0}}), "expected a class (a whole number from 1)")
      H.has(H.err(c.line, c, {1, 2}, {dash = " "}), "chart:line: dash must be lengths such as \"6 4\"")
   end)

   it("names a report's samples whose shape or count is wrong", function()
      local net = nn.Sequential{nn.Linear(16, 3)}
      local X, Y = nn.Matrix(4, 16), {1, 2, 3, 1}
      local path = os.tmpname()
      H.has(H.err(nn.report, path, {net = net, samples = {X = X, Y = Y, shape = {3, 3}}}),
         "nn.report: samples.shape is 3 x 3 (9 values), but X has 16 columns")
      H.has(H.err(nn.report, path, {net = net, samples = {X = X, Y = Y, count = "many"}}),
         "nn.report: samples.count must be an integer from 0 to 1000, got many")
      H.has(H.err(nn.report, path, {net = net, samples = {X = X, Y = Y, count = 0 / 0}}),
         "nn.report: samples.count must be an integer")
      H.has(H.err(nn.report, path, {net = net, samples = {X = X, Y = {1, 2}}}),
         "nn.report: samples.Y has 2 labels, X 4 rows")
      H.has(H.err(nn.report, path, {confusion = {C = 1e9, counts = {}}}),
         "nn.report: confusion must be an nn.ConfusionMatrix")
      -- a network that holds itself: the first-layer search ends
      local loop = {forward = function() end, modules = {}}
      loop.modules[1] = loop
      assert.is_true(nn.report(path, {net = loop}))
      assert.is_true(nn.report(path, {net = net, samples = {X = X, Y = Y, shape = {4, 4}, count = 2}}))
      os.remove(path)
   end)
end)

describe("plot.figure", function()
   it("puts charts side by side, each in its own box", function()
      local plot = require "nn.plot"
      local f = plot.figure{columns = 2, title = "two"}
      f:add(plot.chart{title = "left"}:line({1, 2}))
      f:add(plot.chart{title = "right", width = 300, height = 200}:line({2, 1}))
      local ok, out = validxml(f:svg())
      assert.is_true(ok, out)
      local info = assert(H.load(out, "svginfo", {}))()
      assert.are.same({"1280", "450"}, {info.width, info.height})
      assert.are.equal(3, info.counts.svg)          -- the figure and a panel each
      assert.is_true(#f:png() > 1000)
      H.has(H.err(f.add, f, "chart"), "figure:add: expected a chart (plot.chart), got string")
      local big = plot.figure{columns = 1}
      for _ = 1, 9 do big:add(plot.chart{height = 420}) end
      H.has(H.err(big.add, big, plot.chart{height = 420}), "figure:add: the figure would be 640 x 4200")
      H.has(H.err(plot.figure().svg, plot.figure()), "figure:svg: the figure has no charts")
   end)
end)
