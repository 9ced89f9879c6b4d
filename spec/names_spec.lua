-- The name generator (make names): examples/names.lua trains its
-- character-level LSTM for one epoch on wamerican's names, beside the
-- same model in PyTorch (examples/names_torch.py), and must land within
-- 2% of it; the C core and the file nn.export wrote must make the same
-- names for the same seed, on this Lua and on LuaJIT; and the LÖVE scene
-- (examples/love-names) must make them too, under Xvfb, through either.
local H = require "helpers"

local WORDS = "/usr/share/dict/american-english"

local function have_words()
   local f = io.open(WORDS)
   if f then f:close() end
   return f ~= nil
end

local function has_luajit_core()
   local f = io.open((H.cpathof("luajit"):gsub("%?", "nn/core")), "rb")
   if f then f:close() end
   return f ~= nil
end

describe("the name generator (examples/names.lua)", function()
   local dir
   -- it trains a network: not under a sanitizer or valgrind (as the
   -- examples spec)
   local test = (have_words() and H.have_torch() and not H.sanitized) and it or pending

   test("trains within 2% of its PyTorch twin; the C core and the exported file agree", function()
      dir = H.tmpdir()
      local ok, out = H.run(("%sNN_LUA=%s %s examples/names.lua --epochs 1 --out '%s'")
         :format(H.env(), H.lua, H.lua, dir))
      assert.is_true(ok, out)
      local ours = tonumber(out:match("held%-out bits per character: lua%-nn ([%d.]+)"))
      local theirs = tonumber(out:match("\n%s+PyTorch ([%d.]+)"))
      assert.truthy(ours and theirs, out)
      assert.is_true(math.abs(ours - theirs) / theirs < 0.02, out)
      assert.is_true(ours < 4, out)            -- uniform over 27 ids is 4.75
      local agree = 0
      for same, n in out:gmatch("same seed: (%d+) of (%d+) the same") do
         assert.are.equal(n, same, out)
         agree = agree + 1
      end
      assert.are.equal(3, agree, out)
      assert.truthy(out:find("of 1000 names at temperature 0.8", 1, true), out)
      -- the names shown are none of the training list (the same split as
      -- names.lua: every tenth capitalised word held out), and the line
      -- under them counts those left out
      local train, k = {}, 0
      for line in io.lines(WORDS) do
         if line:find("^%u%l+$") then
            k = k + 1
            if k % 10 ~= 0 then train[line] = true end
         end
      end
      local shown = 0
      for list, drawn, known in out:gmatch("temperature [%d.]+: ([^\n]+)\n%s+%((%d+) names drawn, (%d+) of them training names") do
         local n = 0
         for name in list:gmatch("[^, ]+") do
            assert.is_nil(train[name], name .. " is a training name: " .. out)
            n = n + 1
         end
         assert.are.equal(tonumber(drawn) - tonumber(known), n, out)
         shown = shown + 1
      end
      assert.are.equal(3, shown, out)
      local us = tonumber(out:match("one name takes (%d+) us through the C core"))
      assert.truthy(us, out)
      assert.is_true(us < 5000, out)
      -- the game's side: LuaJIT, sampling and timing from the saved files
      if has_luajit_core() then
         ok, out = H.run(("%s luajit examples/names.lua --generate --out '%s'")
            :format(H.env("luajit"), dir))
         assert.is_true(ok, out)
         local n = 0
         for same, all in out:gmatch("same seed: (%d+) of (%d+) the same") do
            assert.are.equal(all, same, out)
            n = n + 1
         end
         assert.are.equal(3, n, out)
         assert.truthy(out:find("(LuaJIT", 1, true), out)
      end
   end)

   local love = (have_words() and H.have_torch() and not H.sanitized) and it or pending
   love("makes names in LÖVE under Xvfb, the same through the C core and plain Lua", function()
      assert(dir, "the training test runs first")
      if not has_luajit_core() then return pending("no LuaJIT core (make LUA=luajit)") end
      local got = {}
      for _, how in ipairs{"", " --lua"} do
         local png = dir .. "/shot" .. (how == "" and "c" or "lua") .. ".png"
         local ok, out = H.run(("cd '%s' && NN_NAMES_DIR='%s' timeout 120 " .. H.xvfb(190)
            .. " love examples/love-names --shot '%s' --names 9 "
            .. "--temperature 0.9 --seed 3%s"):format(H.top, dir, png, how))
         local names = out:match("love%-names: [%w ]+ at temperature 0%.90, seed 3: (.-); screenshot")
         assert.truthy(names, out)
         got[#got + 1] = names
         local count = 0
         for _ in names:gmatch("[^,]+") do count = count + 1 end
         assert.are.equal(9, count, out)
         -- a real frame: the window's size, the newest name in cream, the
         -- slider's blue
         local s = H.pngstats(png, "name=faedbf:0,60,720,150", "slider=5999f2:150,370,570,395")
         assert.are.same({720, 440}, {s.w, s.h})
         assert.is_true(s.colors > 20, "a flat frame")
         assert.is_true(s.name > 300, "no name drawn: " .. s.name)
         assert.is_true(s.slider > 300, "no slider drawn: " .. s.slider)
      end
      assert.are.equal(got[1], got[2])
      H.sh("rm -rf '" .. dir .. "'")
   end)
end)
