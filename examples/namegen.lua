-- examples/namegen.lua: the character-level name generator's pieces that
-- need no lua-nn: the alphabet, a random generator every Lua computes the
-- same, the sampler with a temperature, and the loop that makes a name
-- one letter at a time.  examples/names.lua trains the network and drives
-- it through the C core or through the file nn.export wrote (plain Lua, as
-- a game without C would run it); examples/love-names shows it in LÖVE.
-- Both paths draw from the same numbers, so for one seed they give the
-- same names.  Lua 5.1 syntax: runs on 5.1 to 5.4, LuaJIT and Fengari.
local namegen = {}

local floor, exp = math.floor, math.exp

-- id 1 is the boundary "." (a name's start and end), ids 2..27 are a..z
namegen.BOUNDARY = 1
namegen.VOCAB = 27
namegen.MAXLEN = 24

-- a word of lowercase ASCII letters as ids (nil if it has another character)
function namegen.encode(word)
   local ids = {}
   for i = 1, #word do
      local b = word:byte(i) - 95            -- "a" (97) is id 2
      if b < 2 or b > 27 then return nil end
      ids[i] = b
   end
   return ids
end

-- ids (boundaries left out) as a capitalised name
function namegen.decode(ids, n)
   local t = {}
   for i = 1, n or #ids do
      if ids[i] ~= namegen.BOUNDARY then t[#t + 1] = string.char(ids[i] + 95) end
   end
   local s = table.concat(t)
   return s:sub(1, 1):upper() .. s:sub(2)
end

-- Park and Miller's minimal standard generator (Communications of the ACM
-- 31, 1988): s = 16807 s mod (2^31 - 1).  Every product is below 2^46, so
-- it is exact in a double (5.1, LuaJIT) and in an integer (5.3, 5.4): the
-- same numbers everywhere.  Returns uniform() on (0, 1).
function namegen.random(seed)
   local s = floor(seed or 1) % 2147483646 + 1
   return function()
      s = (s * 16807) % 2147483647
      return s / 2147483647
   end
end

-- One id drawn from softmax(logits / temperature) (logits[1..VOCAB]) with
-- the number u = uniform(); temperature 0 takes the largest.  In doubles
-- either way, so the C path's float32 logits and the exported file's
-- doubles give the same id unless u falls within about 1e-7 of a boundary.
function namegen.sample(logits, temperature, uniform)
   local V, best = namegen.VOCAB, 1
   for j = 2, V do
      if logits[j] > logits[best] then best = j end
   end
   if temperature <= 0 then return best end
   local m, total, w = logits[best], 0, namegen.weights or {}
   namegen.weights = w
   for j = 1, V do
      local e = exp((logits[j] - m) / temperature)
      w[j] = e
      total = total + e
   end
   local u, acc = uniform() * total, 0
   for j = 1, V do
      acc = acc + w[j]
      if u < acc then return j end
   end
   return best
end

-- A name from a generator g: g.reset() sets its state to zeros, g.step(id)
-- feeds one id and returns the logits of the next.  Starts from the
-- boundary and stops at the next one (or MAXLEN letters); a boundary
-- drawn first (an empty name) is drawn again.
function namegen.generate(g, temperature, uniform, out)
   out = out or {}
   g.reset()
   local logits, n = g.step(namegen.BOUNDARY), 0
   while n < namegen.MAXLEN do
      local id = namegen.sample(logits, temperature, uniform)
      if id == namegen.BOUNDARY then
         if n > 0 then break end
      else
         n = n + 1
         out[n] = id
         logits = g.step(id)
      end
   end
   return namegen.decode(out, n)
end

-- the generator of a file nn.export wrote (model.step, model.reset)
function namegen.exported(model)
   local x = {0}
   return {
      reset = model.reset,
      step = function(id)
         x[1] = id
         return model.step(x)
      end,
   }
end

return namegen
