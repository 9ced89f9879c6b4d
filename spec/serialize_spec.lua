local nn = require "nn"
local core = require "nn.core"
local H = require "helpers"

local function every_layer_net()
   nn.seed(8)
   return nn.Sequential{
      nn.Linear(6, 9), nn.ReLU(), nn.Linear(9, 9, {bias = false}), nn.Tanh(),
      nn.Sequential{nn.Linear(9, 7, {init = "uniform"}), nn.Sigmoid(), nn.LeakyReLU(0.3)},
      nn.ELU(0.5), nn.Softplus(2), nn.Identity(), nn.Dropout(0.25), nn.Step(),
      nn.Linear(7, 5), nn.Sign(), nn.PiecewiseLinear(), nn.Softmax(),
      nn.Linear(5, 4), nn.LogSoftmax(), nn.GELU(), nn.GELU{approximate = "tanh"},
      nn.Linear(4, 2 * 3 * 3),
      nn.Conv2d(2, 3, {3, 2}, {padding = 1, dilation = {1, 2}, input = {2, 3, 3}}),
      nn.MaxPool2d(2, {stride = 1}), nn.Conv2d(3, 2, 1, {bias = false}), nn.AvgPool2d(1),
      nn.BatchNorm2d(2, {momentum = 0.3}), nn.Flatten(), nn.Linear(8, 3), nn.BatchNorm1d(3, {affine = false}),
   }
end

-- the layers of sequences, from token ids (whole numbers 1..10, n x T)
local function every_sequence_net()
   nn.seed(9)
   return nn.Sequential{
      nn.Embedding(10, 4, {paddingIndex = 1, maxNorm = 2}), nn.LayerNorm(4),
      nn.Linear(4, 3, {sequence = true}), nn.Tanh(), nn.LayerNorm(3, {affine = false}),
      nn.Linear(3, 2, {sequence = true, bias = false}), nn.LayerNorm(2, {bias = false, eps = 1e-3}),
   }
end

local function ids(n, T)
   return nn.rand(n, T, 1, 11):apply(math.floor)
end

-- the kinds a network holds, nested included
local function kinds(m, seen)
   seen = seen or {}
   seen[m.typename] = true
   if m.modules then for _, c in ipairs(m.modules) do kinds(c, seen) end end
   return seen
end

