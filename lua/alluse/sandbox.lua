-- alluse.sandbox: the environment strategy code runs in (DESIGN §3).
--
--   local box = sandbox.new{ budget_ms = 100, print = fn, seed = 1, modules = {...}, dir = DIR }
--   local fn, err = box:load(source, "@strategies/x.lua")   -- or box:loadfile(path)
--   local ok, result_or_err = box:call(fn, ...)
--
-- What a sandboxed script cannot do: reach os, io, ffi, debug, jit, package,
-- getfenv/setfenv, dofile/loadfile, string.dump or collectgarbage; load bytecode;
-- require a module outside the allow-list (allowed modules come back read-only);
-- create or assign globals (its globals table is strict: reading or writing an
-- undeclared name raises, which also catches typos); change anything another script
-- or the engine can see (library tables are private copies).
--
-- The watchdog: code is instrumented (see alluse.sandbox_instrument) so that loops,
-- function entries and gotos call a tick; every 1024 ticks the tick reads the
-- monotonic clock, and once a call has run past its budget every further tick
-- raises.  pcall, xpcall and coroutine.resume inside the sandbox re-raise the
-- watchdog's error, so a script cannot swallow it.
local instrument = require("alluse.sandbox_instrument").instrument
local clock = require("alluse.time")

local M = {}

M.default_budget_ms = 100
local CHECK_EVERY = 1024

-- Modules a strategy may require; each later subsystem adds its pure modules here.
M.allowed_modules = {
  ["alluse.json"] = true,
  ["alluse.time"] = true,
  ["alluse.calendar"] = true,
  ["alluse.indicators"] = true,
  -- a function: the module's sandbox view (its checked API without the raw FFI)
  ["alluse.options"] = function() return require("alluse.options").safe() end,
}

local SAFE_BASE = {
  "assert", "error", "ipairs", "next", "pairs", "select", "tonumber", "tostring",
  "type", "unpack", "rawequal", "rawget", "_VERSION",
}
local SAFE_LIBS = { string = true, table = true, math = true, bit = true }

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local function read_only(t, name)
  return setmetatable({}, {
    __index = t,
    __newindex = function(_, k)
      error(string.format("%s is read-only in the sandbox (assigning field '%s')", name, tostring(k)), 2)
    end,
    __metatable = false,
  })
end

-- Per-sandbox random numbers (splitmix64), so math.random is deterministic for a
-- seed and one script's draws never shift another's.
local function new_random(seed)
  local ffi = require("ffi")
  local state = ffi.new("uint64_t[1]")
  local function reseed(s)
    state[0] = ffi.cast("uint64_t", math.floor(tonumber(s) or 0) % 2^53)
  end
  reseed(seed or 0)
  local function next53()
    state[0] = state[0] + 0x9E3779B97F4A7C15ULL
    local z = state[0]
    z = bit.bxor(z, bit.rshift(z, 30)) * 0xBF58476D1CE4E5B9ULL
    z = bit.bxor(z, bit.rshift(z, 27)) * 0x94D049BB133111EBULL
    z = bit.bxor(z, bit.rshift(z, 31))
    return tonumber(bit.rshift(z, 11)) / 9007199254740992
  end
  local function random(m, n)
    local r = next53()
    if m == nil then return r end
    if n == nil then m, n = 1, m end
    if type(m) ~= "number" or type(n) ~= "number" or m > n then
      error("bad argument to 'random' (interval is empty)", 2)
    end
    return math.floor(m + r * (math.floor(n) - math.ceil(m) + 1))
  end
  return random, reseed
end

local Box = {}
Box.__index = Box

