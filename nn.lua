-- `require "nn"` from the top of a checkout, on any of the five Luas, with
-- no LUA_PATH or LUA_CPATH: puts this tree's Lua modules (lua/) and this
-- interpreter's core (build/<lua>/, where `make LUA=<lua>` builds it) first
-- on the search paths, then runs lua/nn/init.lua.  The rock installs nn
-- properly and does not ship this file.
local here = debug.getinfo(1, "S").source:match("^@(.-)[^/\\]*$") or ""
local lua = jit and "luajit" or "lua" .. _VERSION:match("%d+%.%d+")
local core = here .. "build/" .. lua .. "/nn/core.so"
local f = io.open(core, "rb")
if not f then
   error(("nn: %s is missing: run `make LUA=%s` first"):format(core, lua), 2)
end
f:close()
package.path = here .. "lua/?.lua;" .. here .. "lua/?/init.lua;" .. package.path
package.cpath = here .. "build/" .. lua .. "/?.so;" .. package.cpath
return dofile(here .. "lua/nn/init.lua")
