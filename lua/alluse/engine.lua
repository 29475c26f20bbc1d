-- alluse.engine: accounts, orders, risk checks, fills and the records a run keeps —
-- the mechanics under ctx, shared by the backtest driver and (later) the live runner.
--
--   local eng = engine.new{ symbols = {"SPY"}, cash = 1e6, commission = {...},
--                           fill = {...}, risk = {...} }
--   eng:set_time(now_us)                  -- the clock: the driver moves it
--   local id, reason = eng:submit(acct, symbol, "buy", qty)  -- risk-checked; nil, reason when rejected
--   eng:match(sid, bar)                   -- a bar of a traded symbol: its orders meet it
--   eng:end_of_day(date)                  -- record equity rows
--
-- Money lives in core/oms (integer cents, FIFO lots, the ledger); orders are oms_order
-- records in one FFI array; the fill model is core/oms/fill.c.  This file decides
-- policy around them: which checks an order must pass, when cash is reserved for it,
-- what a round trip is, and the order in which the strategy hears about events.
--
-- Events (order status changes, fills) are queued while the engine works and
-- delivered through eng.sink after it is done, so a strategy that places or cancels
-- orders from on_fill never changes a list the engine is walking.
local ffi = require("ffi")
local bit = require("bit")
local oms = require("alluse.oms")
local calendar = require("alluse.calendar")
local time = require("alluse.time")
local engine_options = require("alluse.engine_options")

local C = oms.C
local band, rshift = bit.band, bit.rshift
local errbuf, ERRLEN, errmsg = oms.errbuf, oms.ERRLEN, oms.errmsg
local type, tonumber, tostring, pairs, ipairs, error = type, tonumber, tostring, pairs, ipairs, error
local format, floor, abs, max, min = string.format, math.floor, math.abs, math.max, math.min
-- "Never": a session end beyond any bar (a finite number: it is stored as an int64).
local NEVER = 2 ^ 62

local BUY, SELL = oms.BUY, oms.SELL
local MARKET, LIMIT, STOP, STOP_LIMIT = 1, 2, 3, 4
local DAY = 1
local ACCEPTED, PARTIALLY_FILLED, REJECTED = oms.ACCEPTED, oms.PARTIALLY_FILLED, oms.REJECTED

-- Per-order engine state beside each oms_order (same chunking), open round trips
-- per account and symbol, and closed trades: plain structs, so the order path makes
-- no Lua table per order or trade (the results turn them into tables at the end).
ffi.cdef [[
typedef struct au_order_x {
  double session_end; /* a day order's session end, µs (NEVER for gtc/ioc) */
  double reserve;     /* cash still reserved for the open quantity */
  double open;        /* quantity not yet released (filled, canceled, expired) */
  int32_t account;    /* index in eng.accounts */
  int32_t sid;        /* symbol id, 0 when unknown */
  int32_t auto_id;    /* 1: the id is "o<order number>" */
  double cover;       /* shares of the underlying still reserved (a short call's) */
} au_order_x;
typedef struct au_trip {
  double qty, entry_time, entry_qty, entry_value, exit_qty, exit_value, cash, commission, bar0;
  int32_t side, open;
} au_trip;
typedef struct au_trade {
  double qty, entry_time, entry_price, exit_time, exit_price, bars, gross, commission, pnl;
  int32_t account, sid, side;
} au_trade;
]]

local M = {}

local Engine = {}
local EQUITY = { kind = "equity", multiplier = 1 }
Engine.__index = Engine

-- Money shown in messages: "$1,234.56".
local function money(x)
  local s = format("%.2f", abs(x))
  local int, frac = s:match("^(%d+)(%.%d+)$")
  int = int:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", "")
  return (x < 0 and "-$" or "$") .. int .. frac
end
M.money = money
Engine.money = money

local function copy_opts(t, defaults, what)
  local out = {}
  for k, v in pairs(defaults) do out[k] = v end
  if t == nil then return out end
  if type(t) ~= "table" then error(format("engine: %s must be a table", what), 3) end
  for k, v in pairs(t) do
    if defaults[k] == nil then error(format("engine: unknown %s option '%s'", what, tostring(k)), 3) end
    if type(v) ~= type(defaults[k]) then
      error(format("engine: %s.%s must be a %s, got %s", what, k, type(defaults[k]), tostring(v)), 3)
    end
    out[k] = v
  end
  return out
end

M.defaults = {
  commission = { model = "none", rate = 0, min = 0, max_percent = 0 },
  fill = { slippage_bps = 0, participation = 0 },
  -- 0 means no limit.  allow_short: selling more than is held opens a short (no margin
  -- model: the proceeds count as cash); off, such a sell is rejected.
  risk = { allow_short = false, max_position = 0, max_notional = 0, max_orders_per_day = 0,
           allow_margin = false },
}

