-- nn.Container: what the containers (Sequential, Residual, Concat) share:
-- checking and admitting their layers, checking that their shapes fit,
-- calling one with its position put in front of any error, the methods
-- that go to every child, and reused output buffers.  Torch7's
-- nn.Container, in the same spirit.
local core = require "nn.core"
local compat = require "nn.compat"

local Container = {}
local methods = {}
Container.methods = methods

-- a field of a layer that may be any table (a Lua layer's __index may throw)
function Container.get(m, k)
   local ok, v = pcall(function() return m[k] end)
   if ok then return v end
end

-- is m a container (one of these, or anything holding a modules list)?
function Container.is(m)
   return type(m) == "table" and type(rawget(m, "modules")) == "table"
end

-- a one-line description of a layer, for messages: at most 80 characters
-- (a nested container is just its name, not its whole summary)
function Container.describe(m)
   if Container.is(m) and type(rawget(m, "typename")) == "string" then
      return "nn." .. rawget(m, "typename")
   end
   -- a Lua layer without __tostring: its name or typename, not "table: 0x..."
   if type(m) == "table" and not (getmetatable(m) and getmetatable(m).__tostring) then
      local name = rawget(m, "name") or rawget(m, "typename")
      return type(name) == "string" and name or "a Lua layer"
   end
   local ok, s = pcall(tostring, m)
   s = ok and type(s) == "string" and s:gsub("\n", " ") or type(m)
   return #s > 80 and s:sub(1, 77) .. "..." or s
end

-- the methods' check of self: net.forward(x) (a dot for a colon) names
-- the mistake instead of failing somewhere inside
function Container.checkself(self, mt, kind, name)
   if getmetatable(self) ~= mt then
      error(("nn.%s:%s: call it as net:%s(...) (self is %s, not a %s)")
         :format(kind, name, name, type(self), kind), 3)
   end
end

-- the check of self for the methods below, as checkself for any container
local function check(self, name)
   if not Container.is(self) then
      error(("nn.Container:%s: call it as net:%s(...) (self is %s, not a container)")
         :format(name, name, type(self)), 3)
   end
end

-- does m, or any container inside it, hold target?
local function contains(m, target)
   if m == target then return true end
   if Container.is(m) then
      for _, child in ipairs(m.modules) do
         if contains(child, target) then return true end
      end
   end
   return false
end

-- why m cannot be layer i of a container (nil if it can): no forward
-- and backward, or a constructor given for a layer
local function checklayer(m, i, fn)
   if type(m) == "function" then            -- nn.Sequential{nn.ReLU}: a constructor
      local name
      for k, v in pairs(require "nn") do
         if v == m then name = k end
      end
      return ("%s: layer %d is a function, not a layer; did you mean %s()?")
         :format(fn, i, name and "nn." .. name or "to call it")
   end
   local ok, fwd, bwd = pcall(function() return m.forward, m.backward end)
   if not ok or fwd == nil or bwd == nil then
      return ("%s: layer %d (%s) has no forward and backward")
         :format(fn, i, Container.describe(m))
   end
end

-- Why self cannot take m as layer i (nil if it can): m has no forward and
-- backward, or holds self (a container inside itself would recurse until
-- the stack runs out).  The caller raises the message at its own caller.
function Container.admit(self, m, i, fn)
   local why = checklayer(m, i, fn)
   if why then return why end
   if contains(m, self) then
      return ("%s: layer %d contains this %s; a container cannot hold itself")
         :format(fn, i, self.typename)
   end
end

-- ---- shapes ------------------------------------------------------------------
-- What flows from layer to layer is a shape: {w = columns, img = {C, H, W},
-- step = D}, any part nil where it is not known (img, when known, has
-- C*H*W = w; step is the features of each step of a sequence, whose rows
-- are T steps of D in (T, D) order, T any: the width is then unknown).
-- A container checks its layers against each other when it is made and
-- when a layer is added: each layer takes the shape the one before gives
-- (an image layer made without {input = ...} learns its input's shape
-- from it), and a layer that cannot is refused, by position.  A container
-- keeps the shape it was given (_shapein), the shape it gives (_shapeout)
-- and the input its first layers ask for (_shapeneed), so that adding a
-- layer to a long network costs one layer's check; and it tells the
-- containers that hold it (_parents) when its output changes.

local EMPTY = {}
Container.EMPTY = EMPTY

local function numel(img) return img[1] * img[2] * img[3] end

-- v as a {C, H, W} of positive integers, or nil
local function asimage(v)
   if type(v) ~= "table" then return nil end
   local img = {}
   for k = 1, 3 do
      local d = compat.toint(rawget(v, k))
      if not d or d < 1 then return nil end
      img[k] = d
   end
   return img
end

local function sameimage(a, b)
   return a[1] == b[1] and a[2] == b[2] and a[3] == b[3]
end

local function sameshape(a, b)
   if a.w ~= b.w or a.step ~= b.step or (a.img == nil) ~= (b.img == nil) then return false end
   return a.img == nil or sameimage(a.img, b.img)
end

local function imagestr(img) return ("%dx%dx%d"):format(img[1], img[2], img[3]) end

-- "4x8x8", "392", "Tx16" (a sequence of any length T) or "?": the
-- summary's column
function Container.shapestr(s)
   if s and s.img then return imagestr(s.img) end
   if s and not s.w and s.step then return "Tx" .. s.step end
   return s and s.w and tostring(s.w) or "?"
end

-- s, with what c knows and s does not (when they agree)
local function merge(s, c)
   local w, img = s.w, s.img
   if not img and c.img and (not w or numel(c.img) == w) then img = c.img end
   w = w or c.w
   if img and not w then w = numel(img) end
   return {w = w, img = img, step = s.step or c.step}
end

-- A misfit: layer path[#path] (layer) of the container, through its
-- nested containers, cannot take what comes before it.  Raised as a table
-- inside the flow; the entry point (new, add, setInputShape) makes it a
-- message.
local Misfit = {__tostring = function(e) return e.text end}

local function misfit(fmt, ...)
   error(setmetatable({text = fmt:format(...), path = {}}, Misfit), 0)
end

-- "layer 2[1] (nn.Linear(9 -> 1)) takes 9 columns, gets 8"
function Container.misfitmessage(e)
   if getmetatable(e) ~= Misfit then return tostring(e) end
   if #e.path == 0 then return e.text end
   local where = {"layer ", tostring(e.path[1])}
   for k = 2, #e.path do where[#where + 1] = ("[%d]"):format(e.path[k]) end
   return ("%s (%s) %s"):format(table.concat(where), Container.describe(e.layer), e.text)
end

-- the output of a layer that is not a container, for the shape s before
-- it, and the input it takes (s, with what the layer asks for); an image
-- layer without a shape is given s's (unless dry: the summary changes
-- nothing)
local function leafflow(m, s, dry)
   local w, img = s.w, s.img
   local want = asimage(Container.get(m, "inputShape"))
   if not want and img and not dry then
      local set = Container.get(m, "setInputShape")
      if type(set) == "function" then
         local ok, err = pcall(set, m, img[1], img[2], img[3])
         if not ok then
            misfit("cannot take the %s images before it: %s", imagestr(img), tostring(err))
         end
         want = asimage(Container.get(m, "inputShape"))
      end
   end
   if want and img and not sameimage(want, img) then
      misfit("takes %s images, gets %s", imagestr(want), imagestr(img))
   end
   -- a sequence layer takes steps of din features
   local step = s.step
   local din = compat.toint(Container.get(m, "inputStep"))
   if din and step and din ~= step then
      misfit("takes steps of %d features, gets steps of %d", din, step)
   end
   local need = want and numel(want)
   if not need and type(m) == "userdata" then         -- a built-in layer's width
      local nin = compat.toint(Container.get(m, "nin"))
      if nin and nin > 0 then need = nin end
   end
   if need and w and need ~= w then
      misfit("takes %d columns%s, gets %d", need,
         want and (" (%s)"):format(imagestr(want)) or "", w)
   end
   w = w or need
   local out
   local size = Container.get(m, "outputSize")
   -- a Lua layer's outputSize is asked only about a width it is given
   if type(size) == "function" and (w or type(m) == "userdata") then
      local ok, r = pcall(size, m, w)
      if not ok then misfit("does not fit: %s", tostring(r)) end
      r = compat.toint(r)
      if r and r > 0 then out = r end
   end
   local keeps = Container.get(m, "keepsShape") == true
   if keeps and not out then out = w end
   local oimg = asimage(Container.get(m, "outputShape"))
   if not oimg and keeps then oimg = img or want end
   if oimg and out and numel(oimg) ~= out then oimg = nil end
   local ostep = compat.toint(Container.get(m, "outputStep"))
   if not ostep and keeps then ostep = step end
   return {w = out or (oimg and numel(oimg)), img = oimg, step = ostep},
      {w = w, img = img or want, step = step or din}
end

-- the shape m gives for the shape s before it, and the input it takes;
-- raises a misfit
function Container.flow(m, s, dry)
   if Container.is(m) then
      local f = Container.get(m, "_flow")
      if type(f) == "function" then return f(m, s, dry) end
   end
   return leafflow(m, s, dry)
end

-- Container.flow of layer i of self, with i put in front of a misfit's path
function Container.flowchild(self, i, s, dry)
   local m = self.modules[i]
   local ok, out, need = pcall(Container.flow, m, s, dry)
   if not ok then
      if getmetatable(out) == Misfit then
         table.insert(out.path, 1, i)
         out.layer = out.layer or m
      end
      error(out, 0)
   end
   return out, need
end

-- a misfit of layer i of the container itself (Residual: x + m(x))
function Container.misfitat(i, m, fmt, ...)
   local ok, e = pcall(misfit, fmt, ...)
   assert(not ok)
   e.path[1], e.layer = i, m
   error(e, 0)
end

-- the flow through a container: its kind's _flowchildren, the result kept
-- for the same input (force: flow again, with s as it is)
function methods:_flow(s, dry, force)
   local had = rawget(self, "_shapein") or EMPTY
   local eff = force and s or merge(s, had)
   local out = rawget(self, "_shapeout")
   if out and not force and sameshape(eff, had) then return out, rawget(self, "_shapeneed") end
   local o, need = self:_flowchildren(eff, dry)
   if not dry then
      rawset(self, "_shapein", eff)
      rawset(self, "_shapeout", o)
      rawset(self, "_shapeneed", need)
   end
   return o, need
end

-- the containers that hold self learn of it (weakly: a network that is
-- dropped is not kept), so that a change to self checks them again
function Container.link(child, parent)
   if Container.is(child) and type(Container.get(child, "_flow")) == "function" then
      local ps = rawget(child, "_parents")
      if not ps then
         ps = setmetatable({}, {__mode = "k"})
         rawset(child, "_parents", ps)
      end
      ps[parent] = true
   end
end

local function holds(p, child)
   for _, m in ipairs(p.modules) do
      if rawequal(m, child) then return true end
   end
   return false
end

-- self's output may have changed: every container that holds it flows
-- again (and theirs, while outputs change); a misfit there is raised as
-- "in the <kind> that holds this one, ..."
function Container.changed(self)
   local ps = rawget(self, "_parents")
   if not ps then return end
   for p in pairs(ps) do
      if holds(p, self) then
         local before = rawget(p, "_shapeout")
         local ok, err = pcall(p._flow, p, rawget(p, "_shapein") or EMPTY, false, true)
         if not ok then
            if getmetatable(err) ~= Misfit then error(err, 0) end
            error(setmetatable({text = ("in the %s that holds this one, %s")
               :format(p.typename, Container.misfitmessage(err)), path = {}}, Misfit), 0)
         end
         if not (before and sameshape(before, rawget(p, "_shapeout"))) then Container.changed(p) end
      end
   end
end

-- The checked change behind new, add and setInputShape: f() changes self
-- (adds a layer, flows again), and the containers that hold self check it.
-- On a misfit, undo() puts back what f changed, the shapes are put back
-- (in those containers too), and "fn: <the misfit>" is raised at the
-- caller of commit's caller.
function Container.commit(self, fn, f, undo)
   local saved = {rawget(self, "_shapein"), rawget(self, "_shapeout"), rawget(self, "_shapeneed")}
   local ok, err = pcall(function()
      f()
      Container.changed(self)
   end)
   if not ok then
      if undo then undo() end
      rawset(self, "_shapein", saved[1])
      rawset(self, "_shapeout", saved[2])
      rawset(self, "_shapeneed", saved[3])
      pcall(Container.changed, self)        -- they fitted before: they flow as before
      if getmetatable(err) ~= Misfit then error(err, 0) end
      error(("%s: %s"):format(fn, Container.misfitmessage(err)), 3)
   end
end

-- net:setInputShape(C, H, W): the images the container takes, when it
-- sits after an image layer (in a Residual, a Concat or another
-- Sequential): its image layers made without {input = ...} learn theirs.
-- A second call with another shape flows that one (an image layer that
-- has its shape already refuses it: an error, not ignored).
function methods:setInputShape(C, H, W)
   check(self, "setInputShape")
   local fn = ("%s:setInputShape"):format(self.typename)
   for k, d in ipairs{C, H, W} do
      if not compat.isint(d) or d < 1 or d > 2147483647 then
         error(("%s: %s must be a positive integer, got %s"):format(fn,
            ({"C", "H", "W"})[k], tostring(d)), 2)
      end
   end
   if C * H * W > 2147483647 then
      error(("%s: %d x %d x %d is more than 2^31 - 1 columns"):format(fn, C, H, W), 2)
   end
   Container.commit(self, fn, function()
      self:_flow({w = C * H * W, img = {C, H, W}}, false, true)
   end)
   return self
end

-- the image shapes a container answers as a layer: those it takes and gives
Container.fields = {
   inputShape = function(self)
      local s = rawget(self, "_shapein")
      local need = rawget(self, "_shapeneed")
      return s and s.img and {s.img[1], s.img[2], s.img[3]}
         or need and need.img and {need.img[1], need.img[2], need.img[3]} or nil
   end,
   outputShape = function(self)
      local s = rawget(self, "_shapeout")
      return s and s.img and {s.img[1], s.img[2], s.img[3]} or nil
   end,
}

-- the output shape a layer declares by itself (the summary shows it for a
-- layer that does not fit)
function Container.declared(m)
   if Container.is(m) then return rawget(m, "_shapeout") or EMPTY end
   local img = asimage(Container.get(m, "outputShape"))
   local w = type(m) == "userdata" and compat.toint(Container.get(m, "nout")) or nil
   return {w = w or (img and numel(img)), img = img}
end

-- calls m[name](m, ...) and puts the layer's position and type in front of
-- any error it raises.  An error from a nested container already starts
-- with its own path, which this one extends: "Sequential[2][1] nn.Linear
-- (...): ...", so the message grows by a few characters a level, not by a
-- summary of the whole network.
function Container.call(self, i, name, ...)
   local m = self.modules[i]
   local ok, a = pcall(m[name], m, ...)
   if not ok then
      a = tostring(a)
      local inner = Container.is(m) and rawget(m, "typename")
      if inner and a:sub(1, #inner + 1) == inner .. "[" then
         error(("%s[%d]%s"):format(self.typename, i, a:sub(#inner + 1)), 0)
      end
      error(("%s[%d] %s: %s"):format(self.typename, i, Container.describe(m), a), 0)
   end
   return a
end

-- self[key], an r x c Matrix made once and kept while the shape holds
function Container.buffer(self, key, r, c)
   local b = rawget(self, "_" .. key)
   if not b or select(1, b:shape()) ~= r or select(2, b:shape()) ~= c then
      b = core.Matrix(r, c)
      rawset(self, "_" .. key, b)
   end
   return b
end

local function each(self, name)
   check(self, name)
   for _, m in ipairs(self.modules) do
      if m[name] then m[name](m) end
   end
   return self
end

-- the number of layers, as #net (which Lua 5.1 and LuaJIT do not pass to
-- __len for a table); Torch7's Container:size()
function methods:size()
   check(self, "size")
   return #self.modules
end

function methods:zeroGrad() return each(self, "zeroGrad") end

function methods:training()
   self.train = true
   return each(self, "training")
end

function methods:evaluate()
   self.train = false
   return each(self, "evaluate")
end

function methods:parameters()
   check(self, "parameters")
   local params, grads = {}, {}
   for _, m in ipairs(self.modules) do
      if m.parameters then
         local p, g = m:parameters()
         for k = 1, #p do
            params[#params + 1] = p[k]
            grads[#grads + 1] = g[k]
         end
      end
   end
   return params, grads
end

-- the saved state that is not trained (batch normalization's running
-- statistics) of every layer, in order: restoring a network's state takes
-- these as well as its parameters
function methods:buffers()
   check(self, "buffers")
   local bufs = {}
   for _, m in ipairs(self.modules) do
      local f = Container.get(m, "buffers")
      if type(f) == "function" then
         for _, b in ipairs(f(m)) do bufs[#bufs + 1] = b end
      end
   end
   return bufs
end

function methods:config() return {} end

-- PyTorch's state dict of the network, and loading one (nn.statedict)
function methods:stateDict() return require("nn.statedict").stateDict(self) end

function methods:loadStateDict(t, opts)
   return require("nn.statedict").loadStateDict(self, t, opts)
end

return Container
