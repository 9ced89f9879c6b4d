-- Every input the fuzzer kept (fuzz/corpus: what reached new code;
-- fuzz/regressions: inputs that once crashed it), and every seed
-- fuzz/seeds.lua writes, must load or fail with the reader's own error, on
-- every test run: nn.deserialize, nn.npy, nn.safetensors and nn.json each
-- see every input, with the fuzz target's checks (fuzz/fuzz_load.c) and
-- its registered layer (fuzz/layer.lua).
local nn = require "nn"
local H = require "helpers"
local json, util = require "nn.json", require "nn.util"

dofile("fuzz/layer.lua")(nn)

-- the fuzz target's driver, as a spec: nil, or what is wrong
local function check(s)
   local ok, t, info = pcall(nn.safetensors.decode, s)
   if ok then
      for name, M in pairs(t) do
         if util.numel(info[name].shape) ~= M:numel() then
            return ("safetensors: tensor %q has %d elements, its shape %s"):format(name,
               M:numel(), util.shapestr(info[name].shape))
         end
      end
   elseif type(t) ~= "string" or t:sub(1, 23) ~= "nn.safetensors.decode: " then
      return "safetensors: " .. tostring(t)
   end
   ok, t = pcall(nn.npy.decode, s)
   if not ok and (type(t) ~= "string" or t:sub(1, 15) ~= "nn.npy.decode: ") then
      return "npy: " .. tostring(t)
   end
   ok, t = pcall(json.decode, s)
   if not ok then return "json.decode raised: " .. tostring(t) end
   local net
   ok, net = pcall(nn.deserialize, s)
   if not ok then
      if type(net) ~= "string" or not net:find("^nn.deserialize: the string: ") then
         return "deserialize: " .. tostring(net)
      end
      return nil, false
   end
   local printed, e = pcall(tostring, net)
   if not printed then return "a loaded network's tostring raised: " .. tostring(e) end
   return nil, true
end

-- as the fuzz target tries every input: as it is, and with the model
-- header's payload length and CRC-32 made right
local function check2(s)
   local wrong, built = check(s)
   if wrong or #s < 24 then return wrong, built end
   local body = s:sub(25)
   local fixed = s:sub(1, 12) .. H.strpack("<I4I8", require("nn.core").crc32(body), #body) .. body
   local wrong2, built2 = check(fixed)
   return wrong2 and "(fixed) " .. wrong2, built or built2
end

local function ls(dir)
   local files = {}
   local p = io.popen("ls " .. dir .. " 2>/dev/null")
   for name in p:lines() do
      if name:sub(1, 1) ~= "." then files[#files + 1] = dir .. "/" .. name end
   end
   p:close()
   return files
end

describe("the fuzzer's corpus", function()
   it("loads or is refused cleanly, input by input", function()
      local files = ls("fuzz/corpus")
      for _, f in ipairs(ls("fuzz/regressions")) do files[#files + 1] = f end
      assert.is_true(#files > 10)
      local loaded = 0
      for _, path in ipairs(files) do
         local wrong, ok = check2(H.read(path))
         assert.is_nil(wrong, path .. ": " .. tostring(wrong))
         if ok then loaded = loaded + 1 end
      end
      assert.is_true(loaded > 0)
   end)

   it("and the seeds fuzz/seeds.lua writes, the hostile ones included", function()
      local dir = H.tmpdir()
      local ok, out = H.run(("%s%s fuzz/seeds.lua '%s'"):format(H.env(), H.lua, dir))
      assert.is_true(ok, out)
      local files = ls(dir)
      assert.is_true(#files >= 19, #files .. " seeds")
      local loaded = {}
      for _, path in ipairs(files) do
         local wrong, built = check2(H.read(path))
         assert.is_nil(wrong, path .. ": " .. tostring(wrong))
         loaded[path:match("[^/]+$")] = built
      end
      -- the registered layer's models build; 2^53 + 1 only where it is exact
      assert.is_true(loaded["registered.nn"])
      assert.is_true(loaded["registered_single.nn"])
      assert.are.equal(H.integers, loaded["int2p53.nn"])
      os.execute("rm -rf '" .. dir .. "'")
   end)
end)
