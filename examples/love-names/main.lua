-- lua-nn in LÖVE: names made up by the character-level LSTM that `make
-- names` trains (examples/names.lua), a letter at a time.
--
--   make names && make LUA=luajit && love examples/love-names
--
-- Space, Enter or a click: a new name.  The slider (drag it, or Left and
-- Right): the temperature, plain and safe when low, wild when high.  Tab:
-- the C core (the model nn.load reads) or the plain-Lua file nn.export
-- wrote, which needs no C at all (what a game that ships no binaries
-- runs); both draw from the same random numbers, so they make the same
-- names.  A name that is a word of the list the network learnt from is
-- marked.  Esc quits.  NN_NAMES_DIR names another directory than
-- build/names.
--
-- Scripted: love examples/love-names --shot out.png [--names N]
-- [--temperature T] [--seed S] [--lua] makes N names through the same
-- handlers the keys call, prints them, saves a screenshot and quits.

local function here()
   local src = love.filesystem.getSource()
   if src:sub(1, 1) ~= "/" then src = (os.getenv("PWD") or ".") .. "/" .. src end
   return src
end
local ROOT = here() .. "/../.."
package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. ROOT .. "/examples/?.lua;"
   .. package.path
package.cpath = ROOT .. "/build/luajit" .. (os.getenv("NN_BLAS") == "none" and "-noblas" or "")
   .. "/?.so;" .. package.cpath

local namegen = require "namegen"
local DIR = os.getenv("NN_NAMES_DIR") or ROOT .. "/build/names"
local WORDS = "/usr/share/dict/american-english"

local state = {
   names = {}, temperature = 0.8, seed = 1, uniform = nil,
   gens = {}, mode = nil, known = {}, message = nil,
   sliding = false, shot = nil, frames = 0,
}

local SLIDER = {x = 160, y = 382, w = 400, lo = 0.1, hi = 1.5}

-- ---- the generators ------------------------------------------------------------

-- the C core's, from the saved model: one step of each layer per letter
local function cgenerator()
   local ok, nn = pcall(require, "nn")
   if not ok then return nil, "no C core (make LUA=luajit): " .. tostring(nn) end
   local okl, net = pcall(nn.load, DIR .. "/names.nn")
   if not okl then return nil, tostring(net) end
   net:evaluate()
   local emb, rnn, lin = net.modules[1], net.modules[2], net.modules[3]
   local x, logits = nn.Matrix(1, 1), {}
   return {
      label = "the C core (nn.load)",
      reset = function() rnn:setState() end,
      step = function(id)
         x:set(1, 1, id)
         local y = lin:forward(rnn:step(emb:forward(x)))
         for j = 1, namegen.VOCAB do logits[j] = y:get(1, j) end
         return logits
      end,
   }
end

-- the exported file's: plain Lua
local function luagenerator()
   local ok, model = pcall(dofile, DIR .. "/names_gen.lua")
   if not ok then return nil, tostring(model) end
   local g = namegen.exported(model)
   g.label = "plain Lua (nn.export's file)"
   return g
end

local function loadgenerators()
   local c, cwhy = cgenerator()
   local l, lwhy = luagenerator()
   state.gens = {c = c, lua = l}
   state.mode = c and "c" or (l and "lua") or nil
   if not state.mode then
      state.message = ("No trained generator in %s (make names trains one):\n%s\n%s")
         :format(DIR, tostring(cwhy), tostring(lwhy))
   end
   -- the word list's names, to mark a name the network learnt
   local f = io.open(WORDS)
   if f then
      for line in f:lines() do
         if line:find("^%u%l+$") then state.known[line] = true end
      end
      f:close()
   end
end

-- ---- what the keys and the mouse do -----------------------------------------------

local function newname()
   local g = state.gens[state.mode]
   if not g then return end
   local t0 = love.timer.getTime()
   local name = namegen.generate(g, state.temperature, state.uniform)
   local us = (love.timer.getTime() - t0) * 1e6
   table.insert(state.names, 1, {text = name, us = us, known = state.known[name],
                                 mode = state.mode, temperature = state.temperature})
   state.names[13] = nil
end

local function settemperature(t)
   t = math.floor(t * 20 + 0.5) / 20
   state.temperature = math.max(SLIDER.lo, math.min(SLIDER.hi, t))
end

local function onslider(x, y)
   return y >= SLIDER.y - 14 and y <= SLIDER.y + 14 and x >= SLIDER.x - 10
      and x <= SLIDER.x + SLIDER.w + 10
end

local function slide(x)
   settemperature(SLIDER.lo + (x - SLIDER.x) / SLIDER.w * (SLIDER.hi - SLIDER.lo))
end

function love.keypressed(key)
   if key == "space" or key == "return" then newname()
   elseif key == "left" then settemperature(state.temperature - 0.05)
   elseif key == "right" then settemperature(state.temperature + 0.05)
   elseif key == "tab" then
      local other = state.mode == "c" and "lua" or "c"
      if state.gens[other] then state.mode = other end
   elseif key == "escape" then love.event.quit() end
end

function love.mousepressed(x, y, button)
   if button ~= 1 then return end
   if onslider(x, y) then
      state.sliding = true
      slide(x)
   else
      newname()
   end
end

function love.mousemoved(x)
   if state.sliding then slide(x) end
end

function love.mousereleased(_, _, button)
   if button == 1 then state.sliding = false end
end

