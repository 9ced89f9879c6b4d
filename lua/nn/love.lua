-- nn.love: lua-nn's C core inside a LÖVE game (LÖVE 11 or later).
--
--   require("nn.love").setup()      -- before the first require "nn"
--   local nn = require "nn"
--
-- A shared library inside a .love (a zip) cannot be loaded: the system's
-- loader needs a real file.  setup() finds the core for this platform and
-- loads it, trying in turn:
--
--   1. beside the game: nn/core.so (Windows: nn/core.dll) in the directory
--      holding the fused executable or the .love
--      (love.filesystem.getSourceBaseDirectory()), with package.loadlib;
--   2. inside the game: nn/<platform>/core.so (or core.dll), <platform> as
--      platform() names it ("linux-x86_64", "windows-x86_64").  A game
--      that is a directory loads it where it is.  From a .love (or a fused
--      executable) it is copied into the save directory, as
--      lua-nn/<platform>-<key>/core.so, <key> the first 16 hex digits of
--      its SHA-1, and loaded from there.  A later run finds the copy,
--      checks it byte for byte against the archive's and loads it; a game
--      update with another core writes a new name (never over a library a
--      running copy of the game may hold), and the stale copies go.
--
-- The game's own files and the save directory's load through LÖVE's C
-- searcher, held to that one file, which opens UTF-8 paths on Windows too
-- (a save directory under a user name such as José).  package.loadlib
-- takes ANSI paths there: when the core beside a game in such a folder
-- does not load, setup() goes on to the one inside the game, and says so.
--
-- Requiring this module does nothing; setup() acts, and only inside LÖVE.
local M = {}

local SYSTEMS = {Linux = "linux", Windows = "windows", ["OS X"] = "macos",
                 Android = "android", iOS = "ios"}
local ARCHS = {x64 = "x86_64", x86 = "x86", arm64 = "arm64", arm = "arm"}
local SAVE = "lua-nn"                  -- the copies' folder in the save directory

-- the running LÖVE's love table, or an error naming fn
local function lovetable(fn)
   local love = rawget(_G, "love")
   if type(love) ~= "table" or type(love.filesystem) ~= "table" then
      error(fn .. ": not running inside LÖVE (there is no love.filesystem)", 3)
   end
   if not love.filesystem.getCRequirePath or not (love.data and love.data.hash) then
      error(fn .. ": needs LÖVE 11 or later (love.filesystem.getCRequirePath, love.data.hash)", 3)
   end
   return love
end

--- nn.love.platform() -> name, file: the folder of this platform's core
--- inside a game ("linux-x86_64", "windows-x86_64", "macos-arm64", ...)
--- and the core's file name ("core.so", or "core.dll" on Windows).
function M.platform()
   local love = lovetable("nn.love.platform")
   local jit = rawget(_G, "jit")
   local system = love.system and love.system.getOS and love.system.getOS()
      or jit and jit.os or "unknown"
   local arch = jit and jit.arch or "unknown"
   local name = (SYSTEMS[system] or (system:lower():gsub("%W", ""))) .. "-" .. (ARCHS[arch] or arch)
   return name, system == "Windows" and "core.dll" or "core.so"
end

-- a real, non-empty file at path? (a directory or a missing file: no)
local function isfile(path)
   local f = io.open(path, "rb")
   if not f then return false end
   local ok = f:read(1) ~= nil
   f:close()
   return ok
end

-- require "nn.core" with LÖVE's C searcher held to the one file vpath (a
-- path in the LÖVE filesystem) and package.cpath emptied, so that nothing
-- else can answer; both are restored
local function requirevia(fs, vpath)
   local crequire, cpath = fs.getCRequirePath(), package.cpath
   fs.setCRequirePath(vpath)
   package.cpath = ""
   local ok, err = pcall(require, "nn.core")
   fs.setCRequirePath(crequire)
   package.cpath = cpath
   return ok, err
end

-- require "nn.core" from the real file path, through package.loadlib
local function requirefile(path)
   local open, err = package.loadlib(path, "luaopen_nn_core")
   if not open then return false, err end
   local preload = package.preload["nn.core"]
   package.preload["nn.core"] = open
   local ok, err2 = pcall(require, "nn.core")
   package.preload["nn.core"] = preload
   return ok, err2
end

