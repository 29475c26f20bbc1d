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
-- Money lives in core/oms (integer cents, FIFO lots, the ledger); orders, what they
-- reserve, their execution against bars and the round trips they make live in the
-- order book (core/oms/book.h), one FFI call per step.  This file decides policy
-- around them: which checks an order must pass, how much cash or how many shares it
-- reserves, and the order in which the strategy hears about events.
--
-- Events (order status changes, fills) are queued by the book while the engine works
-- and delivered through eng.sink after it is done, so a strategy that places or
-- cancels orders from on_fill never changes a list the engine is walking.
local ffi = require("ffi")
local oms = require("alluse.oms")
local calendar = require("alluse.calendar")
local time = require("alluse.time")
local engine_options = require("alluse.engine_options")

local C = oms.C
local errbuf, ERRLEN, errmsg = oms.errbuf, oms.ERRLEN, oms.errmsg
local type, tonumber, tostring, pairs, ipairs, error = type, tonumber, tostring, pairs, ipairs, error
local format, abs, max, min = string.format, math.abs, math.max, math.min
-- "Never": a session end beyond any bar (a finite number: it is stored as an int64).
local NEVER = 2 ^ 62

local BUY, SELL = oms.BUY, oms.SELL
local MARKET, LIMIT, STOP, STOP_LIMIT = 1, 2, 3, 4
local DAY = 1
local ACCEPTED, PARTIALLY_FILLED, REJECTED = oms.ACCEPTED, oms.PARTIALLY_FILLED, oms.REJECTED
local EV_ORDER = 1


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
  local oc = copy_opts(opts.option_commission, engine_options.defaults.commission, "option_commission")
  local okind = oms.commission[oc.model]
  if not okind then error("engine: option_commission.model must be none, per_share, per_contract or percent", 2) end
  self.option_commission = oc
  self.opt_comm = ffi.new("oms_commission", okind, oc.rate, oc.min, oc.max_percent)
  self.allow_naked = opts.allow_naked and true or false

  -- Instruments: sid 1..n are the run's symbols (equities); option contracts are
  -- added after them as they are named (engine_options).  inst[sid] describes one
  -- (an option's underlying is the sid whose bars match its orders); the book keeps
  -- the same per sid, and: nwork, the working orders its bars must
  -- match (its own and its options'); mark, the last close (an option's last mid), 0
  -- before the first (prices are > 0, so 0 means none); barcount, bars so far.  FFI
  -- arrays, sized once for every instrument the run may add: the driver keeps them in
  -- locals.
  self.symbols, self.sid_of, self.inst = {}, {}, {}
  local n = #symbols
  self.max_instruments = n + (opts.max_options or 65536)
  local book = oms.new_book(self.max_instruments, self.model, self.comm, self.opt_comm, self.risk.allow_margin)
  self.book = book
  self.mark, self.barcount, self.nwork = book.mark, book.barcount, book.nwork
  for i, s in ipairs(symbols) do
    self.symbols[i], self.sid_of[s], self.inst[i] = s, i, EQUITY
    if C.oms_book_add_instrument(book, i, s, i, 0, 0, 1, errbuf, ERRLEN) ~= 0 then error("engine: " .. errmsg(), 2) end
  end
  self.options_of, self.option_sids, self.has_options = {}, {}, false
  self.next_expiry = math.huge -- the earliest expiry of a live contract
  self.assignments = {}        -- exercises and assignments, for the results
  self.journal = {}            -- the strategy's ctx:record rows: stream name -> rows
  -- rows a live run's recorder dropped from the front of a stream once they were in
  -- the store (runs.lua, Rec:_trim): row i of journal[s] is the (base[s] + i)-th
  self.journal_base = {}

  self.set = oms.new_set()
  self.accounts, self.account_by_name = {}, {}
  self.cbar = ffi.new("oms_bar")
  self.cfill = ffi.new("oms_fill")
  self.dbl = ffi.new("double[1]")

  -- Orders are numbered 1..book.norders; client ids other than the book's automatic
  -- "o<N>" map to their number here.
  self.order_by_id = {}
  self.total_flow_today = 0
  -- The book queues events for the sink (an order's status change, a fill) when
  -- someone listens (set_sink); flush delivers them.
  self.flushing = false
  self.sink = nil         -- { order = fn(eng, k), fill = fn(eng, fill) }
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

-- a.pos[sid]: the account's oms_position in sid, nil before its first fill.  Fills
-- happen in the book, so a miss asks it (and a hit is kept: positions never move).
local function position_cache(book, index)
  return setmetatable({}, { __index = function(t, sid)
    local p = C.oms_book_position(book, index, sid)
    if p == nil then return nil end
    t[sid] = p
    return p
  end })
end

local function account_record(self, ptr, name, parent, initial)
  local index = C.oms_book_add_account(self.book, ptr, errbuf, ERRLEN)
  if index ~= #self.accounts + 1 then error("engine: account " .. name .. ": " .. errmsg()) end
  local a = {
    name = name, ptr = ptr, parent = parent, status = "active", created = self.now,
    initial = initial, orders_today = 0, flow_today = 0,
    pos = position_cache(self.book, index), pos_sid = {}, index = index,
    eq_dates = {}, eq_values = {}, eq_flows = {}, checked_n = 0, checked_sum = 0,
  }
  self.accounts[index] = a
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

-- Order k (1-based) as an oms_order pointer, and what the book keeps beside it.
local function order_at(self, k)
  return C.oms_book_order(self.book, k)
end
local function orderx_at(self, k)
  return C.oms_book_order_x(self.book, k)
end
Engine.order_at = order_at

-- Trade k (1-based), a closed round trip.
local function trade_at(self, k)
  return C.oms_book_trade(self.book, k)
end
Engine.trade_at = trade_at

function Engine:norders() return self.book.norders end
function Engine:ntrades() return self.book.ntrades end
function Engine:nfills() return tonumber(self.book.nfills) end
-- Commissions in dollars: of account a, or of the whole run.
function Engine:commissions(a)
  if a then return tonumber(self.book.acct[a.index].commissions_cents) / 100 end
  return tonumber(self.book.commissions_cents) / 100
end
-- Cash of account a reserved for its working orders.
function Engine:reserved(a) return self.book.acct[a.index].reserved end

-- The order number of a client order id, or nil.  Automatic ids ("o<N>") are not
-- kept in the id table: N is the order number.
local function order_number(self, id)
  local k = self.order_by_id[id]
  if k then return k end
  local n = type(id) == "string" and id:match("^o(%d+)$")
  n = n and tonumber(n)
  if n and n >= 1 and n <= self.book.norders and orderx_at(self, n).auto_id == 1 then return n end
  return nil
end
Engine.order_number = order_number

-- The number of working orders of account a.
function Engine:working_orders(a)
  return C.oms_book_working(self.book, a.index)
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
    after = held + C.oms_book_pending(self.book, a.index, sid, BUY) + qty
  else
    after = held - C.oms_book_pending(self.book, a.index, sid, SELL) - qty
  end
  if not buy and not risk.allow_short and after < 0 then
    return format("sell of %d %s exceeds the %d held and not being sold (shorts off: allow_short)",
      qty, self.symbols[sid], held - C.oms_book_pending(self.book, a.index, sid, SELL))
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
    local avail = oms.dollars(a.ptr.cash_cents) - self.book.acct[a.index].reserved
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
  local book = self.book
  local sid, why = self.sid_of[symbol], nil
  if not sid then sid, why = self:instrument(symbol) end
  local k = C.oms_book_new_order(book, a.index, sid or 0, id, symbol, oms.side[side_name],
    oms.type[otype or "market"], oms.tif[tif or "day"], qty, limit or 0, stop or 0, self.now, errbuf, ERRLEN)
  if k < 0 then error("engine: " .. errmsg(), 3) end
  if id ~= nil then self.order_by_id[id] = k end
  a.orders_today = a.orders_today + 1
  local o = order_at(self, k)
  local reason, reserve, cover = risk_reason(self, a, o, sid, why)
  if reason then
    C.oms_book_reject(book, k, reason, self.now, errbuf, ERRLEN)
    self:flush()
    return nil, ffi.string(o.reason), id or "o" .. k
  end
  local session_end = o.tif == DAY and self:session_end(self.now) or NEVER
  if C.oms_book_accept(book, k, reserve, cover or 0, session_end, self.now, errbuf, ERRLEN) ~= 0 then
    error("engine: " .. errmsg(), 3)
  end
  self:flush()
  -- The automatic id is made last: a caller that drops it (most do) lets the JIT
  -- drop the string too, which it cannot once a later guard's snapshot holds it.
  return id or "o" .. k
end

-- Cancel working order k with reason, now: release what it holds, take it off its
-- working list, queue its status change.
local function cancel_order(self, k, reason)
  if C.oms_book_cancel(self.book, k, reason, self.now, errbuf, ERRLEN) ~= 0 then error("engine: " .. errmsg()) end
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
  for k = 1, self.book.norders do
    local o = order_at(self, k)
    if (o.status == ACCEPTED or o.status == PARTIALLY_FILLED) and (a == nil or orderx_at(self, k).account == a.index) then
      self:cancel(ffi.string(o.id), reason)
    end
  end
end

-- Closed trades as tables (for results): of account a, or all.
function Engine:trade_rows(a)
  local out = {}
  for k = 1, self.book.ntrades do
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

-- Offer the working orders of instrument sid the bar in self.cbar (the book: expiry
-- of day orders, fill model, cash veto, commission, order, account, round trips), or,
-- for a quoted instrument (an option: quoted = true), a one-price bar at the ask for
-- a buy and the bid for a sell (no fill while that side is missing or 0).  Returns
-- how many still work.
local function match_list(self, sid, t, quoted, bid, ask)
  local n = C.oms_book_match(self.book, sid, self.cbar, quoted and 1 or 0, bid or 0, ask or 0, errbuf, ERRLEN)
  if n < 0 then error(format("engine: %s bar at %s: %s", self.symbols[sid], time.format(t), errmsg())) end
  return n
end

-- What bar b does to the working orders of sid and of its options.
function Engine:match(sid, b)
  local cb = self.cbar
  local t = b.time
  cb.time, cb.open, cb.high, cb.low, cb.close, cb.volume = t, b.open, b.high, b.low, b.close, b.volume
  match_list(self, sid, t, false)
  local opts = self.options_of[sid]
  if opts then
    local inst = self.book.inst
    for _, osid in ipairs(opts) do
      if inst[osid].nlist > 0 then self:match_option(osid, b) end
    end
  end
  self:flush()
end

-- Deliver queued events to the sink, in the order they happened.  Events queued by
-- the callbacks themselves (an order placed from on_fill) are delivered in the same
-- pass, after the ones before them.
function Engine:flush()
  local book = self.book
  if book.nev == 0 or self.flushing then return end
  self.flushing = true
  local sink = self.sink
  local i = 0
  while i < book.nev do
    local e = C.oms_book_event_at(book, i) -- afresh each time: a callback may grow the queue
    local k = e.k
    if e.kind == EV_ORDER then
      sink.order(self, k)
    else
      local o = order_at(self, k)
      sink.fill(self, {
        order_id = ffi.string(o.id), account = ffi.string(o.account), symbol = ffi.string(o.symbol),
        side = o.side == BUY and "buy" or "sell", qty = e.qty, price = e.price, commission = e.commission,
        time = tonumber(e.time),
      })
    end
    i = i + 1
  end
  book.nev = 0
  self.flushing = false
end

-- Who listens: the driver sets the sink and says which events it wants.
function Engine:set_sink(sink, want_orders, want_fills)
  self.sink = sink
  self.book.want_orders, self.book.want_fills = want_orders and 1 or 0, want_fills and 1 or 0
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
  local o = a and self.book.acct[a.index] or self.book
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
    if full and self.book.acct[a.index].has_options ~= 0 and not self.allow_naked then
      local secured = self:secured_cash(a)
      if secured > 0 and oms.dollars(ptr.cash_cents) < secured - 0.005 then
        error(format("invariant: account %s holds short puts securing %s with %s cash", a.name,
          money(secured), money(oms.dollars(ptr.cash_cents))))
      end
      for u in pairs(self.options_of) do
        local shares = C.oms_book_covered(self.book, a.index, u)
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
  cancel_order = cancel_order,
})

return M
