-- alluse.strategy: the strategy contract — loading a strategy file into the sandbox,
-- its params, and the ctx object its callbacks receive.  docs/strategy-api.md is the
-- user's page for all of it.
--
--   local strat = assert(strategy.load("strategies/examples/sma_cross.lua",
--                                      { params = { fast = "5" } }))
--   local ctx = strategy.new_ctx(engine, host)   -- host: the driver's side (clock, bars, log)
--   strat.on_bar(ctx, bar)
--
-- A strategy file returns a table: name, params (defaults), and callbacks.  ctx holds
-- the engine only in closures, never in a field: a sandboxed script can call ctx's
-- methods but cannot reach the engine's tables or its C pointers.
local ffi = require("ffi")
local sandbox = require("alluse.sandbox")
local engine_mod = require("alluse.engine")
local C = require("alluse.oms").C

local type, tostring, tonumber, pairs, ipairs, error, select = type, tostring, tonumber, pairs, ipairs,
  error, select
local format, floor = string.format, math.floor
local sort, concat = table.sort, table.concat

local M = {}

M.callbacks = { "on_start", "on_bar", "on_fill", "on_order", "on_day", "on_week", "on_stop" }
local CALLBACK = {}
for _, k in ipairs(M.callbacks) do CALLBACK[k] = true end
local INFO_FIELDS = { name = "string", params = "table", description = "string", version = "string",
  profiles = "table" }

-- ---- params ----

local function show(v)
  if type(v) == "string" then return format("%q", v) end
  return tostring(v)
end

local BOOL = { ["true"] = true, ["false"] = false, ["1"] = true, ["0"] = false, yes = true, no = false,
  on = true, off = false }

-- Coerce an override to the type of the default.  value is a string from --param or a
-- Lua value; nil, message when it does not fit.
local function coerce(name, default, value)
  local want = type(default)
  if type(value) == want then return value end
  if type(value) ~= "string" then
    return nil, format("param %s must be a %s (like its default %s), got %s", name, want, show(default), show(value))
  end
  if want == "number" then
    local n = tonumber(value)
    if n == nil or n ~= n or n == math.huge or n == -math.huge then
      return nil, format("param %s must be a number (like its default %s), got %s", name, show(default), show(value))
    end
    return n
  elseif want == "boolean" then
    local b = BOOL[value:lower()]
    if b == nil then
      return nil, format("param %s must be true or false, got %s", name, show(value))
    end
    return b
  end
  return nil, format("param %s has a %s default and cannot be set from the command line", name, want)
end

