-- The examples are part of the product: each must run and converge.
local H = require "helpers"

local function run(script, args)
   return H.child(("arg = {[0] = %q%s}\ndofile(%q)"):format(script,
      args and (", " .. args) or "", script))
end

describe("examples", function()
   it("xor.lua learns XOR", function()
      local ok, out = run("examples/xor.lua")
      assert.is_true(ok, out)
      assert.truthy(out:find("converged: all four cases right", 1, true), out)
   end)

   it("perceptron.lua converges with the perceptron rule", function()
      local ok, out = run("examples/perceptron.lua")
      assert.is_true(ok, out)
      assert.truthy(out:find("converged: w = ", 1, true), out)
   end)

   it("sine.lua fits sin(pi x) to a small L1 error", function()
      local ok, out = run("examples/sine.lua")
      assert.is_true(ok, out)
      local mean = tonumber(out:match("final error: mean ([%d.]+)"))
      assert.is_true(mean ~= nil and mean < 0.05, out)
   end)
end)