-- ---- LÖVE's callbacks ------------------------------------------------------------

local USAGE = "usage: love examples/love-names [--shot out.png [--names N] [--temperature T] "
   .. "[--seed S] [--lua]]"

local function usage(fmt, ...)
   io.stderr:write("love-names: ", fmt:format(...), "\n", USAGE, "\n")
   os.exit(2)
end

local function option(args, name)
   for i = 1, #args do
      if args[i] == name then return args[i + 1] or false end
   end
end

local function flag(args, name)
   for i = 1, #args do
      if args[i] == name then return true end
   end
   return false
end

local function number(args, name, default, lo, hi)
   local v = option(args, name)
   if v == false then usage("%s needs a value", name) end
   if v == nil then return default end
   local n = tonumber(v)
   if not n or n < lo or n > hi then usage("%s takes a number from %g to %g, got %s", name, lo, hi, v) end
   return n
end

function love.load(args)
   love.graphics.setBackgroundColor(0.11, 0.12, 0.14)
   state.fonts = {small = love.graphics.newFont(14), mid = love.graphics.newFont(20),
                  big = love.graphics.newFont(64)}
   local shot = option(args, "--shot")
   if shot == false then usage("--shot needs a file name") end
   state.seed = math.floor(number(args, "--seed", 1, 1, 2147483646))
   state.uniform = namegen.random(state.seed)
   settemperature(number(args, "--temperature", 0.8, SLIDER.lo, SLIDER.hi))
   loadgenerators()
   if shot then
      love.errorhandler = function(msg)
         io.stderr:write("love-names: error: ", tostring(msg), "\n", debug.traceback(), "\n")
         os.exit(1)
      end
      if not state.mode then usage("%s", state.message) end
      if flag(args, "--lua") then
         if not state.gens.lua then usage("--lua: no exported generator in %s", DIR) end
         state.mode = "lua"
      end
      state.shot = shot
      state.count = math.floor(number(args, "--names", 8, 1, 12))
   end
end

function love.update()
   state.frames = state.frames + 1
   if state.shot and state.frames == 1 then
      for _ = 1, state.count do love.keypressed("space") end
   end
end

local function drawslider()
   local g = love.graphics
   local s = SLIDER
   g.setFont(state.fonts.mid)
   g.setColor(0.85, 0.85, 0.85)
   g.print("temperature", s.x - 140, s.y - 12)
   g.printf(("%.2f"):format(state.temperature), s.x + s.w + 16, s.y - 12, 60, "left")
   g.setColor(0.3, 0.32, 0.36)
   g.rectangle("fill", s.x, s.y - 3, s.w, 6, 3, 3)
   local at = s.x + (state.temperature - s.lo) / (s.hi - s.lo) * s.w
   g.setColor(0.35, 0.6, 0.95)
   g.rectangle("fill", s.x, s.y - 3, at - s.x, 6, 3, 3)
   g.circle("fill", at, s.y, 11)
   g.setFont(state.fonts.small)
   g.setColor(0.6, 0.6, 0.65)
   g.print("plain", s.x - 4, s.y + 16)
   g.printf("wild", s.x + s.w - 60, s.y + 16, 64, "right")
end

function love.draw()
   local g = love.graphics
   g.setFont(state.fonts.small)
   g.setColor(0.85, 0.85, 0.85)
   g.printf("Space: a new name     Left, Right: temperature     Tab: C core or plain Lua"
      .. "     Esc: quit", 0, 18, 720, "center")
   local newest = state.names[1]
   if newest then
      g.setFont(state.fonts.big)
      g.setColor(0.98, 0.93, 0.75)
      g.printf(newest.text, 0, 70, 720, "center")
      g.setFont(state.fonts.small)
      g.setColor(0.7, 0.72, 0.78)
      g.printf(("%.0f us, a letter at a time, through %s%s")
         :format(newest.us, state.gens[newest.mode].label,
            newest.known and "; a name of the list it learnt from" or ""), 0, 152, 720, "center")
   elseif state.mode then
      g.setFont(state.fonts.mid)
      g.setColor(0.7, 0.72, 0.78)
      g.printf("press Space", 0, 100, 720, "center")
   end
   -- the names before it, two columns
   g.setFont(state.fonts.mid)
   for i = 2, #state.names do
      local n = state.names[i]
      local col, row = (i - 2) % 2, math.floor((i - 2) / 2)
      local x, y = 150 + col * 240, 200 + row * 28
      if n.known then g.setColor(0.55, 0.55, 0.6) else g.setColor(0.9, 0.9, 0.92) end
      g.print(n.text .. (n.known and "  (in the list)" or ""), x, y)
   end
   drawslider()
   if state.message then
      g.setFont(state.fonts.mid)
      g.setColor(1, 0.5, 0.4)
      g.printf(state.message, 40, 120, 640)
   end
   if state.shot and state.frames == 3 then
      local out = state.shot
      g.captureScreenshot(function(img)
         local f = assert(io.open(out, "wb"))
         f:write(img:encode("png"):getString())
         f:close()
         local t = {}
         for i = #state.names, 1, -1 do t[#t + 1] = state.names[i].text end
         print(("love-names: %s at temperature %.2f, seed %d: %s; screenshot %s")
            :format(state.mode == "c" and "C core" or "plain Lua", state.temperature, state.seed,
               table.concat(t, ", "), out))
         love.event.quit()
      end)
   end
end
