-- The lecture's "GD modifications visualization": the paths plain gradient
-- descent, momentum, Nesterov, RMSprop and Adam take on a 2-D loss surface,
-- drawn over its contour plot.  Each optimizer is lua-nn's own (nn.SGD,
-- nn.RMSprop, nn.Adam) stepping a 1 x 2 parameter Matrix.
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

for _, s in ipairs(surfaces) do
   local c = plot.chart{title = s.title, xlabel = "x", ylabel = "y",
                        xrange = s.xrange, yrange = s.yrange, width = 720, height = 420}
   -- log(1 + f) spreads the levels over the whole picture
   c:field(function(x, y) return math.log(1 + s.f(x, y)) end, {levels = 14})
   for _, m in ipairs(methods) do
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
      c:line(xs, ys, {name = ("%s (lr %g)"):format(m[1], s.lr[m[1]]), width = 2})
      print(("%-10s %-8s ends at (%.3f, %.3f), f = %.4g"):format(s.name, m[1], xs[#xs],
         ys[#ys], s.f(xs[#xs], ys[#ys])))
   end
   c:points({s.start[1]}, {s.start[2]}, {name = "start", color = {1, 1, 1}, radius = 5})
   c:points({s.min[1]}, {s.min[2]}, {name = "minimum", color = {0.95, 0.1, 0.1}, radius = 5})
   for _, ext in ipairs{"svg", "png"} do
      local path = ("%s/gd_paths_%s.%s"):format(dir, s.name, ext)
      c:save(path)
      print("wrote " .. path)
   end
end