function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("sandbox.new: opts must be a table", 2) end
  local budget_ms = opts.budget_ms or M.default_budget_ms
  if type(budget_ms) ~= "number" or budget_ms <= 0 or budget_ms ~= budget_ms then
    error("sandbox.new: budget_ms must be a positive number", 2)
  end
  local box = setmetatable({ budget_us = budget_ms * 1000 }, Box)

  -- Watchdog state; `armed` only while box:call or box:run runs.  `epoch` is bumped
  -- by a driver (box:run) at every callback boundary; when the clock check sees it
  -- moved, a new callback has started since the last check and gets a fresh budget.
  local wd = { left = CHECK_EVERY, deadline = 0, armed = false, expired = false, message = nil,
               epoch = 0, seen = 0 }
  box.wd = wd
  local monotonic_us = clock.monotonic
  local function expire()
    if not wd.expired then
      -- Name the script line that was running, as any other error would.
      local info = debug.getinfo(3, "Sl")
      local where = info and info.currentline and info.currentline > 0
        and (info.short_src .. ":" .. info.currentline .. ": ") or ""
      wd.expired = true
      wd.message = string.format(
        "%swatchdog: callback ran longer than its budget of %g ms and was stopped", where, budget_ms)
    end
    error(wd.message, 0)
  end
  box.tick = function()
    local n = wd.left - 1
    if n > 0 then
      wd.left = n
      return
    end
    wd.left = CHECK_EVERY
    if wd.expired then expire() end
    if wd.armed then
      local now = monotonic_us()
      if wd.epoch ~= wd.seen then
        wd.seen, wd.deadline = wd.epoch, now + box.budget_us
      elseif now > wd.deadline then
        expire()
      end
    end
  end

  local env = {}
  for _, k in ipairs(SAFE_BASE) do env[k] = _G[k] end
  for name in pairs(SAFE_LIBS) do env[name] = copy(_G[name]) end
  env.string.dump = nil
  env.math.random, env.math.randomseed = new_random(opts.seed)

  local function rethrow_if_expired(...)
    if wd.expired then error(wd.message, 0) end
    return ...
  end
  env.pcall = function(f, ...) return rethrow_if_expired(pcall(f, ...)) end
  env.xpcall = function(f, handler, ...) return rethrow_if_expired(xpcall(f, handler, ...)) end
  env.coroutine = copy(coroutine)
  env.coroutine.resume = function(co, ...) return rethrow_if_expired(coroutine.resume(co, ...)) end
  env.getmetatable = function(v)
    -- Only tables: getmetatable("") would hand out the shared string library.
    if type(v) ~= "table" then return nil end
    return getmetatable(v)
  end
  env.setmetatable = function(t, mt)
    if type(t) ~= "table" then error("bad argument #1 to 'setmetatable' (table expected)", 2) end
    return setmetatable(t, mt)
  end
  env.print = opts.print or function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    io.stderr:write(table.concat(parts, "\t"), "\n")
  end
  env.load = function(chunk, chunkname, mode)
    if mode ~= nil and mode ~= "t" then error("sandbox: only text chunks may be loaded (mode 't')", 2) end
    if type(chunk) == "function" then
      local parts = {}
      while true do
        local piece = chunk()
        if piece == nil or piece == "" then break end
        if type(piece) ~= "string" then error("sandbox: load reader must return strings", 2) end
        parts[#parts + 1] = piece
      end
      chunk = table.concat(parts)
    end
    if type(chunk) ~= "string" then error("bad argument #1 to 'load' (string expected)", 2) end
    return box:load(chunk, chunkname or "=(load)")
  end
  env.loadstring = function(s, chunkname)
    if type(s) ~= "string" then error("bad argument #1 to 'loadstring' (string expected)", 2) end
    return box:load(s, chunkname or s)
  end

  local allowed = opts.modules or M.allowed_modules
  local required = {}
  -- opts.dir: a strategy folder whose own files the script may require by name
  -- ("alluse_gen" -> DIR/alluse_gen.lua, "lib.atr" -> DIR/lib/atr.lua); they are
  -- loaded into this same sandbox, once each.
  local dir = opts.dir
  local loading = {}
  local function require_local(name)
    if not dir or not name:match("^[%a_][%w_]*[%w_.]*$") or name:find("%.%.") then return nil end
    local path = dir .. "/" .. name:gsub("%.", "/") .. ".lua"
    local f = io.open(path, "rb")
    if not f then return nil end
    f:close()
    if loading[name] then error(string.format("sandbox: module '%s' requires itself (a require cycle)", name), 3) end
    loading[name] = true
    local fn, err = box:loadfile(path)
    if not fn then loading[name] = nil; error(err, 0) end
    local value = fn(name)
    loading[name] = nil
    if value == nil then value = true end
    return value
  end
  env.require = function(name)
    if type(name) ~= "string" then error("bad argument #1 to 'require' (string expected)", 2) end
    if required[name] ~= nil then return required[name] end
    local allow = allowed[name]
    if allow then
      required[name] = read_only(type(allow) == "function" and allow() or require(name), name)
      return required[name]
    end
    local value = require_local(name)
    if value == nil then
      error(string.format("sandbox: module '%s' is not allowed in strategies%s", name,
        dir and (" and is not a file of " .. dir) or ""), 2)
    end
    required[name] = value
    return value
  end
  for k, v in pairs(opts.globals or {}) do env[k] = v end
  env._G = env
  setmetatable(env, {
    __index = function(_, k)
      error(string.format("undefined global '%s'", tostring(k)), 2)
    end,
    __newindex = function(_, k)
      error(string.format("assignment to undeclared global '%s' (declare it local, or keep it in ctx.state)", tostring(k)), 2)
    end,
    __metatable = false,
  })
  box.env = env
  return box
end

-- Compile text source into a sandboxed function; nil, message if it does not compile.
function Box:load(source, chunkname)
  if type(source) ~= "string" then error("sandbox load: source must be a string", 2) end
  chunkname = chunkname or "=(sandbox)"
  if source:byte(1) == 27 then return nil, "binary chunks are not allowed in the sandbox" end
  -- Compile the source as written first, so syntax errors carry its own line numbers.
  local plain = source:sub(1, 1) == "#" and source:gsub("^[^\n]*", "", 1) or source
  local _, serr = loadstring(plain, chunkname)
  if serr then return nil, serr end
  local text, err = instrument(source, chunkname)
  if not text then return nil, err end
  local outer, cerr = loadstring(text, chunkname)
  if not outer then return nil, "sandbox: instrumented source does not compile: " .. cerr end
  setfenv(outer, self.env)
  local tick = self.tick
  return function(...) return outer(tick, select, ...) end
end

function Box:loadfile(path)
  if type(path) ~= "string" then error("sandbox loadfile: path must be a string", 2) end
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local source = f:read("*a")
  f:close()
  return self:load(source, "@" .. path)
end

local function traceback(e)
  return debug.traceback(tostring(e), 2)
end

-- Run fn under the watchdog.  Returns true, results... or false, message with traceback.
function Box:call(fn, ...)
  local wd = self.wd
  if wd.armed then return xpcall(fn, traceback, ...) end  -- nested call: one budget
  wd.armed, wd.expired, wd.message = true, false, nil
  wd.left = CHECK_EVERY
  wd.seen = wd.epoch
  wd.deadline = clock.monotonic() + self.budget_us
  local res = { xpcall(fn, traceback, ...) }
  wd.armed = false
  if wd.expired and res[1] then
    return false, wd.message
  end
  wd.expired = false
  return unpack(res, 1, table.maxn(res))
end

-- Run fn, a driver that calls sandboxed callbacks many times (a backtest loop), under
-- the watchdog without a clock read per callback: the driver bumps box.wd.epoch before
-- each callback, and each callback then gets between one and two budgets (a fresh one
-- starts at the first clock check after the bump).  Errors go through handler (a
-- traceback by default).  Returns what xpcall returns; a watchdog stop is false, message.
function Box:run(fn, handler, ...)
  local wd = self.wd
  if wd.armed then error("sandbox: box:run inside box:call or box:run", 2) end
  wd.armed, wd.expired, wd.message = true, false, nil
  wd.left = CHECK_EVERY
  wd.seen = wd.epoch
  wd.deadline = clock.monotonic() + self.budget_us
  local res = { xpcall(fn, handler or traceback, ...) }
  wd.armed = false
  if wd.expired and res[1] then return false, wd.message end
  return unpack(res, 1, table.maxn(res))
end

return M
