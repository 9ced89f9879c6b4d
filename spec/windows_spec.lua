-- The Windows build run for real: `make windows` cross-builds
-- dist/windows/nn/core.dll against LuaJIT's lua51.dll (as LÖVE for
-- Windows loads C modules), and LuaJIT for Windows, cross-built from
-- Debian's luajit source, runs spec/windows/run.lua under wine64: it
-- requires the DLL and checks Matrix, every layer's forward and backward,
-- every loss and optimizer, error messages, a model file and MNIST files
-- written on Linux, PNG bytes, and Windows' own paths and files against
-- what LuaJIT on Linux recorded (spec/windows/record.lua), twice:
--   with Linux's BLAS=none core, the same kernels as the DLL: floats to
--     1e-6 (all but a few are bit-identical: a libm's tanhf, expm1f or
--     erff differs from glibc's in the last bit);
--   with Linux's OpenBLAS core, another SGEMM: floats to 1e-5 (sums taken
--     in another order differ by a few float32 ulps).
-- The harness runs on Linux first, where every value is bit-identical.
-- Pending where wine is not installed (make test builds the DLL where it
-- is; CI installs wine through make windows).  wine.log in each run's
-- directory keeps what it printed.
local H = require "helpers"

local RUNS = {
   {name = "same", core = "luajit-noblas", blas = "none", tol = "1e-6"},
   {name = "openblas", core = "luajit", blas = "openblas", tol = "1e-5"},
}
local TOP = "build/windows/spec"          -- Windows reads it as build\windows\spec

local function make(args)
   local ok, out = H.run(("cd '%s' && timeout 900 make --no-print-directory %s"):format(H.top, args))
   assert(ok, "make " .. args .. " failed:\n" .. out)
end

local function env(core)
   return ("LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;%s/spec/?.lua;;' LUA_CPATH='%s/build/%s/?.so;;' ")
      :format(H.top, H.top, H.top, H.top, core)
end

-- records each run's fixture once, with its Linux core (built if needed)
local recorded = false
local function record()
   if recorded then return end
   for _, r in ipairs(RUNS) do
      make("LUA=luajit BLAS=" .. r.blas .. " core")
      local dir = TOP .. "/" .. r.name
      assert(H.sh(("cd '%s' && rm -rf %s && mkdir -p %s"):format(H.top, dir, dir)))
      local ok, out = H.run(("cd '%s' && %s timeout 120 luajit -e \"print('RECORDED ' .. "
         .. "require('windows.record')(require 'nn', '%s'))\""):format(H.top, env(r.core), dir))
      local n = tonumber(out:match("RECORDED (%d+)"))
      assert(ok and n and n > 100, out)
   end
   recorded = true
end

-- the counts of run.lua's last two lines
local function summary(out)
   local values, exact = out:match("(%d+) values compared, (%d+) bit%-identical")
   local passed, failed = out:match("(%d+) passed, (%d+) failed%s*$")
   assert(passed, "run.lua did not finish:\n" .. out)
   return tonumber(passed), tonumber(failed), tonumber(values), tonumber(exact)
end

local linuxpassed

describe("the Windows build (make windows)", function()
   local test = H.sanitized and pending or it
   test("spec/windows/run.lua passes on Linux's LuaJIT, every value bit-identical", function()
      record()
      for _, r in ipairs(RUNS) do
         local ok, out = H.run(("cd '%s' && %s timeout 120 luajit spec/windows/run.lua %s/%s")
            :format(H.top, env(r.core), TOP, r.name))
         local passed, failed, values, exact = summary(out)
         assert(ok and failed == 0, out)
         assert.is_true(passed > 100, out)
         assert.are.equal(values, exact, out)
         linuxpassed = passed
      end
   end)

   local name = "core.dll under wine64: LuaJIT for Windows requires it and agrees with Linux"
   if H.sanitized or not H.run("sh tools/windows.sh wine") then
      pending(name .. (H.sanitized and "" or " (wine64 is not installed: make windows installs it)"))
      return
   end
   it(name, function()
      record()
      make("windows")
      for _, r in ipairs(RUNS) do
         local dir = TOP .. "/" .. r.name
         local ok, out = H.run(("cd '%s' && LUA_PATH='lua\\?.lua;lua\\?\\init.lua;spec\\?.lua' "
            .. "LUA_CPATH='dist\\windows\\?.dll' timeout 300 sh tools/windows.sh run build/windows "
            .. "build/windows/luajit/luajit.exe 'spec\\windows\\run.lua' '%s' %s")
            :format(H.top, (dir:gsub("/", "\\")), r.tol))
         H.write(dir .. "/wine.log", out)
         local passed, failed = summary(out)
         assert(ok and failed == 0, r.name .. ":\n" .. out)
         -- every check of the harness ran: as many as on Linux
         assert.is_true(passed > 100, out)
         if linuxpassed then assert.are.equal(linuxpassed, passed, out) end
      end
   end)
end)
