-- The spec subset that runs where busted does not: on Windows, as
--   luajit.exe spec\windows\run.lua DIR [TOL]
-- with LUA_PATH reaching lua/ and spec/, LUA_CPATH nn\core.dll, and DIR
-- what record.lua wrote on Linux.  It checks that nn.core loads, that
-- every case of cases.lua gives what Linux recorded (the random generator,
-- error messages, model and MNIST files, PNG bytes exactly; floats to
-- TOL, default 1e-6, relative above 1), and what only Windows has: backslash paths,
-- saving over an existing file, binary files, the clock, isatty.  The last
-- line is "N passed, N failed"; the one before it says how many values
-- were bit-identical.  It also runs on Linux (spec/windows_spec.lua runs
-- it there first, to test the harness).
local nn = require "nn"
local core = require "nn.core"
local cases = require "windows.cases"
local fixture = require "windows.fixture"
local image = require "nn.image"
local mnist = require "nn.mnist"
local unpack = table.unpack or unpack

local DIR = assert(arg[1], "usage: run.lua DIR [TOL] (DIR: what spec/windows/record.lua wrote)")
local TOL = tonumber(arg[2] or "1e-6")
local SEP = package.config:sub(1, 1)          -- "\\" on Windows
local WINDOWS = SEP == "\\"
local function path(...) return table.concat({DIR, ...}, SEP) end

local passed, failed = 0, 0
local values, exact, worst, worstat = 0, 0, 0, "nothing"

local inexact, largest          -- this test's values that were not bit-identical

local function test(name, f)
   inexact, largest = 0, 0
   local ok, err = pcall(f)
   if inexact > 0 then
      print(("~ %s: %d values not bit-identical, largest relative difference %.3g")
         :format(name, inexact, largest))
   end
   if ok then
      passed = passed + 1
   else
      failed = failed + 1
      print(("FAIL %s: %s"):format(name, tostring(err)))
   end
end

