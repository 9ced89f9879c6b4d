-- Seed recipes for fuzz/charts.lua: charts that once hung, grew without
-- limit, wrote NaN or invalid SVG, or raised a raw Lua error (issue #21),
-- and a few ordinary ones to mutate from.  A recipe: chart options, then
-- layers, each {"line", xs or false, ys, opts}, {"points", xs, ys, opts}
-- or {"field", name of a function in fuzz/charts.lua, opts}.
local nan, inf = 0 / 0, math.huge
local function zigzag(n)
   local t = {}
   for i = 1, n do t[i] = i % 2 end
   return t
end

return {
   {chart = {}, layers = {{"line", false, {1e16, 1e16}}}},
   {chart = {}, layers = {{"points", {1e16, 1e16}, {1, 2}}}},
   {chart = {}, layers = {{"line", false, {0.9, 0.9000000000000001}}}},
   {chart = {ylog = true}, layers = {{"line", false, {1, 1e300}}}},
   {chart = {}, layers = {{"line", false, {1, 2, 3}, {dash = "0"}}}},
   {chart = {}, layers = {{"line", false, {1, 2, 3}, {dash = " "}}}},
   {chart = {}, layers = {{"line", false, {1, 2, 3}, {dash = "0.01 0.01"}}}},
   {chart = {width = 240, height = 160}, layers = {{"line", false, zigzag(20000)}}},
   {chart = {}, layers = {{"line", false, {-1e308, 1e308}}}},
   {chart = {}, layers = {{"points", {1, 2}, {1, 2}, {classes = {nan, inf}}}}},
   {chart = {titel = "x", widht = 200}, layers = {{"line", false, {1, 2}, {colour = {1, 0, 0}}}}},
   {chart = {title = "\1\27\255 x1 ~= x2", caption = "\237\160\128"},
    layers = {{"line", false, {1, 2}, {name = "\0\239\191\190"}}}},
   {chart = {xrange = {-1, 1}, yrange = {-1, 1}, width = 200, height = 150},
    layers = {{"field", "xy", {levels = 4}}, {"points", {-0.5, 0.5}, {0.5, -0.5}, {classes = {1, 2}, names = {"a", "b"}}}}},
   {chart = {xrange = {0, 1}, yrange = {0, 1}, width = 200, height = 150},
    layers = {{"field", "class", {classes = true, resolution = 7}}}},
   {chart = {xlog = true, ylog = true, width = 300, height = 200},
    layers = {{"line", {1e-320, 1, 1e308}, {1e308, 1, 5e-324}, {name = "log"}}}},
   {chart = {yrange = {0, 1}, legend = "bottom-left", width = 320, height = 200},
    layers = {{"line", false, {0.9, 0.5, nan, 0.3, 0.2}, {name = "train"}},
              {"line", false, {0.8, 0.6, 0.5, 0.45, 0.4}, {name = "val", dash = "6 4"}}}},
}