function M.new(opts)
  if type(opts) ~= "table" then error("engine.new: opts must be a table", 2) end
  local symbols = opts.symbols or {}
  local self = setmetatable({}, Engine)
  self.now = opts.start_time or 0
  self.date = nil
  self.commission = copy_opts(opts.commission, M.defaults.commission, "commission")
  self.fill = copy_opts(opts.fill, M.defaults.fill, "fill")
  self.risk = copy_opts(opts.risk, M.defaults.risk, "risk")
  local comm_kind = oms.commission[self.commission.model]
  if not comm_kind then
    error(format("engine: commission.model must be none, per_share, per_contract or percent, got '%s'",
      tostring(self.commission.model)), 2)
  end
  self.comm = ffi.new("oms_commission", comm_kind, self.commission.rate, self.commission.min,
    self.commission.max_percent)
  local probe = ffi.new("double[1]")
  if C.oms_commission_order(self.comm, 1, 1, probe, errbuf, ERRLEN) ~= 0 then
    error("engine: commission: " .. errmsg(), 2)
  end
  local f = self.fill
  if not (f.slippage_bps >= 0 and f.slippage_bps < 10000) then
    error("engine: fill.slippage_bps must be in [0, 10000)", 2)
  end
  if not (f.participation >= 0 and f.participation <= 1) then
    error("engine: fill.participation must be in [0, 1] (0: no cap)", 2)
  end
  self.model = ffi.new("oms_fill_model", f.slippage_bps, f.participation)

  -- Instruments: sid 1..n are the run's symbols (equities); option contracts are
  -- added after them as they are named (engine_options).  inst[sid] describes one;
  -- trigger[sid] is the sid whose bars match its orders (itself, or an option's
  -- underlying); nwork[sid] counts the working orders its bars must match (its own
  -- and its options'); working[sid] lists its own.
  self.symbols, self.sid_of, self.inst, self.trigger = {}, {}, {}, {}
  local n = #symbols
  self.max_instruments = n + (opts.max_options or 65536)
  -- mark[sid]: the last close (an option's last mid), 0 before the first (prices are
  -- > 0, so 0 means none); barcount[sid]: bars of sid so far.  FFI arrays, sized once
  -- for every instrument the run may add: the driver keeps them in locals.
  self.mark = ffi.new("double[?]", self.max_instruments + 1)
  self.barcount = ffi.new("double[?]", self.max_instruments + 1)
  self.nwork, self.working = {}, {}
  for i, s in ipairs(symbols) do
    self.symbols[i], self.sid_of[s], self.inst[i], self.trigger[i] = s, i, EQUITY, i
    self.nwork[i], self.working[i] = 0, {}
  end
  self.options_of, self.option_sids, self.has_options = {}, {}, false
  self.next_expiry = math.huge -- the earliest expiry of a live contract
  self.assignments = {}        -- exercises and assignments, for the results
  self.journal = {}            -- the strategy's ctx:record rows: stream name -> rows
  local oc = copy_opts(opts.option_commission, engine_options.defaults.commission, "option_commission")
  local okind = oms.commission[oc.model]
  if not okind then error("engine: option_commission.model must be none, per_share, per_contract or percent", 2) end
  self.option_commission = oc
  self.opt_comm = ffi.new("oms_commission", okind, oc.rate, oc.min, oc.max_percent)
  self.allow_naked = opts.allow_naked and true or false

  self.set = oms.new_set()
  self.accounts, self.account_by_name = {}, {}
  self.cbar = ffi.new("oms_bar")
  self.cexec = ffi.new("oms_exec")
  self.cfill = ffi.new("oms_fill")
  self.dbl = ffi.new("double[1]")

  -- Orders: oms_order records 1..norders in chunks of CHUNK (order_at), with their
  -- au_order_x (orderx_at): chunks never move, so growing copies nothing and a
  -- pointer to an order stays valid.
  self.ord_chunks, self.ordx_chunks, self.ord_cap = {}, {}, 0
  self.trade_chunks, self.ntrades, self.trade_cap = {}, 0, 0
  self.norders = 0
  self.order_by_id = {}

  self.nfills = 0
  -- Exposure without per-bar work: nopen counts the (account, symbol) pairs with a
  -- position; when it leaves 0 the event number is noted, when it returns to 0 the
  -- events in between are added (the driver keeps self.event current).
  self.nopen, self.event, self.exposed, self.exposed_since = 0, 0, 0, 0
  self.commissions_cents = 0
  self.total_flow_today = 0
  -- Events queued for the sink: order numbers (a status change) and fill tables.
  -- want_orders / want_fills say whether anyone listens; nothing is queued otherwise.
  self.events, self.nev, self.flushing = {}, 0, false
  self.sink = nil         -- { order = fn(eng, k), fill = fn(eng, fill) }
  self.want_orders, self.want_fills = false, false
  -- The session a day order works in, cached per New York date (see new_day).
  self.today_close, self.next_close = -1, -1
  return self
end

-- ---- time ----

function Engine:set_time(us) self.now = us end

-- A new New York date starts: daily order counts reset.
-- start_us, end_us: the date's New York midnights (the driver knows them).
function Engine:new_day(date, start_us, end_us)
  self.date, self.day_start, self.day_end = date, start_us, end_us
  for _, a in ipairs(self.accounts) do a.orders_today = 0 end
  local open, close = calendar.session(date) -- nil, message on a closed day
  self.today_close = open and close or -1
  local nxt = calendar.next_trading_day(date)
  local o2, c2 = nil, nil
  if nxt then o2, c2 = calendar.session(nxt) end
  self.next_close = o2 and c2 or NEVER
end

-- ---- accounts ----

local function account_record(self, ptr, name, parent, initial)
  local a = {
    name = name, ptr = ptr, parent = parent, status = "active", created = self.now,
    initial = initial, reserved = 0, orders_today = 0, flow_today = 0,
    pos = {}, pending_buy = {}, pending_sell = {}, trip = {}, pos_sid = {}, index = #self.accounts + 1,
    eq_dates = {}, eq_values = {}, eq_flows = {}, checked_n = 0, checked_sum = 0,
    nopen = 0, exposed = 0, exposed_since = 0, commissions_cents = 0,
    has_options = false, cover_reserved = {},
  }
  self.accounts[#self.accounts + 1] = a
  self.account_by_name[name] = a
  return a
end

-- A new top-level account with `cash` deposited.  nil, message on failure.  external:
-- the money comes from outside the run's accounts after the start (ctx:open_account
-- without a parent), so it is a flow of the total, not a gain.
function Engine:open_account(name, cash, external)
  local ptr = C.oms_set_add(self.set, name, errbuf, ERRLEN)
  if ptr == nil then return nil, errmsg() end
  if cash and cash ~= 0 then
    if C.oms_deposit(ptr, cash, self.now, 0, errbuf, ERRLEN) ~= 0 then
      -- The account exists now but holds nothing; keep it so names stay unique.
      account_record(self, ptr, name, nil, 0)
      return nil, errmsg()
    end
  end
  local a = account_record(self, ptr, name, nil, oms.dollars(ptr.cash_cents))
  if external then self.total_flow_today = self.total_flow_today + a.initial end
  return a
end

-- A new account funded with `amount` moved from parent (an ALL-USE fork).
function Engine:fork(parent, name, amount)
  local free = self:free_cash(parent)
  if amount > free and not self.risk.allow_margin then
    return nil, format("account %s: fork of %s exceeds the %s not reserved for open orders or short puts",
      parent.name, money(amount), money(free))
  end
  local flags = self.risk.allow_margin and oms.ALLOW_NEGATIVE or 0
  local ptr = C.oms_fork(parent.ptr, name, amount, self.now, 0, flags, errbuf, ERRLEN)
  if ptr == nil then return nil, errmsg() end
  parent.flow_today = parent.flow_today - oms.dollars(ptr.cash_cents)
  return account_record(self, ptr, name, parent.name, oms.dollars(ptr.cash_cents))
end

-- Close child into its parent (all cash back; refused while it holds positions).
function Engine:merge(child)
  local working = self:working_orders(child)
  if working > 0 then
    return nil, format("account %s has %d working order%s: cancel them before merging", child.name, working,
      working == 1 and "" or "s")
  end
  local cash = oms.dollars(child.ptr.cash_cents)
  if C.oms_merge(child.ptr, self.now, 0, errbuf, ERRLEN) ~= 0 then return nil, errmsg() end
  local parent = self.account_by_name[child.parent]
  parent.flow_today = parent.flow_today + cash
  child.flow_today = child.flow_today - cash
  child.status = "closed"
  return true
end

-- Money coming into account a: a flow, except the first money an account opened
-- empty receives before its first day is recorded, which is its starting capital
-- (returns are measured from it, not from zero).
local function inflow(a, x)
  if a.initial == 0 and #a.eq_dates == 0 then
    a.initial = x
  else
    a.flow_today = a.flow_today + x
  end
end

function Engine:deposit(a, amount)
  if C.oms_deposit(a.ptr, amount, self.now, 0, errbuf, ERRLEN) ~= 0 then return nil, errmsg() end
  local x = oms.round_cents(amount)
  inflow(a, x)
  self.total_flow_today = self.total_flow_today + x
  return true
end

function Engine:withdraw(a, amount)
  local free = self:free_cash(a)
  if amount > free and not self.risk.allow_margin then
    return nil, format("account %s: withdrawal of %s exceeds the %s not reserved for open orders or short puts",
      a.name, money(amount), money(free))
  end
  local flags = self.risk.allow_margin and oms.ALLOW_NEGATIVE or 0
  if C.oms_withdraw(a.ptr, amount, self.now, 0, flags, errbuf, ERRLEN) ~= 0 then return nil, errmsg() end
  local x = oms.round_cents(amount)
  a.flow_today = a.flow_today - x
  self.total_flow_today = self.total_flow_today - x
  return true
end

function Engine:transfer(from, to, amount)
  local free = self:free_cash(from)
  if amount > free and not self.risk.allow_margin then
    return nil, format("account %s: transfer of %s exceeds the %s not reserved for open orders or short puts",
      from.name, money(amount), money(free))
  end
  local flags = self.risk.allow_margin and oms.ALLOW_NEGATIVE or 0
  if C.oms_transfer(from.ptr, to.ptr, amount, self.now, 0, flags, errbuf, ERRLEN) ~= 0 then
    return nil, errmsg()
  end
  local x = oms.round_cents(amount)
  from.flow_today = from.flow_today - x
  inflow(to, x)
  return true
end

-- The oms_position of account a in symbol sid, or nil before its first fill.
-- a.pos[sid] caches the pointer (stable until the set is freed); positions are made
-- only by fills, and execute fills the cache after each one, so a miss here means
-- "never traded" without asking C (ctx:position is called on every bar).
local function position_of(self, a, sid)
  return a.pos[sid]
end
Engine.position_of = position_of

function Engine:cash(a) return oms.dollars(a.ptr.cash_cents) end

-- The sid of each position of a, in position order (positions only ever append).
local function pos_sid(self, a, j)
  local sid = a.pos_sid[j]
  if sid == nil then
    sid = self.sid_of[ffi.string(a.ptr.positions[j].symbol)] or false
    a.pos_sid[j] = sid
  end
  return sid
end

-- cash + sum of qty x mark x multiplier.  A position in a symbol with no mark yet
-- is valued at its cost basis (it can only exist before the symbol's first bar).
function Engine:equity(a)
  if self.has_options then self:mark_options() end
  local ptr = a.ptr
  local eq = tonumber(ptr.cash_cents) / 100
  for j = 0, ptr.npositions - 1 do
    local p = ptr.positions[j]
    local q = p.qty
    if q ~= 0 then
      local sid = pos_sid(self, a, j)
      if sid and self.mark[sid] ~= 0 then
        eq = eq + q * self.mark[sid] * p.multiplier
      else
        eq = eq + tonumber(p.cost_basis_cents) / 100
      end
    end
  end
  return eq
end

-- ---- orders ----

local CHUNK_BITS = 10
local CHUNK = 2 ^ CHUNK_BITS
local order_chunk_t = ffi.typeof("oms_order[$]", CHUNK)
local orderx_chunk_t = ffi.typeof("au_order_x[$]", CHUNK)
local trade_chunk_t = ffi.typeof("au_trade[$]", CHUNK)

local function grow_orders(self)
  local c = self.ord_cap / CHUNK
  self.ord_chunks[c] = order_chunk_t()
  self.ordx_chunks[c] = orderx_chunk_t()
  self.ord_cap = self.ord_cap + CHUNK
end

-- Order k (1-based) as an oms_order reference, and its au_order_x.
local function order_at(self, k)
  return self.ord_chunks[rshift(k, CHUNK_BITS)][band(k, CHUNK - 1)]
end
local function orderx_at(self, k)
  return self.ordx_chunks[rshift(k, CHUNK_BITS)][band(k, CHUNK - 1)]
end
Engine.order_at = order_at

-- Trade k (1-based), a closed round trip.
local function trade_at(self, k)
  return self.trade_chunks[rshift(k, CHUNK_BITS)][band(k, CHUNK - 1)]
end
Engine.trade_at = trade_at

-- The order number of a client order id, or nil.  Automatic ids ("o<N>") are not
-- kept in the id table: N is the order number.
local function order_number(self, id)
  local k = self.order_by_id[id]
  if k then return k end
  local n = type(id) == "string" and id:match("^o(%d+)$")
  n = n and tonumber(n)
  if n and n >= 1 and n <= self.norders and orderx_at(self, n).auto_id == 1 then return n end
  return nil
end
Engine.order_number = order_number

-- The number of working orders of account a.
function Engine:working_orders(a)
  local n = 0
  for sid = 1, #self.symbols do
    local w = self.working[sid]
    for j = 1, #w do
      if orderx_at(self, w[j]).account == a.index then n = n + 1 end
    end
  end
  return n
end

local function queue_order_event(self, k)
  if self.want_orders then
    local n = self.nev + 1
    self.events[n] = k
    self.nev = n
  end
end

-- Estimated cash a buy needs: qty x reference price x (1 + slippage) + commission.
local function buy_cost(self, o, ref)
  local px = ref * (1 + self.fill.slippage_bps / 10000)
  local value = o.qty * px
  local comm = 0
  if C.oms_commission_order(self.comm, o.qty, value, self.dbl, errbuf, ERRLEN) == 0 then
    comm = self.dbl[0]
  end
  return value + comm
end

-- The price risk checks use: the limit for limit orders, else the last mark (a stop
-- buy at least its stop).
local function reference_price(self, o, sid)
  local t = o.type
  if t == LIMIT or t == STOP_LIMIT then return o.limit_price end
  if self.mark[sid] == 0 then return nil end
  local m = self.mark[sid]
  if t == STOP and o.side == BUY and o.stop_price > m then return o.stop_price end
  return m
end

-- The reason to reject o, or nil.  Field checks first (oms_order_validate), then the
-- symbol, the account, and the risk limits.
local function risk_reason(self, a, o, sid, why)
  local r = C.oms_order_validate(o)
  if r ~= nil then return ffi.string(r) end
  if not sid then return format("unknown symbol '%s' (%s)", ffi.string(o.symbol), why or "not in this run's data") end
  if a.status ~= "active" then return format("account %s is %s", a.name, a.status) end
  local risk = self.risk
  -- orders_today already counts this order.
  if risk.max_orders_per_day > 0 and a.orders_today > risk.max_orders_per_day then
    return format("max_orders_per_day reached (%d orders today in account %s)", risk.max_orders_per_day, a.name)
  end
  local inst = self.inst[sid]
  if inst.kind == "option" then return self:option_risk(a, o, sid, inst) end
  local ref = reference_price(self, o, sid)
  if not ref then return format("no price for %s yet: wait for its first bar", self.symbols[sid]) end
  local p = position_of(self, a, sid)
  local held = p and p.qty or 0
  local qty = o.qty
  local buy = o.side == BUY
  -- The position this order could lead to at worst: with every working order on the
  -- same side filled and none on the other (a working buy may never fill, so it
  -- does not cover a sell).
  local after
  if buy then
    after = held + (a.pending_buy[sid] or 0) + qty
  else
    after = held - (a.pending_sell[sid] or 0) - qty
  end
  if not buy and not risk.allow_short and after < 0 then
    return format("sell of %d %s exceeds the %d held and not being sold (shorts off: allow_short)",
      qty, self.symbols[sid], held - (a.pending_sell[sid] or 0))
  end
  if not buy and not self.allow_naked and self.options_of[sid] then
    -- Shares covering short calls (or reserved for call sells) are not for sale.
    local free = self:free_shares(a, sid)
    if qty > free and after >= 0 then
      return format("sell of %d %s would uncover short calls: %d shares free in account %s", qty,
        self.symbols[sid], free, a.name)
    end
  end
  if risk.max_position > 0 and abs(after) > risk.max_position then
    return format("position would reach %d %s, above max_position %d", abs(after), self.symbols[sid],
      risk.max_position)
  end
  if risk.max_notional > 0 and abs(after) * ref > risk.max_notional then
    return format("position would be worth %s, above max_notional %s", money(abs(after) * ref),
      money(risk.max_notional))
  end
  if buy and not risk.allow_margin then
    local need = buy_cost(self, o, ref)
    local avail = oms.dollars(a.ptr.cash_cents) - a.reserved
    if need > avail then
      return format("insufficient buying power: order needs %s, %s available in account %s", money(need),
        money(avail), a.name)
    end
    return nil, need
  end
  return nil, 0
end

-- The end (µs UTC, exclusive) of the session a day order placed now works in: today's
-- close if the market is open or still to open today, else the next trading day's.
function Engine:session_end(now)
  if self.date and now >= self.day_start and now < self.day_end then
    if now < self.today_close then return self.today_close end
    return self.next_close
  end
  local date = calendar.ny_date(now)
  local open, close = calendar.session(date) -- nil, message on a closed day
  if open and now < close then return close end
  local nxt = calendar.next_trading_day(date)
  if not nxt then return NEVER end
  local o2, c2 = calendar.session(nxt)
  return o2 and c2 or NEVER
end

-- A new order from the strategy, already type-checked by ctx: side "buy"|"sell",
-- otype "market"|"limit"|"stop"|"stop_limit", tif "day"|"gtc"|"ioc" (nil: day),
-- limit/stop prices or nil, id a client order id or nil (then "o<order number>").
-- Returns id, or nil, reason, id when rejected.
function Engine:submit(a, symbol, side_name, qty, otype, tif, limit, stop, id)
  if id ~= nil then
    local old = order_number(self, id)
    if old then
      -- Client order ids are idempotent: the same id names the same order.
      local o = order_at(self, old)
      if o.status == REJECTED then return nil, ffi.string(o.reason), id end
      return id
    end
  end
  if #symbol >= 32 then
    -- Cannot be in the run's data (symbols are 1..31 bytes) nor fit an order record.
    return nil, format("unknown symbol '%s' (not in this run's data)", symbol)
  end
  if self.norders + 1 >= self.ord_cap then grow_orders(self) end
  local k = self.norders + 1
  local auto = id == nil
  if auto then id = "o" .. k end
  local o = order_at(self, k)
  local side = oms.side[side_name]
  local rc = C.oms_order_init(o, id, a.name, symbol, side, oms.type[otype or "market"],
    oms.tif[tif or "day"], qty, limit or 0, stop or 0, self.now, errbuf, ERRLEN)
  if rc ~= 0 then error("engine: " .. errmsg(), 3) end
  self.norders = k
  if not auto then self.order_by_id[id] = k end
  local sid, why = self.sid_of[symbol], nil
  if not sid then sid, why = self:instrument(symbol) end
  local x = orderx_at(self, k)
  x.account, x.sid, x.auto_id = a.index, sid or 0, auto and 1 or 0
  a.orders_today = a.orders_today + 1
  local reason, reserve, cover = risk_reason(self, a, o, sid, why)
  if reason then
    C.oms_order_reject(o, reason, self.now, errbuf, ERRLEN)
    queue_order_event(self, k)
    self:flush()
    return nil, ffi.string(o.reason), id
  end
  C.oms_order_transition(o, ACCEPTED, self.now, errbuf, ERRLEN)
  x.reserve, x.open, x.cover = reserve, qty, cover or 0
  a.reserved = a.reserved + reserve
  if cover and cover > 0 then
    local u = self.inst[sid].underlying
    a.cover_reserved[u] = (a.cover_reserved[u] or 0) + cover
  end
  if side == BUY then
    a.pending_buy[sid] = (a.pending_buy[sid] or 0) + qty
  else
    a.pending_sell[sid] = (a.pending_sell[sid] or 0) + qty
  end
  x.session_end = o.tif == DAY and self:session_end(self.now) or NEVER
  local w = self.working[sid]
  w[#w + 1] = k
  local trig = self.trigger[sid]
  self.nwork[trig] = self.nwork[trig] + 1
  queue_order_event(self, k)
  self:flush()
  return id
end

-- Release what order k holds for qty of its open quantity: that share of the cash
-- reserved at acceptance, and the pending quantity.  x.open is the quantity not
-- yet released (filled, canceled or expired quantities are released as they happen).
local function release(self, k, qty)
  local o = order_at(self, k)
  local x = orderx_at(self, k)
  local a, sid = self.accounts[x.account], x.sid
  local open = x.open
  local res = x.reserve
  local part = qty >= open and res or res * qty / open
  if x.cover > 0 then
    local cpart = qty >= open and x.cover or x.cover * qty / open
    local u = self.inst[sid].underlying
    a.cover_reserved[u] = a.cover_reserved[u] - cpart
    x.cover = x.cover - cpart
  end
  x.open = open - qty
  x.reserve = res - part
  local r = a.reserved - part
  a.reserved = r > 1e-6 and r or 0
  if o.side == BUY then
    a.pending_buy[sid] = a.pending_buy[sid] - qty
  else
    a.pending_sell[sid] = a.pending_sell[sid] - qty
  end
end

local function remove_working(self, k)
  local sid = orderx_at(self, k).sid
  local w = self.working[sid]
  for j = 1, #w do
    if w[j] == k then
      table.remove(w, j)
      local trig = self.trigger[sid]
      self.nwork[trig] = self.nwork[trig] - 1
      break
    end
  end
end

-- Cancel working order k with reason, now: release what it holds, take it off its
-- working list, queue its status change.
local function cancel_order(self, k, reason)
  local o = order_at(self, k)
  local rem = o.qty - o.filled_qty
  C.oms_order_cancel(o, reason, self.now, errbuf, ERRLEN)
  release(self, k, rem)
  remove_working(self, k)
  queue_order_event(self, k)
end

-- Cancel a working order.  true, or nil, reason.
function Engine:cancel(id, reason)
  local k = order_number(self, id)
  if not k then return nil, format("no order '%s'", tostring(id)) end
  local o = order_at(self, k)
  if o.status ~= ACCEPTED and o.status ~= PARTIALLY_FILLED then
    return nil, format("order %s is %s", id, oms.name("status", o.status))
  end
  cancel_order(self, k, reason or "canceled by the strategy")
  self:flush()
  return true
end

-- Cancel every working order (of account a when given): at halt, at the end of a run.
function Engine:cancel_all(reason, a)
  for k = 1, self.norders do
    local o = order_at(self, k)
    if (o.status == ACCEPTED or o.status == PARTIALLY_FILLED) and (a == nil or orderx_at(self, k).account == a.index) then
      self:cancel(ffi.string(o.id), reason)
    end
  end
end

-- ---- round trips ----

local trip_t = ffi.typeof("au_trip")

local function open_trip(self, a, sid, q, price, c_cash, c_comm)
  local tr = a.trip[sid]
  if tr == nil then
    tr = trip_t()
    a.trip[sid] = tr
  end
  local aq = abs(q)
  tr.side, tr.open = q > 0 and 1 or -1, 1
  tr.qty, tr.entry_time, tr.entry_qty, tr.entry_value = aq, self.fill_time, aq, aq * price
  tr.exit_qty, tr.exit_value, tr.cash, tr.commission = 0, 0, c_cash, c_comm
  tr.bar0 = self.barcount[sid]
  if self.nopen == 0 then self.exposed_since = self.event end
  if a.nopen == 0 then a.exposed_since = self.event end
  self.nopen = self.nopen + 1
  a.nopen = a.nopen + 1
end

local function close_trip(self, a, sid, tr)
  local n = self.ntrades + 1
  if n >= self.trade_cap then
    self.trade_chunks[self.trade_cap / CHUNK] = trade_chunk_t()
    self.trade_cap = self.trade_cap + CHUNK
  end
  local d = trade_at(self, n)
  local gross = oms.round_cents(tr.cash)
  local cm = oms.round_cents(tr.commission)
  d.account, d.sid, d.side, d.qty = a.index, sid, tr.side, tr.qty
  d.entry_time, d.entry_price = tr.entry_time, tr.entry_value / tr.entry_qty
  d.exit_time, d.exit_price = self.fill_time, tr.exit_value / tr.exit_qty
  d.bars, d.gross, d.commission = self.barcount[sid] - tr.bar0, gross, cm
  d.pnl = oms.round_cents(gross - cm)
  self.ntrades = n
  tr.open = 0
  self.nopen = self.nopen - 1
  a.nopen = a.nopen - 1
  if self.nopen == 0 then self.exposed = self.exposed + self.event - self.exposed_since end
  if a.nopen == 0 then a.exposed = a.exposed + self.event - a.exposed_since end
end

-- Round-trip bookkeeping for one fill of signed qty at price: cash and comm are the
-- fill's postings (dollars).  A trip runs from the position leaving 0 to coming back;
-- a fill through zero closes one (with its share of the fill's cash and commission)
-- and opens the next with the rest.
local function round_trip_fill(self, a, sid, before, after, signed, price, cash, comm)
  if before == 0 then
    open_trip(self, a, sid, signed, price, cash, comm)
    return
  end
  local tr = a.trip[sid]
  local asigned = abs(signed)
  if (before > 0) == (signed > 0) then -- adding
    tr.entry_qty = tr.entry_qty + asigned
    tr.entry_value = tr.entry_value + asigned * price
    tr.qty = max(tr.qty, abs(after))
    tr.cash, tr.commission = tr.cash + cash, tr.commission + comm
    return
  end
  -- Reducing, closing, or going through zero.
  local closing = min(asigned, abs(before))
  local share_cash, share_comm = cash, comm
  if asigned > closing then -- the part beyond zero opens the next trip
    share_cash = oms.round_cents(cash * closing / asigned)
    share_comm = oms.round_cents(comm * closing / asigned)
  end
  tr.exit_qty = tr.exit_qty + closing
  tr.exit_value = tr.exit_value + closing * price
  tr.cash, tr.commission = tr.cash + share_cash, tr.commission + share_comm
  if after == 0 or (after > 0) ~= (before > 0) then
    close_trip(self, a, sid, tr)
    if after ~= 0 then
      open_trip(self, a, sid, after, price, oms.round_cents(cash - share_cash), oms.round_cents(comm - share_comm))
    end
  end
end

-- Closed trades as tables (for results): of account a, or all.
function Engine:trade_rows(a)
  local out = {}
  for k = 1, self.ntrades do
    local d = trade_at(self, k)
    if a == nil or d.account == a.index then
      out[#out + 1] = {
        id = k, account = self.accounts[d.account].name, symbol = self.symbols[d.sid],
        side = d.side > 0 and "long" or "short", qty = d.qty, entry_time = d.entry_time,
        entry_price = d.entry_price, exit_time = d.exit_time, exit_price = d.exit_price, bars = d.bars,
        gross = d.gross, commission = d.commission, pnl = d.pnl,
      }
    end
  end
  return out
end

-- ---- fills ----

-- Book what bar b does to order k (one C call: match, cash veto, commission, order
-- and account), then keep the Lua-side books: reservations, round trips, events.
-- Returns true while the order is still working.
local function execute(self, k, o, t)
  local ox = orderx_at(self, k)
  local a, sid = self.accounts[ox.account], ox.sid
  local x = self.cexec
  local inst = self.inst[sid]
  local option = inst.kind == "option"
  local limit = -1
  if not self.risk.allow_margin and o.side == BUY then
    limit = tonumber(a.ptr.cash_cents) / 100 - (a.reserved - ox.reserve)
    if a.has_options then limit = limit - self:commitments(a) end
  end
  local open_before = o.qty - o.filled_qty
  if C.oms_exec_bar(a.ptr, o, self.cbar, self.model, option and self.opt_comm or self.comm, inst.multiplier,
      limit, k, x, errbuf, ERRLEN) ~= 0 then
    error(format("engine: %s bar at %s: %s", self.symbols[sid], time.format(t), errmsg()))
  end
  local qty = x.qty
  if qty > 0 then
    local price, comm = x.price, x.commission
    local buy = o.side == BUY
    local signed = buy and qty or -qty
    local cc = floor(comm * 100 + 0.5)
    self.commissions_cents = self.commissions_cents + cc
    a.commissions_cents = a.commissions_cents + cc
    self.fill_time = t
    if a.pos[sid] == nil then a.pos[sid] = C.oms_account_position(a.ptr, self.symbols[sid]) end
    if option then a.has_options = true end
    round_trip_fill(self, a, sid, x.pos_before, x.pos_after, signed, price, tonumber(x.cash_cents) / 100, comm)
    self.nfills = self.nfills + 1
    if self.want_fills then
      local n = self.nev + 1
      self.events[n] = {
        order_id = ffi.string(o.id), account = a.name, symbol = self.symbols[sid],
        side = buy and "buy" or "sell", qty = qty, price = price, commission = comm, time = t,
      }
      self.nev = n
    end
  end
  local status = o.status
  local working = status == ACCEPTED or status == PARTIALLY_FILLED
  if working then
    if qty > 0 then release(self, k, qty) end
  else
    release(self, k, open_before) -- filled, canceled (ioc rest, cash veto)
  end
  if qty > 0 or not working then queue_order_event(self, k) end
  return working
end

-- A day order whose session has ended by bar time t expires (true) instead of
-- meeting the bar.
local function expire_day(self, k, o, t)
  if C.oms_order_day_expired(o, t, orderx_at(self, k).session_end) ~= 1 then return false end
  local rem = o.qty - o.filled_qty
  C.oms_order_expire(o, t, errbuf, ERRLEN)
  release(self, k, rem)
  queue_order_event(self, k)
  return true
end

-- Offer the working orders of instrument sid a bar at time t: self.cbar as it is, or,
-- for a quoted instrument (an option: quoted = true), a one-price bar at the ask for
-- a buy and the bid for a sell (no fill while that side is missing or 0).  Returns
-- how many still work.
local function match_list(self, sid, t, quoted, bid, ask)
  local w = self.working[sid]
  local cb = self.cbar
  local keep = 0
  for j = 1, #w do
    local k = w[j]
    local o = order_at(self, k)
    local working
    if expire_day(self, k, o, t) then
      working = false
    elseif quoted then
      local px = o.side == BUY and ask or bid
      if px and px > 0 then
        cb.time, cb.open, cb.high, cb.low, cb.close, cb.volume = t, px, px, px, px, 1e12
        working = execute(self, k, o, t)
      else
        working = true
      end
    else
      working = execute(self, k, o, t)
    end
    if working then
      keep = keep + 1
      w[keep] = k
    end
  end
  for j = #w, keep + 1, -1 do w[j] = nil end
  return keep
end

-- What bar b does to the working orders of sid and of its options.
function Engine:match(sid, b)
  local cb = self.cbar
  local t = b.time
  cb.time, cb.open, cb.high, cb.low, cb.close, cb.volume = t, b.open, b.high, b.low, b.close, b.volume
  local keep = match_list(self, sid, t, false)
  local opts = self.options_of[sid]
  if opts then
    for _, osid in ipairs(opts) do
      if #self.working[osid] > 0 then keep = keep + self:match_option(osid, b) end
    end
  end
  self.nwork[sid] = keep
  self:flush()
end

-- Deliver queued events to the sink, in the order they happened.  Events queued by
-- the callbacks themselves (an order placed from on_fill) are delivered in the same
-- pass, after the ones before them.
function Engine:flush()
  if self.nev == 0 or self.flushing then return end
  self.flushing = true
  local ev, sink = self.events, self.sink
  local i = 1
  while i <= self.nev do
    local e = ev[i]
    ev[i] = false
    if type(e) == "number" then sink.order(self, e) else sink.fill(self, e) end
    i = i + 1
  end
  self.nev = 0
  self.flushing = false
end

-- Who listens: the driver sets the sink and says which events it wants.
function Engine:set_sink(sink, want_orders, want_fills)
  self.sink, self.want_orders, self.want_fills = sink, want_orders and true or false, want_fills and true or false
end

-- ---- views for the strategy and the results ----

function Engine:order_view(k)
  local o = order_at(self, k)
  return {
    id = ffi.string(o.id), account = ffi.string(o.account), symbol = ffi.string(o.symbol),
    side = oms.name("side", o.side), type = oms.name("type", o.type), tif = oms.name("tif", o.tif),
    status = oms.name("status", o.status), reason = ffi.string(o.reason), qty = o.qty,
    filled_qty = o.filled_qty, avg_price = o.avg_price, limit_price = o.limit_price,
    stop_price = o.stop_price, created = tonumber(o.created), updated = tonumber(o.updated),
  }
end

function Engine:order(id)
  local k = order_number(self, id)
  if not k then return nil end
  return self:order_view(k)
end

-- Bars with a position open at their end, up to event `events` (exclusive): for the
-- engine as a whole, or for account a.
function Engine:exposure(events, a)
  local o = a or self
  local n = o.exposed
  if o.nopen > 0 then n = n + events - o.exposed_since end
  return n
end

-- ---- end of day ----

function Engine:end_of_day(date)
  local total, total_flow = 0, self.total_flow_today
  for _, a in ipairs(self.accounts) do
    local eq = self:equity(a)
    local n = #a.eq_dates + 1
    a.eq_dates[n], a.eq_values[n], a.eq_flows[n] = date, oms.round_cents(eq), oms.round_cents(a.flow_today)
    a.flow_today = 0
    total = total + eq
  end
  self.total_flow_today = 0
  return oms.round_cents(total), oms.round_cents(total_flow)
end

-- ---- invariants (tests turn this on for every bar of every run) ----

-- For every account: cash == the sum of its ledger (checked on the postings added
-- since the last call, each balance the running sum), and the engine's equity ==
-- C's oms_account_equity_at over the same marks.  Raises on the first break.
function Engine:check_invariants(full)
  if self.has_options then self:mark_options() end
  local marks = self.check_marks
  for _, a in ipairs(self.accounts) do
    local ptr = a.ptr
    local n = tonumber(ptr.nledger)
    local sum = a.checked_sum
    for i = a.checked_n, n - 1 do
      local pst = ptr.ledger[i]
      sum = sum + tonumber(pst.amount_cents)
      if tonumber(pst.balance_cents) ~= sum then
        error(format("invariant: account %s ledger entry %d balance %d != running sum %d", a.name, i,
          tonumber(pst.balance_cents), sum))
      end
    end
    a.checked_n, a.checked_sum = n, sum
    if tonumber(ptr.cash_cents) ~= sum then
      error(format("invariant: account %s cash %d cents != ledger sum %d", a.name, tonumber(ptr.cash_cents), sum))
    end
    local np = ptr.npositions
    if not marks or self.check_marks_n < np then
      self.check_marks_n = np + 8
      marks = ffi.new("double[?]", np + 8)
      self.check_marks = marks
    end
    local all_marked = true
    for j = 0, np - 1 do
      local sid = pos_sid(self, a, j)
      if sid and self.mark[sid] ~= 0 then
        marks[j] = self.mark[sid]
      else
        marks[j] = 0 / 0
        if ptr.positions[j].qty ~= 0 then all_marked = false end
      end
    end
    if all_marked then
      if C.oms_account_equity_at(ptr, marks, np, self.dbl, errbuf, ERRLEN) ~= 0 then
        error("invariant: account " .. a.name .. ": " .. errmsg())
      end
      local e1, e2 = self:equity(a), self.dbl[0]
      if abs(e1 - e2) > 1e-6 * max(1, abs(e2)) then
        error(format("invariant: account %s equity %.6f != cash + positions x marks %.6f", a.name, e1, e2))
      end
    end
    if full and C.oms_account_check(ptr, errbuf, ERRLEN) ~= 0 then
      error("invariant: " .. errmsg())
    end
    -- Options without --allow-naked: every short call covered by shares held, every
    -- short put secured by cash (acceptance and the fill-time checks promise it;
    -- nothing later, a transfer or an assignment, may break it).
    if full and a.has_options and not self.allow_naked then
      local secured, covered = self:commitments(a)
      if secured > 0 and oms.dollars(ptr.cash_cents) < secured - 0.005 then
        error(format("invariant: account %s holds short puts securing %s with %s cash", a.name,
          money(secured), money(oms.dollars(ptr.cash_cents))))
      end
      for u, shares in pairs(covered) do
        local p = a.pos[u]
        local held = p and p.qty or 0
        if held < shares then
          error(format("invariant: account %s is short calls on %d %s shares and holds %d", a.name, shares,
            self.symbols[u], held))
        end
      end
    end
  end
end

-- The options extension, with the engine internals it needs.
engine_options.install(Engine, {
  match_list = match_list,
  trip = round_trip_fill,
  cancel_order = cancel_order,
})

return M