-- Compares got with want (numbers, Matrices, strings, booleans, tables of
-- them): strings and the like exactly, numbers within tol relative above 1
-- (0: bit for bit; NaN matches NaN).  Raises, naming where, on a
-- difference.
local function compare(got, want, tol, where)
   where = where or "value"
   local function num(a, b, at)
      values = values + 1
      if a == b or (a ~= a and b ~= b) then
         exact = exact + 1
         return
      end
      local d = math.abs(a - b) / math.max(1, math.abs(b))
      if d ~= d then d = math.huge end
      inexact, largest = inexact + 1, math.max(largest, d)
      if d > worst then worst, worstat = d, at end
      if d > tol then
         error(("%s: %.9g, expected %.9g (difference %.3g > %g)"):format(at, a, b, d, tol), 0)
      end
   end
   if nn.isMatrix(want) then
      if not nn.isMatrix(got) then error(where .. ": not a Matrix", 0) end
      local r, c = want:shape()
      local gr, gc = got:shape()
      if r ~= gr or c ~= gc then
         error(("%s: %d x %d, expected %d x %d"):format(where, gr, gc, r, c), 0)
      end
      for i = 1, r do
         for j = 1, c do
            num(got:get(i, j), want:get(i, j), ("%s[%d][%d]"):format(where, i, j))
         end
      end
   elseif type(want) == "number" then
      if type(got) ~= "number" then error(where .. ": " .. type(got) .. ", expected a number", 0) end
      num(got, want, where)
   elseif type(want) == "table" then
      if type(got) ~= "table" then error(where .. ": " .. type(got) .. ", expected a table", 0) end
      for k, v in pairs(want) do compare(got[k], v, tol, where .. "." .. tostring(k)) end
      for k in pairs(got) do
         if want[k] == nil then error(where .. ": an extra key " .. tostring(k), 0) end
      end
   elseif type(want) == "string" and type(got) == "string" and got ~= want then
      local i = 1
      while got:byte(i) == want:byte(i) do i = i + 1 end
      error(("%s: %d bytes, expected %d, first difference at byte %d%s"):format(where,
         #got, #want, i, want:find("^[%w%p ]*$") and (": %q, expected %q"):format(got, want) or ""), 0)
   elseif got ~= want then
      error(("%s: %s, expected %s"):format(where, tostring(got), tostring(want)), 0)
   end
end

local function message(f, ...)
   local ok, err = pcall(f, ...)
   if ok then error("expected an error, got none", 2) end
   return (tostring(err):gsub("^[^\n]-:%d+: ", ""))
end

local function readbytes(p)
   local f = assert(io.open(p, "rb"))
   local s = f:read("*a")
   f:close()
   return s
end

local function clones(list)
   local out = {}
   for i, m in ipairs(list) do out[i] = m:clone() end
   return out
end

local R
test("the fixture loads (written by record.lua on Linux)", function()
   R = fixture.load(path("fixture.lua"), nn)
end)
if not R then
   print(("%d passed, %d failed"):format(passed, failed))
   os.exit(1)
end
local I = R.inputs

test("nn.core is loaded from a " .. (WINDOWS and "DLL" or "shared object"), function()
   local file = package.searchpath and package.searchpath("nn.core", package.cpath)
   assert(type(core.Matrix) == "table" or type(core.Matrix) == "function")
   if WINDOWS and file then assert(file:lower():find("%.dll$"), file) end
end)

-- ---- what Linux recorded -----------------------------------------------------

for k, c in ipairs(cases.random) do
   test(c[1] .. ": as on Linux, bit for bit", function()
      compare(c[2](nn), R.random[k], 0, c[1])
   end)
end
for k, c in ipairs(cases.matrix) do
   test("Matrix: " .. c[1], function() compare(c[2](nn, I), R.matrix[k], TOL, c[1]) end)
end
for k, c in ipairs(cases.errors) do
   test("error message: " .. c[1], function()
      compare(message(c[2], nn, I), R.errors[k], 0, c[1])
   end)
end

for k, c in ipairs(cases.layers) do
   local rec, name = R.layers[k], ("nn.%s #%d"):format(c[1], k)
   local m
   test(name .. ": made after nn.seed, its parameters as on Linux", function()
      m = cases.makelayer(nn, c, 100 + k)
      compare(clones((m:parameters())), rec.params0, 0, "parameters")
   end)
   test(name .. ": forward, backward and parameter gradients", function()
      if rec.stats then m.runningMean, m.runningVar = rec.stats[1], rec.stats[2] end
      nn.seed(200 + k)
      compare(m:forward(rec.x), rec.y, TOL, "forward")
      m:zeroGrad()
      compare(m:backward(rec.x, rec.gy), rec.gx, TOL, "backward")
      compare(clones(select(2, m:parameters())), rec.grads, TOL, "gradients")
      if rec.running then
         compare({m.runningMean, m.runningVar}, rec.running, TOL, "running statistics")
      end
   end)
end

for k, c in ipairs(cases.losses) do
   test(("nn.%s #%d: forward and backward, both reductions"):format(c[1], k), function()
      local x, t = I[c[2]], type(c[3]) == "string" and I[c[3]] or c[3]
      for _, red in ipairs({"mean", "sum"}) do
         local crit = cases.makeloss(nn, c, red)
         compare({crit:forward(x, t), crit:backward(x, t)}, R.losses[k][red], TOL, red)
      end
   end)
end

for k, c in ipairs(cases.optim) do
   test(("nn.%s #%d: three steps"):format(c[1], k), function()
      compare(cases.optimize(nn, c, I), R.optim[k], TOL, c[1])
   end)
end

local net, opt
local X, Y = cases.networkdata(nn)
test("a model file written on Linux: loads, same outputs, same bytes saved again", function()
   local state
   net, state = nn.load(path("linux.nn"))
   compare(net:forward(X), R.model.out, TOL, "outputs")
   opt = nn.Adam(net, {lr = 0.01, weightDecay = 1e-4})
   opt:setState(state)
   compare(nn.serialize(net, {optimizer = opt}), R.model.bytes, 0, "bytes")
   compare(readbytes(path("linux.nn")), R.model.bytes, 0, "the file read back")
end)

-- Adam divides each step by the root of the squared gradients' average:
-- where gradients are tiny, their last-bit differences (a libm's tanhf,
-- another SGEMM's order of sums) become differences in the step itself,
-- so one step moves the outputs apart by up to 3e-5 (measured): 1e-4 here
test("training resumes from it: one Adam step, the same loss and outputs", function()
   compare(cases.trainstep(nn, net, opt, X, Y), R.model.loss, TOL, "loss")
   compare(net:forward(X), R.model.stepped, math.max(TOL, 1e-4), "outputs after a training step")
end)

test("MNIST's IDX files, plain and gzipped, every byte value", function()
   local X, Y = mnist.load(path("mnist"), "train")
   local Xt, Yt = mnist.load(path("mnist"), "test")
   compare({X, Y, Xt, Yt}, R.mnist, 0, "mnist")
end)

test("a PNG: image.png's bytes, and the file image.save writes", function()
   local png = image.png(I.A, {zoom = 2})
   compare(png, R.png, 0, "image.png")
   image.save(path("out", "digits.png"), png)
   compare(readbytes(path("out", "digits.png")), R.png, 0, "the file")
end)

-- ---- files on this system ----------------------------------------------------

local function listdir(dir)
   local p = io.popen(WINDOWS and ('dir /b "' .. dir .. '"') or ("ls -a '" .. dir .. "'"))
   local s = p:read("*a")
   p:close()
   return s
end

test("nn.save over an existing file, again and again (rename over it)", function()
   nn.seed(4)
   local net = nn.Sequential{nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 2)}
   local x = nn.randn(4, 5)
   local p = path("out", "sub", "model.nn")
   for _ = 1, 3 do assert(nn.save(net, p)) end
   net[1].weight:fill(0.25)
   assert(nn.save(net, p))                      -- the new one replaces it
   local back = nn.load(p)
   compare(back:forward(x), net:forward(x), 0, "outputs")
   local left = listdir(path("out", "sub"))
   assert(not left:find("tmp", 1, true), "a temporary file was left: " .. left)
end)

test("saving over a file another handle holds open: the new file or an error, never half", function()
   local p = path("out", "held.nn")
   local a, b = nn.Sequential{nn.Linear(3, 2)}, nn.Sequential{nn.Linear(3, 2)}
   b[1].weight:fill(1)
   assert(nn.save(a, p))
   local f = assert(io.open(p, "rb"))          -- the C runtime's: no sharing for delete
   local ok, err = pcall(nn.save, b, p)        -- Windows: access denied, as a Lua error
   f:close()
   local x = nn.Matrix{{1, 2, 3}}
   local want = ok and b or a
   assert(ok or err:find("cannot write", 1, true), tostring(err))
   compare(nn.load(p):forward(x), want:forward(x), 0, ok and "the new file" or "the old file")
   assert(not listdir(path("out")):find("tmp", 1, true), "a temporary file was left")
end)

test("paths: forward slashes, mixed, and UTF-8 names", function()
   local net = nn.Sequential{nn.Linear(2, 2)}
   local x = nn.Matrix{{1, 2}}
   for _, p in ipairs({DIR .. "/out/fwd.nn", DIR .. "/out" .. SEP .. "sub/mixed.nn",
                       path("out", "mod\195\168le-\206\186.nn")}) do
      assert(nn.save(net, p))
      compare(nn.load(p):forward(x), net:forward(x), 0, p)
   end
end)

test("files stay binary: every byte, CR LF and ^Z, written and read back", function()
   local t = {}
   for b = 0, 255 do t[#t + 1] = string.char(b) end
   local s = table.concat(t) .. "\r\n\n\r\26 end"
   local p = path("out", "bytes.bin")
   assert(core.writefile(p, s))
   compare(readbytes(p), s, 0, "io.open rb")
   compare(core.readfile(p, nil, true), s, 0, "nn.core.readfile")
   compare(nn.Matrix.fromfile(p, 1, #s, 0, 1):get(1, 11), 10, 0, "fromfile")
end)

test("errors name the file: missing, a directory, no such folder", function()
   local missing = path("out", "no such file.nn")
   local ok, err = pcall(nn.load, missing)
   assert(not ok and err:find("cannot open", 1, true) and err:find("no such file.nn", 1, true)
      and err:find("No such file or directory", 1, true), tostring(err))
   local s, why = core.readfile(path("out"))
   assert(s == nil and why:find("it is a directory", 1, true), tostring(why))
   local saved, e = core.writefile(path("out"), "x")
   assert(saved == nil and e:find("it is a directory", 1, true), tostring(e))
   saved, e = core.writefile(path("out", "nowhere", "x.nn"), "x")
   assert(saved == nil and e:find("cannot write", 1, true), tostring(e))
end)

test("nn.clock: seconds, monotonic", function()
   local t0 = nn.clock()
   local x = 0
   for i = 1, 2e6 do x = x + i % 7 end
   local t1 = nn.clock()
   assert(t0 > 0 and t1 > t0 and t1 - t0 < 60, ("%g then %g"):format(t0, t1))
end)

test("isatty: standard streams and files, a closed file refused", function()
   assert(type(core.isatty()) == "boolean")
   assert(type(core.isatty(io.stderr)) == "boolean")
   assert(core.isatty(io.stdout) == core.isatty())
   local f = assert(io.open(path("out", "tty.txt"), "wb"))
   assert(core.isatty(f) == false)
   f:close()
   assert(not pcall(core.isatty, f))
end)

test("nn.threads answers", function()
   local n = nn.threads()
   assert(type(n) == "number" and n >= 1, tostring(n))
end)

-- the state's pool on Win32 threads (platform.c): a convolutional step
-- on 2 and 3 threads gives 1 thread's bits, and the count goes back to 1
test("nn.threads: Win32 threads give 1 thread's bits", function()
   local function run(threads)
      assert(nn.threads(threads) == threads)
      nn.seed(5)
      local net = nn.Sequential{nn.Conv2d(2, 8, 3, {padding = 1, input = {2, 12, 12}}),
         nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
         nn.Conv2d(8, 8, 3, {stride = 2, padding = 1}), nn.ReLU(),
         nn.Linear(8 * 3 * 3, 64), nn.Tanh(), nn.Linear(64, 4)}
      local crit, opt = nn.CrossEntropyLoss(), nn.Adam(net, {lr = 1e-3})
      local x, y = nn.randn(48, 288), {}
      for i = 1, 48 do y[i] = i % 4 + 1 end
      for _ = 1, 5 do
         opt:zeroGrad()
         local out = net:forward(x)
         crit:forward(out, y)
         net:backward(x, crit:backward(out, y))
         opt:step()
      end
      return net:forward(x):clone()
   end
   local one = run(1)
   for _, t in ipairs{2, 3} do
      assert(run(t):equal(one), t .. " threads differ from 1")
   end
   assert(nn.threads(1) == 1)
end)

print(("%d values compared, %d bit-identical; largest relative difference %.3g (%s)")
   :format(values, exact, worst, worstat))
print(("%d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
