-- No silent wrong answers: cut-short gzip files, aliased gradients, model
-- files with holes, overlapping in-place operands, nested batch passes,
-- float32 edges, NaN labels, signed overflow in bounds (found by the
-- hostile-input review, issue #16).
local nn = require "nn"
local core = require "nn.core"
local mnist = require "nn.mnist"
local H = require "helpers"
local err, has = H.err, H.has

local write, read = H.write, H.read

local function sh(cmd) assert(H.sh(cmd), cmd) end

describe("no silent wrong answers", function()
   local dir
   before_each(function() dir = H.tmpdir() end)
   after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

   it("mnist.load raises on a cut-short gzip, and on one missing only its trailer", function()
      local X = nn.rand(50, 6)
      local img = H.strpack(">I4I4I4I4", 0x803, 50, 2, 3) .. X:quantize(0, 1)
      local lab = H.strpack(">I4I4", 0x801, 50) .. ("\1"):rep(50)
      write(dir .. "/train-images-idx3-ubyte", img)
      write(dir .. "/train-labels-idx1-ubyte", lab)
      sh(("gzip '%s/train-images-idx3-ubyte'"):format(dir))
      local gz = read(dir .. "/train-images-idx3-ubyte.gz")
      for _, cut in ipairs{#gz - 8, #gz - 20} do
         write(dir .. "/train-images-idx3-ubyte.gz", gz:sub(1, cut))
         local msg = err(mnist.load, dir, "train")
         has(msg, "train-images-idx3-ubyte.gz is")
         assert.is_nil(msg:find("nor is there", 1, true), msg)
      end
      write(dir .. "/train-images-idx3-ubyte.gz", gz)
      assert.are.equal(50, (mnist.load(dir, "train")):shape())
   end)

   it("Linear:backward refuses its own gradBias (or gradWeight) as gradOutput", function()
      local l = nn.Linear(3, 2)
      local x = nn.randn(1, 3)
      l:forward(x)
      has(err(l.backward, l, x, l.gradBias), "shares memory with the layer's gradients")
      local l2 = nn.Linear(2, 2)
      local x2 = nn.randn(2, 2)
      l2:forward(x2)
      has(err(l2.backward, l2, x2, l2.gradWeight), "shares memory with the layer's gradients")
   end)

   -- a model file made by hand (docs/format.md): header, then a value tree
   local function modelfile(value)
      local function enc(v)
         if type(v) == "string" then return H.strpack("<Bs4", 5, v) end
         if type(v) == "number" then return H.strpack("<Bi8", 3, v) end
         if v.list then
            local parts = {H.strpack("<BI4", 6, v.n)}
            for i = 1, v.n do parts[#parts + 1] = v[i] == nil and "\0" or enc(v[i]) end
            return table.concat(parts)
         end
         local keys = {}
         for k in pairs(v) do keys[#keys + 1] = k end
         table.sort(keys)
         local parts = {H.strpack("<BI4", 7, #keys)}
         for _, k in ipairs(keys) do parts[#parts + 1] = H.strpack("<s4", k) .. enc(v[k]) end
         return table.concat(parts)
      end
      local body = enc(value)
      return H.strpack("<c8I4I4I8", "LUANN\0\26\n", 1, core.crc32(body), #body) .. body
   end
   local function relu() return {type = "ReLU", config = {list = true, n = 0},
                                 params = {list = true, n = 0}} end

   it("a model file's Sequential must list its layers with no holes", function()
      local ok = modelfile{format = "lua-nn model",
         net = {type = "Sequential", modules = {list = true, n = 3, relu(), relu(), relu()}}}
      assert.are.equal(3, nn.deserialize(ok):size())
      local holed = modelfile{format = "lua-nn model",
         net = {type = "Sequential", modules = {list = true, n = 3, relu(), nil, relu()}}}
      has(err(nn.deserialize, holed), "field modules is not a list")
      local map = modelfile{format = "lua-nn model",
         net = {type = "Sequential", modules = {a = relu(), b = relu()}}}
      has(err(nn.deserialize, map), "field modules is not a list")
   end)

   it("in-place ops on overlapping operands give the right values", function()
      local A = nn.Matrix{{1, 2}, {3, 4}, {5, 6}}
      A:add(A:row(1))
      assert.are.same({{2, 4}, {4, 6}, {6, 8}}, A:totable())
      A = nn.Matrix{{1, 2}, {3, 4}, {5, 6}}
      A:narrow(2, 2):add(A:narrow(1, 2))
      assert.are.same({{1, 2}, {4, 6}, {8, 10}}, A:totable())
      A = nn.Matrix{{1, 2}, {3, 4}, {5, 6}}
      A:narrow(2, 2):mul(A:narrow(1, 2))
      assert.are.same({{1, 2}, {3, 8}, {15, 24}}, A:totable())
      A = nn.Matrix{{1, 2}, {3, 4}}
      A:add(A, 2)                                      -- exact aliasing is fine
      assert.are.same({{3, 6}, {9, 12}}, A:totable())
   end)

   it("a second nn.batches pass over the same X does not disturb the first", function()
      local n = 10
      local X = nn.Matrix(n, 1)
      for i = 1, n do X:set(i, 1, i) end
      local seen = {}
      for xb in nn.batches(X, 3, {shuffle = true}) do
         for _ in nn.batches(X, 4, {shuffle = true}) do end  -- a nested pass
         for i = 1, (xb:shape()) do
            local v = xb:get(i, 1)
            assert.is_nil(seen[v], "row " .. v .. " came twice")
            seen[v] = true
         end
      end
      for i = 1, n do assert.is_true(seen[i], "row " .. i .. " never came") end
   end)

   it("a failing nn.evaluate or nn.predict leaves the network in training mode", function()
      local net = nn.Sequential{nn.Linear(3, 2), nn.Dropout(0.5)}
      err(nn.evaluate, net, nn.CrossEntropyLoss(), nn.ones(4, 5), {1, 1, 1, 1})
      assert.is_true(net.train)
      assert.is_true(net[2].train)
      err(nn.predict, net, nn.ones(4, 5))
      assert.is_true(net.train)
   end)

   it("float32 edges: rand's range, division by a tiny scalar, huge options", function()
      local R = nn.rand(100, 1, -3e38, 3e38)
      assert.is_true(R:max() > 0 and R:min() < 0, "all at lo")
      assert.is_true(math.abs((nn.Matrix{1e-30} / 1e-39):get(1) / 1e9 - 1) < 1e-6)
      assert.is_true(math.abs((nn.Matrix{1e-30} * 1e39):get(1) / 1e9 - 1) < 1e-6)
      has(err(nn.SGD, nn.Linear(2, 2), {lr = 1e39}), "lr must be a float32 number >= 0")
      has(err(nn.Matrix(1, 1).fill, nn.Matrix(1, 1), 1e39), "outside float32's range")
      has(err(nn.Matrix, {1, 1e39}), "entry [2] is outside float32's range")
   end)

   it("L1Loss:backward passes a NaN on", function()
      local g = nn.L1Loss():backward(nn.Matrix{0 / 0, 2}, nn.Matrix{1, 1})
      assert.is_true(g:get(1) ~= g:get(1))
      assert.are.equal(0.5, g:get(2))
   end)

   it("accuracy refuses NaN and fractional labels instead of counting them", function()
      has(err(core.correct, nn.Matrix{{1, 2}}, nn.Matrix{{0 / 0}}), "nn.correct: label 1 is")
      has(err(core.correct, nn.Matrix{{1, 2}}, nn.Matrix{{1.5}}), "expected a class index from 1 to 2")
      assert.are.equal(1, core.correct(nn.Matrix{{1, 2}}, nn.Matrix{{2}}))
   end)

   it("no signed overflow in gather's or narrow's bounds", function()
      -- (before 5.3 the largest integer a number holds is 2^53: nothing
      -- overflows there, and the row lookup refuses it)
      has(err(nn.Matrix(1, 1).gather, nn.Matrix(1, 1), nn.Matrix(1, 1), {1}, math.maxinteger or 2^53, 1),
         H.integers and "Matrix:gather: first must be from 1 to" or "Matrix:gather: index 9007199254740992")
      has(err(nn.Matrix(1, 1).narrow, nn.Matrix(1, 1), 1, 2147483647),
         "rows 1..2147483647 exceed the 1 rows")
   end)
end)
