-- A character-level LSTM that makes up names (make names).
--
-- The names are the capitalised words of Debian's American English word
-- list (wamerican: people's and places' names, "Aaron" to "Zurich"), one
-- in ten held out for validation.  Each name is a sequence of letters
-- between two boundary marks (".emma."); the network reads a letter and
-- predicts the next: Embedding(27, 24) -> LSTM(24, 128) -> Linear(128, 27)
-- on every step, trained with cross-entropy (Adam, gradient clipping, a
-- cosine schedule) on batches of names padded to their longest, the
-- padding's targets ignored.  Then it reports bits per character on the
-- held-out names beside the same model trained in PyTorch
-- (examples/names_torch.py: the same initial weights, written here as
-- safetensors, the same batches in the same order, the same optimizer),
-- and makes up names with a temperature, through the C core and through
-- the plain-Lua file nn.export writes (a game without C runs that one:
-- examples/love-names), which must agree name for name.
--
--   lua5.4 examples/names.lua [--words PATH] [--out DIR] [--epochs N]
--   luajit examples/names.lua --generate [--out DIR]   (sampling and timing only)
local here = (arg and arg[0] or ""):match("^(.*)[/\\][^/\\]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local nn = require "nn"
local namegen = require "namegen"

local opts = {words = "/usr/share/dict/american-english", out = "build/names", epochs = 8}
do
   local i = 1
   while arg and arg[i] do
      local a = arg[i]
      if a == "--generate" then opts.generate = true
      elseif a == "--words" or a == "--out" or a == "--epochs" then
         opts[a:sub(3)] = assert(arg[i + 1], a .. " needs a value")
         i = i + 1
      else error("examples/names.lua: unknown argument " .. a, 0) end
      i = i + 1
   end
   opts.epochs = tonumber(opts.epochs)
end

local E, H, V = 24, 128, namegen.VOCAB
local BATCH, LR, CLIP = 32, 5e-3, 1
local LN2 = math.log(2)

-- ---- the data --------------------------------------------------------------

-- the capitalised words, lowercased, in the file's order; every tenth is
-- held out (the twin script splits the same way)
local function readnames(path)
   local f, err = io.open(path)
   if not f then
      error(("examples/names.lua: cannot read the word list (%s); install Debian's wamerican "
         .. "(make names does) or give --words PATH"):format(err), 0)
   end
   local train, val, all = {}, {}, {}
   local k = 0
   for line in f:lines() do
      all[line:lower()] = true
      if line:find("^%u%l+$") then
         k = k + 1
         local w = line:lower()
         if k % 10 == 0 then val[#val + 1] = w else train[#train + 1] = w end
      end
   end
   f:close()
   return train, val, all
end

-- rows first..last of list (in the order idx): ids n x T, the boundary
-- first and as padding; targets n x T, the next id, then 0 (ignored)
local function batch(list, idx, first, last)
   local n, T = last - first + 1, 0
   for k = first, last do T = math.max(T, #list[idx[k]] + 1) end
   local X, Y = nn.Matrix(n, T, namegen.BOUNDARY), nn.Matrix(n, T, 0)
   for r = 1, n do
      local ids = namegen.encode(list[idx[r + first - 1]])
      for t = 1, #ids do
         X:set(r, t + 1, ids[t])
         Y:set(r, t, ids[t])
      end
      Y:set(r, #ids + 1, namegen.BOUNDARY)
   end
   return X, Y
end

-- a permutation of 1..n from uniform(), Fisher and Yates' (the twin
-- script draws the same one)
local function shuffle(n, uniform)
   local p = {}
   for i = 1, n do p[i] = i end
   for i = n, 2, -1 do
      local j = math.floor(uniform() * i) + 1
      p[i], p[j] = p[j], p[i]
   end
   return p
end

-- bits per character over a list of names: every letter and the end
-- mark each count as one prediction
local function bpc(net, list)
   net:evaluate()
   local crit = nn.CrossEntropyLoss{sequence = true, ignoreIndex = 0, reduction = "sum"}
   local idx, total, count = {}, 0, 0
   for i = 1, #list do idx[i] = i end
   for first = 1, #list, 500 do
      local last = math.min(first + 499, #list)
      local X, Y = batch(list, idx, first, last)
      total = total + crit:forward(net:forward(X), Y)
      for k = first, last do count = count + #list[k] + 1 end
   end
   net:training()
   return total / count / LN2
end

-- ---- sampling: the C core and the exported file -------------------------

-- the generator of the network in C: one step of each layer per id
local function cgenerator(net)
   local emb, rnn, lin = net.modules[1], net.modules[2], net.modules[3]
   local x, logits = nn.Matrix(1, 1), {}
   return {
      reset = function() rnn:setState() end,
      step = function(id)
         x:set(1, 1, id)
         local y = lin:forward(rnn:step(emb:forward(x)))
         for j = 1, V do logits[j] = y:get(1, j) end
         return logits
      end,
   }
end

local function names(g, count, temperature, seed)
   local uniform, out = namegen.random(seed), {}
   for i = 1, count do out[i] = namegen.generate(g, temperature, uniform) end
   return out
end

-- names from g until count of them are new (not training names): the
-- new ones, and every name drawn
local function newnames(g, count, temperature, seed, known)
   local uniform, new, drawn = namegen.random(seed), {}, {}
   while #new < count do
      local w = namegen.generate(g, temperature, uniform)
      drawn[#drawn + 1] = w
      if not known[w] then new[#new + 1] = w end
   end
   return new, drawn
end

-- the time of one name, in microseconds (CPU time, over count names)
local function timing(g, count)
   local uniform = namegen.random(99)
   namegen.generate(g, 0.8, uniform)
   local t0 = os.clock()
   for _ = 1, count do namegen.generate(g, 0.8, uniform) end
   return (os.clock() - t0) / count * 1e6
end

local function generate(dir, train, all)
   local net = nn.load(dir .. "/names.nn")
   net:evaluate()
   local model = dofile(dir .. "/names_gen.lua")
   local cg, eg = cgenerator(net), namegen.exported(model)
   local known = {}
   for _, w in ipairs(train) do known[namegen.decode(namegen.encode(w))] = true end
   for _, temp in ipairs{0.5, 0.8, 1.0} do
      local new, drawn = newnames(cg, 12, temp, 7, known)
      local _, edrawn = newnames(eg, 12, temp, 7, known)
      local same = 0
      for i = 1, #drawn do
         if drawn[i] == edrawn[i] then same = same + 1 end
      end
      print(("temperature %.1f: %s"):format(temp, table.concat(new, ", ")))
      print(("  (%d names drawn, %d of them training names, left out; the exported file's "
         .. "names, same seed: %d of %d the same)"):format(#drawn, #drawn - #new, same,
         math.max(#drawn, #edrawn)))
   end
   local many = names(cg, 1000, 0.8, 11)
   local seen, indict, distinct = 0, 0, {}
   for _, w in ipairs(many) do
      if known[w] then seen = seen + 1 end
      if all[w:lower()] then indict = indict + 1 end
      distinct[w] = true
   end
   local nd = 0
   for _ in pairs(distinct) do nd = nd + 1 end
   print(("of 1000 names at temperature 0.8: %d are training names, %d words of the whole "
      .. "list, %d distinct"):format(seen, indict, nd))
   print(("one name takes %.0f us through the C core, %.0f us through the exported file (%s)")
      :format(timing(cg, 500), timing(eg, 500), jit and jit.version or _VERSION))
end

-- ---- the twin in PyTorch -------------------------------------------------

local function twin(dir)
   local p = io.popen("env -u LD_PRELOAD /usr/bin/python3 -c 'import torch' 2>/dev/null && echo yes")
   local have = p and p:read("*a"):match("yes")
   if p then p:close() end
   if not have then return nil, "/usr/bin/python3 with torch is not installed (python3-torch)" end
   local cmd = ("env -u LD_PRELOAD /usr/bin/python3 %s/names_torch.py %q %q %d %d %g %g 2>&1")
      :format(here, opts.words, dir, opts.epochs, BATCH, LR, CLIP)
   p = assert(io.popen(cmd))
   local last
   for line in p:lines() do
      print("  PyTorch: " .. line)
      io.stdout:flush()
      last = line:match("held%-out bits per character ([%d.]+)") or last
   end
   p:close()
   return tonumber(last)
end

-- ---- training ----------------------------------------------------------------

local function main()
   local train, val, all = readnames(opts.words)
   if opts.generate then return generate(opts.out, train, all) end
   assert(os.execute(("mkdir -p %q"):format(opts.out)))
   print(("%d names from %s: %d to train on, %d held out"):format(#train + #val, opts.words,
      #train, #val))
   nn.seed(1)
   nn.threads(1)
   local net = nn.Sequential{nn.Embedding(V, E), nn.LSTM(E, H), nn.Linear(H, V, {sequence = true})}
   print(net)
   nn.safetensors.save(opts.out .. "/init.safetensors", nn.stateDict(net))
   local crit = nn.CrossEntropyLoss{sequence = true, ignoreIndex = 0}
   local opt = nn.Adam(net, {lr = LR})
   local uniform = namegen.random(2024)
   local nb = math.ceil(#train / BATCH)
   local steps, step = opts.epochs * nb, 0
   local t0 = os.clock()
   print(("before training: held-out bits per character %.4f"):format(bpc(net, val)))
   for epoch = 1, opts.epochs do
      local order, sum, count = shuffle(#train, uniform), 0, 0
      for b = 1, nb do
         local X, Y = batch(train, order, (b - 1) * BATCH + 1, math.min(b * BATCH, #train))
         opt.lr = LR * 0.5 * (1 + math.cos(math.pi * step / steps))
         opt:zeroGrad()
         local out = net:forward(X)
         sum = sum + crit:forward(out, Y)
         count = count + 1
         net:backward(X, crit:backward(out, Y), false)
         nn.clipGradNorm(opt.grads, CLIP)
         opt:step()
         step = step + 1
      end
      print(("epoch %2d: training loss %.4f nats, held-out bits per character %.4f  (%.0f s)")
         :format(epoch, sum / count, bpc(net, val), os.clock() - t0))
      io.stdout:flush()
   end
   local ours = bpc(net, val)
   assert(nn.save(net, opts.out .. "/names.nn"))
   nn.export(net, opts.out .. "/names_gen.lua")
   print(("trained in %.0f s (CPU); saved %s/names.nn and the exported generator %s/names_gen.lua")
      :format(os.clock() - t0, opts.out, opts.out))
   print("the same model in PyTorch (examples/names_torch.py):")
   io.stdout:flush()
   local theirs, why = twin(opts.out)
   print()
   print(("held-out bits per character: lua-nn %.4f"):format(ours))
   if theirs then
      print(("                             PyTorch %.4f  (lua-nn %+.2f%%)"):format(theirs,
         100 * (ours - theirs) / theirs))
   else
      print("                             PyTorch: not run: " .. why)
   end
   print()
   generate(opts.out, train, all)
end

main()
