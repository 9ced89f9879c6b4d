-- Charts (nn.plot.chart), the lectures' figures (the examples that draw
-- them) and the HTML training report (nn.report).  SVG must be valid XML
-- (Python's parser reads it); PNGs are decoded (spec/tools/pngstats.py);
-- SVG and HTML are rendered in headless Chromium and the screenshots read
-- back: the right size, not blank.
local nn = require "nn"
local plot = require "nn.plot"
local H = require "helpers"

-- Python's XML parser on an SVG (spec/tools/svginfo.py): the root's tag
-- and size, and how many of each element it holds
local function svginfo(path)
   local ok, out = H.run(("env -u LD_PRELOAD /usr/bin/python3 '%s/spec/tools/svginfo.py' '%s'")
      :format(H.top, path))
   assert(ok, out)
   return assert(H.load(out, "svginfo", {}))()
end

local browser = H.sanitized and pending or it

describe("plot.chart", function()
   local dir
   before_each(function() dir = H.tmpdir() end)
   after_each(function() H.sh("rm -rf '" .. dir .. "'") end)

   it("writes valid SVG with a line per unbroken run, ticks and a legend", function()
      local c = plot.chart{title = "T", xlabel = "epoch", ylabel = "loss", yrange = {0, 1}}
      c:line({0.9, 0.5, 0 / 0, 0.3, 0.2}, {name = "train"})     -- a NaN breaks the line
      c:line({0.8, 0.6, 0.5, 0.45, 0.4}, {name = "val", dash = "6 4"})
      c:save(dir .. "/c.svg")
      local s = svginfo(dir .. "/c.svg")
      assert.are.equal("svg", s.tag)
      assert.are.same({"640", "420"}, {s.width, s.height})
      local svg = H.read(dir .. "/c.svg")
      for _, t in ipairs{">0.2<", ">0.4<", ">0.6<", ">0.8<", ">1.0<", ">epoch<", ">loss<", ">train<", ">val<", ">T<"} do
         H.has(svg, t)
      end
      -- 3 data polylines (two runs of train, one of val) + grid, ticks, legend
      local _, data = svg:gsub('stroke="#1f77b4" stroke%-width="2"', "")
      assert.are.equal(3, data)                   -- two train runs and its legend swatch
   end)

   it("ticks whole numbers on an x of whole numbers (epochs)", function()
      local c = plot.chart{}
      c:line({30, 20, 10})
      local labels = {}
      for t in c:svg():gmatch(">([^<]+)</text>") do labels[#labels + 1] = t end
      assert.are.equal("1 2 3 10 15 20 25 30", table.concat(labels, " "))
   end)

   it("puts log ticks at powers of ten", function()
      local c = plot.chart{ylog = true}
      c:line({1000, 10, 0.1, 0.001})
      local svg = c:svg()
      for _, t in ipairs{">0.001<", ">0.1<", ">10<", ">1000<"} do H.has(svg, t) end
   end)

   it("draws the same chart as a PNG: its size, text in the margins, and nothing outside the box", function()
      local c = plot.chart{title = "Title", xlabel = "x", ylabel = "y", yrange = {0, 1}}
      c:line({0, 0.5, 50, 1e30, 0.2}, {name = "wild"})        -- far past the range
      c:save(dir .. "/c.png")
      local s = H.pngstats(dir .. "/c.png", "title=dark:200,5,440,30", "margin=nonwhite:625,40,640,370",
         "line=1f77b4:72,36,622,372")
      assert.are.same({640, 420}, {s.w, s.h})
      assert.is_true(s.title > 30, "no title text")
      assert.are.equal(0, s.margin, "the line was drawn outside the plot box")
      assert.is_true(s.line > 100, "no line")
   end)

   it("fills a field: a smooth map, bands, or class regions with points over them", function()
      local c = plot.chart{xrange = {-1, 1}, yrange = {-1, 1}}
      c:field(function(x, y) return x > y and 2 or 1 end, {classes = true})
      c:points({-0.5, 0.5}, {0.5, -0.5}, {classes = {1, 2}, names = {"a", "b"}})
      c:save(dir .. "/f.png")
      -- the two pale class colours cover the plot
      local s = H.pngstats(dir .. "/f.png", "a=a5c8e0:80,40,600,360", "b=ffc89b:80,40,600,360")
      assert.is_true(s.a > 50000 and s.b > 50000, ("regions: %d and %d pixels"):format(s.a, s.b))
      local b = plot.chart{xrange = {0, 1}, yrange = {0, 1}}
      b:field(function(x) return x end, {levels = 4})
      assert.is_true(#b:png() > 1000)
      -- a batch field: f gets every grid point at once
      local calls = 0
      local net = nn.Sequential{nn.Linear(2, 3)}
      local d = plot.chart{xrange = {0, 1}, yrange = {0, 1}}
      d:field(function(P) calls = calls + 1; return net:forward(P) end, {classes = true, batch = true})
      d:svg()
      assert.are.equal(1, calls)
   end)

   it("names bad input", function()
      H.has(H.err(plot.chart, {width = 10}), "plot.chart: width and height must be integers")
      H.has(H.err(plot.chart, {yrange = {1, 0}}), "plot.chart: yrange must be {lo, hi}: finite numbers with lo < hi")
      H.has(H.err(plot.chart, {legend = "middle"}), "plot.chart: legend must be")
      local c = plot.chart()
      H.has(H.err(c.line, c, "abc"), "chart:line: ys must be a list of numbers or a Matrix, got string")
      H.has(H.err(c.line, c, {1, 2}, {1}), "chart:line: xs has 2 values, ys 1")
      H.has(H.err(c.line, c, {1, "a"}), "chart:line: ys: value 2 is string, expected a number")
      H.has(H.err(c.points, c, {1}, {1}, {classes = {1, 2}}), "chart:points: classes has 2 values, expected 1")
      H.has(H.err(c.field, c, function() return 0 end), "chart:field: the chart needs xrange and yrange")
      H.has(H.err(c.save, c, dir .. "/c.jpg"), "the name must end in .svg or .png")
      local f = plot.chart{xrange = {0, 1}, yrange = {0, 1}}
      f:field(function() end)
      -- the first cell's centre: one cell a pixel of the 550 - 80 pixels beside the colour bar
      H.has(H.err(f.svg, f), "chart:field: f(0.00106383, 0.998596) returned nil, expected a number")
      H.has(H.err(f.field, f, math.sin, {levels = 1}), "chart:field: levels must be an integer from 2 to 256")
      H.has(H.err(f.line, f, {1, 2}, {width = -1}), "chart:line: width must be a number from 0 to 50")
      -- a list is copied when given: a proxy answering forever cannot hang a drawing
      local forever = setmetatable({}, {__len = function() return 3 end,
                                        __index = function(_, k) return type(k) == "number" and 1 or nil end})
      local p = plot.chart()
      p:line(forever)
      assert.is_true(#p:svg() > 100)
   end)

   browser("renders in Chromium as drawn", function()
      local c = plot.chart{title = "in a browser", xlabel = "x", ylabel = "y"}
      c:line({3, 1, 2, 5, 4}, {name = "a"})
      c:points({1, 2, 3}, {2, 3, 4}, {name = "p"})
      c:save(dir .. "/b.svg")
      local s = H.pngstats(H.screenshot(dir .. "/b.svg", 640, 420), "line=1f77b4:72,36,622,372")
      assert.are.same({640, 420}, {s.w, s.h})
      assert.is_true(s.colors > 20 and s.nonwhite > 0.02, "a blank render")
      assert.is_true(s.line > 100, "no line in the render")
   end)
end)

describe("the lectures' figures (examples)", function()
   local dir = H.tmpdir()
   -- each example, its figures, a line it prints, and what a reader must
   -- be able to see in them (issue #21 §5), checked on the SVG
   local function text(name) return H.read(("%s/%s.svg"):format(dir, name)) end
   local figures = {
      {"examples/lr_effect.lua", {"lr_effect"}, "loss after 150 epochs: not a number (diverged)"},
      {"examples/gd_paths.lua", {"gd_paths_quadratic", "gd_paths_rosenbrock"}, "rosenbrock Adam",
       function(out)
          -- every Rosenbrock path in a panel of its own (and a close-up of
          -- where they stop); SGD's stop, which the terminal prints, named
          local svg = svginfo(dir .. "/gd_paths_rosenbrock.svg")
          assert.are.equal(1 + 6, svg.counts.svg)
          H.has(out, "rosenbrock SGD      ends at (0.842, 0.709)")
          H.has(text("gd_paths_rosenbrock"), "SGD, lr 0.001: stops at (0.84, 0.71)")
          -- fields have colour bars: a field and a bar, as images, per panel
          assert.are.equal(12, svg.counts.image)
          assert.are.equal(2, svginfo(dir .. "/gd_paths_quadratic.svg").counts.image)
          H.has(text("gd_paths_quadratic"), ">log(1 + f)<")
       end},
      {"examples/fitting.lua", {"fitting_width", "fitting_epochs"}, "128 hidden units: training loss",
       function(out)
          -- both charts train 3000 epochs, and their 128-unit numbers agree
          local w = out:match("128 hidden units: training loss (%S+), validation loss (%S+)")
          local e = out:match("128 units, epoch 3000: training loss (%S+), validation loss (%S+)")
          assert.are.equal(w, e)
          H.has(text("fitting_epochs"), ">3000<")
          assert.is_nil(text("fitting_epochs"):find(">6000<", 1, true))
          -- no spikes: the loss never rises 5% from one epoch to the next
          local rise = tonumber(out:match("next after epoch 100: (%S+)%%"))
          assert.is_true(rise ~= nil and rise < 5, out)
          H.has(text("fitting_epochs"), "AMSGrad")
       end},
      {"examples/sine_fit.lua", {"sine_fit"}, "epoch 5000: training loss"},
      {"examples/boundaries.lua", {"boundary_perceptron", "boundary_xor", "boundary_blobs"},
       "perceptron: no mistakes after epoch",
       function(out)
          H.has(text("boundary_xor"), ">x1 ≠ x2<")
          assert.is_nil(text("boundary_xor"):find("~=", 1, true))
          -- the overfitted blobs say so, beside a regularized network
          local blobs = text("boundary_blobs")
          H.has(blobs, "overfitted")
          H.has(blobs, "weight decay")
          H.has(blobs, "of 2000 new ones")
          H.has(out, "100.0% of the training points right")
       end},
   }
   for _, f in ipairs(figures) do
      it(f[1] .. " draws its figures as SVG and PNG", function()
         local ok, out = H.child(("arg = {[0] = %q, %q}\ndofile(%q)"):format(f[1], dir, f[1]))
         assert.is_true(ok, out)
         H.has(out, f[3])
         for _, name in ipairs(f[2]) do
            local svg = svginfo(("%s/%s.svg"):format(dir, name))
            assert.are.equal("svg", svg.tag)
            local s = H.pngstats(("%s/%s.png"):format(dir, name))
            assert.are.same({tonumber(svg.width), tonumber(svg.height)}, {s.w, s.h})
            assert.is_true(s.colors > 20 and s.nonwhite > 0.03, name .. ".png is blank")
         end
         if f[4] then f[4](out) end
      end)
   end

   browser("every figure's SVG renders in Chromium at its size, not blank", function()
      local pages = {}
      for _, f in ipairs(figures) do
         for _, name in ipairs(f[2]) do
            local path = ("%s/%s.svg"):format(dir, name)
            local svg = svginfo(path)
            pages[#pages + 1] = {path, tonumber(svg.width), tonumber(svg.height), name}
         end
      end
      local shots = H.screenshots(pages)
      for i, p in ipairs(pages) do
         local s = H.pngstats(shots[i], ("title=dark:0,0,%d,30"):format(p[2]))
         assert.are.same({p[2], p[3]}, {s.w, s.h})
         assert.is_true(s.colors > 20 and s.nonwhite > 0.03, p[4] .. ".svg renders blank")
         assert.is_true(s.title > 30, p[4] .. ": no title in the render")
      end
      H.sh("rm -rf '" .. dir .. "'")
   end)
end)

describe("nn.report", function()
   local test = H.have_mnist() and it or pending
   test("writes one self-contained HTML file that Chromium renders", function()
      local dir = H.tmpdir()
      local ok, out = H.child(([[
         local nn = require "nn"
         local mnist = require "nn.mnist"
         nn.seed(1)
         local X, Y = mnist.load("data/mnist", "test")
         local Xtr, Ytr, Xte, Yte = X:narrow(1, 3000), Y:narrow(1, 3000), X:narrow(3001, 1000), Y:narrow(3001, 1000)
         local net = nn.Sequential{nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10)}
         local h = nn.fit(net, nn.CrossEntropyLoss(), nn.SGD(net, {lr = 0.1, momentum = 0.9}), Xtr, Ytr,
            {epochs = 3, batchSize = 32, progress = false, validation = {Xte, Yte}})
         local cm = nn.ConfusionMatrix(10, mnist.classes)
         cm:add(nn.predict(net, Xte), Yte)
         assert(nn.report(%q, {title = "a small run", history = h, net = net, confusion = cm,
                                samples = {X = Xte, Y = Yte}}))
         print("ok")
      ]]):format(dir .. "/report.html"), nil, H.top, 120)
      assert.is_true(ok and out:find("ok", 1, true) ~= nil, out)
      local html = H.read(dir .. "/report.html")
      for _, part in ipairs{"<h2>Learning curves</h2>", "<h2>Confusion matrix</h2>", "<th>recall</th>",
                            "<th>precision</th>", "<h2>First-layer weights</h2>",
                            "<h2>The most confident mistakes</h2>", "1000 samples, accuracy"} do
         H.has(html, part)
      end
      -- self-contained: no script, nothing fetched
      assert.is_nil(html:find("<script", 1, true))
      assert.is_nil(html:find("src=\"http", 1, true))
      assert.is_nil(html:find("href=", 1, true))
      -- every picture is a data: URI that decodes to what it says
      local pngs, svgs = 0, 0
      for kind, b64 in html:gmatch('src="data:image/([%w+]+);base64,([^"]+)"') do
         local f = dir .. "/p"
         H.write(f .. ".b64", b64)
         assert.is_true(H.sh(("base64 -d '%s.b64' > '%s.bin'"):format(f, f)))
         local bytes = H.read(f .. ".bin")
         if kind == "png" then
            pngs = pngs + 1
            assert.are.equal("\137PNG\r\n\26\n", bytes:sub(1, 8))
         else
            svgs = svgs + 1
            H.write(f .. ".svg", bytes)
            assert.are.equal("svg", svginfo(f .. ".svg").tag)
         end
      end
      assert.are.equal(2, svgs)                 -- loss and accuracy
      assert.is_true(pngs >= 2, "pictures: " .. pngs)   -- the weights, and mistakes
      if not H.sanitized then
         local s = H.pngstats(H.screenshot(dir .. "/report.html", 1200, 2400),
            "diag=2ea043:0,0,1200,2400")
         assert.are.same({1200, 2400}, {s.w, s.h})
         assert.is_true(s.colors > 50 and s.nonwhite > 0.05, "the report renders blank")
      end
      H.sh("rm -rf '" .. dir .. "'")
   end)
end)
