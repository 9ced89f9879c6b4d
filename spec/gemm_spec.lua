-- The own SGEMM (csrc/k_gemm.c), which `make BLAS=none` builds the core
-- on: k_sgemm against a naive product in C, once per micro-kernel this
-- CPU can run (NN_GEMM forces one); the core under test through
-- Matrix:gemm; and the BLAS=none core itself (no BLAS, no zlib to load,
-- under 1 MB).
local nn = require "nn"
local H = require "helpers"

describe("k_sgemm", function()
   local exe = os.tmpname()
   local cc = os.getenv("CC") or "cc"
   local flags = H.sanitized == "asan"
      and "-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined"
      or "-O2"
   -- valgrind has no AVX-512 (its CPUID hides it) and would take minutes
   -- over the naive loops (and the compiler): the sanitizers' run covers
   -- this part instead
   local built, out = false, "under valgrind"
   if H.sanitized ~= "valgrind" then
      -- not the compiler under make check-asan's preloaded sanitizers
      built, out = H.run(("env -u LD_PRELOAD %s %s -std=c99 -Wall -Wextra -Werror -I%s/csrc -o %s %s/spec/tools/gemm_check.c %s/csrc/k_gemm.c %s/csrc/k_gemm_kernels.c -lm")
         :format(cc, flags, H.top, exe, H.top, H.top, H.top))
   end
   local test = built and it or pending

   for _, k in ipairs(H.kernels()) do
      test("matches a naive product on awkward shapes, kernel " .. k, function()
         local ok, res = H.run(("NN_GEMM=%s %s 2"):format(k, exe))
         assert.truthy(res:find("kernel " .. k .. "\n", 1, true), res)
         assert.truthy(res:find(" cases, 0 bad", 1, true), res)
         assert.is_true(ok, res)
      end)
   end

   test("picks the best kernel the CPU has unless told", function()
      local ks = H.kernels()
      local _, res = H.run(("env -u NN_GEMM %s 9"):format(exe))
      assert.truthy(res:find("kernel " .. ks[#ks] .. "\n", 1, true), res)
      -- a kernel the CPU lacks, or a misspelt one, falls back to the best
      _, res = H.run(("NN_GEMM=sse9 %s 9"):format(exe))
      assert.truthy(res:find("kernel " .. ks[#ks] .. "\n", 1, true), res)
   end)

   if not built and H.sanitized ~= "valgrind" then print(out) end
   teardown(function() os.remove(exe) end)
end)

describe("Matrix:gemm", function()
   local function naive(A, B, ta, tb, alpha, beta, C)
      if ta then A = A:t() end
      if tb then B = B:t() end
      local m, k = A:shape()
      local n = select(2, B:shape())
      local a, b, out = A:totable(), B:totable(), {}
      for i = 1, m do
         local row, ai = {}, a[i]
         for j = 1, n do
            local s = 0
            for l = 1, k do s = s + ai[l] * b[l][j] end
            row[j] = alpha * s + (beta ~= 0 and beta * C:get(i, j) or 0)
         end
         out[i] = row
      end
      return out
   end

   -- past the blocking: K over one depth block, M over one row block; one
   -- row or column of output (matrix-vector), rows a multiple of 16 long
   -- (the aligned path) and not
   local shapes = {{70, 45, 300}, {129, 17, 65}, {2, 33, 520}, {300, 40, 9},
                   {33, 2, 257}, {1, 40, 784}, {1, 13, 100}, {37, 1, 256},
                   {21, 1, 33}, {1, 1, 70}}

   it("agrees with a naive product past the blocking, every transpose", function()
      nn.seed(7)
      for _, s in ipairs(shapes) do
         local m, n, k = s[1], s[2], s[3]
         for t = 0, 3 do
            local ta, tb = t % 2 == 1, t >= 2
            local A = ta and nn.randn(k, m) or nn.randn(m, k)
            local B = tb and nn.randn(n, k) or nn.randn(k, n)
            local C = nn.randn(m, n)
            local want = naive(A, B, ta, tb, 0.5, -1, C)
            local what = ("%d x %d x %d, %s %s"):format(m, n, k, tostring(ta), tostring(tb))
            -- float sums of k products: a few ulps times k
            local e = H.maxrel(C:gemm(A, B, 0.5, -1, ta, tb), want)
            assert.is_true(e < 1e-6 * k, what .. ": " .. e)
         end
      end
   end)

   -- the same products with the portable kernel, in a child: a BLAS=none
   -- core must give what the naive product gives there too
   it("agrees with a naive product on the portable kernel", function()
      local ok, out = H.child([[
         local nn = require "nn"
         print(select(2, nn.blas()))
         nn.seed(3)
         local A, B = nn.randn(70, 300), nn.randn(45, 300)
         local C = nn.matmul(A, B, false, true)
         local a, b, worst = A:totable(), B:totable(), 0
         for i = 1, 70 do
            for j = 1, 45 do
               local s = 0
               for l = 1, 300 do s = s + a[i][l] * b[j][l] end
               worst = math.max(worst, math.abs(C:get(i, j) - s) / (1 + math.abs(s)))
            end
         end
         print(worst < 3e-4 and "agrees" or ("differs by " .. worst))
      ]], "NN_GEMM=portable ")
      assert.is_true(ok, out)
      assert.truthy(out:find("agrees", 1, true), out)
      if H.blas == "none" then assert.truthy(out:find("^portable\n"), out) end
   end)
end)

describe("nn.blas and nn.threads", function()
   it("name the build", function()
      local blas, kernel = nn.blas()
      assert.are.equal(H.blas, blas)
      assert.is_string(kernel)
      if blas == "none" then
         local ks = H.kernels()
         assert.are.equal(os.getenv("NN_GEMM") or ks[#ks], kernel)
         -- the state's own threads (pool.c) run the own SGEMM's parts:
         -- the count asked for is the count in force, as with OpenBLAS
         assert.are.equal(2, nn.threads(2))
         assert.are.equal(2, nn.threads())
         assert.are.equal(1, nn.threads(1))
      end
   end)
end)

describe("the BLAS=none core", function()
   local core = ("%s/build/%s-noblas/nn/core.so"):format(H.top, H.lua)
   local f = io.open(core, "rb")
   local size = f and f:seek("end")
   if f then f:close() end
   local test = (f and not H.sanitized) and it or pending

   test("needs only the C library and libm, and is under 1 MB", function()
      local ok, out = H.run("ldd " .. core)
      assert.is_true(ok, out)
      for _, lib in ipairs{"openblas", "blas", "gfortran", "quadmath", "libz", "lapack"} do
         assert.falsy(out:find(lib, 1, true), lib .. " in\n" .. out)
      end
      for line in out:gmatch("[^\n]+") do
         local name = line:match("^%s*(%S+)")
         assert.truthy(name:find("^linux%-vdso") or name:find("^/lib.*/ld%-linux")
            or name:find("^libc%.so") or name:find("^libm%.so")
            or name:find("^libpthread%.so"), line)
      end
      assert.is_true(size < 1024 * 1024, ("%d bytes"):format(size))
   end)
end)

-- The core as it builds where there are no x86 kernels (ARM, wasm, MSVC:
-- NN_GEMM_PORTABLE compiles them out): a macro the x86 part defined and
-- a shared function used left it loading with "undefined symbol: DWPCH",
-- unseen on x86, where every build has them.  Built for lua5.4 at -O0
-- (seconds), warnings as errors; a convolution trains on it.
describe("the core without the x86 kernels", function()
   local test = H.sanitized and pending or it
   test("builds without a warning, loads and trains a Conv2d", function()
      local dir = H.tmpdir()
      local cc = os.getenv("CC") or "cc"
      local ok, out = H.run(("mkdir -p %s/nn && env -u LD_PRELOAD %s -O0 -std=c99 -Wall -Wextra -Werror -fPIC -shared -DNN_GEMM_PORTABLE -DNN_BLAS_NONE -I/usr/include/lua5.4 -I%s/csrc -o %s/nn/core.so %s/csrc/*.c -lz -lm")
         :format(dir, cc, H.top, dir, H.top))
      assert.is_true(ok, out)
      local code = [[
local nn = require "nn"
assert(select(2, nn.blas()) == "portable", select(2, nn.blas()))
local m = nn.Conv2d(2, 16, 5, {padding = 2, input = {2, 9, 9}})
local x = nn.randn(10, 162)
local y = m:forward(x)
m:backward(x, nn.ones(y:shape()))
local s = m.gradWeight:sum()
assert(s == s, "gradient NaN")
print("trained")
]]
      ok, out = H.run(("cd %s && LUA_CPATH='%s/?.so;;' LUA_PATH='lua/?.lua;lua/?/init.lua;;' lua5.4 -e %q")
         :format(H.top, dir, code))
      assert.is_true(ok, out)
      assert.truthy(out:find("trained", 1, true), out)
   end)
end)
