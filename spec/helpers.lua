-- Shared helpers for the specs.
local nn = require "nn"

local H = {}

-- Largest elementwise |a - b| / max(1, |b|); a and b are Matrices or nested
-- tables of the same shape.
function H.maxrel(a, b)
   if nn.isMatrix(a) then a = a:totable() end
   if nn.isMatrix(b) then b = b:totable() end
   assert(#a == #b, ("row counts differ: %d vs %d"):format(#a, #b))
   local worst = 0
   for i = 1, #a do
      assert(#a[i] == #b[i], ("row %d lengths differ"):format(i))
      for j = 1, #a[i] do
         local d = math.abs(a[i][j] - b[i][j]) / math.max(1, math.abs(b[i][j]))
         if d ~= d then d = math.huge end
         if d > worst then worst = d end
      end
   end
   return worst
end

-- assert that a and b agree to tol (default 1e-6, relative above 1)
function H.near(a, b, tol)
   local e = H.maxrel(a, b)
   assert(e <= (tol or 1e-6), ("matrices differ: max relative error %g > %g")
      :format(e, tol or 1e-6))
end

-- For comparisons with PyTorch: max |a - b| / max(|b|, 1e-2 max|B|).
-- Relative, except for elements far smaller than the matrix's largest,
-- where float32 sums taken in another order legitimately differ by a few
-- ulps of the large ones.  b is a nested table, a a Matrix or one.
-- erf by its Maclaurin series (double precision for |x| < 3) and tanh,
-- which Lua 5.3 and later no longer have
function H.erf(x)
   local sum, term, n = 0, x, 0
   repeat
      local add = term / (2 * n + 1)
      sum = sum + add
      n = n + 1
      term = -term * x * x / n
   until math.abs(add) < 1e-17 or n > 200
   return 2 / math.sqrt(math.pi) * sum
end

function H.tanh(x)
   local e = math.exp(2 * x)
   return (e - 1) / (e + 1)
end

-- KB the Lua heap grows over 200 calls of step, after 300 to warm up
-- (LuaJIT's compiled traces are collectable objects) and 10 after a full
-- collection (which shrinks the Lua stack; 5.2 and 5.3 count its regrowth,
-- under 1 KB, once, on the next calls)
function H.growth(step)
   for _ = 1, 300 do step() end
   collectgarbage()
   collectgarbage("stop")
   for _ = 1, 10 do step() end
   local before = collectgarbage("count")
   for _ = 1, 200 do step() end
   local grown = collectgarbage("count") - before
   collectgarbage("restart")
   return grown
end

-- H.growth with LuaJIT's compiler off (and its traces flushed): traces
-- are collectable objects made while a loop of many Lua calls settles,
-- a KB or two at times; without them only the loop's own allocations
-- count (the same as H.growth on the other Luas)
function H.growthnojit(step)
   if not jit then return H.growth(step) end
   jit.off()
   jit.flush()
   local ok, grown = pcall(H.growth, step)
   jit.on()
   assert(ok, grown)
   return grown
end

function H.xerr(a, b)
   if nn.isMatrix(a) then a = a:totable() end
   local big = 0
   for _, row in ipairs(b) do
      for _, v in ipairs(row) do big = math.max(big, math.abs(v)) end
   end
   local worst = 0
   for i, row in ipairs(b) do
      for j, v in ipairs(row) do
         local e = math.abs(a[i][j] - v) / math.max(math.abs(v), 1e-2 * big, 1e-30)
         if e ~= e then e = math.huge end
         worst = math.max(worst, e)
      end
   end
   return worst
end

-- The interpreter the suite runs on (make test LUA=...), and where the C
-- core of a Lua is: `make LUA=<lua>` puts it in build/<lua>/nn, and with
-- BLAS=none in build/<lua>-noblas/nn.  The sanitizer and valgrind targets
-- set NN_CPATH to their own build, and
-- NN_SANITIZED to the tool's name.
H.lua = os.getenv("NN_LUA") or "lua5.4"
-- make test BLAS=none: every Lua's core is build/<lua>-noblas/nn/core.so
H.blas = os.getenv("NN_BLAS") or "openblas"
function H.cpathof(lua)
   if H.blas == "none" then return ("./build/%s-noblas/?.so"):format(lua) end
   return ("./build/%s/?.so"):format(lua)
end
H.cpath = os.getenv("NN_CPATH") or H.cpathof(H.lua)
H.sanitized = os.getenv("NN_SANITIZED")

-- What no Lua before 5.3 has: an integer subtype (3 and 3.0 are one
-- value there), and exit statuses from io.popen's close or os.execute.
H.integers = math.type ~= nil
-- does # call __len on a table (5.2 and later)?
H.lenmeta = #setmetatable({}, {__len = function() return 1 end}) == 1
local compat = require "nn.compat"
H.strpack, H.strunpack, H.isint, H.unpack = compat.strpack, compat.strunpack, compat.isint, compat.unpack

-- A text chunk with environment env (5.1 and LuaJIT: loadstring, setfenv)
function H.load(s, name, env)
   if not setfenv then return load(s, name, "t", env) end
   if s:byte(1) == 27 then return nil, "binary chunk" end
   local f, e = loadstring(s, name)
   if f then setfenv(f, env) end
   return f, e
end

-- Sets user value n of userdata u to v, as 5.4's debug.setuservalue: before
-- 5.4 nn.core keeps them in a table that is the one user value (5.1: the
-- environment).
function H.setuservalue(u, v, n)
   if _VERSION == "Lua 5.4" then return debug.setuservalue(u, v, n) end
   local t = (debug.getuservalue or debug.getfenv)(u)
   t[n] = v
end

-- package.searchpath, which 5.1 lacks
function H.searchpath(name, path)
   if package.searchpath then return package.searchpath(name, path) end
   local file = name:gsub("%.", "/")
   for t in path:gmatch("[^;]+") do
      local f = io.open((t:gsub("%?", file)), "rb")
      if f then f:close() return (t:gsub("%?", file)) end
   end
end

-- b with its bit k (1 = lowest) flipped, b ~ (1 << (k - 1)) before 5.3
function H.flipbit(b, k)
   local m = 2^(k - 1)
   return math.floor(b / m) % 2 == 1 and b - m or b + m
end

-- Runs a shell command; true if it exited with status 0 (os.execute
-- returns true on 5.2+, 0 on 5.1 and LuaJIT).
function H.sh(cmd)
   local r = os.execute(cmd)
   return r == true or r == 0
end

-- Runs a shell command and returns whether it exited with status 0, its
-- output (stdout and stderr) and the exit status.  The status is echoed by
-- the shell: 5.1's and LuaJIT's io.popen cannot report it.
function H.run(cmd)
   local p = assert(io.popen(("%s 2>&1; echo \"@@exit $?\""):format(cmd)))
   local out = p:read("*a")
   p:close()
   local body, code = out:match("^(.*)@@exit (%d+)%s*$")
   if not body then return false, out end
   -- a program under H.xvfb: its own status
   local inner = body:match("@@xstatus (%d+)\n")
   if inner then body, code = body:gsub("@@xstatus %d+\n", ""), inner end
   return code == "0", body, tonumber(code)
end

-- Runs a Lua chunk in a child of the suite's interpreter (or of lua, if
-- given) with this tree on its paths; returns ok (exit status 0), and
-- everything it printed.  A crash in C fails the spec instead of killing
-- busted.  prefix goes before the command (a ulimit, say); dir, if given,
-- is the child's working directory.
-- The top directory: from $PWD (make and busted run there), else asked of
-- the shell once.  busted re-requires this file for every spec file, and a
-- pipe left open per file is a child (under valgrind, a traced shell) whose
-- exit signal lands at some arbitrary later moment.
local top = os.getenv("PWD")
local mine = top and io.open(top .. "/spec/helpers.lua")
if mine then mine:close() end
if not mine then
   local p = assert(io.popen("pwd"))
   top = p:read("*l")
   p:close()
end
H.top = top

local function absolute(path)
   return (path:gsub("^%./", top .. "/"))
end

-- The environment that puts this tree's nn (and the spec helpers) on a
-- child process's Lua paths, as a shell prefix.
function H.env(lua)
   local cpath = lua and H.cpathof(lua) or H.cpath
   return ("LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;%s/spec/?.lua;;' LUA_CPATH='%s;;' ")
      :format(top, top, top, absolute(cpath))
end

-- seconds, if given, is a time limit (a hang then fails, not stalls); it
-- is set after the environment so valgrind still follows the child.
function H.child(code, prefix, dir, seconds, lua)
   local f = os.tmpname()
   local h = assert(io.open(f, "w"))
   h:write(code)
   h:close()
   local ok, out = H.run(("%s%s%s%s%s %s"):format(dir and ("cd '" .. dir .. "' && ") or "",
      prefix or "", H.env(lua), seconds and ("timeout %d "):format(seconds) or "",
      lua or H.lua, f))
   os.remove(f)
   return ok, out
end

-- A fresh empty directory; the caller removes it.
-- xvfb-run's words for a program under a virtual X server.  Its -a takes
-- the first free display from -n on, but two xvfb-runs started at the same
-- moment can both see display 99 free and one of them fails (make test runs
-- two spec files at a time): each spec file searches from its own display.
-- The command after it runs in a shell that prints its exit status, which
-- H.run reports instead of xvfb-run's: xvfb-run exits 5 when it fails to
-- remove its temporary directory after the program ended well (CI saw it
-- once).
function H.xvfb(display)
   return ("xvfb-run -a -n %d -s '-screen 0 1024x768x24' "
      .. "sh -c '\"$@\"; echo \"@@xstatus $?\"' sh"):format(display)
end

-- The micro-kernels this machine runs (NN_GEMM's values; k_direct.c
-- follows the same choice), best last: the portable one everywhere,
-- AVX2+FMA and AVX-512 where /proc/cpuinfo says so
function H.kernels()
   local ks = {"portable"}
   local f = io.open("/proc/cpuinfo")
   local info = f and f:read("*a") or ""
   if f then f:close() end
   local flags = " " .. (info:match("\nflags%s*:([^\n]*)") or "") .. " "
   if flags:find(" avx2 ", 1, true) and flags:find(" fma ", 1, true) then
      ks[#ks + 1] = "avx2"
      if flags:find(" avx512f ", 1, true) then ks[#ks + 1] = "avx512" end
   end
   return ks
end

function H.tmpdir()
   local d = os.tmpname()
   os.remove(d)
   assert(H.sh("mkdir -p '" .. d .. "'"))
   return d
end

-- The message f(...) raises (a spec fails if it raises none), and an
-- assertion that a message contains a part, verbatim.
function H.err(f, ...)
   local ok, e = pcall(f, ...)
   assert(not ok, "expected an error")
   return tostring(e)
end

function H.has(msg, part)
   assert(msg:find(part, 1, true), ("expected %q in %q"):format(part, msg))
end

-- A file's whole contents, and writing them.
function H.read(path)
   local f = assert(io.open(path, "rb"))
   local s = f:read("*a")
   f:close()
   return s
end

function H.write(path, s)
   local f = assert(io.open(path, "wb"))
   f:write(s)
   f:close()
end

-- Is real MNIST in data/mnist (make data)?
function H.have_mnist()
   local f = io.open("data/mnist/train-images-idx3-ubyte", "rb")
   if f then f:close() end
   return f ~= nil
end

-- What spec/tools/pngstats.py reads of a PNG file: w, h, colors,
-- nonwhite, and for each "NAME=TEST:x0,y0,x1,y1" box the pixels passing
-- TEST (white, dark, nonwhite or rrggbb).
function H.pngstats(path, ...)
   local args = {}
   for i, b in ipairs{...} do args[i] = "'" .. b .. "'" end
   local ok, out = H.run(("env -u LD_PRELOAD /usr/bin/python3 '%s/spec/tools/pngstats.py' '%s' %s")
      :format(top, path, table.concat(args, " ")))
   assert(ok, out)
   return assert(H.load(out, "pngstats", {}))()
end

-- Renders pages (SVG or HTML files) in headless Chromium, each at its w x
-- h, all at once (a Chromium each, with a profile of its own); returns
-- the screenshots' paths (each page's, with .shot.png added).
-- pages: {{path, w, h}, ...}
function H.screenshots(pages)
   local cmds, shots = {}, {}
   for i, p in ipairs(pages) do
      shots[i] = p[1] .. ".shot.png"
      cmds[i] = ("(prof=$(mktemp -d); env -u LD_PRELOAD timeout 120 chromium --headless "
         .. "--disable-gpu --no-sandbox --hide-scrollbars --user-data-dir=\"$prof\" "
         .. "--screenshot='%s' --window-size=%d,%d 'file://%s' >/dev/null 2>&1; rm -rf \"$prof\") &")
         :format(shots[i], p[2], p[3], p[1])
   end
   local ok, out = H.run(table.concat(cmds, " ") .. " wait")
   assert(ok, out)
   for i, shot in ipairs(shots) do
      assert(io.open(shot, "rb"), "Chromium wrote no screenshot of " .. pages[i][1]):close()
   end
   return shots
end

function H.screenshot(page, w, h) return H.screenshots{{page, w, h}}[1] end

-- Is /usr/bin/python3 with torch present?  Cached per run.
local torch_ok
function H.have_torch()
   if torch_ok == nil then
      local p = io.popen("env -u LD_PRELOAD /usr/bin/python3 -c 'import torch' 2>/dev/null && echo yes")
      torch_ok = p and p:read("*a"):match("yes") ~= nil or false
      if p then p:close() end
   end
   return torch_ok
end

-- A Python literal for a Lua value: numbers as float32-exact "%.9g",
-- Matrices as nested lists, booleans as True/False.  Tables with a [1] are
-- lists; others dicts (keys "module" and "crit" are left out: they hold the
-- Lua objects under test).
local function pylit(v)
   if nn.isMatrix(v) then v = v:totable() end
   local t = type(v)
   if t == "table" then
      local parts = {}
      if v[1] ~= nil then
         for _, x in ipairs(v) do parts[#parts + 1] = pylit(x) end
         return "[" .. table.concat(parts, ", ") .. "]"
      end
      for k, x in pairs(v) do
         if k ~= "module" and k ~= "crit" then
            parts[#parts + 1] = ("%q: %s"):format(k, pylit(x))
         end
      end
      return "{" .. table.concat(parts, ", ") .. "}"
   elseif t == "string" then
      return ("%q"):format(v)
   elseif t == "boolean" then
      return v and "True" or "False"
   end
   return ("%.9g"):format(v)
end
H.pylit = pylit

-- Runs a reference script under /usr/bin/python3 with the cases as a Python
-- literal on its stdin; the script prints a Lua chunk that returns results.
function H.torch(script, cases)
   local f = os.tmpname()
   local h = assert(io.open(f, "w"))
   h:write(pylit(cases))
   h:close()
   -- python must not inherit a sanitizer runtime preloaded for Lua
   local p = io.popen("env -u LD_PRELOAD /usr/bin/python3 " .. script .. " < " .. f .. " 2>&1")
   local out = p:read("*a")
   p:close()
   os.remove(f)
   local chunk = H.load(out, script, {})
   assert(chunk, script .. " failed:\n" .. out)
   return chunk()
end

return H
