-- nn.export's writers of the sequence stages (lua/nn/export_code.lua has
-- the others and Gen, the g of each): Linear on each step, LayerNorm,
-- Embedding, the recurrent layers (RNN, LSTM, GRU) and the softmaxes.  A
-- sequence stage takes rows of any count of steps of its step's width.
local num = require("nn.export_math").num

local fmt = string.format

local EMIT = {}

local function stepcheck(g, step)
   if step == 1 then return end
   g:line("      if n %% %d ~= 0 then", step)
   g:line("         error(\"model.forward: \" .. n .. \" values are not steps of %d\", 0)", step)
   g:line("      end")
end

-- Linear on each step: the loops of a Linear, once a step
function EMIT.steplinear(g, node)
   local nin, nout, b = node.nin, node.nout, node.b
   local k = g:open(node)
   g:data("W", node.W)
   if b then g:data("b", b) end
   g:line("   local y = {}")
   g:line("   return function(x, n)")
   stepcheck(g, nin)
   g:line("      local yo = 0")
   g:line("      for xo = 0, n - %d, %d do", nin, nin)
   g:line("         for j = 1, %d do", nout)
   g:line("            local v, o = %s, (j - 1) * %d", b and "b[j]" or "0.0", nin)
   g:line("            for i = 1, %d do v = v + W[o + i] * x[xo + i] end", nin)
   if node.chain then g:line(g:chain(node.chain, "            ")) end
   g:line("            y[yo + j] = v")
   g:line("         end")
   g:line("         yo = yo + %d", nout)
   g:line("      end")
   g:close("y, yo")
   return k
end

-- each step by its own mean and biased variance, as k_norm.c
function EMIT.layernorm(g, node)
   local D = node.D
   local k = g:open(node)
   if node.gamma then g:data("gamma", node.gamma) end
   if node.beta then g:data("beta", node.beta) end
   g:line("   local y = {}")
   g:line("   return function(x, n)")
   stepcheck(g, D)
   g:line("      for o = 0, n - %d, %d do", D, D)
   g:line("         local s, q = 0.0, 0.0")
   g:line("         for j = o + 1, o + %d do s = s + x[j] end", D)
   g:line("         local mu = s / %d", D)
   g:line("         for j = o + 1, o + %d do", D)
   g:line("            local d = x[j] - mu")
   g:line("            q = q + d * d")
   g:line("         end")
   g:line("         local is = 1 / sqrt(q / %d + %s)", D, num(node.eps))
   g:line("         for j = 1, %d do", D)
   local v = "(x[o + j] - mu) * is"
   if node.gamma then v = v .. " * gamma[j]" end
   if node.beta then v = v .. " + beta[j]" end
   g:line("            local v = %s", v)
   if node.chain then g:line(g:chain(node.chain, "            ")) end
   g:line("            y[o + j] = v")
   g:line("         end")
   g:line("      end")
   g:close("y, n")
   return k
end

-- each id's row of the weight (renormalized to maxNorm when longer, as
-- the C path's forward leaves it); ids are whole numbers from 1 to num
function EMIT.embedding(g, node)
   local D, ids = node.D, node.num
   local k = g:open(node)
   g:data("W", node.W)
   g:line("   local y = {}")
   g:line("   return function(x, n)")
   g:line("      for t = 1, n do")
   g:line("         local id = x[t]")
   g:line("         if id ~= id or id < 1 or id > %d or id %% 1 ~= 0 then", ids)
   g:line("            error(\"model.forward: id \" .. tostring(id) .. \" at \" .. t .. \", expected a whole number \"")
   g:line("               .. \"from 1 to %d\", 0)", ids)
   g:line("         end")
   g:line("         local o, d = (id - 1) * %d, (t - 1) * %d", D, D)
   if node.maxnorm then
      g:line("         local norm, scale = 0.0, 1.0")
      if node.p == math.huge then
         g:line("         for j = 1, %d do", D)
         g:line("            local a = W[o + j]")
         g:line("            if a < 0 then a = -a end")
         g:line("            if a > norm then norm = a end")
         g:line("         end")
      else
         g:line("         for j = 1, %d do", D)
         g:line("            local a = W[o + j]")
         g:line("            if a < 0 then a = -a end")
         g:line("            norm = norm + a ^ %s", num(node.p))
         g:line("         end")
         g:line("         norm = norm ^ (1 / %s)", num(node.p))
      end
      g:line("         if norm > %s then scale = %s / (norm + 1e-7) end", num(node.maxnorm), num(node.maxnorm))
   end
   g:line("         for j = 1, %d do", D)
   g:line("            local v = W[o + j]%s", node.maxnorm and " * scale" or "")
   if node.chain then g:line(g:chain(node.chain, "            ")) end
   g:line("            y[d + j] = v")
   g:line("         end")
   g:line("      end")
   g:close(fmt("y, n * %d", D))
   return k
