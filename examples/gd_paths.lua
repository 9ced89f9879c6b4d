-- The lecture's "GD modifications visualization": the paths plain gradient
-- descent, momentum, Nesterov, RMSprop and Adam take on a 2-D loss surface,
-- drawn over its contour plot.  Each optimizer is lua-nn's own (nn.SGD,
-- nn.RMSprop, nn.Adam) stepping a 1 x 2 parameter Matrix.
-- On the bowl the five paths part ways and all show on one chart; on
-- Rosenbrock's valley they follow the same curved floor and would hide one
-- another, so each gets a panel of its own, and a sixth shows where they
-- stop, close up.
-- Usage: lua5.4 examples/gd_paths.lua [output dir (out)]
-- writes gd_paths_quadratic.{svg,png} and gd_paths_rosenbrock.{svg,png}.
local nn = require "nn"
local plot = require "nn.plot"

local dir = arg and arg[1] or "out"
os.execute(("mkdir -p '%s'"):format(dir))

-- surfaces: the value and the gradient at (x, y)
local surfaces = {
   {name = "quadratic", title = "an elongated bowl, f = x^2/10 + 2 y^2",
    f = function(x, y) return x * x / 10 + 2 * y * y end,
    g = function(x, y) return x / 5, 4 * y end,
    start = {-4.5, 1.6}, min = {0, 0}, xrange = {-5, 5}, yrange = {-2, 2}, steps = 60,
    lr = {SGD = 0.4, momentum = 0.08, Nesterov = 0.08, RMSprop = 0.1, Adam = 0.3}},
   {name = "rosenbrock", title = "Rosenbrock's valley, f = (1-x)^2 + 100 (y-x^2)^2",
    f = function(x, y) return (1 - x) ^ 2 + 100 * (y - x * x) ^ 2 end,
    g = function(x, y) return -2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x) end,
    start = {-1.2, 1}, min = {1, 1}, xrange = {-2, 2}, yrange = {-1, 3}, steps = 3000,
    lr = {SGD = 0.001, momentum = 0.0004, Nesterov = 0.0004, RMSprop = 0.002, Adam = 0.02}},
}

local methods = {
   {"SGD", function(p, g, lr) return nn.SGD({p}, {g}, {lr = lr}) end},
   {"momentum", function(p, g, lr) return nn.SGD({p}, {g}, {lr = lr, momentum = 0.9}) end},
   {"Nesterov", function(p, g, lr) return nn.SGD({p}, {g}, {lr = lr, momentum = 0.9, nesterov = true}) end},
   {"RMSprop", function(p, g, lr) return nn.RMSprop({p}, {g}, {lr = lr}) end},
   {"Adam", function(p, g, lr) return nn.Adam({p}, {g}, {lr = lr}) end},
}

-- the path an optimizer takes from the surface's start
local function path(s, m)
   local p, g = nn.Matrix{s.start}, nn.Matrix(1, 2)
   local opt = m[2](p, g, s.lr[m[1]])
   local xs, ys = {p:get(1, 1)}, {p:get(1, 2)}
   for _ = 1, s.steps do
      local gx, gy = s.g(p:get(1, 1), p:get(1, 2))
      g:set(1, 1, gx)
      g:set(1, 2, gy)
      opt:step()
      xs[#xs + 1], ys[#ys + 1] = p:get(1, 1), p:get(1, 2)
   end
   print(("%-10s %-8s ends at (%.3f, %.3f), f = %.4g"):format(s.name, m[1], xs[#xs],
      ys[#ys], s.f(xs[#xs], ys[#ys])))
   return xs, ys
end

-- a chart of the surface: its contours (log(1 + f) spreads the levels over
-- the whole picture), with a colour bar
local function surface(s, opts)
   local c = plot.chart(opts)
   c:field(function(x, y) return math.log(1 + s.f(x, y)) end, {levels = 14, label = "log(1 + f)"})
   return c
end

local function save(c, name)
   for _, ext in ipairs{"svg", "png"} do
      local file = ("%s/gd_paths_%s.%s"):format(dir, name, ext)
      c:save(file)
      print("wrote " .. file)
   end
end

-- the bowl: every path on one chart
local s = surfaces[1]
local c = surface(s, {title = s.title, xlabel = "x", ylabel = "y", xrange = s.xrange,
                      yrange = s.yrange, width = 800, height = 420, legend = "top-right"})
for _, m in ipairs(methods) do
   local xs, ys = path(s, m)
   c:line(xs, ys, {name = ("%s (lr %g)"):format(m[1], s.lr[m[1]]), width = 2})
end
c:points({s.start[1]}, {s.start[2]}, {name = "start", color = {1, 1, 1}, radius = 5})
c:points({s.min[1]}, {s.min[2]}, {name = "minimum", color = {0, 0, 0}, radius = 5})
save(c, s.name)

-- the valley: a panel a path, then where each stopped
s = surfaces[2]
local fig = plot.figure{columns = 3, title = s.title .. ": " .. s.steps .. " steps of each optimizer"}
local ends = surface(s, {title = "where each stops, close up", xlabel = "x", ylabel = "y",
                         xrange = {0.8, 1.03}, yrange = {0.62, 1.06}, width = 470, height = 360,
                         legend = "bottom-right"})
for k, m in ipairs(methods) do
   local xs, ys = path(s, m)
   local colour = require("nn.chart").palette[k]
   local ex, ey = xs[#xs], ys[#ys]
   local p = surface(s, {title = ("%s, lr %g: stops at (%.2f, %.2f)"):format(m[1], s.lr[m[1]], ex, ey),
                         xlabel = "x", ylabel = "y", xrange = s.xrange, yrange = s.yrange,
                         width = 470, height = 360, legend = "bottom-right"})
   p:line(xs, ys, {name = m[1], color = colour, width = 2})
   p:points({s.start[1]}, {s.start[2]}, {name = "start", color = {1, 1, 1}, radius = 5})
   p:points({s.min[1]}, {s.min[2]}, {name = "minimum", color = {0, 0, 0}, radius = 5})
   p:points({ex}, {ey}, {name = "stop", color = colour, radius = 5})
   fig:add(p)
   ends:points({ex}, {ey}, {name = ("%s (%.3f, %.3f)"):format(m[1], ex, ey), color = colour,
                            radius = k == 1 and 5.5 or 5})
end
ends:points({s.min[1]}, {s.min[2]}, {name = "minimum (1, 1)", color = {0, 0, 0}, radius = 2.5})
fig:add(ends)
save(fig, s.name)
