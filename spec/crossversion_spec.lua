-- Model files cross Lua versions: a network (every kind of layer and container) and its
-- Adam state saved by each Lua loads under every other and gives
-- bit-identical outputs, and training resumes bit for bit; and every
-- example of every kind the registry lists, each alone.  Each side is a
-- child process of that interpreter with its own core (make test builds
-- the cores of all five).
local H = require "helpers"

local LUAS = {"lua5.4", "luajit", "lua5.1", "lua5.2", "lua5.3"}

-- the network, data and one training step both sides share
local COMMON = [[
local nn = require "nn"
local function hex(s)
   return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end
local X = nn.Matrix(11, 6)
for i = 1, 11 do
   for j = 1, 6 do X:set(i, j, ((i * 6 + j) % 13) / 13 - 0.5) end
end
local Y = {1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3}
local crit = nn.CrossEntropyLoss()
local function step(net, opt)
   opt:zeroGrad()
   local out = net:forward(X)
   crit:forward(out, Y)
   net:backward(X, crit:backward(out, Y))
   opt:step()
end
]]

local WRITE = COMMON .. [[
nn.seed(8)
local net = nn.Sequential{
   nn.Linear(6, 9), nn.ReLU(), nn.Linear(9, 9, {bias = false}), nn.Tanh(),
   nn.Sequential{nn.Linear(9, 7, {init = "uniform"}), nn.Sigmoid(), nn.LeakyReLU(0.3)},
   nn.ELU(0.5), nn.Softplus(2), nn.Identity(), nn.Dropout(0.25), nn.Step(),
   nn.Linear(7, 5), nn.Sign(), nn.PiecewiseLinear(), nn.Softmax(),
   nn.Linear(5, 4), nn.LogSoftmax(),
   nn.Linear(4, 18), nn.Conv2d(2, 3, {3, 2}, {padding = 1, input = {2, 3, 3}}),
   nn.BatchNorm2d(3), nn.GELU(), nn.MaxPool2d(2, {stride = 1}),
   nn.Residual(nn.Sequential{nn.Conv2d(3, 3, 1), nn.Tanh()}),
   nn.Concat{nn.AvgPool2d(1), nn.Identity()}, nn.Linear(36, 4), nn.BatchNorm1d(4),
}
local opt = nn.Adam(net, {lr = 0.01, weightDecay = 1e-4})
for _ = 1, 3 do step(net, opt) end
net:evaluate()
assert(nn.save(net, PATH, {optimizer = opt}))
print("OUT " .. hex(net:forward(X):tobytes()))
step(net, opt)
print("STEP " .. hex(net:forward(X):tobytes()))
]]

local READ = COMMON .. [[
local net, state = nn.load(PATH)
print("OUT " .. hex(net:forward(X):tobytes()))
local opt = nn.Adam(net, {lr = 0.01, weightDecay = 1e-4})
opt:setState(state)
print("COUNT " .. tostring(state.t))
step(net, opt)
print("STEP " .. hex(net:forward(X):tobytes()))
]]

-- every example of every kind of the registry (core.layers()), each in a
-- file of its own in the directory PATH, with its outputs; then read back
local EXAMPLES = [[
local nn = require "nn"
local core = require "nn.core"
local function hex(s)
   return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end
local function example(e)
   local f
   if setfenv then
      f = assert(loadstring("return " .. e.lua))
      setfenv(f, {nn = nn})
   else
      f = assert(load("return " .. e.lua, "=example", "t", {nn = nn}))
   end
   return f()
end
local function input(e)
   local X = nn.Matrix(3, e.cols)
   for i = 1, 3 do
      for j = 1, e.cols do
         X:set(i, j, e.ids and (i * 7 + j * 3) % e.ids + 1 or ((i * e.cols + j) % 13) / 13 - 0.5)
      end
   end
   return X
end
for _, k in ipairs(core.layers()) do
   for j, e in ipairs(k.examples) do
      local path = ("%s/%s%d.nn"):format(PATH, k.name, j)
      local m
      if WRITE then
         nn.seed(5)
         m = example(e)
         m:forward(input(e))                  -- running statistics move, maxNorm renormalizes
         m:evaluate()
         assert(nn.save(m, path))
      else
         m = nn.load(path)
      end
      print(("OUT %s%d %s"):format(k.name, j, hex(m:forward(input(e)):tobytes())))
   end
end
print("DONE")
]]

local function run(lua, code, path)
   local ok, out = H.child(("local PATH = %q\n"):format(path) .. code, nil, nil, 60, lua)
   assert(ok, lua .. ": " .. out)
   local o, s = out:match("OUT (%x+)"), out:match("STEP (%x+)")
   assert(o and s, lua .. " printed no outputs: " .. out)
   return o, s, out:match("COUNT (%S+)")
end

describe("model files across Lua versions", function()
   local test = H.sanitized and pending or it
   test("a model saved by each Lua loads under every other with bit-identical outputs", function()
      local dir = H.tmpdir()
      for _, writer in ipairs(LUAS) do
         local path = ("%s/%s.nn"):format(dir, writer)
         local out, stepped = run(writer, WRITE, path)
         for _, reader in ipairs(LUAS) do
            local got, gotstep, t = run(reader, READ, path)
            assert.are.equal(out, got, writer .. " -> " .. reader .. ": outputs differ")
            assert.are.equal(stepped, gotstep, writer .. " -> " .. reader
               .. ": training did not resume bit for bit")
            assert.are.equal("3", t, writer .. " -> " .. reader .. ": step count")
         end
      end
      H.sh("rm -rf '" .. dir .. "'")
   end)

   test("every example of every layer kind saved by each Lua loads under every other, outputs bit for bit",
      function()
      local dir = H.tmpdir()
      local function outputs(lua, write, path)
         local ok, out = H.child(("local PATH, WRITE = %q, %s\n"):format(path, tostring(write)) .. EXAMPLES,
            nil, nil, 120, lua)
         assert(ok and out:find("DONE", 1, true), lua .. ": " .. out)
         local t, n = {}, 0
         for name, h in out:gmatch("OUT (%S+) (%x+)") do t[name] = h; n = n + 1 end
         assert.is_true(n >= 30, lua .. ": " .. n .. " examples")
         return t
      end
      for _, writer in ipairs(LUAS) do
         local path = ("%s/%s"):format(dir, writer)
         assert(H.sh("mkdir -p '" .. path .. "'"))
         local want = outputs(writer, true, path)
         for _, reader in ipairs(LUAS) do
            local got = outputs(reader, false, path)
            for name, h in pairs(want) do
               assert.are.equal(h, got[name], ("%s -> %s: %s"):format(writer, reader, name))
            end
         end
      end
      H.sh("rm -rf '" .. dir .. "'")
   end)
end)
