-- The Lua layer that the fuzz target, its seeds and the corpus spec
-- register, so that model files holding a registered layer reach the
-- loader's build of one (its config, its parameters() checks, its
-- constructor's errors): FuzzScale(n [, opts]), y = x .* w with w 1 x n.
-- n is a whole number from 1 to 64: a file cannot make it allocate much.
--   local new = dofile("fuzz/layer.lua")(nn)
return function(nn)
   local Scale = {}
   Scale.__index = Scale

   local function new(n, opts)
      if type(n) ~= "number" or n ~= math.floor(n) or n < 1 or n > 64 then
         error("FuzzScale: n must be a whole number from 1 to 64", 2)
      end
      if opts ~= nil and type(opts) ~= "table" then
         error("FuzzScale: opts must be a table", 2)
      end
      return setmetatable({typename = "FuzzScale", n = n, nin = n, opts = opts,
                           weight = nn.ones(1, n), gradWeight = nn.zeros(1, n)}, Scale)
   end

   function Scale:parameters() return {self.weight}, {self.gradWeight} end
   function Scale:config() return {self.n, self.opts} end
   function Scale:outputSize() return self.n end
   function Scale:forward(x)
      self.output = x:clone():mul(self.weight)
      return self.output
   end
   function Scale:backward(x, gy)
      self.gradWeight:add(gy:clone():mul(x):sum(1))
      return gy:clone():mul(self.weight)
   end

   nn.register("FuzzScale", new)
   return new
end
