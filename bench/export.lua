-- Benchmarks of nn.export's files (make bench runs it after bench/run.lua):
-- the exported 4-16-16-2 ReLU network's one-sample forward against the
-- same network written by hand in plain Lua (the loop anyone would write,
-- weights in nested tables, and a tuned one on flat arrays and reused
-- tables), and the main job's 784-256-128-10 MLP and the bench's CNN:
-- how long their files take to load and a forward takes.  Each Lua runs
-- the files in a child with no lua-nn on its paths; medians of 7.
--   lua5.4 bench/export.lua
local nn = require "nn"

local LUAS = {"lua5.1", "lua5.2", "lua5.3", "lua5.4", "luajit"}
local REPEATS = 7

nn.seed(1)
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))

local small = nn.Sequential{nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2)}
nn.export(small, dir .. "/small.lua")
local mlp = nn.Sequential{nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10)}
nn.export(mlp, dir .. "/mlp.lua")
local cnn = nn.Sequential{
   nn.Conv2d(1, 16, 5, {padding = 2, input = {1, 28, 28}}), nn.BatchNorm2d(16), nn.ReLU(),
   nn.MaxPool2d(2),
   nn.Conv2d(16, 32, 5, {padding = 2}), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
   nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10)}
nn.export(cnn, dir .. "/cnn.lua")

-- the small network's weights for the hand-written versions
local function literal(t)
   if type(t) == "number" then return ("%.17g"):format(t) end
   local parts = {}
   for i, v in ipairs(t) do parts[i] = literal(v) end
   return "{" .. table.concat(parts, ", ") .. "}"
end
local p = small:parameters()
local weights = {}
for i, M in ipairs(p) do weights[i] = M:totable() end
local f = assert(io.open(dir .. "/weights.lua", "w"))
f:write("return ", literal(weights), "\n")
f:close()

