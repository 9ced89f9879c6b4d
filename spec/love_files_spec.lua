-- Model files inside LÖVE, with a stand-in for love.filesystem (no LÖVE
-- needed; spec/love_package_spec.lua runs the real one): while a global
-- love with love.filesystem exists, at the moment of the call, a relative
-- path is a file of the game's filesystem, read with love.filesystem.read
-- (the save directory, then the game: a .love too) and written into the
-- save directory, atomically, by the C core; an absolute path is a real
-- file, as everywhere.  And nn.love's answers outside a LÖVE that has it.
local nn = require "nn"
local H = require "helpers"
local err, has = H.err, H.has

-- love.filesystem over a real save directory and a game held in memory
-- (as a .love is), recording the calls that reach it
local function fakelove(save, game)
   local calls = {}
   local function saved(path)
      local f = io.open(save .. "/" .. path, "rb")
      if not f then return nil end
      local s = f:read("*a")                 -- nil for a directory
      f:close()
      return s
   end
   local fs = {}
   function fs.getInfo(path)
      calls[#calls + 1] = "getInfo " .. path
      local s = saved(path) or game[path]
      if type(s) == "string" then return {type = "file", size = #s} end
      if s then return {type = "directory"} end
      return nil
   end
   function fs.read(path, max)
      calls[#calls + 1] = ("read %s %s"):format(path, tostring(max))
      local s = saved(path) or game[path]
      if type(s) ~= "string" then return nil, "Could not open file " .. path .. ". Does not exist." end
      if max then s = s:sub(1, max) end
      return s, #s
   end
   function fs.createDirectory(path)
      calls[#calls + 1] = "createDirectory " .. path
      return H.sh("mkdir -p '" .. save .. "/" .. path .. "'")
   end
   function fs.getSaveDirectory() return save end
   return {filesystem = fs}, calls
end

describe("nn.load and nn.save inside LÖVE (a stand-in love.filesystem)", function()
   local dir, net, x
   before_each(function()
      dir = H.tmpdir()
      assert(H.sh("mkdir -p '" .. dir .. "/save'"))
      nn.seed(3)
      net = nn.Sequential{nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)}
      x = nn.randn(5, 4)
   end)
   after_each(function()
      _G.love = nil
      os.execute("rm -rf '" .. dir .. "'")
   end)

   it("reads a relative path with love.filesystem: a model inside the game's archive", function()
      local love, calls = fakelove(dir .. "/save", {["models/net.nn"] = nn.serialize(net)})
      _G.love = love
      local back = nn.load("models/net.nn")
      H.near(back:forward(x), net:forward(x), 0)
      -- the header first, then no more than it declares and one byte
      local len = #nn.serialize(net) - 24
      assert.are.same({"getInfo models/net.nn", "read models/net.nn 24",
         "getInfo models/net.nn", ("read models/net.nn %d"):format(24 + len + 1)}, calls)
   end)

   it("writes a relative path into the save directory, atomically, and reads it back from there", function()
      local love, calls = fakelove(dir .. "/save", {["net.nn"] = "not this one"})
      _G.love = love
      assert.is_true(nn.save(net, "net.nn"))
      assert.are.equal("createDirectory ", calls[1])        -- the save directory made
      assert.are.equal(nn.serialize(net), H.read(dir .. "/save/net.nn"))
      -- no temporary left beside it
      local p = io.popen("ls -A '" .. dir .. "/save'")
      assert.are.equal("net.nn\n", p:read("*a"))
      p:close()
      -- the save directory shadows the game's file of the same name
      H.near(nn.load("net.nn"):forward(x), net:forward(x), 0)
      -- a missing folder is not made for it
      has(err(nn.save, net, "runs/net.nn"), "nn.save: cannot write " .. dir .. "/save/runs/net.nn")
   end)

   it("takes an absolute path as a real file, never through love.filesystem", function()
      local love, calls = fakelove(dir .. "/save", {})
      _G.love = love
      nn.save(net, dir .. "/real.nn")
      H.near(nn.load(dir .. "/real.nn"):forward(x), net:forward(x), 0)
      assert.are.same({}, calls)
      -- a Windows drive path is absolute too (here: no such file)
      has(err(nn.load, "C:/games/net.nn"), "nn.load: cannot open C:/games/net.nn")
      assert.are.same({}, calls)
   end)

   it("says what a relative path means when the file is missing or a folder", function()
      _G.love = fakelove(dir .. "/save", {models = true})
      local e = err(nn.load, "nope.nn")
      has(e, "nn.load: cannot open nope.nn: no such file in LÖVE's save directory or the game")
      has(e, "a relative path inside LÖVE names a file of love.filesystem")
      has(err(nn.load, "models"), "nn.load: cannot read models: it is a directory in LÖVE's filesystem, not a file")
      -- and a file that is no model is named as such
      _G.love = fakelove(dir .. "/save", {["junk.nn"] = "hello"})
      has(err(nn.load, "junk.nn"), "nn.load: junk.nn: not a lua-nn model")
   end)

   it("looks for love at each call: none, and a relative path is a real file again", function()
      _G.love = fakelove(dir .. "/save", {})
      nn.save(net, "late.nn")
      assert.truthy(io.open(dir .. "/save/late.nn")):close()
      _G.love = nil
      local here = os.getenv("PWD")
      has(err(nn.load, "late.nn"), "nn.load: cannot open late.nn")
      -- a love without a filesystem (a conf.lua that turned it off) is no LÖVE for files
      _G.love = {graphics = {}}
      has(err(nn.load, "late.nn"), "nn.load: cannot open late.nn")
      assert.truthy(here)
   end)

   it("gives the other file formats that share the reader and writer the same paths", function()
      local love = fakelove(dir .. "/save", {})
      _G.love = love
      local M = nn.Matrix{{1, 2}, {3, 4}}
      nn.npy.save("m.npy", M)
      H.near(nn.npy.load("m.npy"), M, 0)
      nn.safetensors.save("w.safetensors", {w = M})
      H.near(nn.safetensors.load("w.safetensors").w, M, 0)
      assert.truthy(io.open(dir .. "/save/w.safetensors")):close()
   end)
end)

describe("nn.love outside a LÖVE that has what it needs", function()
   local lnn = require "nn.love"
   after_each(function() _G.love = nil end)

   it("requires without LÖVE, and setup() says it is not inside LÖVE", function()
      assert.are.equal("function", type(lnn.setup))
      _G.love = nil
      local saved = package.loaded["nn.core"]
      package.loaded["nn.core"] = nil
      local ok, e = pcall(lnn.setup)
      package.loaded["nn.core"] = saved
      assert.is_false(ok)
      has(tostring(e), "nn.love.setup: not running inside LÖVE (there is no love.filesystem)")
      -- with nn.core loaded already, there is nothing to do, LÖVE or not
      assert.are.same({nil, "loaded"}, {lnn.setup()})
   end)

   it("asks for LÖVE 11, and names the platform's folder and file", function()
      _G.love = {filesystem = {}}
      has(err(lnn.platform), "nn.love.platform: needs LÖVE 11 or later")
      _G.love = {filesystem = {getCRequirePath = function() end}, data = {hash = function() end},
                 system = {getOS = function() return "Windows" end}}
      local name, file = lnn.platform()
      assert.are.equal("core.dll", file)
      assert.truthy(name:find("^windows%-"), name)
      _G.love.system.getOS = function() return "OS X" end
      name, file = lnn.platform()
      assert.truthy(name:find("^macos%-"), name)
      assert.are.equal("core.so", file)
   end)

   it("says what it looked for when the game has no core for this platform", function()
      local fs = {
         getCRequirePath = function() return "??" end, setCRequirePath = function() end,
         getSourceBaseDirectory = function() return "/nonexistent/games" end,
         getInfo = function() return nil end,
      }
      _G.love = {filesystem = fs, data = {hash = function() end},
                 system = {getOS = function() return "Linux" end}}
      local saved = package.loaded["nn.core"]
      package.loaded["nn.core"] = nil
      local ok, e = pcall(lnn.setup)
      package.loaded["nn.core"] = saved
      assert.is_false(ok)
      e = tostring(e)
      has(e, "nn.love.setup: no C core for linux-")
      has(e, "looked for /nonexistent/games/nn/core.so and nn/linux-")
      has(e, "/core.so inside the game")
      has(e, "nn.export writes a network as plain Lua")
   end)
end)