-- a file image from a raw payload, with a correct header and CRC
local function file(payload, version)
   return H.strpack("<c8I4I4I8", "LUANN\0\26\n", version or 1, core.crc32(payload),
      #payload) .. payload
end

describe("model files", function()
   it("are tested with every kind of layer the core registers", function()
      local seen = kinds(every_sequence_net(), kinds(every_layer_net()))
      for _, k in ipairs(require("nn.layers").builtin()) do
         assert.truthy(seen[k.name], k.name .. " is missing from every_layer_net and every_sequence_net")
      end
   end)

   it("of format version 1 (before image layers) still load", function()
      local net = nn.load("fuzz/corpus/every.nn")
      assert.truthy(net:size() > 5)
      local f = assert(io.open("fuzz/corpus/every.nn", "rb"))
      assert.are.equal(1, H.strunpack("<I4", f:read(12), 9))
      f:close()
   end)

   it("save a Lua layer registered by name, rebuilt by its constructor, never from code in the file", function()
      local Scale = {}
      Scale.__index = Scale
      local function new(n, opts)
         return setmetatable({typename = "Scale", n = n, opts = opts,
                              w = nn.ones(1, n), gw = nn.zeros(1, n)}, Scale)
      end
      function Scale:forward(x) self.output = nn.Matrix(x:shape()):copy(x):mul(self.w); return self.output end
      function Scale:backward(x, gy)
         self.gw:add(gy:clone():mul(x):sum(1))
         return gy:clone():mul(self.w)
      end
      function Scale:parameters() return {self.w}, {self.gw} end
      function Scale:config() return {self.n, self.opts} end
      local net = nn.Sequential{nn.Linear(3, 4), new(4, {note = "x"})}
      -- not yet registered: refused, with the way out named
      local ok, msg = pcall(nn.serialize, net)
      assert.is_false(ok)
      assert.truthy(msg:find("nn.register(name, constructor) makes a Lua layer savable", 1, true), msg)
      assert.are.equal(new, nn.register("Scale", new))
      net[2].w:copy(nn.Matrix{{1, 2, 3, 4}})
      local x = nn.randn(2, 3)
      local back = nn.deserialize(nn.serialize(net))
      assert.are.equal(Scale, getmetatable(back[2]))
      assert.are.equal("x", back[2].opts.note)
      assert.is_true(back:forward(x):equal(net:forward(x)))
      -- a saved parameter of the wrong shape is refused by name
      net[2].w = nn.ones(1, 5)
      ok, msg = pcall(nn.deserialize, nn.serialize(net))
      assert.is_false(ok)
      assert.truthy(msg:find("parameter 1 of Scale must be 1 x 4", 1, true), msg)
      -- what register refuses
      assert.has_error(function() nn.register("Linear", new) end, "nn.register: Linear is a built-in layer")
      assert.has_error(function() nn.register("a b", new) end, 'nn.register: name must be an identifier string, got "a b"')
      assert.has_error(function() nn.register("X", 5) end, "nn.register: the constructor of X must be a function, got number")
   end)

   it("round-trip every built-in layer with bit-identical outputs", function()
      local net = every_layer_net()
      net:evaluate()
      local x = nn.randn(11, 6)
      local want = net:forward(x):totable()
      local s = nn.serialize(net)
      local back = nn.deserialize(s)
      assert.are.same(want, back:forward(x):totable())
      assert.are.equal(tostring(net), tostring(back))
      assert.are.equal(s, nn.serialize(back))          -- the same bytes again
      assert.is_false(back[9].train)                   -- modes are kept
      -- and the layers of sequences, from token ids
      net = every_sequence_net()
      x = ids(11, 5)
      want = net:forward(x):totable()
      s = nn.serialize(net)
      back = nn.deserialize(s)
      assert.are.same(want, back:forward(x):totable())
      assert.are.equal(tostring(net), tostring(back))
      assert.are.equal(s, nn.serialize(back))
   end)

   it("save to a file and load it back, replacing the old file whole", function()
      local d = H.tmpdir()
      local path = d .. "/model.nn"
      local net = every_layer_net()
      assert.is_true(nn.save(net, path))
      local before = io.open(path, "rb"):read("*a")
      -- a save that fails leaves the old file as it was, and no temporaries
      assert.has_error(function() nn.save({forward = 1, backward = 1}, path) end)
      assert.are.equal(before, io.open(path, "rb"):read("*a"))
      local other = nn.Sequential{nn.Linear(2, 2)}
      nn.save(other, path)
      local p = io.popen("ls " .. d)
      local listing = p:read("*a")
      p:close()
      assert.are.equal("model.nn\n", listing)
      local x = nn.randn(3, 2)
      assert.are.same(other:forward(x):totable(), nn.load(path):forward(x):totable())
      os.remove(path)
      os.remove(d)
   end)

   it("carry an optimizer's state so training resumes bit for bit", function()
      for _, kind in ipairs{"SGD", "Adam", "RMSprop"} do
         nn.seed(3)
         local net = nn.Sequential{nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)}
         local crit = nn.CrossEntropyLoss()
         local x, t = nn.randn(8, 4), {1, 2, 3, 1, 2, 3, 1, 2}
         local opt = nn[kind](net, {lr = 0.05, momentum = kind ~= "Adam" and 0.9 or nil})
         local function train(n, o, m)
            for _ = 1, n do
               o:zeroGrad()
               local y = m:forward(x)
               crit:forward(y, t)
               m:backward(x, crit:backward(y, t))
               o:step()
            end
         end
         train(3, opt, net)
         local s = nn.serialize(net, {optimizer = opt})
         train(2, opt, net)
         local net2, state = nn.deserialize(s)
         local opt2 = nn[kind](net2, {lr = 1})
         opt2:setState(state)
         train(2, opt2, net2)
         assert.are.same(net:forward(x):totable(), net2:forward(x):totable(), kind)
      end
   end)

   it("give a trained model the same accuracy after reloading", function()
      nn.seed(4)
      local X, Y = nn.randn(300, 5), nn.Matrix(300, 1)
      for i = 1, 300 do Y:set(i, 1, X:get(i, 1) + X:get(i, 2) > 0 and 1 or 2) end
      local net = nn.Sequential{nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2)}
      local crit = nn.CrossEntropyLoss()
      nn.fit(net, crit, nn.Adam(net, {lr = 0.01}), X, Y, {epochs = 5, progress = false})
      local l1, a1 = nn.evaluate(net, crit, X, Y)
      local l2, a2 = nn.evaluate(nn.deserialize(nn.serialize(net)), crit, X, Y)
      assert.are.equal(a1, a2)
      assert.are.equal(l1, l2)
   end)

   it("refuse what they cannot save", function()
      local lua_layer = {forward = function(_, x) return x end, backward = function(_, _, g) return g end}
      assert.has_error(function() nn.serialize(nn.Sequential{nn.Linear(2, 2), lua_layer}) end)
      local ok, msg = pcall(nn.serialize, nn.Sequential{nn.Linear(2, 2), lua_layer})
      assert.is_false(ok)
      assert.truthy(msg:find("nn.serialize: the network[2] (table: ", 1, true), msg)
      assert.truthy(msg:find("is neither a built-in layer nor a registered one; nn.register(name, constructor) makes a Lua layer savable", 1, true))
      assert.has_error(function() nn.serialize(nn.ReLU(), {optimiser = 1}) end,
         "nn.serialize: unknown option 'optimiser' (expected optimizer)")
      assert.has_error(function() nn.save(nn.ReLU(), 5) end, "nn.save: path must be a string, got number")
      assert.has_error(function() nn.save(nn.ReLU(), "/nonexistent-dir/m.nn") end)
      assert.has_error(function() nn.load("/nonexistent-dir/m.nn") end)
      assert.has_error(function() nn.deserialize(5) end, "nn.deserialize: expected a string, got number")
   end)
