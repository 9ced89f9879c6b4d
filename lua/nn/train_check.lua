-- The arguments and options of nn.batches, nn.evaluate, nn.predict and
-- nn.fit, checked (lua/nn/train.lua has the functions themselves), and
-- the errors they raise: a mistake of the caller's is raised at the
-- caller (api), any other error keeps its message without a position in
-- these files (message).
local core = require "nn.core"
local compat = require "nn.compat"
local distributed = require "nn.distributed"
local clip = require "nn.clip"

local isMatrix = require("nn.util").isMatrix

-- ---- errors ------------------------------------------------------------------
-- A mistake in what the caller passed is raised inside as an ArgError and
-- re-raised by the public function (api below) at its caller, however deep
-- the check sits.  Any other error keeps its message; one raised by a C
-- function (a loss, a layer) that train.lua called carries that file's
-- line, which says nothing to the caller and is taken off.

local ArgError = {}

local function argerror(fmt, ...)
   error(setmetatable({msg = fmt:format(...)}, ArgError), 0)
end

-- the start of a position inside one of nn.fit's files (train.lua,
-- train_check.lua, train_history.lua), each added by mine() as it loads
local positions = {}

local function mine()
   local here = debug and debug.getinfo and debug.getinfo(2, "S").short_src
   if here then
      positions[#positions + 1] = "^" .. here:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0") .. ":%d+: "
   end
end
mine()

-- an error's message, without a position inside these files
local function message(err)
   err = tostring(err)
   for _, pat in ipairs(positions) do
      local s, k = err:gsub(pat, "")
      if k > 0 then return s end
   end
   return err
end

local function raise(err)
   if getmetatable(err) == ArgError then error(err.msg, 3) end
   error(err, 0)
end

local function pack(...) return {n = select("#", ...), ...} end

-- what distributed.lua needs to pass a rank's error to every rank
local hooks = {
   message = message,
   argerror = function(msg) error(setmetatable({msg = msg}, ArgError), 0) end,
   isargerror = function(err) return getmetatable(err) == ArgError end,
}

-- f as a public function: an ArgError inside is raised at its caller
local function api(f)
   return function(...)
      local r = pack(pcall(f, ...))
      if not r[1] then raise(r[2]) end
      return compat.unpack(r, 2, r.n)
   end
end

local function checkmatrix(x, fn, what)
   if not isMatrix(x) then
      argerror("%s: %s must be an nn.Matrix, got %s", fn, what, type(x))
   end
   return x
end

local classloss = {CrossEntropyLoss = true, NLLLoss = true}

-- crit's labels are checked here, and accuracy is counted, for a class
-- loss with one label a row (a loss over each step of a sequence checks
-- its own targets; its accuracy is not a row's): false, or the class
-- index the loss ignores
local function classof(crit)
   if not classloss[crit.typename] or crit.sequence then return false end
   return {ignore = crit.ignoreIndex}
end

-- Labels (class indices): whole numbers from 1 (or the loss's
-- ignoreIndex); names the first that is not, by its row.  Returns the
-- largest and its row (the network's width is known at the first batch:
-- see checkclasses).
local function checklabels(Y, fn, what, ignore)
   local n = Y:shape()
   local top, toprow = -math.huge, nil
   for i = 1, n do
      local v = Y:get(i, 1)
      if v == ignore then
         v = -math.huge
      elseif not (v >= 1) or v ~= math.floor(v) or v == math.huge then
         local hint = v == 0 and "classes start at 1 (Lua's convention: for labels "
            .. "from 0, pass Y + 1)" or "expected a class index 1, 2, ..."
         argerror("%s: row %d of %s is %s: %s", fn, i, what,
            v ~= v and "nan" or compat.toint(v) and tostring(compat.toint(v)) or tostring(v), hint)
      end
      if v > top then top, toprow = v, i end
   end
   return {top = compat.toint(top), row = toprow, what = what}
end

-- the labels' largest against the network's output width C
local function checkclasses(labels, C, fn)
   if labels and labels.top and labels.top > C then
      argerror("%s: row %d of %s is %d, but the network gives %d classes (its output has %d columns)",
         fn, labels.row, labels.what, labels.top, C, C)
   end
end

-- Y as an n x 1 or n x k Matrix for the n rows of X (xwhat): a Lua array
-- of labels becomes n x 1, and a 1 x n row (a 1-D .npy of labels) is
-- read as n x 1.  With class set (a class loss), n x 1 targets are
-- labels and are checked (returned second).
local function targets(Y, n, fn, what, xwhat, class)
   what, xwhat = what or "Y", xwhat or "X"
   if type(Y) == "table" and not isMatrix(Y) then
      if #Y ~= n then
         argerror("%s: %s has %d labels for %d rows of %s", fn, what, #Y, n, xwhat)
      end
      for i = 1, n do
         if type(Y[i]) ~= "number" then
            argerror("%s: %s[%d] is %s, expected a number", fn, what, i, type(Y[i]))
         end
      end
      Y = core.Matrix(n, 1, Y)
   end
   checkmatrix(Y, fn, what)
   local r, c = Y:shape()
   if r == 1 and c == n and n > 1 then
      Y = Y:reshape(n, 1)                       -- one target per row of X
      r, c = n, 1
   end
   if r ~= n then
      argerror("%s: %s has %d rows, %s has %d%s", fn, what, r, xwhat, n,
         r == 1 and (" (%s is 1 x %d: one target per row of %s is %d x 1)")
            :format(what, c, xwhat, n) or "")
   end
   local labels = class and c == 1 and checklabels(Y, fn, what, class.ignore) or nil
   return Y, labels
end

-- the closest of names to k, if it is a slip of the keyboard away
local function closest(k, names)
   local function distance(a, b)               -- Levenshtein, case-insensitively
      a, b = a:lower(), b:lower()
      local prev = {}
      for j = 0, #b do prev[j] = j end
      for i = 1, #a do
         local cur = {[0] = i}
         for j = 1, #b do
            local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
            cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
         end
         prev = cur
      end
      return prev[#b]
   end
   local best, bestd
   for _, name in ipairs(names) do
      local d = distance(k, name)
      if not bestd or d < bestd then best, bestd = name, d end
   end
   if bestd and bestd <= math.max(1, math.floor(#k / 3)) then return best end
end

local function checkopts(opts, allowed, fn)
   if opts == nil then return {} end
   if type(opts) ~= "table" then argerror("%s: options must be a table, got %s", fn, type(opts)) end
   for k in pairs(opts) do
      if not allowed[k] then
         local names = {}
         for a in pairs(allowed) do names[#names + 1] = a end
         table.sort(names)
         local guess = type(k) == "string" and #names > 1 and closest(k, names)
         argerror("%s: unknown option '%s' (%sexpected %s)", fn, tostring(k),
            guess and ("did you mean '%s'? "):format(guess) or "", table.concat(names, ", "))
      end
   end
   return opts
end

-- something with forward and (unless forwardonly) backward: a layer, a
-- Sequential, a loss
local function checkmodule(m, fn, what, expected, forwardonly)
   local ok, f, b = pcall(function() return m.forward, m.backward end)
   if not ok or f == nil or (b == nil and not forwardonly) then
      argerror("%s: %s must be %s, got %s", fn, what, expected, type(m))
   end
end

local function checksize(v, fn, what)
   if not compat.isint(v) or v < 1 then
      argerror("%s: %s must be a positive integer, got %s", fn, what, tostring(v))
   end
   return v
end

-- the distributed option (nn.mpi) checked, and the run's object
local function newdist(mpi, fn)
   if not distributed.ismpi(mpi) then
      argerror("%s: distributed must be the nn.mpi module (require \"nn.mpi\", built by "
         .. "make mpi), got %s", fn, type(mpi))
   end
   return distributed.new(mpi, hooks)
end

-- ---- nn.fit's options --------------------------------------------------------

local fitopts = {
   epochs = true, batchSize = true, shuffle = true, validation = true,
   validationSplit = true, progress = true, onEpoch = true, accuracy = true,
   out = true, schedule = true, patience = true, minDelta = true,
   restoreBest = true, saveBest = true, history = true, clip = true,
   distributed = true,
}

-- nn.fit's clip option as a function of the optimizer's gradients, or nil
local function clipper(c, fn)
   if c == nil then return nil end
   local spec = type(c) == "number" and {maxNorm = c} or c
   if type(spec) ~= "table" then
      argerror("%s: clip must be a number (the largest gradient norm) or a table {maxNorm "
         .. "[, normType]} or {value}, got %s", fn, type(c))
   end
   checkopts(spec, {maxNorm = true, normType = true, value = true}, fn .. ": clip")
   if (spec.maxNorm == nil) == (spec.value == nil) or spec.value ~= nil and spec.normType ~= nil then
      argerror("%s: clip must give maxNorm (and normType) or value", fn)
   end
   local ok, err = pcall(spec.value ~= nil and clip.clipGradValue or clip.clipGradNorm, {},
      spec.value or spec.maxNorm, spec.normType)
   if not ok then argerror("%s: clip: %s", fn, (tostring(err):gsub("^nn%.clipGrad%a+: ", ""))) end
   if spec.value ~= nil then
      return function(grads) clip.clipGradValue(grads, spec.value) end
   end
   return function(grads) clip.clipGradNorm(grads, spec.maxNorm, spec.normType) end
end

local function callable(v)
   local mt = getmetatable(v)
   return type(v) == "function" or type(v) == "table" and type(mt) == "table"
      and mt.__call ~= nil
end

-- the arguments and options, checked: what the loop reads, defaults filled in
local function fitoptions(net, crit, opt, X, opts, fn)
   opts = checkopts(opts, fitopts, fn)
   checkmodule(net, fn, "net", "a network (a layer or nn.Sequential)")
   checkmodule(crit, fn, "crit", "a loss (nn.CrossEntropyLoss(), ...)")
   checkmatrix(X, fn, "X")
   if type(opt) ~= "table" or type(opt.step) ~= "function" then
      argerror("%s: opt must be an optimizer (nn.SGD, nn.Adam, ...)", fn)
   end
   local o = {
      epochs = checksize(opts.epochs or 1, fn, "epochs"),
      batchSize = checksize(opts.batchSize or 32, fn, "batchSize"),
      shuffle = opts.shuffle ~= false,
      show = opts.progress ~= false,
      out = opts.out, onEpoch = opts.onEpoch, schedule = opts.schedule,
      patience = opts.patience, minDelta = opts.minDelta or 0,
      saveBest = opts.saveBest, history = opts.history,
      validation = opts.validation, validationSplit = opts.validationSplit,
      accuracy = opts.accuracy, restoreBest = opts.restoreBest,
      clip = clipper(opts.clip, fn),
      class = classof(crit), distributed = opts.distributed,
   }
   if o.validation ~= nil and (type(o.validation) ~= "table" or isMatrix(o.validation)) then
      argerror("%s: validation must be a table {Xv, Yv}, got %s", fn, type(o.validation))
   end
   if o.validation ~= nil and o.validationSplit ~= nil then
      argerror("%s: give validation or validationSplit, not both", fn)
   end
   if o.out ~= nil and io.type(o.out) ~= "file" then
      argerror("%s: out must be an open file (io.stdout, io.open(...)), got %s", fn, type(o.out))
   end
   if o.onEpoch ~= nil and not callable(o.onEpoch) then
      argerror("%s: onEpoch must be a function, got %s", fn, type(o.onEpoch))
   end
   if o.schedule ~= nil and not callable(o.schedule) then
      argerror("%s: schedule must be a schedule (nn.schedule.step(opt, ...), ...), got %s",
         fn, type(o.schedule))
   end
   o.plateau = type(o.schedule) == "table" and o.schedule.plateau
   if o.patience ~= nil then checksize(o.patience, fn, "patience") end
   if type(o.minDelta) ~= "number" or not (o.minDelta >= 0) then
      argerror("%s: minDelta must be a number >= 0, got %s", fn, tostring(o.minDelta))
   end
   if o.saveBest ~= nil and type(o.saveBest) ~= "string" then
      argerror("%s: saveBest must be a path, got %s", fn, type(o.saveBest))
   end
   if o.history ~= nil and type(o.history) ~= "table" then
      argerror("%s: history must be a table, got %s", fn, type(o.history))
   end
   if o.distributed ~= nil then o.dist = newdist(o.distributed, fn) end
   if o.restoreBest == nil then o.restoreBest = o.patience ~= nil end
   if o.accuracy == nil then o.accuracy = o.class and true or false end
   return o
end

-- How many of n rows validationSplit f holds out: ceil(f n), as the
-- README promises, exactly for a fraction written in decimals (0.07 of
-- 100 rows is 7, where math.ceil(0.07 * 100) is 8: 0.07 is a hair above
-- 7/100 in binary).  f * n is within n 2^-51 of the decimal fraction's
-- product, so that much below it is never above an integer product and
-- rounds up to the next integer otherwise (for fractions of up to about
-- 15 - log10(n) decimals).
local function holdout(f, n)
   return math.ceil(f * n - n * 2^-50)
end

-- the training and validation data: X, Y, Xv, Yv (Xv nil without
-- validation), and the labels' checks (checklabels) of Y and Yv
local function fitdata(X, Y, o, fn)
   local n = X:shape()
   local labels, vlabels
   Y, labels = targets(Y, n, fn, "Y", "X", o.class)
   if o.validationSplit ~= nil then
      local f = o.validationSplit
      if type(f) ~= "number" or not (f > 0 and f < 1) then
         argerror("%s: validationSplit must be a number between 0 and 1, got %s", fn, tostring(f))
      end
      local nv = holdout(f, n)
      if nv >= n then
         argerror("%s: validationSplit %g leaves no rows of %d to train on", fn, f, n)
      end
      return X:narrow(1, n - nv), Y:narrow(1, n - nv), X:narrow(n - nv + 1, nv),
         Y:narrow(n - nv + 1, nv), labels, labels
   elseif o.validation then
      local Xv = checkmatrix(o.validation[1], fn, "validation[1]")
      local Yv
      Yv, vlabels = targets(o.validation[2], Xv:shape(), fn, "validation[2]", "validation[1]", o.class)
      return X, Y, Xv, Yv, labels, vlabels
   end
   return X, Y, nil, nil, labels
end

return {
   mine = mine, message = message, api = api, argerror = argerror,
   isargerror = hooks.isargerror, checkmatrix = checkmatrix, classloss = classloss,
   classof = classof, checkclasses = checkclasses, targets = targets,
   checkopts = checkopts, checkmodule = checkmodule, checksize = checksize,
   newdist = newdist, fitoptions = fitoptions, fitdata = fitdata, holdout = holdout,
}