end

-- A recurrent layer: each layer and direction in turn over the steps,
-- PyTorch's equations (as csrc/k_rnn.c) in double.  The state of each
-- layer and direction stays in the stage between calls: model.forward
-- starts from zeros, model.step (CARRY) from where the last call ended.
local CELLS = {
   tanh = {G = 1, helper = "tanh", body = [[
         for j = 1, H do h[j] = tanh(gx[j]) end]]},
   relu = {G = 1, body = [[
         for j = 1, H do
            local v = gx[j]
            h[j] = v > 0 and v or 0.0
         end]]},
   lstm = {G = 4, helper = "tanh", body = [[
         for j = 1, H do
            local i, f = sig(gx[j]), sig(gx[H + j])
            local gg, o = tanh(gx[2 * H + j]), sig(gx[3 * H + j])
            local cc = f * c[j] + i * gg
            c[j] = cc
            h[j] = o * tanh(cc)
         end]]},
   gru = {G = 3, helper = "tanh", body = [[
         for j = 1, H do
            local r, z = sig(gx[j] + gh[j]), sig(gx[H + j] + gh[H + j])
            local nn = tanh(gx[2 * H + j] + r * gh[2 * H + j])
            h[j] = (1 - z) * nn + z * h[j]
         end]]},
}

function EMIT.rnn(g, node)
   local H, D, L, dirs = node.H, node.D, node.L, node.dirs
   local cell = CELLS[node.cell]
   local G, Hd = cell.G, node.dirs * node.H
   local GH, bias = G * H, node.w[1][3] ~= nil
   local k = g:open(node)
   if cell.helper then g.helpers[cell.helper] = true end
   g.recurrent = true
   g:line("   local P = {}")
   for i, w in ipairs(node.w) do
      g:line("   do")
      g.pad = "   "
      g:data("Wi", w[1])
      g:data("Wh", w[2])
      if bias then
         g:data("Bi", w[3])
         g:data("Bh", w[4])
      end
      g:line("   P[%d] = {Wi, Wh%s}", i, bias and ", Bi, Bh" or "")
      g.pad = ""
      g:line("   end")
   end
   g:line("   local H, G = %d, %d", H, GH)
   g:line("   local gx, gh, y = {}, {}, {}")
   g:line("   local function sig(v)")
   g:line("      if v >= 0 then return 1 / (1 + exp(-v)) end")
   g:line("      local e = exp(v)")
   g:line("      return e / (1 + e)")
   g:line("   end")
   -- the states (h, c) of each layer and direction, and each layer's outputs
   g:line("   local S, OUT = {}, {}")
   g:line("   local function zero()")
   g:line("      for k = 1, %d do", L * dirs)
   g:line("         local s = S[k]")
   g:line("         for j = 1, H do s[1][j], s[2][j] = 0.0, 0.0 end")
   g:line("      end")
   g:line("   end")
   g:line("   for k = 1, %d do S[k] = {{}, {}} end", L * dirs)
   g:line("   for l = 1, %d do OUT[l] = {} end", L)
   g:line("   zero()")
   g:line("   RESETS[#RESETS + 1] = zero")
   -- one direction of one layer over T steps of Din values in x; outputs
   -- at out[(t - 1) * Hd + off + j]
   g:line("   local function run(w, x, Din, T, s, out, off, rev)")
   g:line("      local Wi, Wh%s = w[1], w[2]%s", bias and ", Bi, Bh" or "", bias and ", w[3], w[4]" or "")
   g:line("      local h, c = s[1], s[2]")
   g:line("      for step = 1, T do")
   g:line("         local t = rev and T - step + 1 or step")
   g:line("         local xo = (t - 1) * Din")
   g:line("         for r = 1, G do")
   g:line("            local a, b, oi, oh = %s, %s, (r - 1) * Din, (r - 1) * H",
      bias and "Bi[r]" or "0.0", bias and "Bh[r]" or "0.0")
   g:line("            for i = 1, Din do a = a + Wi[oi + i] * x[xo + i] end")
   g:line("            for i = 1, H do b = b + Wh[oh + i] * h[i] end")
   if node.cell == "gru" then
      g:line("            gx[r], gh[r] = a, b")
   else
      g:line("            gx[r] = a + b")
   end
   g:line("         end")
   g:line(cell.body)
   g:line("         local o = (t - 1) * %d + off", Hd)
   g:line("         for j = 1, H do out[o + j] = h[j] end")
   g:line("      end")
   g:line("   end")
   g:line("   return function(x, n)")
   stepcheck(g, D)
   g:line("      local T = floor(n / %d)", D)
   g:line("      if not CARRY then zero() end")
   g:line("      local input, Din = x, %d", D)
   g:line("      for l = 1, %d do", L)
   g:line("         local out = OUT[l]")
   for d = 1, dirs do
      g:line("         run(P[(l - 1) * %d + %d], input, Din, T, S[(l - 1) * %d + %d], out, %d, %s)",
         dirs, d, dirs, d, (d - 1) * H, d == 2 and "true" or "false")
   end
   g:line("         input, Din = out, %d", Hd)
   g:line("      end")
   if node.last then            -- the top layer's final states
      for d = 1, dirs do
         g:line("      do")
         g:line("         local h = S[%d][1]", (L - 1) * dirs + d)
         g:line("         for j = 1, H do y[%d + j] = h[j] end", (d - 1) * H)
         g:line("      end")
      end
      if node.chain then g:chainloop(node.chain, Hd) end
      g:close(fmt("y, %d", Hd))
   else
      if node.chain then
         g:line("      y = input")
         g:chainloop(node.chain, "T * " .. Hd)
      end
      g:close(fmt("input, T * %d", Hd))
   end
   return k
end

-- over the whole sample (a row of the C path's batch), as k_layers.c
local function softmaxes(g, node, log)
   local k = g:open(node)
   g:line("   local y = {}")
   g:line("   return function(x, n)")
   g:line("      local m = x[1]")
   g:line("      for i = 2, n do")
   g:line("         if x[i] > m then m = x[i] end")
   g:line("      end")
   g:line("      local s = 0.0")
   if log then
      g:line("      for i = 1, n do s = s + exp(x[i] - m) end")
      g:line("      local lse = m + log(s)")
      g:line("      for i = 1, n do y[i] = x[i] - lse end")
   else
      g:line("      for i = 1, n do")
      g:line("         local e = exp(x[i] - m)")
      g:line("         y[i] = e")
      g:line("         s = s + e")
      g:line("      end")
      g:line("      for i = 1, n do y[i] = y[i] / s end")
   end
   g:chainloop(node.chain, "n")
   g:close("y, n")
   return k
end
function EMIT.softmax(g, node) return softmaxes(g, node, false) end
function EMIT.logsoftmax(g, node) return softmaxes(g, node, true) end

return EMIT