-- the timings, in a child of each Lua (plain Lua: no nn)
local CHILD = [==[
local REPEATS = ...
REPEATS = tonumber(REPEATS) or 7
local clock = os.clock
local function median(t)
   table.sort(t)
   return t[math.floor((#t + 1) / 2)]
end
-- seconds per call of f, the median of REPEATS runs of n calls
local function time(f, n)
   for _ = 1, n do f() end
   local ts = {}
   for r = 1, REPEATS do
      local t0 = clock()
      for _ = 1, n do f() end
      ts[r] = (clock() - t0) / n
   end
   return median(ts)
end

local w = dofile("weights.lua")
local W1, b1, W2, b2, W3, b3 = w[1], w[2][1], w[3], w[4][1], w[5], w[6][1]

-- the loop anyone would write: nested weight tables, new tables per call
local function plain(x)
   local h1 = {}
   for j = 1, 16 do
      local row, s = W1[j], b1[j]
      for i = 1, 4 do s = s + row[i] * x[i] end
      h1[j] = s > 0 and s or 0
   end
   local h2 = {}
   for j = 1, 16 do
      local row, s = W2[j], b2[j]
      for i = 1, 16 do s = s + row[i] * h1[i] end
      h2[j] = s > 0 and s or 0
   end
   local y = {}
   for j = 1, 2 do
      local row, s = W3[j], b3[j]
      for i = 1, 16 do s = s + row[i] * h2[i] end
      y[j] = s
   end
   return y
end

-- a tuned one: flat weight arrays, buffers reused, a new output table
local function flatten(M)
   local t = {}
   for _, row in ipairs(M) do for _, v in ipairs(row) do t[#t + 1] = v end end
   return t
end
local F1, F2, F3 = flatten(W1), flatten(W2), flatten(W3)
local h1, h2 = {}, {}
local function tuned(x)
   for j = 1, 16 do
      local s, o = b1[j], (j - 1) * 4
      for i = 1, 4 do s = s + F1[o + i] * x[i] end
      h1[j] = s > 0 and s or 0
   end
   for j = 1, 16 do
      local s, o = b2[j], (j - 1) * 16
      for i = 1, 16 do s = s + F2[o + i] * h1[i] end
      h2[j] = s > 0 and s or 0
   end
   local y = {}
   for j = 1, 2 do
      local s, o = b3[j], (j - 1) * 16
      for i = 1, 16 do s = s + F3[o + i] * h2[i] end
      y[j] = s
   end
   return y
end

local small = dofile("small.lua")
local x = {0.3, -0.7, 1.1, 0.2}
local a, b, c = small.forward(x), plain(x), tuned(x)
for j = 1, 2 do
   assert(math.abs(a[j] - b[j]) < 1e-6 and math.abs(a[j] - c[j]) < 1e-6, "the versions disagree")
end
local sink = 0
local function run(f) return function() sink = sink + f(x)[1] end end
print("small_export", time(run(small.forward), 20000))
print("small_plain", time(run(plain), 20000))
print("small_tuned", time(run(tuned), 20000))

local img = {}
for i = 1, 784 do img[i] = (i * 7 % 29) / 29 end
local function load(name, n)
   local m
   local t = time(function() m = dofile(name) end, n)
   collectgarbage()
   return m, t
end
local mlp, tmlp = load("mlp.lua", 3)
print("mlp_load", tmlp)
print("mlp_forward", time(function() sink = sink + mlp.forward(img)[1] end, 20))
local cnn, tcnn = load("cnn.lua", 3)
print("cnn_load", tcnn)
print("cnn_forward", time(function() sink = sink + cnn.forward(img)[1] end, 2))
]==]
f = assert(io.open(dir .. "/child.lua", "w"))
f:write(CHILD)
f:close()

local results = {}
for _, lua in ipairs(LUAS) do
   local pipe = io.popen(("cd '%s' && env -i PATH=/usr/bin:/bin LUA_PATH='/nonexistent/?.lua' "
      .. "LUA_CPATH='/nonexistent/?.so' %s child.lua %d 2>&1"):format(dir, lua, REPEATS))
   local out = pipe:read("*a")
   pipe:close()
   local t = {}
   for k, v in out:gmatch("(%w+_%w+)%s+(%S+)") do t[k] = tonumber(v) end
   if not t.cnn_forward then io.stderr:write(lua .. ": " .. out .. "\n") end
   results[lua] = t
end
os.execute("rm -rf '" .. dir .. "'")

-- lua-nn's C path on the suite's Lua, for scale
small:evaluate()
local xs = nn.Matrix{{0.3, -0.7, 1.1, 0.2}}
local function median(t)
   table.sort(t)
   return t[math.floor((#t + 1) / 2)]
end
local ts = {}
for r = 1, REPEATS do
   local t0 = nn.clock()
   for _ = 1, 20000 do small:forward(xs) end
   ts[r] = (nn.clock() - t0) / 20000
end
local cpath = median(ts)

print()
print(("nn.export's files, plain Lua in a child of each Lua (no lua-nn), median of %d;"
   .. " the C path (%s, nn.Sequential:forward of a 1 x 4 Matrix) for scale: 4-16-16-2 %.2f us")
   :format(REPEATS, _VERSION, cpath * 1e6))
print()
print("| workload | " .. table.concat(LUAS, " | ") .. " |")
print("|" .. (" --- |"):rep(#LUAS + 1))
local rows = {
   {"small_export", "4-16-16-2 forward, exported (1 sample)", 1e6, "us"},
   {"small_plain", "4-16-16-2 forward, hand-written loop, nested tables", 1e6, "us"},
   {"small_tuned", "4-16-16-2 forward, hand-written loop, flat arrays", 1e6, "us"},
   {"mlp_load", "784-256-128-10 file load (dofile)", 1e3, "ms"},
   {"mlp_forward", "784-256-128-10 forward (1 sample)", 1e3, "ms"},
   {"cnn_load", "the bench's CNN file load (dofile)", 1e3, "ms"},
   {"cnn_forward", "the bench's CNN forward (1 image)", 1e3, "ms"},
}
for _, r in ipairs(rows) do
   local cells = {}
   for i, lua in ipairs(LUAS) do
      local v = results[lua][r[1]]
      cells[i] = v and ("%.2f %s"):format(v * r[3], r[4]) or "n/a"
   end
   print(("| %s | %s |"):format(r[2], table.concat(cells, " | ")))
end