-- The run's params: defaults overridden by overrides (k -> string or value).
-- nil, message naming the param on an unknown name or a value of the wrong type.
function M.resolve_params(defaults, overrides)
  local out = {}
  for k, v in pairs(defaults or {}) do out[k] = v end
  local names = {}
  for k in pairs(overrides or {}) do names[#names + 1] = k end
  sort(names)
  for _, k in ipairs(names) do
    if out[k] == nil then
      local known = {}
      for d in pairs(defaults or {}) do known[#known + 1] = d end
      sort(known)
      return nil, format("unknown param '%s' (this strategy's params: %s)", tostring(k),
        #known > 0 and concat(known, ", ") or "none")
    end
    local v, err = coerce(k, out[k], overrides[k])
    if err then return nil, err end
    out[k] = v
  end
  return out
end

-- A strategy with `profiles` (name -> a table of param values) picks one with its
-- string param `profile`: the profile's values replace the defaults, and --param
-- overrides still win.  The defaults to resolve against, or nil, message.
function M.profile_defaults(def, overrides)
  local profiles, defaults = def.profiles, def.params or {}
  if profiles == nil then return defaults end
  if type(defaults.profile) ~= "string" then
    return nil, "profiles: a strategy with profiles needs a string param 'profile' (the default profile's name)"
  end
  local names = {}
  for name, t in pairs(profiles) do
    if type(name) ~= "string" or type(t) ~= "table" then
      return nil, "profiles: each profile must be a name -> table of param values"
    end
    for k, v in pairs(t) do
      if defaults[k] == nil or k == "profile" then
        return nil, format("profiles: profile %s sets '%s', which is not a param", name, tostring(k))
      end
      if type(v) ~= type(defaults[k]) then
        return nil, format("profiles: profile %s sets %s to a %s, the param is a %s", name, k, type(v),
          type(defaults[k]))
      end
    end
    names[#names + 1] = name
  end
  sort(names)
  local want = overrides and overrides.profile or defaults.profile
  local chosen = profiles[want]
  if not chosen then
    return nil, format("unknown profile %s (profiles: %s)", show(want), concat(names, ", "))
  end
  local out = {}
  for k, v in pairs(defaults) do out[k] = v end
  for k, v in pairs(chosen) do out[k] = v end
  return out
end

-- ---- loading ----

-- A file, or a directory holding init.lua: the file to load, and the folder whose
-- other files the strategy may require (nil for a single file).
local function resolve_path(path)
  local dir = path:gsub("/+$", "")
  local f = io.open(dir .. "/init.lua", "rb")
  if f then
    f:close()
    return dir .. "/init.lua", dir
  end
  return path, nil
end

-- Load a strategy: nil, message (with file:line) when it does not load or breaks the
-- contract (a bad --param gives a third value, "EPARAM").  opts: params
-- (overrides), budget_ms, seed, print.
function M.load(path, opts)
  if type(path) ~= "string" then error("strategy.load: path must be a string", 2) end
  opts = opts or {}
  local file, dir = resolve_path(path)
  local box = sandbox.new { budget_ms = opts.budget_ms, seed = opts.seed or 1, print = opts.print, dir = dir }
  local fn, err = box:loadfile(file)
  if not fn then return nil, err end
  local ok, def = box:call(fn)
  if not ok then return nil, def end
  if type(def) ~= "table" then
    return nil, format("%s: a strategy file must return a table, it returned %s", file, type(def))
  end
  local keys = {}
  for k in pairs(def) do keys[#keys + 1] = tostring(k) end
  sort(keys)
  for _, k in ipairs(keys) do
    local v = def[k]
    if CALLBACK[k] then
      if type(v) ~= "function" then
        return nil, format("%s: %s must be a function, got %s", file, k, type(v))
      end
    elseif INFO_FIELDS[k] then
      if type(v) ~= INFO_FIELDS[k] then
        return nil, format("%s: field %s must be a %s, got %s", file, k, INFO_FIELDS[k], type(v))
      end
    else
      return nil, format("%s: unknown field '%s' in the strategy table (callbacks: %s; fields: name, params, profiles, description, version)",
        file, k, concat(M.callbacks, ", "))
    end
  end
  for k, v in pairs(def.params or {}) do
    local tv = type(v)
    if type(k) ~= "string" or not (tv == "number" or tv == "string" or tv == "boolean") then
      return nil, format("%s: params.%s must be a number, string or boolean default, got %s", file,
        tostring(k), tv)
    end
  end
  local defaults, derr = M.profile_defaults(def, opts.params)
  if not defaults then
    if derr:match("^profiles") then return nil, file .. ": " .. derr end -- the file is wrong
    return nil, file .. ": " .. derr, "EPARAM"                          -- the command line is
  end
  local params, perr = M.resolve_params(defaults, opts.params)
  if not params then return nil, file .. ": " .. perr, "EPARAM" end
  local default_name = dir and (dir:match("([^/]+)$") or dir) or (file:match("([^/]+)%.lua$") or file)
  local strat = {
    name = def.name or default_name,
    file = file, params = params, box = box, description = def.description, version = def.version,
  }
  for _, k in ipairs(M.callbacks) do strat[k] = def[k] end
  return strat
end

-- ---- history columns for ctx:bars ----

-- A strategy's view of a column: a struct holding only a registry number, so the
-- script never holds a pointer (a raw double * would let it write anywhere).  Reads
-- are bounds-checked against how many bars have happened; negative indices count
-- from the latest bar (-1).
ffi.cdef [[ typedef struct au_hist_col { const int32_t id; } au_hist_col; ]]
-- id -> { p = pointer, w = window (its .n), int = true for times }.  Weak values: an
-- entry lives as long as its owner (the run's feed, which holds it in .entries), so a
-- finished run's bars are freed; a column kept past its run raises when read.
local registry = setmetatable({}, { __mode = "v" })
local next_id = 0
local function entry(c)
  local r = registry[c.id]
  if not r then error("this bar history belongs to a backtest that has ended", 3) end
  return r
end
local hist_t = ffi.metatype("au_hist_col", {
  __index = function(c, i)
    local r = entry(c)
    if type(i) == "number" then
      local n = r.w.n
      if i < 0 then i = n + i end
      if i >= 0 and i < n and i == floor(i) then
        if r.int then return tonumber(r.p[i]) end
        return r.p[i]
      end
      error(format("bar history index %s out of range (%d bars so far)", tostring(i), n), 2)
    end
    error(format("bar history columns are indexed by bar number, got %s", show(i)), 2)
  end,
  __newindex = function() error("bar history is read-only", 2) end,
  __len = function(c) return entry(c).w.n end,
  __tostring = function(c) return format("bar history column (%d bars)", entry(c).w.n) end,
})

-- Columns over series s (its raw C columns), growing with w.n.  owner keeps the
-- registry entries (and through them s) alive: the run's feed.
function M.history(s, w, owner)
  local h = {}
  local cs = s._cs
  owner.entries = owner.entries or {}
  for _, f in ipairs({ "time", "open", "high", "low", "close", "volume" }) do
    next_id = next_id + 1
    local e = { p = cs[f], w = w, int = f == "time", keep = s }
    registry[next_id] = e
    owner.entries[#owner.entries + 1] = e
    h[f] = hist_t(next_id)
  end
  return h
end

-- ---- ctx ----

local ORDER_OPTS = { type = "string", tif = "string", limit = "number", stop = "number", id = "string" }
local ORDER_SPEC = { symbol = "string", side = "string", qty = "number", account = "string" }
for k, v in pairs(ORDER_OPTS) do ORDER_SPEC[k] = v end
local TYPES = { market = true, limit = true, stop = true, stop_limit = true }
local TIFS = { day = true, gtc = true, ioc = true }

-- level: of the strategy's call, counted from here (3 when the ctx method calls this
-- directly, 4 through order_args).
local function check_fields(fname, t, allowed, level)
  level = level or 3
  for k, v in pairs(t) do
    local want = allowed[k]
    if not want then error(format("%s: unknown option '%s'", fname, tostring(k)), level) end
    if type(v) ~= want then error(format("%s: %s must be a %s, got %s", fname, k, want, show(v)), level) end
  end
end

local function check_id(fname, id)
  if id == nil then return end
  if #id == 0 or #id > 47 or id:find("[^%w%._:%-]") then
    error(format("%s: id must be 1-47 characters of letters, digits and . _ : -, got %s", fname, show(id)), 4)
  end
  if id:match("^o%d+$") then
    error(format("%s: ids of the form o<number> are the engine's automatic ids; choose another, got %s", fname,
      show(id)), 4)
  end
end

-- The order arguments from (symbol, qty, opts), checked: symbol, side, qty, type,
-- tif, limit, stop, id — what Engine:submit takes.
local function order_args(fname, side, symbol, qty, opts)
  if type(symbol) ~= "string" then error(format("%s: symbol must be a string, got %s", fname, show(symbol)), 3) end
  if type(qty) ~= "number" then error(format("%s: qty must be a number, got %s", fname, show(qty)), 3) end
  if opts == nil then return symbol, side, qty, "market" end
  if type(opts) ~= "table" then error(fname .. ": opts must be a table", 3) end
  check_fields(fname, opts, ORDER_OPTS, 4)
  local limit, stop, tif, id, otype = opts.limit, opts.stop, opts.tif, opts.id, opts.type
  if otype == nil then
    if limit and stop then otype = "stop_limit"
    elseif limit then otype = "limit"
    elseif stop then otype = "stop"
    else otype = "market" end
  end
  if not TYPES[otype] then
    error(format("%s: type must be market, limit, stop or stop_limit, got %s", fname, show(otype)), 3)
  end
  if tif ~= nil and not TIFS[tif] then
    error(format("%s: tif must be day, gtc or ioc, got %s", fname, show(tif)), 3)
  end
  check_id(fname, id)
  return symbol, side, qty, otype, tif, limit, stop, id
end

local function check_amount(fname, amount)
  if type(amount) ~= "number" or amount ~= amount or amount <= 0 or amount == math.huge then
    error(format("%s: amount must be a positive number, got %s", fname, show(amount)), 3)
  end
end

-- ctx for a strategy over engine eng.  host: { now = fn, bars = fn(symbol, tf),
-- log = fn(level, msg), calendar = module, symbols = list, default_account = record,
-- params = table, state = table }.
function M.new_ctx(eng, host)
  local ctx = { params = host.params, state = host.state or {}, calendar = host.calendar,
    symbols = host.symbols }
  local sid_of = eng.sid_of
  local main = host.default_account

  local function account_named(fname, name)
    if type(name) ~= "string" then error(format("%s: account name must be a string, got %s", fname, show(name)), 3) end
    local a = eng.account_by_name[name]
    if not a then error(format("%s: no account '%s'", fname, name), 3) end
    return a
  end

  -- The trading methods of one account; ctx's act on the default account.
  local function trading(a, t)
    function t.buy(_, symbol, qty, opts)
      return eng:submit(a, order_args("buy", "buy", symbol, qty, opts))
    end
    function t.sell(_, symbol, qty, opts)
      return eng:submit(a, order_args("sell", "sell", symbol, qty, opts))
    end
    function t.order(_, spec)
      if type(spec) ~= "table" then error("order: expects a table {symbol=, side=, qty=, ...}", 2) end
      check_fields("order", spec, ORDER_SPEC)
      if spec.side ~= "buy" and spec.side ~= "sell" then
        error(format("order: side must be \"buy\" or \"sell\", got %s", show(spec.side)), 2)
      end
      local acct = spec.account and account_named("order", spec.account) or a
      local opts = { type = spec.type, tif = spec.tif, limit = spec.limit, stop = spec.stop, id = spec.id }
      return eng:submit(acct, order_args("order", spec.side, spec.symbol, spec.qty, opts))
    end
    function t.position(_, symbol)
      local sid = sid_of[symbol]
      if not sid then
        if type(symbol) ~= "string" then error("position: symbol must be a string, got " .. show(symbol), 2) end
        return 0, 0
      end
      local p = a.pos[sid]
      if p == nil then return 0, 0 end
      return p.qty, p.avg_cost
    end
    function t.close(_, symbol, opts)
      local q = t.position(nil, symbol)
      if q == 0 then return nil, format("no position in %s to close", tostring(symbol)) end
      return eng:submit(a, order_args("close", q > 0 and "sell" or "buy", symbol, q > 0 and q or -q, opts))
    end
    function t.cash() return eng:cash(a) end
    -- P&L of the position in symbol so far, dollars: realized + unrealized at the
    -- current mark - commissions.  0 for a symbol never traded.
    function t.pnl(_, symbol)
      local sid = sid_of[symbol]
      local p = sid and a.pos[sid]
      if p == nil then return 0 end
      if eng.has_options then eng:mark_options() end
      local mark = eng.mark[sid]
      local unreal = mark > 0 and C.oms_position_unrealized(p, mark) or 0
      return C.oms_position_realized(p) - tonumber(p.commission_cents) / 100 + unreal
    end
    -- Realized P&L so far (dollars, gross of commissions): short term, long term.
    function t.realized()
      local st, lt = 0, 0
      local ptr = a.ptr
      for j = 0, ptr.npositions - 1 do
        local p = ptr.positions[j]
        st, lt = st + tonumber(p.realized_st_cents), lt + tonumber(p.realized_lt_cents)
      end
      return st / 100, lt / 100
    end
    function t.equity() return eng:equity(a) end
    -- The equity curve's last row: the account's value at the last end of day (0
    -- before the first).  Statements use it: ctx:equity() in on_day reprices options
    -- at the new day's time, this is the value the results report for that day.
    function t.closing_equity()
      local v = a.eq_values
      return v[#v] or 0
    end
    function t.positions()
      local out = {}
      local ptr = a.ptr
      for j = 0, ptr.npositions - 1 do
        local p = ptr.positions[j]
        if p.qty ~= 0 then out[ffi.string(p.symbol)] = p.qty end
      end
      return out
    end
    return t
  end

  trading(main, ctx)
  local handles = {}
  local function handle(a)
    local h = handles[a.name]
    if not h then
      h = trading(a, { name = a.name })
      handles[a.name] = h
    end
    return h
  end

  function ctx.account(_, name)
    if name == nil then return handle(main) end
    return handle(account_named("account", name))
  end
  function ctx.accounts()
    local out = {}
    for i, a in ipairs(eng.accounts) do out[i] = a.name end
    return out
  end
  function ctx.open_account(_, name, opts)
    if type(name) ~= "string" then error("open_account: name must be a string, got " .. show(name), 2) end
    opts = opts or {}
    if type(opts) ~= "table" then error("open_account: opts must be a table {from=, cash=}", 2) end
    check_fields("open_account", opts, { from = "string", cash = "number" })
    if opts.from then
      local parent = account_named("open_account", opts.from)
      local a, err = eng:fork(parent, name, opts.cash or 0)
      if not a then return nil, err end
      return handle(a)
    end
    local a, err = eng:open_account(name, opts.cash or 0, true)
    if not a then return nil, err end
    return handle(a)
  end
  function ctx.transfer(_, from, to, amount)
    local fa, ta = account_named("transfer", from), account_named("transfer", to)
    check_amount("transfer", amount)
    return eng:transfer(fa, ta, amount)
  end
  function ctx.deposit(_, name, amount)
    local a = account_named("deposit", name)
    check_amount("deposit", amount)
    return eng:deposit(a, amount)
  end
  function ctx.withdraw(_, name, amount)
    local a = account_named("withdraw", name)
    check_amount("withdraw", amount)
    return eng:withdraw(a, amount)
  end
  function ctx.merge(_, name)
    local a = account_named("merge", name)
    if not a.parent then return nil, format("account %s has no parent to merge into", name) end
    return eng:merge(a)
  end
  function ctx.cancel(_, id)
    if type(id) ~= "string" then error("cancel: id must be a string, got " .. show(id), 2) end
    return eng:cancel(id)
  end
  function ctx.get_order(_, id)
    if type(id) ~= "string" then error("get_order: id must be a string, got " .. show(id), 2) end
    return eng:order(id)
  end
  -- ---- options (docs/options.md) ----
  local CHAIN_FILTER = { right = "string", expiry = "string", min_dte = "number", max_dte = "number",
    min_strike = "number", max_strike = "number" }
  local function check_right(fname, r, level)
    if r ~= nil and r ~= "call" and r ~= "put" then
      error(format("%s: right must be \"call\" or \"put\", got %s", fname, show(r)), level)
    end
  end
  function ctx.chain(_, symbol, filter)
    if type(symbol) ~= "string" then error("chain: symbol must be a string, got " .. show(symbol), 2) end
    if filter ~= nil then
      if type(filter) ~= "table" then error("chain: filter must be a table", 2) end
      check_fields("chain", filter, CHAIN_FILTER)
      check_right("chain", filter.right, 2)
    end
    return host.chain(symbol, filter)
  end
  function ctx.pick(_, symbol, want)
    if type(symbol) ~= "string" then error("pick: symbol must be a string, got " .. show(symbol), 2) end
    if type(want) ~= "table" then error("pick: expects a table {right =, delta =, dte =}", 2) end
    check_fields("pick", want, { right = "string", delta = "number", dte = "number" })
    if want.right == nil or want.delta == nil or want.dte == nil then
      error("pick: right, delta and dte are all required", 2)
    end
    check_right("pick", want.right, 2)
    if want.delta <= 0 or want.delta >= 1 then error("pick: delta is |delta|, in (0, 1), got " .. show(want.delta), 2) end
    if want.dte < 0 then error("pick: dte must be >= 0, got " .. show(want.dte), 2) end
    return host.pick(symbol, want)
  end
  function ctx.quote(_, symbol)
    if type(symbol) ~= "string" then error("quote: symbol must be a string, got " .. show(symbol), 2) end
    return host.quote(symbol)
  end
  -- ctx:record(stream, row): a row in the run's journal (result.journal[stream]), stamped
  -- with the time.  Values are copied: strings, booleans and finite numbers only.
  local journal = eng.journal
  function ctx.record(_, stream, row)
    if type(stream) ~= "string" or not stream:match("^[%a_][%w_]*$") or #stream > 64 then
      error("record: stream must be a name (letters, digits, _), got " .. show(stream), 2)
    end
    if type(row) ~= "table" then error("record: row must be a table, got " .. type(row), 2) end
    local copy = {}
    for k, v in pairs(row) do
      local tv = type(v)
      if type(k) ~= "string" or k == "time" then
        error("record: row keys must be strings other than 'time', got " .. show(k), 2)
      end
      if not (tv == "string" or tv == "boolean" or (tv == "number" and v == v and v ~= math.huge and v ~= -math.huge)) then
        error(format("record: %s.%s must be a string, boolean or finite number, got %s", stream, k, show(v)), 2)
      end
      copy[k] = v
    end
    copy.time = host.now()
    local rows = journal[stream]
    if not rows then
      rows = {}
      journal[stream] = rows
    end
    rows[#rows + 1] = copy
    return (eng.journal_base[stream] or 0) + #rows -- its number in the stream, from 1
  end
  function ctx.now() return host.now() end
  function ctx.bars(_, symbol, timeframe)
    if type(symbol) ~= "string" then error("bars: symbol must be a string, got " .. show(symbol), 2) end
    local h, err = host.bars(symbol, timeframe)
    if not h then error("bars: " .. err, 2) end
    return h
  end
  function ctx.log(_, ...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    host.log(concat(parts, " "))
  end
  return ctx
end

M.money = engine_mod.money
return M
