-- A fuzzer for the charts (nn.chart on nn.canvas): it takes the seed
-- recipes of fuzz/chart_seeds.lua, mutates their numbers (to infinities,
-- NaN, subnormals, 1e308, a value one ulp away), lists (longer, shorter,
-- constant), options (unknown names, wrong types, odd dashes, sizes) and
-- texts (control bytes, broken UTF-8), and draws each as SVG and, every
-- few, as PNG.  Every drawing must end in a result or an error that names
-- its function; an SVG must hold no NaN or infinity.  Run under a time
-- and memory limit (spec/plot_spec.lua does), it finds hangs and unbounded
-- allocations too.
-- Usage: lua5.4 fuzz/charts.lua [iterations (200)] [seed (1)] [dir: keep every 10th SVG]
-- prints "fuzz charts: N drawings, E errors"; exits 1 on a finding, with
-- the recipe that made it.  FUZZ_VERBOSE=1 prints every error met.
local plot = require "nn.plot"

local iterations = tonumber(arg and arg[1]) or 200
local seed = tonumber(arg and arg[2]) or 1
local keep = arg and arg[3]
local here = (arg and arg[0] or "fuzz/charts.lua"):gsub("[^/]*$", "")
local seeds = dofile(here .. "chart_seeds.lua")

-- a small deterministic generator (the same run on every Lua): a linear
-- congruential one, in doubles (exact below 2^53)
local state = seed % 2147483647
if state <= 0 then state = 1 end
local function rand(n)
   state = (state * 16807) % 2147483647
   return n and state % n + 1 or state / 2147483647
