-- The LÖVE demo as a game to ship (make love): dist/love-digit.love runs
-- under Xvfb from an empty directory, with LUA_PATH and LUA_CPATH unset and
-- a fresh save directory, on the BLAS=none core it carries, and guesses
-- the test digits it replays as the demo in the checkout does.  nn.love
-- copies the core out of the .love on the first run and loads the copy on
-- the next; a copy cut short is written again and an update's stale one
-- goes; the cores beside the .love or a fused executable load before any
-- copy is made; and nn.load and nn.save take love.filesystem paths.  (The
-- screenshots were looked at, too: the digit, its guess and lit bar.)
local H = require "helpers"

local LOVE = H.top .. "/dist/love-digit.love"
local KIT = H.top .. "/dist/love-digit"
local CORE = H.top .. "/build/luajit-noblas/nn/core.so"
local DATA = H.top .. "/data/mnist"
local DIGITS = {1, 2, 3}

local function sh(cmd) assert(H.sh(cmd), cmd) end

-- love CMD under Xvfb in dir, with no Lua paths and home as HOME (the save
-- directory is under it): ok, the output
local function love(dir, home, cmd)
   return H.run(("cd '%s' && env -u LUA_PATH -u LUA_CPATH -u NN_BLAS -u NN_LOVE_MODEL "
      .. "-u NN_LOVE_REPLAY HOME='%s' XDG_DATA_HOME='%s/share' timeout 60 xvfb-run -a "
      .. "-s '-screen 0 1024x768x24' %s"):format(dir, home, home, cmd))
end

-- the guess a replay printed: "test digit N (label L): predicted P (p = X)"
local function guess(out, n)
   return out:match("love%-digit: (test digit " .. n .. " %(label %d%): predicted %d %(p = [%d.]+%))")
end

-- what a run printed of where nn.core came from: how, path
local function core(out)
   return out:match("love%-digit: nn%.core (%a+) (%S+)")
end

