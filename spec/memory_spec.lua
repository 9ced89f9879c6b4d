-- Memory refused: every block nn.core asks for on a caller's behalf is
-- made in protected mode, and a refusal says who asked, what for and how
-- much, where Lua alone says "not enough memory".  Each case runs in a
-- child under a ulimit; not under a sanitizer or valgrind, which reserve
-- memory of their own.
local H = require "helpers"

describe("a refused allocation", function()
   local limit_test = H.sanitized and pending or it
   limit_test("names the function, the block and its size"
      .. (H.sanitized and " (not under " .. H.sanitized .. ")" or ""), function()
      local ok, out = H.child([[
         local nn = require "nn"
         -- Conv2d's im2col scratch: one pixel, a 200 x 200 kernel,
         -- padding 199: 40000 x 40000 floats; twice (nothing half made)
         local m = nn.Conv2d(1, 1, 200, {padding = 199, input = {1, 1, 1}})
         print(pcall(m.forward, m, nn.ones(1, 1)))
         print(pcall(m.forward, m, nn.ones(1, 1)))
         print(pcall(m.backward, m, nn.ones(1, 1), nn.ones(1, 40000)))
         -- the column Matrix:max(1) reduces through
         local x = nn.Matrix(100000000, 1)
         print(pcall(x.max, x, 1))
         x = nil
         collectgarbage()
         -- a loss's buffer of labels
         local z, y = nn.Matrix(50000000, 2), nn.ones(50000000, 1)
         print(pcall(function() return nn.CrossEntropyLoss():forward(z, y) end))
         z, y = nil, nil
         collectgarbage()
         -- strings built from a Matrix, a file or a compression
         local w = nn.Matrix(60000000, 1)
         print(pcall(w.tobytes, w))
         w = nil
         collectgarbage()
         local f = os.tmpname()
         os.execute("truncate -s 1G " .. f)
         print(pcall(require("nn.core").readfile, f))
         os.remove(f)
         collectgarbage()
         -- and the state still works
         print(nn.Conv2d(1, 1, 1, {input = {1, 2, 2}, init = "zeros"}):forward(nn.ones(1, 4)):sum())
      ]], "ulimit -v 700000; OPENBLAS_NUM_THREADS=1 ", nil, 120)
      assert.is_true(ok, out)
      local scratch = H.lua == "luajit" and "LuaJIT's largest userdata is 2 GB" or "not enough memory"
      H.has(out, "false\tConv2d:forward: scratch of 1600000000 floats (6103 MB) refused: " .. scratch
         .. "\nfalse\tConv2d:forward: scratch of 1600000000 floats (6103 MB) refused: " .. scratch)
      H.has(out, "false\tConv2d:backward: scratch of 1600000000 floats (6103 MB) refused: " .. scratch)
      H.has(out, "false\tMatrix:max: a column buffer of 100000000 floats (381 MB) refused: not enough memory")
      H.has(out, "CrossEntropyLoss:forward: a buffer of 50000000 labels (190 MB) refused: not enough memory")
      H.has(out, "false\tMatrix:tobytes: a string of 240000000 bytes (228 MB) refused: not enough memory")
      assert.truthy(out:find("false\treadfile: the contents of [^\n]* refused: not enough memory"), out)
      assert.truthy(out:find("\n0%.?0?\n$"), out)
   end)
end)