end
local function pick(t) return t[rand(#t)] end

local nan, inf = 0 / 0, math.huge
local NUMBERS = {0, -0.0, 1, -1, 0.5, 3, 1e16, -1e16, 1e308, -1e308, 1.7976931348623157e308,
                 5e-324, -5e-324, 2.2250738585072014e-308, 0.9, 0.9000000000000001, inf, -inf,
                 nan, 2 ^ 53, 2 ^ 53 + 2, 1e-300, 1e300, 123456789.123}
local TEXTS = {"\0", "\1", "\27", "\127", "\128", "\192\175", "\237\160\128", "\239\191\190",
               "\255", "é", "≠", "<&>", "\n", ("x"):rep(700)}
local DASHES = {"0", "0 0", "1e-9 1", " ", "", "6 4", "2,2", "9999 1", "0 4", "1 1 1",
                "1000 1000", "-1", "nan", ("1 "):rep(20), 7}
local OPTIONS = {chart = {"title", "xlabel", "ylabel", "caption", "width", "height", "xlog", "ylog",
                          "xrange", "yrange", "legend"},
                 line = {"name", "color", "width", "dash"},
                 points = {"classes", "names", "name", "color", "radius"},
                 field = {"levels", "classes", "batch", "resolution", "label", "colorbar"}}
local UNKNOWN = {chart = "titel", line = "colour", points = "size", field = "level"}

local FIELDS = {
   xy = function(x, y) return x * y end,
   class = function(x, y) return x > y and 2 or 1 end,
   nan = function() return nan end,
   huge = function(x) return x > 0.5 and 1e308 or -1e308 end,
   const = function() return 7 end,
}

local function copy(v)
   if type(v) ~= "table" then return v end
   local t = {}
   for k, x in pairs(v) do t[k] = copy(x) end
   return t
end

local function number(v)
   local r = rand(6)
   if r <= 3 or type(v) ~= "number" then return pick(NUMBERS) end
   if r == 4 then return v * (1 + 2 ^ -52) end          -- one ulp away
   if r == 5 then return -v end
   return v * 10 ^ (rand(41) - 21)
end

local function list(t)
   local r = rand(5)
   if r == 1 and #t > 0 then
      local k = rand(#t)
      t[k] = number(t[k])
   elseif r == 2 then                                     -- longer, or constant
      local v = #t > 0 and t[rand(#t)] or 1
      for i = #t + 1, #t + rand(200) do t[i] = v end
   elseif r == 3 and #t > 1 then
      for i = #t, rand(#t) + 1, -1 do t[i] = nil end     -- shorter
   elseif r == 4 then
      for i = 1, #t do t[i] = number(t[i]) end
   else
      t[#t + 1] = number(t[#t])
   end
   return t
end

local function text(s)
   s = type(s) == "string" and s or "x"
   local k = rand(#s + 1)
   return s:sub(1, k - 1) .. pick(TEXTS) .. s:sub(k)
end

local function option(kind, opts)
   if rand(4) == 1 then                           -- one fewer (a seed's bad one, maybe)
      local keys = {}
      for k in pairs(opts) do keys[#keys + 1] = k end
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      if #keys > 0 then opts[pick(keys)] = nil end
      return opts
   end
   local key = rand(12) == 1 and UNKNOWN[kind] or pick(OPTIONS[kind])
   local r = rand(9)
   local v
   if key == "dash" then v = pick(DASHES)
   elseif key == "xrange" or key == "yrange" then v = {number(), number()}
   elseif key == "legend" then v = pick{"auto", "top-left", "middle", false, true, 3}
   elseif key == "classes" and kind == "points" then v = list({1, 2})
   elseif key == "names" then v = {text("a"), 5, text("b")}
   elseif key == "color" or key == "colour" then v = {number(), 0, 1}
   elseif key == "width" and kind == "line" then v = rand(3) == 1 and number() or rand(12) / 2
   elseif key == "width" or key == "height" then v = rand(3) == 1 and number() or 150 + rand(700)
   elseif key == "xlog" or key == "ylog" or key == "classes" or key == "batch" or key == "colorbar" then
      v = rand(6) ~= 1 and rand(2) == 1 or text("x")
   elseif r <= 3 then v = number(opts[key])
   elseif r <= 6 then v = text(opts[key])
   elseif r == 7 then v = rand(2) == 1
   elseif r == 8 then v = nil
   else v = rand(5000) end
   opts[key] = v
   return opts
end

local function mutate(recipe)
   for _ = 1, rand(4) do
      local r = rand(4)
      if r == 1 then
         recipe.chart = option("chart", recipe.chart)
      elseif #recipe.layers > 0 then
         local l = recipe.layers[rand(#recipe.layers)]
         if l[1] == "field" then
            if r == 2 then l[2] = pick{"xy", "class", "nan", "huge", "const"} end
            l[3] = option("field", l[3] or {})
         elseif r == 2 then
            l[3] = list(l[3])
            if l[2] then l[2] = list(l[2]) end
         elseif r == 3 then
            l[4] = option(l[1], l[4] or {})
         elseif l[2] then
            l[2] = list(l[2])
         end
      end
   end
   if rand(8) == 1 then
      recipe.layers[#recipe.layers + 1] = copy(pick(seeds).layers[1])
   end
   return recipe
end

-- the chart a recipe makes (errors propagate)
local function build(recipe)
   local c = plot.chart(recipe.chart)
   for _, l in ipairs(recipe.layers) do
      if l[1] == "line" then
         if l[2] then c:line(l[2], l[3], l[4]) else c:line(l[3], l[4]) end
      elseif l[1] == "points" then
         c:points(l[2], l[3], l[4])
      else
         c:field(FIELDS[l[2]] or FIELDS.xy, l[3])
      end
   end
   return c
end

-- a recipe as Lua source (to reproduce a finding)
local function show(v, depth)
   depth = depth or 0
   if type(v) == "string" then return ("%q"):format(v) end
   if type(v) == "number" then
      if v ~= v then return "0/0" end
      if v == inf then return "math.huge" end
      if v == -inf then return "-math.huge" end
      return ("%.17g"):format(v)
   end
   if type(v) ~= "table" or depth > 4 then return tostring(v) end
   local parts = {}
   for k, x in pairs(v) do
      if #parts > 40 then parts[#parts + 1] = "..."; break end
      parts[#parts + 1] = ("[%s] = %s"):format(show(k), show(x, depth + 1))
   end
   return "{" .. table.concat(parts, ", ") .. "}"
end

local NAMED = {"^plot%.chart: ", "^chart:", "^canvas"}
local function named(err)
   local msg = type(err) == "string" and err:gsub("^[^:]*:%d+: ", "") or tostring(err)
   for _, p in ipairs(NAMED) do
      if msg:find(p) then return true end
   end
   return false, msg
end

local drawings, errors = 0, 0
for i = 1, iterations do
   local recipe = mutate(copy(seeds[(i - 1) % #seeds + 1]))
   local ok, c = pcall(build, recipe)
   local outs = {}
   if ok then
      for _, kind in ipairs(i % 4 == 0 and {"svg", "png"} or {"svg"}) do
         local done, out = pcall(c[kind], c)
         drawings = drawings + 1
         if done then
            outs[kind] = out
         else
            ok, c = false, out
            break
         end
      end
   end
   if not ok then
      errors = errors + 1
      local fine, msg = named(c)
      if os.getenv("FUZZ_VERBOSE") then io.stderr:write(tostring(msg or c):sub(1, 90), "\n") end
      if not fine then
         io.stderr:write(("fuzz charts: iteration %d: an error that names no function: %s\nrecipe: %s\n")
            :format(i, msg, show(recipe)))
         os.exit(1)
      end
   elseif outs.svg then
      -- numbers in attributes only: text may say "nan" or "inf" as it likes
      local attr = outs.svg:gsub(">[^<]*<", "><"):gsub('href="[^"]*"', "")
      if attr:find("nan") or attr:find("inf") then
         io.stderr:write(("fuzz charts: iteration %d: NaN or infinity in the SVG\nrecipe: %s\n")
            :format(i, show(recipe)))
         os.exit(1)
      end
      if keep and i % 10 == 0 then
         local f = assert(io.open(("%s/%d.svg"):format(keep, i), "wb"))
         f:write(outs.svg)
         f:close()
      end
   end
end
print(("fuzz charts: %d drawings, %d errors"):format(drawings, errors))
