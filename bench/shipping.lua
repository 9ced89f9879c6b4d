-- What a game pays for each way of running a network (README, "Shipping a
-- game"): one forward pass of three ReLU networks, 4-16-16-2, 32-64-64-8
-- and 784-256-128-10, on LuaJIT, through lua-nn's C core (each core given)
-- and through the plain Lua file nn.export writes; one sample (a
-- Matrix of one row, reused; a table) and a batch of 100.  Each way runs
-- in a child of its own (the exported file's with no lua-nn on its
-- paths), timed by CPU time (os.clock), the median of 7 rounds.
--
--   luajit bench/shipping.lua [NAME=CPATH ...]    (make bench-shipping)
--   e.g. none='build/luajit-noblas/?.so' OpenBLAS='build/luajit/?.so'
local ROUNDS = 7
local NETS = {{4, 16, 16, 2}, {32, 64, 64, 8}, {784, 256, 128, 10}}
local BATCH = 100

local cores = {}
for i = 1, #arg do
   local name, cpath = arg[i]:match("^([^=]+)=(.+)$")
   assert(name, "usage: luajit bench/shipping.lua NAME=CPATH ... (got " .. arg[i] .. ")")
   cores[#cores + 1] = {name = name, cpath = cpath}
end
assert(#cores > 0, "usage: luajit bench/shipping.lua NAME=CPATH ...")
assert(jit, "bench/shipping.lua runs on LuaJIT (what LÖVE runs)")
package.cpath = cores[1].cpath .. ";" .. package.cpath
local nn = require "nn"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'") == 0)

-- the networks, saved (for the C path) and exported (for plain Lua)
local names = {}
nn.seed(1)
for k, sizes in ipairs(NETS) do
   local layers = {}
   for i = 1, #sizes - 1 do
      layers[#layers + 1] = nn.Linear(sizes[i], sizes[i + 1])
      if i < #sizes - 1 then layers[#layers + 1] = nn.ReLU() end
   end
   local net = nn.Sequential(layers)
   net:evaluate()
   names[k] = table.concat(sizes, "-")
   nn.save(net, ("%s/net%d.nn"):format(dir, k))
   nn.export(net, ("%s/net%d.lua"):format(dir, k))
end

local CHILD = [==[
local mode, k, nin, rounds, batch = arg[1], tonumber(arg[2]), tonumber(arg[3]),
   tonumber(arg[4]), tonumber(arg[5])
local clock = os.clock
local function median(t)
   table.sort(t)
   return t[math.floor((#t + 1) / 2)]
end
-- seconds per call of f: calls enough for 50 ms a round, median of rounds
local function time(f)
   local n, t0 = 1, clock()
   f()
   while clock() - t0 < 0.05 do
      for _ = 1, n do f() end
      n = n * 2
   end
   local ts = {}
   for r = 1, rounds do
      t0 = clock()
      for _ = 1, n do f() end
      ts[r] = (clock() - t0) / n
   end
   return median(ts)
end
local seed = 12345
local function rand()
   seed = (seed * 1103515245 + 12345) % 2147483648
   return seed / 2147483648
end
local sample, samples = {}, {}
for i = 1, nin do sample[i] = rand() end
for b = 1, batch do
   samples[b] = {}
   for i = 1, nin do samples[b][i] = rand() end
end
local sink = 0
if mode == "c" then
   local nn = require "nn"
   local net = nn.load(("net%d.nn"):format(k))
   net:evaluate()
   local x, xs = nn.Matrix(1, nin, sample), nn.Matrix(samples)
   print("kernels", table.concat({nn.blas()}, ":"))
   print("one", time(function() sink = sink + net:forward(x):get(1, 1) end))
   print("batch", time(function() sink = sink + net:forward(xs):get(1, 1) end))
else
   local file = ("net%d.lua"):format(k)
   print("load", time(function() dofile(file) end))
   local model = dofile(file)
   print("one", time(function() sink = sink + model.forward(sample)[1] end))
   print("batch", time(function() sink = sink + model.forward(samples)[1][1] end))
   local f = io.open(file, "rb")
   print("bytes", #f:read("*a"))
   f:close()
end
]==]
local f = assert(io.open(dir .. "/child.lua", "w"))
f:write(CHILD)
f:close()

local function child(env, mode, k)
   local cmd = ("cd '%s' && env -i PATH=/usr/bin:/bin OPENBLAS_NUM_THREADS=1 %s luajit child.lua %s %d %d %d %d 2>&1")
      :format(dir, env, mode, k, NETS[k][1], ROUNDS, BATCH)
   local p = io.popen(cmd)
   local out = p:read("*a")
   p:close()
   local t = {}
   for key, v in out:gmatch("(%a+)%s+(%S+)") do t[key] = tonumber(v) or v end
   assert(t.one and t.batch, cmd .. ": " .. out)
   return t
end

local function absolute(cpath)
   if cpath:sub(1, 1) == "/" then return cpath end
   return (os.getenv("PWD") or ".") .. "/" .. cpath
end

local results = {}
for k in ipairs(NETS) do
   results[k] = {lua = child("LUA_PATH='/nonexistent/?.lua' LUA_CPATH='/nonexistent/?.so'", "lua", k)}
   for _, c in ipairs(cores) do
      results[k][c.name] = child(("LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua' LUA_CPATH='%s'")
         :format(os.getenv("PWD") or ".", os.getenv("PWD") or ".", absolute(c.cpath)), "c", k)
   end
end
os.execute("rm -rf '" .. dir .. "'")

local function us(s)
   if s >= 1e-3 then return ("%.2f ms"):format(s * 1e3) end
   return ("%.2f us"):format(s * 1e6)
end

local cpu = "an unnamed CPU"
local info = io.open("/proc/cpuinfo")
if info then
   cpu = info:read("*a"):match("model name%s*:%s*([^\n]+)") or cpu
   info:close()
end
print(("%s on %s, 1 thread, CPU time (os.clock), medians of %d rounds"):format(jit.version, cpu, ROUNDS))
print()
local head = {"network", "way", "1 sample", ("batch of %d, per sample"):format(BATCH),
              "exported time / C time, 1 sample", "exported time / C time, batch"}
print("| " .. table.concat(head, " | ") .. " |")
print("|" .. (" --- |"):rep(#head))
for k, name in ipairs(names) do
   local r = results[k]
   for _, c in ipairs(cores) do
      print(("| %s | C core (%s, %s) | %s | %s | %.2f | %.2f |"):format(name, c.name,
         r[c.name].kernels, us(r[c.name].one),
         us(r[c.name].batch / BATCH), r.lua.one / r[c.name].one, r.lua.batch / r[c.name].batch))
   end
   print(("| %s | nn.export (%.0f KB file, loads in %s) | %s | %s | | |"):format(name,
      r.lua.bytes / 1024, us(r.lua.load), us(r.lua.one), us(r.lua.batch / BATCH)))
end
