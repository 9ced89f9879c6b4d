-- nn.help covers every row of the README's API tables, and every entry
-- names something that exists: the two cannot drift apart.
local nn = require "nn"
local help = require "nn.help"
local H = require "helpers"

-- the help key for a code span of a README table's first column
local function key(span)
   local sub = span:match("^nn%.Matrix%.([%w_]+)")
   if sub then return "nn.Matrix." .. sub end
   if span:find("^nn%.Matrix[%({]") then return "nn.Matrix" end
   local name = span:match("^nn%.([%w_]+)")
   if name then return "nn." .. name end
   name = span:match("^[ACv]:([%w_]+)")
   if name then return "Matrix:" .. name end
   name = span:match("^m:([%w_]+)")
   if name then return "module:" .. name end
   name = span:match("^cm:([%w_]+)")
   if name then return "ConfusionMatrix:" .. name end
   if span:find("^opt%.") then return "optimizer fields" end
   if span:find('^require%("nn%.progress"%)') then return "progress" end
   name = span:match("^mnist%.([%w_]+)")
   if name then return "mnist." .. name end
   name = span:match("^image%.([%w_]+)")
   if name then return "image." .. name end
   if span:find('^require%("nn%.plot"%)%.lines') then return "plot.lines" end
   if span:find('^require%("nn%.plot"%)%.chart') then return "plot.chart" end
   name = span:match("^c:([%w_]+)")
   if name then return "chart:" .. ((name == "svg" or name == "png") and "save" or name) end
   return "Matrix operators"          -- A + B, -A, #A, A ^ p, tostring(A)
end

local function readme_keys()
   local f = assert(io.open("README.md"))
   local text = f:read("*a")
   f:close()
   local api = assert(text:match("\n## API\n(.-)\n## [^#]"), "no API section in the README")
   local keys, rows = {}, 0
   for line in api:gmatch("[^\n]+") do
      if line:find("^| `") then
         rows = rows + 1
         local first = line:gsub("\\|", "/"):match("^| (.-) |")
         for span in first:gmatch("`([^`]+)`") do keys[#keys + 1] = {key(span), span} end
      end
   end
   return keys, rows
end

describe("nn.help", function()
   it("and the docs' layer lists come from the registry and are up to date (make docs)", function()
      local ok, out = H.run(H.lua .. " tools/gendocs.lua --check")
      assert.is_true(ok, out)
      for _, k in ipairs(require("nn.layers").builtin()) do
         assert.truthy(help.entries["nn." .. k.name], k.name .. " has no help entry")
      end
   end)

   it("has an entry for every name in the README's API tables", function()
      local keys, rows = readme_keys()
      assert.is_true(rows > 50, "found only " .. rows .. " API rows")
      for _, k in ipairs(keys) do
         assert.truthy(help.entries[k[1]], ("README's `%s` (%s) has no nn.help entry"):format(k[2], k[1]))
      end
   end)

   it("names only things that exist", function()
      local mnist, image, plot = require "nn.mnist", require "nn.image", require "nn.plot"
      for _, k in ipairs(help.order) do
         local v
         if k == "Matrix operators" then v = getmetatable(nn.Matrix(1, 1)).__add
         elseif k == "nn.core" then v = require "nn.core"
         elseif k:find("^nn%.Matrix%.") then v = nn.Matrix[k:match("%.([%w_]+)$")]
         elseif k:find("^nn%.") then v = nn[k:sub(4)]
         elseif k:find("^Matrix:") then v = nn.Matrix[k:sub(8)]
         elseif k:find("^mnist%.") then v = mnist[k:sub(7)]
         elseif k:find("^image%.") then v = image[k:sub(7)]
         elseif k:find("^plot%.") then v = plot[k:sub(6)]
         elseif k:find("^module:") then v = nn.Linear(1, 1)[k:sub(8)] or nn.MaxPool2d(2)[k:sub(8)]
         elseif k:find("^recurrent:") then v = nn.LSTM(1, 1)[k:sub(11)]
         elseif k:find("^ConfusionMatrix:") then v = nn.ConfusionMatrix(2)[k:sub(17)]
         elseif k:find("^chart:") then v = plot.chart()[k:sub(7)]
         elseif k == "optimizer fields" then
            local o = nn.SGD(nn.Linear(1, 1), {lr = 0.1})
            v = o.lr and o.t and o.params and o.grads
         elseif k == "progress" then v = require("nn.progress").new
         end
         assert.truthy(v, k .. " is in nn.help but does not exist")
      end
   end)

   it("answers by name, short name, or value, and lists everything", function()
      assert.truthy(help.text("nn.Linear"):find("^nn%.Linear%(nin, nout"))
      assert.are.equal(help.text("nn.Linear"), help.text("Linear"))
      assert.are.equal(help.text("Linear"), help.text(nn.Linear))
      assert.truthy(help.text("get"):find("A:get(i, j)", 1, true))
      assert.truthy(help.text(nn.Matrix.narrow):find("Torch7", 1, true))
      local all = help.text()
      for _, k in ipairs(help.order) do assert.truthy(all:find(k, 1, true), k) end
      -- an unknown name is answered, not raised (formats_hostile_spec.lua)
      local text = help.text("nosuch")
      assert.truthy(text:find('nn.help: there is no topic "nosuch".', 1, true), text)
      assert.truthy(text:find(help.text():match("\n(.*)$"), 1, true), text)
   end)
end)