-- the names in a zip file, sorted
local function unzip(path)
   local ok, out = H.run(("/usr/bin/python3 -c \"import sys, zipfile; "
      .. "print('\\n'.join(sorted(zipfile.ZipFile(sys.argv[1]).namelist())))\" '%s'"):format(path))
   assert(ok, out)
   local names = {}
   for line in out:gmatch("[^\n]+") do names[#names + 1] = line end
   return names
end

-- the bytes of one file in a zip file
local function contents(path, name)
   local f = os.tmpname()
   local ok, out = H.run(("/usr/bin/python3 -c \"import sys, zipfile; "
      .. "open(sys.argv[3], 'wb').write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))\" '%s' '%s' '%s'")
      :format(path, name, f))
   assert(ok, out)
   local s = H.read(f)
   os.remove(f)
   return s
end

local function exists(path)
   local f = io.open(path, "rb")
   if f then f:close() end
   return f ~= nil
end

local function files(dir)
   local p = io.popen(("cd '%s' && find . -type f | sort"):format(dir))
   local s = p:read("*a")
   p:close()
   return s
end

describe("make love: the digit demo as a .love", function()
   local test = (H.sanitized or not H.have_mnist()) and pending or it
   local tmp, model, refs

   setup(function()
      if H.sanitized or not H.have_mnist() then return end
      assert(exists(LOVE), LOVE .. " is missing: make love builds it (make test does)")
      tmp = H.tmpdir()
      -- the demo in the checkout, on the BLAS=none core and the .love's model
      model = tmp .. "/model.nn"
      H.write(model, contents(LOVE, "mnist_mlp.nn"))
      refs = {}
      for _, n in ipairs(DIGITS) do
         local ok, out = H.run(("cd '%s' && NN_BLAS=none NN_LOVE_MODEL='%s' timeout 60 xvfb-run -a "
            .. "-s '-screen 0 1024x768x24' love examples/love --replay %d --out '%s/ref.png'")
            :format(H.top, model, n, tmp))
         refs[n] = guess(out, n)
         assert(ok and refs[n], out)
      end
   end)

   teardown(function()
      if tmp then os.execute("rm -rf '" .. tmp .. "'") end
   end)

   test("holds the demo, its model, lua-nn's modules and licences, and the BLAS=none core", function()
      local names = unzip(LOVE)
      local want = {"main.lua", "conf.lua", "digit.lua", "mnist_mlp.nn", "nn/LICENSE",
                    "nn/THIRD-PARTY.txt", "nn/linux-x86_64/core.so", "nn/love.lua"}
      local p = io.popen("ls lua/nn/*.lua")
      for f in p:lines() do want[#want + 1] = "nn/" .. f:match("([^/]+)$") end
      p:close()
      local have = {}
      for _, n in ipairs(names) do have[n] = true end
      for _, n in ipairs(want) do assert.truthy(have[n], n .. " is not in the .love") end
      for _, n in ipairs(names) do
         assert.truthy(n:find("^nn/") or n:find("^[%w_]+%.lua$") or n == "mnist_mlp.nn",
            n .. " should not be in the .love")
      end
      assert.are.equal(H.read(CORE), contents(LOVE, "nn/linux-x86_64/core.so"),
         "the .love's core is not build/luajit-noblas's")
      if have["nn/windows-x86_64/core.dll"] then
         assert.are.equal(H.read(H.top .. "/dist/windows/nn/core.dll"),
            contents(LOVE, "nn/windows-x86_64/core.dll"))
      end
      -- beside it, what goes beside a fused executable
      for _, f in ipairs{"love-digit.love", "nn/core.so", "LICENSE", "THIRD-PARTY.txt", "README.txt"} do
         assert.is_true(exists(KIT .. "/" .. f), KIT .. "/" .. f .. " is missing")
      end
      assert.are.equal(H.read(LOVE), H.read(KIT .. "/love-digit.love"))
   end)

   test("runs from an empty directory with no Lua paths: copies the core out, then uses the copy", function()
      local dir, home = tmp .. "/run", tmp .. "/home"
      sh(("mkdir -p '%s' '%s' && cp '%s' '%s/'"):format(dir, home, LOVE, dir))
      local save = home .. "/share/love/lua-nn-digits"
      local copied
      for i, n in ipairs(DIGITS) do
         if i == 3 then
            -- a copy cut short (a crash while writing it), an update's
            -- stale copy and an unfinished one: written again, removed
            sh(("head -c 1000 '%s' > '%s.cut' && mv '%s.cut' '%s'"):format(copied, copied, copied, copied))
            sh(("mkdir -p '%s/lua-nn/linux-x86_64-0000000000000000' && cp '%s' '%s/lua-nn/"
               .. "linux-x86_64-0000000000000000/core.so' && cp '%s' '%s.tmp-1'")
               :format(save, CORE, save, CORE, copied))
         end
         local ok, out = love(dir, home, ("love love-digit.love --replay %d --data '%s' --out shot-%d.png")
            :format(n, DATA, n))
         assert(ok, out)
         assert.are.equal(refs[n], guess(out, n), out)
         local how, path = core(out)
         assert.are.equal(i == 2 and "save" or "copied", how, out)
         assert.truthy(path:find("^" .. save:gsub("%p", "%%%0") .. "/lua%-nn/linux%-x86_64%-%x+/core%.so$"), path)
         copied = copied or path
         assert.are.equal(copied, path)
         assert.are.equal(H.read(CORE), H.read(path))
      end
      -- one copy left, and nothing written beside the .love but the shots
      assert.are.equal("./lua-nn/" .. copied:match("(linux%-x86_64%-%x+/core%.so)$") .. "\n",
         files(save))
      assert.are.equal("./love-digit.love\n./shot-1.png\n./shot-2.png\n./shot-3.png\n", files(dir))
      -- real frames: the digit drawn on the pad, the guess's bar lit
      local s = H.pngstats(dir .. "/shot-2.png", "pad=white:20,70,356,406", "green=59d973:545,70,900,400",
         "guess=white:415,230,520,360")
      assert.are.same({900, 440}, {s.w, s.h})
      local share = s.pad / (336 * 336)
      assert.is_true(share > 0.03 and share < 0.5, ("%.3f of the pad is white"):format(share))
      assert.is_true(s.green > 1000, "no lit bar for the guess")
      assert.is_true(s.guess > 200, "no guess drawn")
   end)

   test("loads the core beside the .love, beside a fused executable, in a game folder, copying nothing", function()
      local dir, home = tmp .. "/kit", tmp .. "/kithome"
      sh(("mkdir -p '%s' && cp -r '%s' '%s' && cd '%s' && cat /usr/bin/love love-digit.love > love-digit "
         .. "&& chmod +x love-digit"):format(home, KIT, dir, dir))
      for _, case in ipairs{{"love love-digit.love", 1}, {"./love-digit", 2}} do
         local n = case[2]
         local ok, out = love(dir, home, ("%s --replay %d --data '%s' --out shot.png"):format(case[1], n, DATA))
         assert(ok, out)
         assert.are.equal(refs[n], guess(out, n), out)
         assert.are.same({"beside", dir .. "/nn/core.so"}, {core(out)}, out)
      end
      -- and a game that is a directory loads the core where it is
      -- (in a folder of its own: nothing beside it)
      local games = tmp .. "/games"
      sh(("/usr/bin/python3 -c \"import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])\" "
         .. "'%s' '%s/digit'"):format(LOVE, games))
      local ok, out = love(games, home, ("love digit --replay 3 --data '%s' --out shot.png"):format(DATA))
      assert(ok, out)
      assert.are.equal(refs[3], guess(out, 3), out)
      assert.are.same({"game", games .. "/digit/nn/linux-x86_64/core.so"}, {core(out)}, out)
      local p = io.popen(("find '%s' -name lua-nn"):format(home))
      assert.are.equal("", p:read("*a"))
      p:close()
   end)

   test("nn.load reads a model inside the .love, nn.save writes to the save directory", function()
      local dir, home = tmp .. "/probe", tmp .. "/probehome"
      sh(("mkdir -p '%s/game' '%s' && cp '%s' '%s/probe.love'"):format(dir, home, LOVE, dir))
      -- the .love with another main.lua
      H.write(dir .. "/game/main.lua", ([[
love.errorhandler = function(msg)
   io.stderr:write("probe: error: ", tostring(msg), "\n", debug.traceback(), "\n")
   os.exit(1)
end
local where, how = require("nn.love").setup()
local nn = require "nn"
local fs = love.filesystem
print("probe: core " .. how)
local net = nn.load("mnist_mlp.nn")
print("probe: read from the .love " .. tostring(fs.getRealDirectory("mnist_mlp.nn") == fs.getSource()))
assert(nn.save(net, "copy.nn"))
print("probe: written to the save directory " .. tostring(fs.getRealDirectory("copy.nn") == fs.getSaveDirectory()))
print("probe: the same bytes " .. tostring(fs.read("copy.nn") == nn.serialize(net)))
local x = nn.Matrix(3, 784):fill(0.25)
local a, b = net:forward(x), nn.load("copy.nn"):forward(x)
local same = true
for i = 1, 3 do for j = 1, 10 do same = same and a:get(i, j) == b:get(i, j) end end
print("probe: the same outputs " .. tostring(same))
nn.save(net, %q)
print("probe: an absolute path " .. tostring(nn.serialize(nn.load(%q)) == nn.serialize(net)))
print("probe: missing " .. select(2, pcall(nn.load, "nope.nn")))
love.event.quit()
]]):format(dir .. "/real.nn", dir .. "/real.nn"))
      sh(("cd '%s/game' && zip -q ../probe.love main.lua"):format(dir))
      local ok, out = love(dir, home, "love probe.love")
      assert(ok, out)
      for _, line in ipairs{"probe: core copied", "probe: read from the .love true",
         "probe: written to the save directory true", "probe: the same bytes true",
         "probe: the same outputs true", "probe: an absolute path true",
         "probe: missing nn.load: cannot open nope.nn: no such file in LÖVE's save directory or the game"} do
         assert.truthy(out:find(line, 1, true), line .. "\n" .. out)
      end
      assert.is_true(exists(home .. "/share/love/lua-nn-digits/copy.nn"))
      assert.is_true(exists(dir .. "/real.nn"))
   end)
end)
