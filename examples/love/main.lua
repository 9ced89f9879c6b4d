-- lua-nn in LÖVE: draw a digit with the mouse; the MNIST network trained by
-- `make mnist` (loaded with nn.load) shows its guess and the ten class
-- probabilities as bars, live as you draw.
--
--   make LUA=luajit && make mnist && love examples/love
--   make love && love dist/love-digit.love      -- the packaged game
--
-- C (or Backspace) clears, W shows the first layer's weights as images,
-- Esc quits.  NN_LOVE_MODEL names another model file.
--
-- Scripted: love examples/love --replay N [--data DIR] [--out shot.png]
-- [--keys KEYS] replays test digit N of DIR (data/mnist of the checkout)
-- as mouse strokes, through the same handlers the mouse calls, then
-- presses KEYS (e.g. w), prints the prediction, saves a screenshot and
-- quits.

-- Two ways to run.  From the checkout (love examples/love): lua-nn's Lua
-- modules from lua/, and LuaJIT's core, which `make LUA=luajit` puts in
-- build/luajit (LÖVE runs LuaJIT), and `make LUA=luajit BLAS=none` in
-- build/luajit-noblas (NN_BLAS=none).  Packaged (make love): the game
-- carries nn/*.lua, the model and each platform's core, and nn.love finds
-- the core (beside the game, or copied out of the .love).
local PACKED = love.filesystem.getInfo("nn/init.lua") ~= nil
local ROOT, CORE

-- a real path given by the user (the environment, the command line):
-- relative to the directory LÖVE was started in
local function real(path)
   if path:find("^[/\\]") or path:find("^%a:") then return path end
   return (os.getenv("PWD") or ".") .. "/" .. path
end

if PACKED then
   local where, how = require("nn.love").setup()
   CORE = how .. (where and " " .. where or "")
else
   local function here()
      local src = love.filesystem.getSource()
      if src:sub(1, 1) ~= "/" then src = (os.getenv("PWD") or ".") .. "/" .. src end
      return src
   end
   ROOT = here() .. "/../.."
   package.path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;" .. here() .. "/?.lua;"
      .. package.path
   package.cpath = ROOT .. "/build/luajit" .. (os.getenv("NN_BLAS") == "none" and "-noblas" or "")
      .. "/?.so;" .. package.cpath
end

local nn = require "nn"
local digit = require "digit"

local PAD = 336                    -- the drawing area: 12 screen pixels per MNIST cell
local CELL = PAD / 28
local BRUSH = 26                   -- pen width: MNIST strokes are 2 to 3 cells wide
local PADX, PADY = 20, 70
local VIEWX, VIEWY, VIEW = 380, 70, 140      -- what the network sees, 5x
local BARX, BARY = 545, 70

local state = {
   drawing = false, last = nil, dirty = false,
   probs = nil, guess = nil, weights = false,
   x = nil, input = nil, seen = nil, net = nil, softmax = nn.Softmax(),
   message = nil, replay = nil, out = nil, frames = 0,
}

-- ---- the model -----------------------------------------------------------

local function loadmodel()
   -- packaged: the model inside the game, a love.filesystem path (nn.load
   -- reads a relative path inside LÖVE with love.filesystem)
   local path = os.getenv("NN_LOVE_MODEL")
   path = path and real(path) or PACKED and "mnist_mlp.nn" or ROOT .. "/data/mnist/mnist_mlp.nn"
   local ok, net = pcall(nn.load, path)
   if not ok then
      state.message = ("No model: %s\nTrain one with `make mnist`."):format(net)
      return
   end
   net:evaluate()
   state.net = net
   state.x = nn.Matrix(1, 784)     -- refilled in place: no allocation per guess
end

-- the canvas's red channel as intensities in [0, 1], row-major
local function pixels(canvas, px)
   local bytes = canvas:newImageData():getString()
   for i = 1, PAD * PAD do px[i] = bytes:byte(i * 4 - 3) / 255 end
   return px
end

local function guess()
   state.input = digit.prepare(pixels(state.canvas, state.px), PAD, PAD, state.input)
   if not state.input or not state.net then
      state.probs, state.guess = nil, nil
      return
   end
   local x = state.x
   for i = 1, 784 do x:set(1, i, state.input[i]) end
   local p = state.softmax:forward(state.net:forward(x))
   state.probs = state.probs or {}
   for k = 1, 10 do state.probs[k] = p:get(1, k) end
   local _, _, col = p:max()
   state.guess = col - 1
   -- the 28 x 28 input as an image
   local img = state.seenData
   for i = 1, 784 do
      local v = state.input[i]
      img:setPixel((i - 1) % 28, math.floor((i - 1) / 28), v, v, v, 1)
   end
   state.seen:replacePixels(img)
end

-- ---- drawing: the mouse, and the replay, call these ------------------------

-- a pen stroke on the drawing, with round ends; the graphics state (line
-- width, colour, target) is restored for the frame's own drawing
local function stroke(x0, y0, x1, y1)
   local g = love.graphics
   g.push("all")
   g.setCanvas(state.canvas)
   g.setColor(1, 1, 1)
   g.setLineWidth(BRUSH)
   g.line(x0, y0, x1, y1)
   g.circle("fill", x0, y0, BRUSH / 2)
   g.circle("fill", x1, y1, BRUSH / 2)
   g.pop()
   state.dirty = true
end

local function onpad(x, y)
   return x - PADX, y - PADY
end

function love.mousepressed(x, y, button)
   if button ~= 1 then return end
   local px, py = onpad(x, y)
   if px < 0 or py < 0 or px >= PAD or py >= PAD then return end
   state.drawing, state.last = true, {px, py}
   stroke(px, py, px, py)
end

function love.mousemoved(x, y)
   if not state.drawing then return end
   local px, py = onpad(x, y)
   stroke(state.last[1], state.last[2], px, py)
   state.last = {px, py}
end

function love.mousereleased(_, _, button)
   if button == 1 then state.drawing = false end
end

local function clear()
   love.graphics.push("all")
   love.graphics.setCanvas(state.canvas)
   love.graphics.clear(0, 0, 0, 1)
   love.graphics.pop()
   state.dirty = true
end

function love.keypressed(key)
   if key == "c" or key == "backspace" then clear()
   elseif key == "w" then state.weights = not state.weights
   elseif key == "escape" then love.event.quit() end
end

-- ---- the first layer's weights, as images -------------------------------------

local function weightgrid()
   local W = state.net and state.net[1] and state.net[1].weight
   if not nn.isMatrix(W) or select(2, W:shape()) ~= 784 then return nil end
   local n = math.min(W:shape(), 60)           -- 10 x 6 of them
   local data = love.image.newImageData(10 * 30, 6 * 30)
   for k = 0, n - 1 do
      local row = W:row(k + 1)
      local lo, hi = row:min(), row:max()
      local s = math.max(-lo, hi, 1e-12)
      for i = 0, 783 do
         local v = row:get(1, i + 1) / s          -- blue below 0, red above
         local x, y = (k % 10) * 30 + 1 + i % 28, math.floor(k / 10) * 30 + 1 + math.floor(i / 28)
         data:setPixel(x, y, math.max(v, 0), 0.15 * (1 - math.abs(v)), math.max(-v, 0), 1)
      end
   end
   local img = love.graphics.newImage(data)
   img:setFilter("nearest", "nearest")
   return img
end

-- ---- LÖVE's callbacks --------------------------------------------------------

local USAGE = ("usage: love %s [--replay N [--data DIR] [--out shot.png] [--keys KEYS]]\n"
   .. "  N: a test digit of DIR (%s), from 1 (the first) to 10000")
   :format(PACKED and "love-digit.love" or "examples/love",
      PACKED and "MNIST's IDX files; no default" or "default data/mnist")

-- a command-line mistake: what was wrong and how to call it, then exit 2
-- (not a traceback: it is the caller's mistake, not the demo's)
local function usage(fmt, ...)
   io.stderr:write("love-digit: ", fmt:format(...), "\n", USAGE, "\n")
   os.exit(2)
end

-- the value after --name (false if --name is last), or nil
local function option(args, name)
   for i = 1, #args do
      if args[i] == name then return args[i + 1] or false end
   end
end

-- --replay N (or NN_LOVE_REPLAY): a whole number from 1 to the number of
-- test digits (MNIST's are numbered from 1, as Lua counts: 1 is the first)
local function replayarg(args)
   local n = option(args, "--replay")
   if n == false then usage("--replay needs a test digit's number") end
   n = n or os.getenv("NN_LOVE_REPLAY")
   if not n then return nil end
   local k = tonumber(n)
   if not k or k ~= math.floor(k) or k < 1 then
      usage("--replay takes a test digit's number, 1 (the first) or more; got %s", n)
   end
   local data = option(args, "--data")
   if data == false then usage("--data needs a directory") end
   data = data and real(data) or not PACKED and ROOT .. "/data/mnist"
   if not data then usage("--replay needs MNIST's test digits: give --data DIR") end
   local mnist = require "nn.mnist"
   local ok, X, Y = pcall(mnist.load, data, "test")
   if not ok then usage("--replay needs MNIST's test digits: %s (make data fetches them)", X) end
   local count = X:shape()
   if k > count then usage("--replay %s: there are %d test digits (1 to %d)", n, count, count) end
   return k, X, Y
end

function love.load(args)
   love.graphics.setBackgroundColor(0.11, 0.12, 0.14)
   state.canvas = love.graphics.newCanvas(PAD, PAD)
   state.px = {}
   state.seenData = love.image.newImageData(28, 28)
   state.seen = love.graphics.newImage(state.seenData)
   state.seen:setFilter("nearest", "nearest")
   state.fonts = {small = love.graphics.newFont(14), big = love.graphics.newFont(110),
                  mid = love.graphics.newFont(18)}
   clear()
   loadmodel()
   state.grid = weightgrid()
   local n, X, Y = replayarg(args)
   if n then
      -- unattended: an error prints and exits non-zero instead of waiting
      -- on LÖVE's error screen
      love.errorhandler = function(msg)
         io.stderr:write("love-digit: error: ", tostring(msg), "\n", debug.traceback(), "\n")
         os.exit(1)
      end
      state.replay, state.testX, state.testY = n, X, Y
      state.out = option(args, "--out") or os.getenv("NN_LOVE_OUT") or "love-digit.png"
      state.keys = option(args, "--keys") or ""
      if CORE then print("love-digit: nn.core " .. CORE) end
   end
end

-- test digit n (1-based) of data/mnist, drawn as the mouse would draw it
local function replay(n)
   local X, Y = state.testX, state.testY
   local img = {}
   for i = 1, 784 do img[i] = X:get(n, i) end
   for _, s in ipairs(digit.strokes(img)) do
      local x0, y, x1 = s[1], s[2], s[3]
      -- cell centres, on the screen
      love.mousepressed(PADX + (x0 + 0.5) * CELL, PADY + (y + 0.5) * CELL, 1)
      love.mousemoved(PADX + (x1 + 0.5) * CELL, PADY + (y + 0.5) * CELL)
      love.mousereleased(PADX + (x1 + 0.5) * CELL, PADY + (y + 0.5) * CELL, 1)
   end
   return Y:get(n, 1) - 1
end

function love.update()
   state.frames = state.frames + 1
   if state.replay and state.frames == 1 then
      state.label = replay(state.replay)
      for key in state.keys:gmatch(".") do love.keypressed(key) end
   end
   if state.dirty then
      state.dirty = false
      guess()
   end
end

local function drawbars()
   local g = love.graphics
   g.setFont(state.fonts.mid)
   for k = 0, 9 do
      local y = BARY + k * 33
      local p = state.probs and state.probs[k + 1] or 0
      g.setColor(0.8, 0.8, 0.8)
      g.print(tostring(k), BARX, y + 2)
      g.setColor(0.25, 0.27, 0.3)
      g.rectangle("fill", BARX + 24, y, 250, 26)
      if k == state.guess then g.setColor(0.35, 0.85, 0.45) else g.setColor(0.35, 0.6, 0.95) end
      g.rectangle("fill", BARX + 24, y, 250 * p, 26)
      g.setColor(0.9, 0.9, 0.9)
      g.printf(("%.1f%%"):format(100 * p), BARX + 274, y + 2, 76, "right")
   end
end

function love.draw()
   local g = love.graphics
   g.setFont(state.fonts.small)
   g.setColor(0.85, 0.85, 0.85)
   g.print("Draw a digit with the mouse.   C: clear   W: first-layer weights   Esc: quit", 20, 20)
   -- the drawing
   g.setColor(1, 1, 1)
   g.draw(state.canvas, PADX, PADY)
   g.setColor(0.4, 0.4, 0.45)
   g.rectangle("line", PADX - 1, PADY - 1, PAD + 2, PAD + 2)
   if state.weights and state.grid then
      g.setColor(1, 1, 1)
      g.draw(state.grid, VIEWX, VIEWY, 0, 500 / 300, 500 / 300)
      g.setColor(0.85, 0.85, 0.85)
      g.print("first layer: each unit's 784 weights as a 28 x 28 picture (red +, blue -)",
         VIEWX, VIEWY - 22)
   else
      -- what the network sees: the drawing made MNIST-like
      g.setColor(0.85, 0.85, 0.85)
      g.print("the network sees", VIEWX, VIEWY - 22)
      g.setColor(1, 1, 1)
      g.draw(state.seen, VIEWX, VIEWY, 0, VIEW / 28, VIEW / 28)
      g.setColor(0.4, 0.4, 0.45)
      g.rectangle("line", VIEWX - 1, VIEWY - 1, VIEW + 2, VIEW + 2)
      g.setColor(0.95, 0.95, 0.95)
      g.setFont(state.fonts.big)
      g.print(state.guess and tostring(state.guess) or "?", VIEWX + 35, VIEWY + VIEW + 20)
      drawbars()
   end
   if state.message then
      g.setFont(state.fonts.mid)
      g.setColor(1, 0.5, 0.4)
      g.printf(state.message, VIEWX, VIEWY + 300, 500)
   end
   -- the scripted run: a screenshot once the guess is on screen, then quit
   if state.replay and state.frames == 3 then
      local out = state.out
      g.captureScreenshot(function(img)
         local f = assert(io.open(out, "wb"))
         f:write(img:encode("png"):getString())
         f:close()
         local p = state.probs and state.probs[(state.guess or 0) + 1] or 0
         print(("love-digit: test digit %d (label %d): predicted %s (p = %.3f); screenshot %s")
            :format(state.replay, state.label or -1, tostring(state.guess), p, out))
         love.event.quit()
      end)
   end
end