-- why the library at the real path did not load: the system loader's
-- words (LÖVE's searcher keeps them to itself)
local function why(path, err)
   local open, msg = package.loadlib(path, "luaopen_nn_core")
   if open then msg = err end
   return ("%s does not load: %s"):format(path, (tostring(msg):gsub("%s+$", "")))
end

-- a name no other run picks at the same moment
local function unique()
   return ("%x-%x-%s"):format(os.time(), math.floor(os.clock() * 1e6),
      tostring({}):match("(%x+)$") or "0")
end

-- copies bytes (the archive's core) to dest in the save directory unless
-- a whole copy is there: "copied" or "save", or nil and why
local function install(fs, dir, dest, bytes)
   if fs.getInfo(dest) and fs.read(dest) == bytes then return "save" end
   local save = fs.getSaveDirectory()
   if not fs.createDirectory(dir) then
      return nil, ("cannot create %s in the save directory %s"):format(dir, save)
   end
   -- written under a new name, then renamed over dest: two first runs at
   -- once never truncate a library the other has loaded
   local tmp = dest .. ".tmp-" .. unique()
   local ok, err = fs.write(tmp, bytes)
   if not ok then
      fs.remove(tmp)
      return nil, ("cannot write %s in the save directory %s: %s"):format(tmp, save, tostring(err))
   end
   if not os.rename(save .. "/" .. tmp, save .. "/" .. dest) then
      -- Windows' rename replaces nothing (and takes ANSI paths): a copy that
      -- appeared meanwhile is used if it is whole, else written in place
      fs.remove(tmp)
      if fs.read(dest) ~= bytes then
         ok, err = fs.write(dest, bytes)
         if not ok then
            return nil, ("cannot write %s in the save directory %s: %s"):format(dest, save,
               tostring(err))
         end
      end
   end
   return "copied"
end

-- removes the other copies of this platform's core (an update's
-- leftovers) and unfinished ones; a copy a running game holds (Windows)
-- stays
local function prune(fs, platform, keep, file)
   local function unfinished(f) return f:sub(1, #file + 5) == file .. ".tmp-" end
   for _, item in ipairs(fs.getDirectoryItems(SAVE)) do
      if item:sub(1, #platform + 1) == platform .. "-" then
         local dir = SAVE .. "/" .. item
         for _, f in ipairs(fs.getDirectoryItems(dir)) do
            if unfinished(f) or f == file and item ~= keep then fs.remove(dir .. "/" .. f) end
         end
         if item ~= keep then fs.remove(dir) end      -- only if empty
      end
   end
end

--- nn.love.setup() -> path, how: loads nn.core (see the top of this file)
--- and says from where: how is "beside" (next to the fused executable or
--- the .love), "game" (a file of a game that is a directory), "copied"
--- (copied from the archive into the save directory just now), "save" (a
--- copy an earlier run made), or "loaded" (nn.core was loaded or preloaded
--- already; path is nil).  An error says what was looked for when there is
--- no core for this platform, and why each one found did not load.
function M.setup()
   if package.loaded["nn.core"] then return nil, "loaded" end
   if package.preload["nn.core"] then
      require "nn.core"
      return nil, "loaded"
   end
   local love = lovetable("nn.love.setup")
   local fs = love.filesystem
   local platform, file = M.platform()
   local looked, failed = {}, {}

   -- 1. beside the game
   local base = fs.getSourceBaseDirectory()
   if base and base ~= "" then
      local real = base .. "/nn/" .. file
      looked[#looked + 1] = real
      if isfile(real) then
         local ok, err = requirefile(real)
         if ok then return real, "beside" end
         failed[#failed + 1] = why(real, err)
      end
   end

   -- 2. inside the game
   local inside = "nn/" .. platform .. "/" .. file
   looked[#looked + 1] = inside .. " inside the game"
   if fs.getInfo(inside) then
      local real = fs.getRealDirectory(inside) .. "/" .. inside
      if isfile(real) then                      -- the game is a directory
         local ok, err = requirevia(fs, inside)
         if ok then return real, "game" end
         failed[#failed + 1] = why(real, err)
      else
         local bytes, err = fs.read(inside)
         if not bytes then
            error(("nn.love.setup: cannot read %s from the game: %s"):format(inside, tostring(err)), 2)
         end
         local hex = love.data.encode("string", "hex", love.data.hash("sha1", bytes))
         local key = platform .. "-" .. hex:sub(1, 16)
         local dest = SAVE .. "/" .. key .. "/" .. file
         local how, werr = install(fs, SAVE .. "/" .. key, dest, bytes)
         if not how then error("nn.love.setup: " .. werr, 2) end
         real = fs.getSaveDirectory() .. "/" .. dest
         local ok, lerr = requirevia(fs, dest)
         if ok then
            prune(fs, platform, key, file)
            return real, how
         end
         failed[#failed + 1] = why(real, lerr)
      end
   end

   if #failed > 0 then
      error("nn.love.setup: the C core for " .. platform .. " does not load: "
         .. table.concat(failed, "; "), 2)
   end
   error(("nn.love.setup: no C core for %s: looked for %s (where no C can go, "
      .. "nn.export writes a network as plain Lua)"):format(platform, table.concat(looked, " and ")), 2)
end

return M