end)

describe("loading damaged or hostile files", function()
   local net = every_layer_net()
   net:evaluate()
   local x = nn.randn(4, 6)
   local want = net:forward(x):totable()
   local good = nn.serialize(net, {optimizer = nn.Adam(net)})

   -- loads s: either it works and computes the same outputs, or it raises
   -- an nn.deserialize error; anything else fails the spec
   local function check(s, what)
      local ok, back = pcall(nn.deserialize, s)
      if ok then
         assert.are.same(want, back:forward(x):totable(), what)
      else
         assert.truthy(tostring(back):find("^nn.deserialize: the string: "), what .. ": " .. tostring(back))
      end
      return ok
   end

   it("reject a file truncated at every tenth byte", function()
      local n = 0
      for cut = 0, #good - 1, 10 do
         assert.is_false(check(good:sub(1, cut), "cut at " .. cut))
         n = n + 1
      end
      assert.is_true(n > 100)
   end)

   it("reject or survive bytes flipped at random offsets", function()
      nn.seed(12)
      for _ = 1, 500 do
         local at = nn.random(#good)
         local flipped = good:sub(1, at - 1) .. string.char(H.flipbit(good:byte(at), nn.random(8)))
            .. good:sub(at + 1)
         check(flipped, "flip at " .. at)
      end
   end)

   it("name each kind of damage", function()
      local cases = {
         {good:sub(1, 10), "not a lua-nn model: 10 bytes is shorter than the header"},
         {"XXXXXXXX" .. good:sub(9), "not a lua-nn model file (bad magic)"},
         {good .. "x", "truncated or padded: the header declares"},
         {good:sub(1, 50) .. string.char(H.flipbit(good:byte(51), 1)) .. good:sub(52),
          "checksum mismatch: the file is corrupt"},
         {file(good:sub(25), 3), "format version 3 is newer than this lua-nn reads (2)"},
         {file(good:sub(25), 0), "format version 0 is invalid"},
      }
      for _, c in ipairs(cases) do
         local ok, msg = pcall(nn.deserialize, c[1])
         assert.is_false(ok)
         assert.truthy(msg:find(c[2], 1, true), ("expected %q in %q"):format(c[2], msg))
      end
   end)

   -- payloads with a valid checksum: only the structure can catch these
   local function map(t)
      local keys = {}
      for k in pairs(t) do keys[#keys + 1] = k end
      table.sort(keys)
      local out = {H.strpack("<BI4", 7, #keys)}
      for _, k in ipairs(keys) do out[#out + 1] = H.strpack("<s4", k) .. t[k] end
      return table.concat(out)
   end
   local function list(items)
      return H.strpack("<BI4", 6, #items) .. table.concat(items)
   end
   local function str(s) return H.strpack("<Bs4", 5, s) end
   local function int(i) return H.strpack("<Bi8", 3, i) end
   local function model(netvalue) return map{format = str("lua-nn model"), net = netvalue} end

   it("reject hostile structures without allocating what they declare", function()
      local cases = {
         {model(H.strpack("<BI4I4", 8, 100000, 100000)), "a matrix declares 100000 x 100000 elements"},
         {model(H.strpack("<BI4I4", 8, 10000, 10000)), "a 10000 x 10000 matrix needs 400000000 bytes"},
         {model(H.strpack("<BI4I4", 8, 0, 5)), "a matrix declares 0 x 5 elements"},
         {model(H.strpack("<BI4", 6, 4000000000)), "a table declares 4000000000 entries"},
         {model(H.strpack("<BI4", 5, 4000000000)), "a string needs 4000000004 bytes"},
         {model(string.char(99)), "unknown value tag 99"},
         {model(map{type = str("os.execute"), config = list{}, params = list{}}),
          "unknown layer type 'os.execute'"},
         {model(map{type = str("Linear"), config = list{int(100000), int(100000)},
                    params = list{H.strpack("<BI4I4", 8, 1, 1) .. ("\0"):rep(4)}}),
          "cannot build Linear: nn.Linear: 100000 x 100001 is too large"},
         {model(map{type = str("Linear"), config = list{int(1000), int(1000)},
                    params = list{H.strpack("<BI4I4", 8, 1, 1) .. ("\0"):rep(4),
                                  H.strpack("<BI4I4", 8, 1, 1000) .. ("\0"):rep(4000)}}),
          "cannot build Linear: Linear: saved parameter 1 is 1 x 1, expected 1000 x 1000"},
         {model(map{type = str("ReLU"), config = list{int(1)}, params = list{}}),
          "cannot build ReLU: nn.ReLU: takes no arguments"},
         {model(map{type = str("Linear"), config = list{int(2), int(1), map{bias = string.char(1)}},
                    params = list{H.strpack("<BI4I4", 8, 1, 2) .. ("\0"):rep(8),
                                  H.strpack("<BI4I4", 8, 1, 1) .. ("\0"):rep(4)}}),
          "has 1 parameters, the file holds 2"},
         {model(int(5)), "is not a layer description"},
         {map{format = str("something else")}, "the payload is not a model"},
         {model(map{type = str("Sequential"), modules = int(1)}),
          "field modules is number, expected table"},
         {model(str("x")) .. "junk", "trailing bytes after the model"},
         {model(("\6\1\0\0\0"):rep(40) .. "\0"), "values nest too deeply"},
      }
      for _, c in ipairs(cases) do
         local ok, msg = pcall(nn.deserialize, file(c[1]))
         assert.is_false(ok, c[2])
         assert.truthy(msg:find(c[2], 1, true), ("expected %q in %q"):format(c[2], msg))
      end
   end)
end)
