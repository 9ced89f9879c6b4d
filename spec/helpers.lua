-- Shared helpers for the specs.
local nn = require "nn"

local H = {}

-- Largest elementwise |a - b| / max(1, |b|); a and b are Matrices or nested
-- tables of the same shape.
function H.maxrel(a, b)
   if nn.isMatrix(a) then a = a:totable() end
   if nn.isMatrix(b) then b = b:totable() end
   assert(#a == #b, ("row counts differ: %d vs %d"):format(#a, #b))
   local worst = 0
   for i = 1, #a do
      assert(#a[i] == #b[i], ("row %d lengths differ"):format(i))
      for j = 1, #a[i] do
         local d = math.abs(a[i][j] - b[i][j]) / math.max(1, math.abs(b[i][j]))
         if d ~= d then d = math.huge end
         if d > worst then worst = d end
      end
   end
   return worst
end

-- assert that a and b agree to tol (default 1e-6, relative above 1)
function H.near(a, b, tol)
   local e = H.maxrel(a, b)
   assert(e <= (tol or 1e-6), ("matrices differ: max relative error %g > %g")
      :format(e, tol or 1e-6))
end

-- Runs a Lua chunk in a child lua5.4 with this tree on its paths; returns
-- ok (exit status 0), and everything it printed.  A crash in C fails the
-- spec instead of killing busted.
function H.child(code, prefix)
   local f = os.tmpname()
   local h = assert(io.open(f, "w"))
   h:write(code)
   h:close()
   local cmd = ("%sLUA_PATH='./lua/?.lua;./lua/?/init.lua;./spec/?.lua;;' "
      .. "LUA_CPATH='./lua/?.so;;' lua5.4 %s 2>&1"):format(prefix or "", f)
   local p = io.popen(cmd)
   local out = p:read("a")
   local ok = p:close()
   os.remove(f)
   return ok, out
end

-- Is /usr/bin/python3 with torch present?  Cached per run.
local torch_ok
function H.have_torch()
   if torch_ok == nil then
      local p = io.popen("/usr/bin/python3 -c 'import torch' 2>/dev/null && echo yes")
      torch_ok = p and p:read("a"):match("yes") ~= nil or false
      if p then p:close() end
   end
   return torch_ok
end

return H
