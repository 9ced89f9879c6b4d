-- nn.layers: the registry of layer kinds.  The built-in kinds are nn.core's
-- (core.layers() lists them, each with its signature and help line); a
-- layer written in Lua joins with nn.register(name, constructor), after
-- which nn.save can write it and nn.load rebuild it by calling that
-- constructor with the saved configuration (data only: a model file never
-- carries code).
local core = require "nn.core"

local layers = {}

local builtin, order = {}, {}
for i, k in ipairs(core.layers()) do
   builtin[k.name] = k
   order[i] = k
end
local registered = {}        -- name -> constructor, for Lua kinds

-- every built-in kind, in registration order: {name, sig, doc, field, image}
function layers.builtin() return order end

-- the kind called name: "builtin", "lua" (registered) or nil
function layers.kind(name)
   if builtin[name] then return "builtin" end
   if registered[name] then return "lua" end
   return nil
end

function layers.constructor(name) return registered[name] end

-- nn.register(name, constructor): constructor(config...) makes a layer
-- whose typename is name and whose config() returns those arguments (a
-- list of numbers, strings, booleans and tables of them) and parameters()
-- its matrices; registering the same name again replaces the constructor
function layers.register(name, new)
   if type(name) ~= "string" or not name:find("^[%a_][%w_]*$") then
      error(("nn.register: name must be an identifier string, got %s")
         :format(type(name) == "string" and ("%q"):format(name) or type(name)), 2)
   end
   if builtin[name] or name == "Sequential" or name == "Residual" or name == "Concat" then
      error(("nn.register: %s is a built-in layer"):format(name), 2)
   end
   local mt = getmetatable(new)
   if type(new) ~= "function" and not (type(mt) == "table" and mt.__call) then
      error(("nn.register: the constructor of %s must be a function, got %s")
         :format(name, type(new)), 2)
   end
   registered[name] = new
   return new
end

return layers
