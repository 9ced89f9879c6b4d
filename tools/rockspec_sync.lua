-- Rewrites the module lists of lua-nn-scm-1.rockspec from the tree: every
-- lua/nn/*.lua and every csrc/*.c.  `make rockspec` runs it;
-- spec/rockspec_spec.lua fails when it is needed.
local path = "lua-nn-scm-1.rockspec"

local function ls(pattern)
   local out, p = {}, io.popen("ls " .. pattern)
   for line in p:lines() do out[#out + 1] = line end
   p:close()
   table.sort(out)
   return out
end

local f = assert(io.open(path))
local text = f:read("*a")
f:close()

local lua = {'      ["nn"] = "lua/nn/init.lua",'}
for _, file in ipairs(ls("lua/nn/*.lua")) do
   local name = file:match("lua/nn/(.-)%.lua$")
   if name ~= "init" then lua[#lua + 1] = ('      ["nn.%s"] = "%s",'):format(name, file) end
end

local src, line = {}, "           "
for _, file in ipairs(ls("csrc/*.c")) do
   local item = (' "%s",'):format(file)
   if #line + #item > 76 then src[#src + 1] = line; line = "           " end
   line = line .. item
end
src[#src + 1] = line

local n1, n2
text, n1 = text:gsub('(   modules = {\n).-(      %["nn.core"%])', function(a, b)
   return a .. table.concat(lua, "\n") .. "\n" .. b
end)
text, n2 = text:gsub("(         sources = {\n).-(\n         },)", function(a, b)
   return a .. table.concat(src, "\n") .. b
end)
assert(n1 == 1 and n2 == 1, "rockspec layout not recognised")
f = assert(io.open(path, "w"))
f:write(text)
f:close()
