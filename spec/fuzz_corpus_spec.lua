-- Every input the fuzzer kept (fuzz/corpus: what reached new code;
-- fuzz/regressions: inputs that once crashed it) must load or fail with
-- the reader's own error, on every test run: nn.deserialize, nn.npy and
-- nn.safetensors each see every input, as in the fuzz target.
local nn = require "nn"

describe("the fuzzer's corpus", function()
   local files = {}
   for _, dir in ipairs{"fuzz/corpus", "fuzz/regressions"} do
      local p = io.popen("ls " .. dir .. " 2>/dev/null")
      for name in p:lines() do
         if name:sub(1, 1) ~= "." then files[#files + 1] = dir .. "/" .. name end
      end
      p:close()
   end

   it("loads or is refused cleanly, input by input", function()
      assert.is_true(#files > 10)
      local loaded = 0
      for _, path in ipairs(files) do
         local f = assert(io.open(path, "rb"))
         local s = f:read("*a")
         f:close()
         for prefix, decode in pairs{["nn.npy.decode: "] = nn.npy.decode,
                                     ["nn.safetensors.decode: "] = nn.safetensors.decode} do
            local ok, err = pcall(decode, s)
            assert.truthy(ok or err:sub(1, #prefix) == prefix, path .. ": " .. tostring(err))
         end
         local ok, net = pcall(nn.deserialize, s)
         if ok then
            loaded = loaded + 1
            assert.is_string(tostring(net))
         else
            assert.truthy(net:find("^nn.deserialize: the string: "), path .. ": " .. net)
         end
      end
      assert.is_true(loaded > 0)
   end)
end)
