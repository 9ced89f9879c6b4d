-- Option tables ({bias = false}, {stride = 2}, {reduction = "sum"}): every
-- layer and loss reads them through one reader in C, which refuses an
-- unknown option by name and lists the ones the kind takes.  The lists
-- are read from each kind's signature (core.layers(), core.losses(): what
-- nn.help prints), so a new kind is checked too.  Issue #21 §4: Conv2d's
-- reader matched an option as a substring of its list, so {put = ...}
-- set input and {adding = 1} said "option input must be ...".
local nn = require "nn"
local core = require "nn.core"
local H = require "helpers"
local err, has = H.err, H.has

-- a kind's required arguments (all 1 will do) and its option names, from
-- its signature: "nn.Conv2d(inC, outC, k [, {stride = 1, ...}])"
local function options(sig)
   local inside = assert(sig:match("^nn%.%w+%((.*)%)$"), sig)
   local head = inside:match("^([^%[]*)")
   local args = {}
   for _ in head:gmatch("[%w_]+") do args[#args + 1] = 1 end
   local opts = inside:match("{(.*)}")
   if not opts then return nil end
   local names = {}
   for n in opts:gmatch("(%a+)%s*=") do names[#names + 1] = n end
   if #names == 0 then names[1] = opts:match("^(%a+)$") end
   return args, names
end

local kinds = {}
for _, k in ipairs(core.layers()) do
   local args, names = options(k.sig)
   if names then kinds[#kinds + 1] = {name = k.name, args = args, names = names} end
end
for _, k in ipairs(core.losses()) do
   local args, names = options(k.sig)
   kinds[#kinds + 1] = {name = k.name, args = args, names = names}
end

-- keys a loose matcher would take for one of names: every part of each
-- name that is not a name itself, each name with a letter more, capitalised
local function nearmisses(names)
   local is, out = {}, {}
   for _, n in ipairs(names) do is[n] = true end
   for _, n in ipairs(names) do
      for i = 1, #n do
         for j = i, #n do
            local s = n:sub(i, j)
            if not is[s] then out[s] = true end
         end
      end
      out[n .. "s"] = true
      out[n:sub(1, 1):upper() .. n:sub(2)] = true
   end
   return out
end

local function call(k, opts)
   local args = {}
   for i, a in ipairs(k.args) do args[i] = a end
   args[#args + 1] = opts
   return nn[k.name], (table.unpack or unpack)(args, 1, #args)
end

describe("option tables", function()
   it("every kind with options is checked (the signatures list them)", function()
      local seen = {}
      for _, k in ipairs(kinds) do seen[k.name] = table.concat(k.names, ", ") end
      assert.are.equal("bias, init, sequence", seen.Linear)
      assert.are.equal("stride, padding, dilation, bias, init, input", seen.Conv2d)
      assert.are.equal("stride, padding, dilation, input", seen.MaxPool2d)
      assert.are.equal("stride, padding, countIncludePad, input", seen.AvgPool2d)
      assert.are.equal("eps, momentum, affine", seen.BatchNorm1d)
      assert.are.equal("eps, momentum, affine, input", seen.BatchNorm2d)
      assert.are.equal("approximate", seen.GELU)
      assert.are.equal("reduction", seen.MSELoss)
      assert.are.equal("reduction, ignoreIndex, sequence", seen.CrossEntropyLoss)
      assert.are.equal("paddingIndex, maxNorm, normType", seen.Embedding)
      assert.are.equal("eps, affine, bias", seen.LayerNorm)
   end)

   it("an unknown option is an error naming it and listing the kind's", function()
      for _, k in ipairs(kinds) do
         local tail = "(expected " .. table.concat(k.names, ", ") .. ")"
         for key in pairs(nearmisses(k.names)) do
            has(err(call(k, {[key] = 1})), ("nn.%s: unknown option '%s' %s"):format(k.name, key, tail))
         end
         has(err(call(k, {1})), ("nn.%s: unknown option '1' %s"):format(k.name, tail))
         has(err(call(k, {[""] = true})), ("nn.%s: unknown option '' %s"):format(k.name, tail))
      end
   end)

   it("a part of an option's name is not that option (issue #21)", function()
      has(err(nn.Conv2d, 1, 8, 3, {put = {1, 8, 8}}), "nn.Conv2d: unknown option 'put'")
      has(err(nn.Conv2d, 1, 8, 3, {adding = 1}), "nn.Conv2d: unknown option 'adding'")
      has(err(nn.MaxPool2d, 2, {ide = 1}), "nn.MaxPool2d: unknown option 'ide'")
      has(err(nn.AvgPool2d, 2, {Pad = true}), "nn.AvgPool2d: unknown option 'Pad'")
   end)

   it("every known option still works", function()
      assert.are.equal(8 * 6 * 6, nn.Conv2d(1, 8, 3, {input = {1, 8, 8}}).nout)
      assert.are.equal("nn.Conv2d(1 -> 8, 3x3, stride 2, pad 1, dilation 2, no bias)",
         tostring(nn.Conv2d(1, 8, 3, {stride = 2, padding = 1, dilation = 2, bias = false,
                                      init = "zeros", input = {8, 8}})))
      assert.are.equal("nn.AvgPool2d(2x2, pad 1, padding not counted)",
         tostring(nn.AvgPool2d(2, {stride = 2, padding = 1, countIncludePad = false, input = {1, 4, 4}})))
      assert.are.equal("nn.MaxPool2d(3x3, stride 1, dilation 2)",
         tostring(nn.MaxPool2d(3, {stride = 1, padding = 0, dilation = 2})))
      assert.are.equal("nn.Linear(2 -> 3, no bias)", tostring(nn.Linear(2, 3, {bias = false, init = "xavier"})))
      assert.are.equal("nn.BatchNorm2d(2, eps 0.001, momentum 0.5, no affine)",
         tostring(nn.BatchNorm2d(2, {eps = 1e-3, momentum = 0.5, affine = false, input = {2, 3, 3}})))
      assert.are.equal("nn.GELU(tanh)", tostring(nn.GELU{approximate = "tanh"}))
      assert.are.equal("sum", nn.MSELoss{reduction = "sum"}.reduction)
   end)

   it("a value of the wrong kind is named with what it must be", function()
      for _, name in ipairs{"Linear", "Conv2d"} do
         local k
         for _, c in ipairs(kinds) do if c.name == name then k = c end end
         has(err(call(k, {bias = 1})), "nn." .. name .. ": option bias must be a boolean")
         has(err(call(k, {init = "he"})), "nn." .. name .. [[: option init must be "kaiming", "xavier", "uniform" or "zeros"]])
      end
      has(err(nn.BatchNorm1d, 2, {affine = "yes"}), "nn.BatchNorm1d: option affine must be a boolean")
      has(err(nn.AvgPool2d, 2, {countIncludePad = 0}), "nn.AvgPool2d: option countIncludePad must be a boolean")
      has(err(nn.GELU, {approximate = "fast"}), [[nn.GELU: option approximate must be "none" or "tanh"]])
      has(err(nn.GELU, {approximate = 1}), [[nn.GELU: option approximate must be "none" or "tanh"]])
      has(err(nn.NLLLoss, {reduction = "none"}), [[nn.NLLLoss: option reduction must be "mean" or "sum"]])
      has(err(nn.Linear, 2, 3, 5), "table expected, got number")
   end)
end)
