-- The backtest driver and the engine under it, scenario by scenario: small hand-made
-- bar sequences run through backtest.run with a strategy written for each case, and
-- every number (fill prices, cash, ledger amounts, P&L) worked out by hand from the
-- bars chosen here.  The rules are docs/fills.md, docs/accounting.md, docs/results.md.
local t = require("alluse.test")
local series = require("alluse.series")
local time = require("alluse.time")
local calendar = require("alluse.calendar")
local json = require("alluse.json")
local backtest = require("alluse.backtest")

local floor = math.floor

-- ---- helpers ----

local fx = dofile((debug.getinfo(1, "S").source:sub(2):gsub("[^/]*$", "")) .. "backtest_fixtures.lua")
local strategy_file, DAYS, ymd, stamp, close_time = fx.strategy_file, fx.DAYS, fx.ymd, fx.stamp,
  fx.close_time

-- A daily series: rows {open, high, low, close[, volume]}, one per trading day.
local function daily(symbol, rows)
  local s = series.new(symbol, "1d")
  for i, r in ipairs(rows) do s:append(stamp(i), r[1], r[2], r[3], r[4], r[5] or 1000) end
  return s
end

-- Cents of a dollar amount, as an integer (exact sums).
local function cents(x)
  if x >= 0 then return floor(x * 100 + 0.5) end
  return -floor(-x * 100 + 0.5)
end

-- What every strategy here shares: recording order events, fills and bar numbers in
-- ctx.state (the test's own table, handed in as opts.state).
local PRELUDE = [[
local function log_order(ctx, o)
  local st = ctx.state
  st.status = st.status or {}
  st.status[o.id] = st.status[o.id] or {}
  local l = st.status[o.id]
  l[#l + 1] = o.status
  st.views = st.views or {}
  st.views[o.id] = st.views[o.id] or {}
  local v = st.views[o.id]
  v[#v + 1] = o
  st.seq = st.seq or {}
  st.seq[#st.seq + 1] = o.id .. ":" .. o.status
end
local function log_fill(ctx, f)
  local st = ctx.state
  st.fills = st.fills or {}
  st.fills[#st.fills + 1] = f
end
local function bar_no(ctx)
  local st = ctx.state
  st.n = (st.n or 0) + 1
  return st.n
end
local function keep(ctx, key, ...)
  ctx.state[key] = { n = select("#", ...), ... }
end
]]

-- Run src (PRELUDE prepended) over opts.bars (AAA daily rows) or opts.data.
-- Returns result, state, engine.
local function run(src, opts)
  opts = opts or {}
  local state = {}
  local data = opts.data or { { series = daily("AAA", opts.bars), source = "test" } }
  local r, eng = backtest.run {
    strategy = opts.file or strategy_file(PRELUDE .. src), data = data, cash = opts.cash or 100000,
    commission = opts.commission, fill = opts.fill, risk = opts.risk, params = opts.params,
    state = state, check_invariants = true,
  }
  if not r then
    t.fail("backtest.run returned nil", tostring(eng))
    return { ledger = {}, orders = {}, equity = {}, trades = {}, accounts = {} }, state, nil
  end
  if r.status ~= "ok" then t.diag("run error: " .. tostring(r.error)) end
  return r, state, eng
end

-- The ledger of one account (or all) as { kind, symbol, amount, ref } rows.
local function ledger(r, account)
  local out = {}
  for _, p in ipairs(r.ledger) do
    if account == nil or p.account == account then
      out[#out + 1] = { p.kind, p.symbol, p.amount, p.ref == json.null and "-" or p.ref }
    end
  end
  return out
end

local function order_row(r, id)
  for _, o in ipairs(r.orders) do if o.id == id then return o end end
end

-- The books balance: for each account the ledger sums to the final cash and every
-- balance is the running sum; each equity row's total is the sum of its accounts.
local function check_books(r, eng, label)
  if not eng then return end
  local ok = true
  for _, a in ipairs(eng.accounts) do
    local sum = 0
    for _, p in ipairs(r.ledger) do
      if p.account == a.name then
        sum = sum + cents(p.amount)
        if cents(p.balance) ~= sum then ok = false end
      end
    end
    if sum ~= cents(eng:cash(a)) then ok = false end
  end
  t.ok(ok, label .. ": for each account the ledger sums to its cash")
  local rows_ok = true
  for _, row in ipairs(r.equity) do
    local s = 0
    for _, v in pairs(row.accounts) do s = s + cents(v) end
    if s ~= cents(row.total) then rows_ok = false end
  end
  t.ok(rows_ok, label .. ": each equity row's total is the sum of its accounts")
end

local FLAT = { 10, 10.5, 9.5, 10 } -- a quiet bar

-- Money compared to the cent (sums of doubles are not exact).
local function money_is(got, want, name)
  return t.is(type(got) == "number" and cents(got) / 100 or got, cents(want) / 100, name)
end

-- ---- market orders ----

do
  local r, st, eng = run([[
return {
  on_order = log_order,
  on_fill = function(ctx, f)
    log_fill(ctx, f)
    local st = ctx.state
    st.seq[#st.seq + 1] = "fill " .. f.order_id
    st.fill_now, st.fill_cash, st.fill_equity = ctx:now(), ctx:cash(), ctx:equity()
  end,
  on_bar = function(ctx, bar)
    local n = bar_no(ctx)
    ctx.state.now = ctx.state.now or {}
    ctx.state.now[n] = ctx:now()
    if n == 1 then keep(ctx, "first", ctx:buy("AAA", 100)) end
    if n == 3 then keep(ctx, "last", ctx:buy("AAA", 10)) end
  end,
}]], { bars = { { 10, 11, 9, 10.5 }, { 10.2, 11, 10, 10.8 }, { 11, 11.5, 10.5, 11.2 } } })
  t.is(r.status, "ok", "market: the run is ok")
  t.is_deeply(st.first, { n = 1, "o1" }, "market: buy returns the order id")
  t.is_deeply(st.now, { close_time(1), close_time(2), close_time(3) },
    "market: ctx:now() is the session close of each daily bar")
  t.is_deeply(st.status.o1, { "accepted", "filled" }, "market: on_order sees accepted, then filled")
  t.is_deeply(st.status.o2, { "accepted" }, "market: the last bar's order is only accepted")
  t.is_deeply(st.seq, { "o1:accepted", "fill o1", "o1:filled", "o2:accepted" },
    "market: events in order; on_fill before the filled on_order")
  t.is(st.fill_now, close_time(2), "market: ctx:now() in on_fill is the filling bar's close")
  t.is(st.fill_cash, 98980, "market: ctx:cash() in on_fill is after the fill")
  money_is(st.fill_equity, 98980 + 100 * 10.5, "market: ctx:equity() in on_fill marks at the previous close")
  local f = st.fills and st.fills[1] or {}
  t.is(#(st.fills or {}), 1, "market: one fill")
  t.is_deeply(f, { order_id = "o1", account = "main", symbol = "AAA", side = "buy", qty = 100, price = 10.2,
    commission = 0, time = stamp(2) }, "market: on_fill fields: the next bar's open, at that bar's time")
  local v = st.views.o1[2]
  t.is(v.filled_qty, 100, "market: the filled view has filled_qty")
  t.is(v.avg_price, 10.2, "market: and avg_price = the next open")
  t.is(st.views.o1[1].created, close_time(1), "market: created at the close of the bar it was placed on")
  t.is(order_row(r, "o2").status, "accepted", "market: result: the last bar's order stays accepted")
  t.is(order_row(r, "o2").filled_qty, 0, "market: and never fills")
  t.is_deeply(ledger(r), { { "deposit", "", 100000, "-" }, { "fill", "AAA", -1020, "o1" } },
    "market: ledger: the deposit and one fill of 100 x 10.20, none for the unfilled order")
  t.is(eng and eng:cash(eng.account_by_name.main), 98980, "market: cash 100000 - 1020")
  -- Equity: cash + 100 x close.
  t.is(r.equity[1].total, 100000, "market: day 1 equity (no position yet)")
  money_is(r.equity[2].total, 98980 + 100 * 10.8, "market: day 2 equity = cash + 100 x 10.80")
  money_is(r.equity[3].total, 98980 + 100 * 11.2, "market: day 3 equity = cash + 100 x 11.20")
  t.is(r.equity[3].accounts.main, 100100, "market: the account's equity row")
  t.is(#r.positions, 1, "market: one open position at the end")
  t.is(r.positions[1] and r.positions[1].value, 1120, "market: worth 100 x the last close")
  check_books(r, eng, "market")
end

-- ---- limit orders ----

do
  -- Bar 2: open 10, high 10.6, low 9.0.  allow_short so sells need no position.
  local r, st, eng = run([[
return {
  on_order = log_order, on_fill = log_fill,
  on_bar = function(ctx, bar)
    if bar_no(ctx) ~= 1 then return end
    ctx:buy("AAA", 10, { limit = 9.5, tif = "gtc", id = "buy-in-range" })
    ctx:buy("AAA", 10, { limit = 10.5, tif = "gtc", id = "buy-gapped" })
    ctx:buy("AAA", 10, { limit = 9.0, tif = "gtc", id = "buy-touch" })
    ctx:buy("AAA", 10, { limit = 8.5, tif = "gtc", id = "buy-unreached" })
    ctx:sell("AAA", 10, { limit = 10.4, tif = "gtc", id = "sell-in-range" })
    ctx:sell("AAA", 10, { limit = 9.7, tif = "gtc", id = "sell-gapped" })
    ctx:sell("AAA", 10, { limit = 10.6, tif = "gtc", id = "sell-touch" })
    ctx:sell("AAA", 10, { limit = 11, tif = "gtc", id = "sell-unreached" })
  end,
}]], { bars = { FLAT, { 10, 10.6, 9.0, 9.8 }, { 9.8, 10.2, 9.4, 10 } }, risk = { allow_short = true } })
  t.is(r.status, "ok", "limit: the run is ok")
  local px = {}
  for _, f in ipairs(st.fills or {}) do px[f.order_id] = f.price end
  t.is(px["buy-in-range"], 9.5, "limit buy reached inside the bar fills at the limit")
  t.is(px["buy-gapped"], 10, "limit buy with the open below it fills at the open")
  t.is(px["buy-touch"], 9.0, "limit buy touched by the low fills at the limit")
  t.is(px["buy-unreached"], nil, "limit buy not reached does not fill")
  t.is(px["sell-in-range"], 10.4, "limit sell reached inside the bar fills at the limit")
  t.is(px["sell-gapped"], 10, "limit sell with the open above it fills at the open")
  t.is(px["sell-touch"], 10.6, "limit sell touched by the high fills at the limit")
  t.is(px["sell-unreached"], nil, "limit sell not reached does not fill")
  t.is(order_row(r, "buy-unreached").status, "accepted", "limit: the unreached buy keeps working (gtc)")
  t.is(order_row(r, "sell-unreached").status, "accepted", "limit: the unreached sell keeps working (gtc)")
  t.is(order_row(r, "buy-in-range").status, "filled", "limit: the reached order is filled")
  for _, f in ipairs(st.fills or {}) do
    if f.time ~= stamp(2) then t.fail("limit: fill " .. f.order_id .. " not on bar 2") end
  end
  -- Buys 10 x 9.5, 10 x 10, 10 x 9; sells 10 x 10.4, 10 x 10 (the open), 10 x 10.6.
  money_is(eng and eng:cash(eng.account_by_name.main), 100000 - 95 - 100 - 90 + 104 + 100 + 106,
    "limit: cash after the six fills")
  t.is(#r.positions, 0, "limit: 30 bought and 30 sold leave no position")
  check_books(r, eng, "limit")
end

-- ---- stop and stop-limit orders ----

do
  -- Bar 2: open 20, high 21, low 19, close 20.5.  Bar 3: open 20.3, high 20.6, low 20.2.
  local r, st, eng = run([[
return {
  on_order = log_order, on_fill = log_fill,
  on_bar = function(ctx, bar)
    if bar_no(ctx) ~= 1 then return end
    ctx:buy("AAA", 1, { stop = 20.8, tif = "gtc", id = "bs-inside" })
    ctx:buy("AAA", 1, { stop = 19.8, tif = "gtc", id = "bs-gapped" })
    ctx:buy("AAA", 1, { stop = 21.5, tif = "gtc", id = "bs-unreached" })
    ctx:sell("AAA", 1, { stop = 19.4, tif = "gtc", id = "ss-inside" })
    ctx:sell("AAA", 1, { stop = 20.3, tif = "gtc", id = "ss-gapped" })
    ctx:sell("AAA", 1, { stop = 18, tif = "gtc", id = "ss-unreached" })
    -- stop-limits (a stop and a limit make the type stop_limit)
    ctx:buy("AAA", 1, { stop = 20.8, limit = 21, tif = "gtc", id = "bsl-marketable" })
    ctx:buy("AAA", 1, { stop = 20.8, limit = 20.6, tif = "gtc", id = "bsl-close-below" })
    ctx:buy("AAA", 1, { stop = 20.8, limit = 20.4, tif = "gtc", id = "bsl-close-above" })
    ctx:buy("AAA", 1, { stop = 19.8, limit = 19.9, tif = "gtc", id = "bsl-gapped" })
    ctx:buy("AAA", 1, { stop = 21.5, limit = 22, tif = "gtc", id = "bsl-unreached" })
    ctx:sell("AAA", 1, { stop = 19.4, limit = 19.2, tif = "gtc", id = "ssl-marketable" })
    ctx:sell("AAA", 1, { stop = 19.4, limit = 20.4, tif = "gtc", id = "ssl-close-above" })
    ctx:sell("AAA", 1, { stop = 19.4, limit = 20.6, tif = "gtc", id = "ssl-close-below" })
    ctx:sell("AAA", 1, { stop = 20.3, limit = 19.5, tif = "gtc", id = "ssl-gapped" })
  end,
}]], { bars = { { 20, 20.5, 19.5, 20 }, { 20, 21, 19, 20.5 }, { 20.3, 20.55, 20.2, 20.5 } },
       risk = { allow_short = true } })
  t.is(r.status, "ok", "stop: the run is ok")
  local fill = {}
  for _, f in ipairs(st.fills or {}) do fill[f.order_id] = f end
  local function at(id, price, bar, name)
    local f = fill[id]
    t.is(f and f.price, price, name .. " (price)")
    t.is(f and f.time, stamp(bar), name .. " (on bar " .. bar .. ")")
  end
  at("bs-inside", 20.8, 2, "buy stop reached inside the bar fills at the stop")
  at("bs-gapped", 20, 2, "buy stop below the open fills at the open")
  t.is(fill["bs-unreached"], nil, "buy stop above the high does not fill")
  t.is(order_row(r, "bs-unreached").status, "accepted", "the untriggered buy stop keeps working")
  at("ss-inside", 19.4, 2, "sell stop reached inside the bar fills at the stop")
  at("ss-gapped", 20, 2, "sell stop above the open fills at the open")
  t.is(fill["ss-unreached"], nil, "sell stop below the low does not fill")
  t.is(order_row(r, "ss-unreached").status, "accepted", "the untriggered sell stop keeps working")
  at("bsl-marketable", 20.8, 2, "buy stop-limit, triggered inside, limit >= stop: fills at the stop")
  at("bsl-close-below", 20.6, 2, "buy stop-limit, limit < stop, close <= limit: fills at the limit")
  at("bsl-close-above", 20.3, 3,
    "buy stop-limit, limit < stop, close above the limit: no fill; a limit from the next bar (its open)")
  at("bsl-gapped", 19.9, 2, "buy stop-limit gapped through the stop: a limit for the whole bar")
  t.is(fill["bsl-unreached"], nil, "buy stop-limit not triggered does not fill")
  at("ssl-marketable", 19.4, 2, "sell stop-limit, triggered inside, limit <= stop: fills at the stop")
  at("ssl-close-above", 20.4, 2, "sell stop-limit, limit > stop, close >= limit: fills at the limit")
  t.is(fill["ssl-close-below"], nil, "sell stop-limit, limit > stop, close < limit: no fill on bar 2 or 3")
  t.is(order_row(r, "ssl-close-below").status, "accepted", "  and it keeps working")
  at("ssl-gapped", 20, 2, "sell stop-limit gapped through the stop: max(open, limit)")
  t.is(order_row(r, "bsl-close-above").type, "stop_limit", "a stop and a limit make a stop_limit order")
  check_books(r, eng, "stop")
end

-- ---- time in force ----

do
  -- The buy limit 9 is not reached on bars 2 and 3 (low 9.5), is on bar 4 (low 8.5).
  local r, st, eng = run([[
return {
  on_order = log_order, on_fill = log_fill,
  on_bar = function(ctx, bar)
    if bar_no(ctx) ~= 1 then return end
    ctx:buy("AAA", 10, { limit = 9, id = "day" })            -- tif day is the default
    ctx:buy("AAA", 10, { limit = 9, tif = "gtc", id = "gtc" })
    ctx:buy("AAA", 10, { limit = 9, tif = "ioc", id = "ioc" })
    ctx:buy("AAA", 10, { tif = "ioc", id = "ioc-market" })
  end,
}]], { bars = { FLAT, FLAT, FLAT, { 10, 10.5, 8.5, 9 } } })
  t.is(r.status, "ok", "tif: the run is ok")
  t.is_deeply(st.status.day, { "accepted", "expired" }, "tif: the day order expires")
  local day = order_row(r, "day")
  t.is(day.status, "expired", "tif: day order status expired")
  t.is(day.reason, "day order expired at the end of its session", "tif: the expiry reason")
  t.is(day.updated, time.format(stamp(3)),
    "tif: it expires on the first bar after its session (the next one), not offered to it")
  t.is_deeply(st.status.gtc, { "accepted", "filled" }, "tif: the gtc order keeps working and fills")
  t.is(order_row(r, "gtc").avg_price, 9, "tif: at its limit on bar 4")
  t.is(order_row(r, "gtc").updated, time.format(stamp(4)), "tif: on bar 4")
  t.is_deeply(st.status.ioc, { "accepted", "canceled" }, "tif: an ioc limit not reached is canceled")
  t.is(order_row(r, "ioc").reason, "ioc: the unfilled rest is canceled", "tif: the ioc reason")
  t.is(order_row(r, "ioc").updated, time.format(stamp(2)), "tif: the ioc order lives one bar")
  t.is_deeply(st.status["ioc-market"], { "accepted", "filled" }, "tif: an ioc market order fills")
  t.is(order_row(r, "ioc-market").avg_price, 10, "tif: at the next open")
  money_is(eng and eng:cash(eng.account_by_name.main), 100000 - 100 - 90, "tif: cash after two fills")
  check_books(r, eng, "tif")
end

-- ---- rejections ----

do
  -- Cash 1000, close 10: 100 shares cost 1000 exactly; 101 do not fit.
  local r, st, eng = run([[
return {
  on_order = log_order,
  on_bar = function(ctx, bar)
    if bar_no(ctx) ~= 1 then return end
    keep(ctx, "zero", ctx:buy("AAA", 0))
    keep(ctx, "negative", ctx:buy("AAA", -5))
    keep(ctx, "fraction", ctx:buy("AAA", 1.5))
    keep(ctx, "limit0", ctx:buy("AAA", 1, { limit = 0 }))
    keep(ctx, "limitneg", ctx:buy("AAA", 1, { limit = -3 }))
    keep(ctx, "stop0", ctx:sell("AAA", 1, { stop = 0 }))
    keep(ctx, "unknown", ctx:buy("ZZZ", 1))
    keep(ctx, "power", ctx:buy("AAA", 101))
    keep(ctx, "short", ctx:sell("AAA", 5))
    keep(ctx, "fits", ctx:buy("AAA", 100))
  end,
}]], { bars = { FLAT, FLAT }, cash = 1000 })
  t.is(r.status, "ok", "reject: the run is ok")
  local function rejected(key, id, reason, name)
    local v = st[key] or {}
    t.is(v[1], nil, name .. ": no id")
    t.like(v[2], reason, name .. ": the reason")
    t.is(v[3], id, name .. ": the id comes third")
    local o = order_row(r, id)
    t.is(o and o.status, "rejected", name .. ": status rejected")
    t.is(o and o.reason, v[2], name .. ": the order keeps the reason")
    t.is_deeply(st.status and st.status[id], { "rejected" }, name .. ": on_order sees rejected")
  end
  rejected("zero", "o1", "^qty must be > 0$", "qty 0")
  rejected("negative", "o2", "^qty must be > 0$", "qty -5")
  rejected("fraction", "o3", "^qty must be a whole number$", "qty 1.5")
  rejected("limit0", "o4", "^limit price must be a finite number > 0$", "limit 0")
  rejected("limitneg", "o5", "^limit price must be a finite number > 0$", "limit -3")
  rejected("stop0", "o6", "^stop price must be a finite number > 0$", "stop 0")
  rejected("unknown", "o7", "^unknown symbol 'ZZZ'", "unknown symbol")
  rejected("power", "o8",
    "^insufficient buying power: order needs %$1,010%.00, %$1,000%.00 available in account main$",
    "insufficient buying power")
  rejected("short", "o9", "^sell of 5 AAA exceeds the 0 held", "sell beyond the position, shorts off")
  t.is_deeply(st.fits, { n = 1, "o10" }, "reject: 100 x 10 = all the cash is accepted")
  t.is_deeply(ledger(r), { { "deposit", "", 1000, "-" }, { "fill", "AAA", -1000, "o10" } },
    "reject: rejected orders post nothing")
  check_books(r, eng, "reject")
end

do
  -- A sell bigger than the position: long 10, sell 15 -> rejected, sell 10 -> accepted.
  local r, st = run([[
return {
  on_bar = function(ctx, bar)
    local n = bar_no(ctx)
    if n == 1 then ctx:buy("AAA", 10) end
    if n == 2 then
      keep(ctx, "big", ctx:sell("AAA", 15))
      keep(ctx, "ok", ctx:sell("AAA", 10))
      keep(ctx, "again", ctx:sell("AAA", 1)) -- the 10 held are already being sold
    end
  end,
}]], { bars = { FLAT, FLAT, FLAT } })
  t.like(st.big and st.big[2], "^sell of 15 AAA exceeds the 10 held", "reject: sell 15 of a long 10")
  t.is(st.ok and st.ok[1], "o3", "reject: sell 10 of a long 10 is accepted")
  t.like(st.again and st.again[2], "exceeds the 0 held and not being sold",
    "reject: a sell counts the quantity already being sold")
  t.is(order_row(r, "o3").status, "filled", "reject: the accepted sell fills")
end

do
  -- Shorts off: a working buy that may never fill does not make room for a sell.
  local r, st = run([[
return {
  on_bar = function(ctx, bar)
    local n = bar_no(ctx)
    if n == 1 then ctx:buy("AAA", 10) end
    if n == 2 then
      ctx:buy("AAA", 10, { limit = 5, tif = "gtc" })   -- never reached
      keep(ctx, "sell", ctx:sell("AAA", 20))
    end
  end,
}]], { bars = { FLAT, FLAT, FLAT, FLAT } })
  local short = false
  for _, p in ipairs(r.positions) do if p.qty < 0 then short = true end end
  -- Regression test (this was a bug, now fixed): engine.lua risk_reason (the `after` of the short check) counts working buys
  -- (a.pending_buy) as if they were held, so with risk.allow_short off a sell of 20
  -- against a long of 10 plus an unfilled buy of 10 is accepted and fills into a short
  -- of 10 (listed in docs/backtest.md "Known issues").  Fix: check sells against
  -- held - pending_sell only (ignore pending buys), or veto at fill time in execute a
  -- sell that would take the position below 0 when allow_short is off.
  t.like(st.sell and st.sell[2], "^sell of 20 AAA exceeds the 10 held",
    "reject: a sell counts only what is held, not working buys")
  t.ok(not short, "reject: with short selling off no position ends short")
end

do
  local _, st = run([[
return {
  on_bar = function(ctx, bar)
    if bar_no(ctx) ~= 1 then return end
    keep(ctx, "over", ctx:buy("AAA", 60))
    keep(ctx, "at", ctx:buy("AAA", 50))
    keep(ctx, "more", ctx:buy("AAA", 1)) -- 50 pending + 1
  end,
}]], { bars = { FLAT, FLAT }, risk = { max_position = 50 } })
  t.is(st.over and st.over[2], "position would reach 60 AAA, above max_position 50", "risk.max_position: 60 > 50")
  t.is(st.at and st.at[1], "o2", "risk.max_position: 50 is allowed")
  t.is(st.more and st.more[2], "position would reach 51 AAA, above max_position 50",
    "risk.max_position counts pending orders")
end

do
  local _, st = run([[
return {
  on_bar = function(ctx, bar)
    if bar_no(ctx) ~= 1 then return end
    keep(ctx, "over", ctx:buy("AAA", 31))                     -- 31 x close 10 = 310
    keep(ctx, "limit", ctx:buy("AAA", 20, { limit = 16 }))    -- 20 x limit 16 = 320
    keep(ctx, "at", ctx:buy("AAA", 30))                       -- 300
  end,
}]], { bars = { FLAT, FLAT }, risk = { max_notional = 300 } })
  t.is(st.over and st.over[2], "position would be worth $310.00, above max_notional $300.00",
    "risk.max_notional: 31 x the last close 10")
  t.is(st.limit and st.limit[2], "position would be worth $320.00, above max_notional $300.00",
    "risk.max_notional values a limit order at its limit")
  t.is(st.at and st.at[1], "o3", "risk.max_notional: 300 is allowed")
end

do
  local r, st = run([[
return {
  on_bar = function(ctx, bar)
    local n = bar_no(ctx)
    if n == 1 then
      keep(ctx, "a", ctx:buy("AAA", 1))
      keep(ctx, "b", ctx:buy("AAA", 1))
      keep(ctx, "c", ctx:buy("AAA", 1))
    elseif n == 2 then
      keep(ctx, "d", ctx:buy("AAA", 1))
    end
  end,
}]], { bars = { FLAT, FLAT, FLAT }, risk = { max_orders_per_day = 2 } })
  t.is(st.a and st.a[1], "o1", "risk.max_orders_per_day 2: the first order of the day is accepted")
  t.is(st.b and st.b[1], "o2", "risk.max_orders_per_day 2: the second order of the day is accepted")
  t.like(st.c and st.c[2], "^max_orders_per_day reached", "risk.max_orders_per_day 2: the third is rejected")
  t.is(st.d and st.d[1], "o4", "risk.max_orders_per_day: the count starts again the next day")
  t.is(order_row(r, "o3").status, "rejected", "risk.max_orders_per_day: the third order is rejected")
end

-- ---- cancel ----

do
  -- Cash 1000.  A gtc buy of 90 at limit 10 reserves 900; another buy needing 198 does
  -- not fit until it is canceled.
  local r, st, eng = run([[
return {
  on_order = log_order,
  on_bar = function(ctx, bar)
    local n = bar_no(ctx)
    if n == 1 then
      keep(ctx, "big", ctx:buy("AAA", 90, { limit = 10, tif = "gtc" }))
      keep(ctx, "blocked", ctx:buy("AAA", 20, { limit = 9.9, tif = "gtc" }))
      keep(ctx, "cancel", ctx:cancel("o1"))
      keep(ctx, "again", ctx:buy("AAA", 20, { limit = 9.9, tif = "gtc" }))
      keep(ctx, "cancel2", ctx:cancel("o1"))
      keep(ctx, "nosuch", ctx:cancel("nope"))
      keep(ctx, "mkt", ctx:buy("AAA", 1))
    elseif n == 2 then
      keep(ctx, "filled", ctx:cancel("o4"))
      keep(ctx, "view", ctx:get_order("o1"))
    end
  end,
}]], { bars = { FLAT, { 10, 10.5, 9.8, 10 }, FLAT }, cash = 1000 })
  t.like(st.blocked and st.blocked[2], "^insufficient buying power", "cancel: the second buy does not fit at first")
  t.is_deeply(st.cancel, { n = 1, true }, "cancel: ctx:cancel of a working order returns true")
  t.is(st.again and st.again[1], "o3", "cancel: the released cash lets the same buy in")
  t.is_deeply(st.status.o1, { "accepted", "canceled" }, "cancel: on_order sees canceled")
  t.is(order_row(r, "o1").status, "canceled", "cancel: status canceled")
  t.is(order_row(r, "o1").reason, "canceled by the strategy", "cancel: the reason")
  t.is(st.cancel2 and st.cancel2[1], nil, "cancel: a canceled order cannot be canceled again")
  t.is(st.cancel2 and st.cancel2[2], "order o1 is canceled", "cancel: the reason says why")
  t.is(st.nosuch and st.nosuch[2], "no order 'nope'", "cancel: an unknown id")
  t.is(st.filled and st.filled[1], nil, "cancel: a filled order cannot be canceled")
  t.is(st.filled and st.filled[2], "order o4 is filled", "cancel: nil, reason for a filled order")
  t.is(st.view and st.view[1] and st.view[1].status, "canceled", "cancel: ctx:get_order shows the status")
  t.is(order_row(r, "o3").avg_price, 9.9, "cancel: the order let in fills at its limit")
  money_is(eng and eng:cash(eng.account_by_name.main), 1000 - 198 - 10, "cancel: cash after the two fills")
  check_books(r, eng, "cancel")
end

-- ---- client order ids ----

do
  local r, st = run([[
return {
  on_bar = function(ctx, bar)
    if bar_no(ctx) ~= 1 then return end
    keep(ctx, "first", ctx:buy("AAA", 10, { id = "entry-1" }))
    keep(ctx, "second", ctx:buy("AAA", 10, { id = "entry-1" }))
    keep(ctx, "rej1", ctx:buy("AAA", 0, { id = "bad.qty" }))
    keep(ctx, "rej2", ctx:buy("AAA", 0, { id = "bad.qty" }))
    local function try(id) local ok, err = pcall(ctx.buy, ctx, "AAA", 1, { id = id }); return err end
    ctx.state.empty = try("")
    ctx.state.space = try("has space")
    ctx.state.long = try(string.rep("x", 48))
    ctx.state.num = select(2, pcall(ctx.buy, ctx, "AAA", 1, { id = 7 }))
    ctx.state.auto = try("o5")
    keep(ctx, "max", ctx:buy("AAA", 1, { id = string.rep("y", 47) }))
  end,
}]], { bars = { FLAT, FLAT } })
  t.is_deeply(st.first, { n = 1, "entry-1" }, "ids: the client id is the order id")
  t.is_deeply(st.second, { n = 1, "entry-1" }, "ids: the same id again returns the same id")
  local n = 0
  for _, o in ipairs(r.orders) do if o.id == "entry-1" then n = n + 1 end end
  t.is(n, 1, "ids: and creates one order")
  t.is(order_row(r, "entry-1").filled_qty, 10, "ids: which fills once, 10 shares")
  local fills = 0
  for _, p in ipairs(r.ledger) do if p.ref == "entry-1" then fills = fills + 1 end end
  t.is(fills, 1, "ids: one ledger entry")
  t.is_deeply(st.rej2, st.rej1, "ids: a rejected id again gives the same nil, reason, id")
  t.like(st.empty, "id must be 1%-47 characters", "ids: an empty id raises")
  t.like(st.space, "id must be 1%-47 characters", "ids: an id with a space raises")
  t.like(st.long, "id must be 1%-47 characters", "ids: a 48-character id raises")
  t.like(st.num, "id must be a string", "ids: a number id raises")
  t.like(st.auto, "ids of the form o<number> are the engine's automatic ids", "ids: o<number> is the engine's")
  t.is(st.max and st.max[1], string.rep("y", 47), "ids: 47 characters are fine")
  t.is(#r.orders, 3, "ids: entry-1, bad.qty and the 47-character one")
end

-- ---- commission and slippage ----

do
  -- IB-style per share: $0.005, min $1, max 1 % of value.  AAA opens at 50, BBB at 2.
  local aaa = daily("AAA", { { 50, 50, 50, 50 }, { 50, 51, 49, 50 }, { 50, 51, 49, 50 } })
  local bbb = daily("BBB", { { 2, 2, 2, 2 }, { 2, 2.1, 1.9, 2 }, { 2, 2.1, 1.9, 2 } })
  local r, st, eng = run([[
return {
  on_fill = log_fill,
  on_bar = function(ctx, bar)
    if bar_no(ctx) ~= 2 then return end -- both symbols have had bar 1
    ctx:buy("AAA", 100, { id = "min" })
    ctx:buy("AAA", 1000, { id = "rate" })
    ctx:buy("AAA", 201, { id = "half" })
    ctx:buy("BBB", 10, { id = "cap" })
  end,
}]], { data = { { series = aaa, source = "a" }, { series = bbb, source = "b" } },
       commission = { model = "per_share", rate = 0.005, min = 1, max_percent = 1 } })
  t.is(r.status, "ok", "per_share: the run is ok")
  t.is_deeply(ledger(r), {
    { "deposit", "", 100000, "-" },
    { "fill", "AAA", -5000, "min" }, { "commission", "AAA", -1, "min" },
    { "fill", "AAA", -50000, "rate" }, { "commission", "AAA", -5, "rate" },
    { "fill", "AAA", -10050, "half" }, { "commission", "AAA", -1.01, "half" },
    { "fill", "BBB", -20, "cap" }, { "commission", "BBB", -0.2, "cap" },
  }, "per_share: 100 sh -> the $1 minimum, 1000 -> $5, 201 -> $1.005 -> $1.01, 10 x $2 -> the 1 % cap $0.20")
  local comm = {}
  for _, f in ipairs(st.fills or {}) do comm[f.order_id] = f.commission end
  t.is_deeply(comm, { min = 1, rate = 5, half = 1.01, cap = 0.2 }, "per_share: on_fill reports the commission")
  t.is(r.summary.commissions, 7.21, "per_share: summary.commissions")
  money_is(eng and eng:cash(eng.account_by_name.main), 100000 - 65070 - 7.21, "per_share: cash")
  check_books(r, eng, "per_share")
end

do
  local r, _, eng = run([[
return {
  on_bar = function(ctx, bar)
    if bar_no(ctx) == 1 then ctx:buy("AAA", 100) end
  end,
}]], { bars = { { 120, 125, 119, 123 }, { 123.4567, 124, 123, 123.5 } },
       commission = { model = "percent", rate = 0.1 } })
  t.is_deeply(ledger(r), {
    { "deposit", "", 100000, "-" }, { "fill", "AAA", -12345.67, "o1" }, { "commission", "AAA", -12.35, "o1" },
  }, "percent: 0.1 % of $12,345.67 is $12.35")
  money_is(r.equity[2].total, 100000 - 12345.67 - 12.35 + 12350, "percent: equity = cash + 100 x 123.50")
  check_books(r, eng, "percent")
end

do
  -- 10 bps against the trader; a limit bounds it.
  local r, st, eng = run([[
return {
  on_fill = log_fill,
  on_bar = function(ctx, bar)
    local n = bar_no(ctx)
    if n == 1 then
      ctx:buy("AAA", 100, { id = "mkt" })
      ctx:buy("AAA", 10, { limit = 50.02, id = "lim" })   -- raw 50 (open), slipped 50.05, capped at 50.02
      ctx:buy("AAA", 10, { limit = 49.5, id = "atlim" })  -- fills at the limit: no slippage
    elseif n == 2 then
      ctx:sell("AAA", 120, { id = "out" })
    end
  end,
}]], { bars = { { 50, 50, 50, 50 }, { 50, 51, 49, 50 }, { 60, 61, 59, 60 } }, fill = { slippage_bps = 10 } })
  local px = {}
  for _, f in ipairs(st.fills or {}) do px[f.order_id] = f.price end
  t.near(px.mkt, 50.05, 1e-9, "slippage: a market buy pays open x 1.001")
  t.is(px.lim, 50.02, "slippage: a limit buy pays at most its limit")
  t.is(px.atlim, 49.5, "slippage: a fill at the limit gets none")
  t.near(px.out, 59.94, 1e-9, "slippage: a market sell receives open x 0.999")
  t.is_deeply(ledger(r), {
    { "deposit", "", 100000, "-" }, { "fill", "AAA", -5005, "mkt" }, { "fill", "AAA", -500.2, "lim" },
    { "fill", "AAA", -495, "atlim" }, { "fill", "AAA", 7192.8, "out" },
  }, "slippage: the ledger amounts")
  money_is(r.trades[1] and r.trades[1].gross, 7192.8 - 5005 - 500.2 - 495, "slippage: the round trip's gross")
  check_books(r, eng, "slippage")
end

-- ---- participation cap ----

do
  -- participation 0.1 of volume 300: at most 30 units per order per bar.
  -- Commission $0.02/share, min $1: the minimum is paid once per order.
  local r, st, eng = run([[
return {
  on_order = log_order,
  on_bar = function(ctx, bar)
    if bar_no(ctx) ~= 1 then return end
    ctx:buy("AAA", 70, { tif = "gtc", id = "gtc" })
    ctx:buy("AAA", 50, { id = "day" })
    ctx:buy("AAA", 100, { tif = "ioc", id = "ioc" })
  end,
}]], { bars = { { 10, 10, 10, 10, 300 }, { 10, 10.5, 9.5, 10, 300 }, { 11, 11.5, 10.5, 11, 300 },
                { 12, 12.5, 11.5, 12, 300 }, { 12, 12.5, 11.5, 12, 300 } },
       fill = { participation = 0.1 }, commission = { model = "per_share", rate = 0.02, min = 1 } })
  t.is_deeply(st.status.gtc, { "accepted", "partially_filled", "partially_filled", "filled" },
    "participation: 70 fills 30, 30, 10 over three bars")
  local g = order_row(r, "gtc")
  t.is(g.filled_qty, 70, "participation: filled_qty sums to the order's qty")
  t.near(g.avg_price, (30 * 10 + 30 * 11 + 10 * 12) / 70, 1e-12, "participation: avg_price is volume-weighted")
  t.is_deeply(st.status.day, { "accepted", "partially_filled", "expired" },
    "participation: a day order fills 30 in its session, then expires")
  t.is(order_row(r, "day").filled_qty, 30, "participation: the expired day order keeps its 30")
  t.is_deeply(st.status.ioc, { "accepted", "canceled" }, "participation: ioc takes one bar's 30 and cancels the rest")
  t.is(order_row(r, "ioc").filled_qty, 30, "participation: ioc filled 30")
  t.is_deeply(ledger(r), {
    { "deposit", "", 100000, "-" },
    { "fill", "AAA", -300, "gtc" }, { "commission", "AAA", -1, "gtc" },
    { "fill", "AAA", -300, "day" }, { "commission", "AAA", -1, "day" },
    { "fill", "AAA", -300, "ioc" }, { "commission", "AAA", -1, "ioc" },
    { "fill", "AAA", -330, "gtc" }, { "commission", "AAA", -0.2, "gtc" },
    { "fill", "AAA", -120, "gtc" }, { "commission", "AAA", -0.2, "gtc" },
  }, "participation: fills and commissions (min $1 once, then $1.20 - $1.00, $1.40 - $1.20)")
  money_is(eng and eng:cash(eng.account_by_name.main), 100000 - 1350 - 3.4, "participation: cash")
  check_books(r, eng, "participation")
end

-- ---- cash veto at the fill ----

do
  -- Accepted at the close 10 with all the cash; the next open is 11: not enough.
  local r, st = run([[
return {
  on_order = log_order,
  on_bar = function(ctx, bar) if bar_no(ctx) == 1 then ctx:buy("AAA", 100) end end,
}]], { bars = { FLAT, { 11, 11, 10, 10.5 } }, cash = 1000 })
  t.is_deeply(st.status.o1, { "accepted", "canceled" }, "veto: a buy that no longer fits is canceled at the fill")
  t.like(order_row(r, "o1").reason, "^insufficient cash at fill: needs 1100%.00, 1000%.00 available",
    "veto: the reason")
  t.is(#r.ledger, 1, "veto: nothing posted")
end

-- ---- accounts ----

do
  local r, st, eng = run([[
return {
  on_bar = function(ctx, bar)
    local n = bar_no(ctx)
    local st = ctx.state
    if n == 1 then
      local gen = ctx:open_account("gen", { from = "main", cash = 5000 })
      st.handle_name = gen.name
      keep(ctx, "transfer", ctx:transfer("main", "gen", 1000))
      keep(ctx, "deposit", ctx:deposit("main", 2000))
      keep(ctx, "withdraw", ctx:withdraw("main", 500))
      keep(ctx, "overdraw", ctx:withdraw("main", 5501))
      keep(ctx, "dup", ctx:open_account("gen", { from = "main", cash = 1 }))
      keep(ctx, "buy", ctx:account("gen"):buy("AAA", 100))
      st.accounts = ctx:accounts()
      st.cash1 = { main = ctx:cash(), gen = ctx:account("gen"):cash() }
    elseif n == 2 then
      st.gen2 = { cash = ctx:account("gen"):cash(), equity = ctx:account("gen"):equity(),
                  pos = ctx:account("gen"):position("AAA"), main_pos = ctx:position("AAA") }
    elseif n == 3 then
      keep(ctx, "refuse", ctx:merge("gen"))
      ctx:account("gen"):sell("AAA", 100)
    elseif n == 4 then
      keep(ctx, "merge", ctx:merge("gen"))
      keep(ctx, "merge_main", ctx:merge("main"))
    end
  end,
}]], { bars = { { 10, 10, 10, 10 }, { 10, 12.5, 10, 12 }, { 12, 13, 12, 12.5 }, { 13, 13.5, 12.5, 13 },
                { 13, 13.5, 12.5, 13.25 } }, cash = 10000 })
  t.is(r.status, "ok", "accounts: the run is ok")
  t.is(st.handle_name, "gen", "accounts: open_account returns the account's handle")
  t.is_deeply(st.transfer, { n = 1, true }, "accounts: transfer")
  t.is_deeply(st.deposit, { n = 1, true }, "accounts: deposit")
  t.is_deeply(st.withdraw, { n = 1, true }, "accounts: withdraw within the free cash")
  t.is(st.overdraw and st.overdraw[1], nil, "accounts: a withdrawal beyond the free cash is refused")
  t.is(st.overdraw and st.overdraw[2],
    "account main: withdrawal of $5,501.00 exceeds the $5,500.00 not reserved for open orders or short puts",
    "accounts: and says what is free")
  t.is(st.dup and st.dup[1], nil, "accounts: a taken name is refused")
  t.is(st.buy and st.buy[1], "o1", "accounts: a buy through ctx:account(name)")
  t.is_deeply(st.accounts, { "main", "gen" }, "accounts: ctx:accounts()")
  t.is_deeply(st.cash1, { main = 5500, gen = 6000 }, "accounts: cash after the day-1 moves")
  t.is_deeply(st.gen2, { cash = 5000, equity = 6200, pos = 100, main_pos = 0 },
    "accounts: gen holds the position, main none")
  t.is(st.refuse and st.refuse[1], nil, "accounts: merge is refused while the child holds a position")
  t.is_deeply(st.merge, { n = 1, true }, "accounts: merge of a flat child")
  t.like(st.merge_main and st.merge_main[2], "has no parent", "accounts: main has no parent")
  t.is_deeply(ledger(r), {
    { "deposit", "", 10000, "-" },
    { "transfer_out", "gen", -5000, "-" }, { "transfer_in", "main", 5000, "-" },
    { "transfer_out", "gen", -1000, "-" }, { "transfer_in", "main", 1000, "-" },
    { "deposit", "", 2000, "-" }, { "withdrawal", "", -500, "-" },
    { "fill", "AAA", -1000, "o1" },
    { "fill", "AAA", 1300, "o2" },
    { "transfer_out", "main", -6300, "-" }, { "transfer_in", "gen", 6300, "-" },
  }, "accounts: the ledger, in seq order")
  t.is(order_row(r, "o1").account, "gen", "accounts: the order belongs to gen")
  money_is(eng and eng:cash(eng.account_by_name.main), 10000 - 5000 - 1000 + 2000 - 500 + 6300, "accounts: main's cash")
  t.is(eng and eng:cash(eng.account_by_name.gen), 0, "accounts: gen is empty after the merge")
  -- Equity rows: gen = cash + 100 x close while it holds.
  local function row(i) local e = r.equity[i] or { accounts = {}, flows = {} }; return e end
  t.is_deeply(row(1).accounts, { main = 5500, gen = 6000 }, "accounts: day 1 equity per account")
  t.is(row(1).total, 11500, "accounts: day 1 total")
  -- The fork's 5000 is gen's initial cash (its summary's initial_cash), not a flow;
  -- the transfer of 1000 is.  Deposits and withdrawals are the set's external flows.
  t.is_deeply(row(1).flows, { main = -4500, gen = 1000, total = 1500 }, "accounts: day 1 flows")
  t.is_deeply(row(2).accounts, { main = 5500, gen = 5000 + 100 * 12 }, "accounts: day 2: gen marked at 12")
  t.is_deeply(row(2).flows, { main = 0, gen = 0, total = 0 }, "accounts: day 2 no flows")
  t.is_deeply(row(3).accounts, { main = 5500, gen = 5000 + 100 * 12.5 }, "accounts: day 3: gen marked at 12.50")
  t.is_deeply(row(4).accounts, { main = 11800, gen = 0 }, "accounts: day 4: sold at 13 and merged")
  t.is_deeply(row(4).flows, { main = 6300, gen = -6300, total = 0 }, "accounts: day 4 flows: the merge")
  t.is(row(5).total, 11800, "accounts: day 5 total")
  local main_a, gen_a = r.accounts[1] or {}, r.accounts[2] or {}
  t.is(main_a.name, "main", "accounts: result.accounts[1] is main")
  t.is(main_a.parent, json.null, "accounts: main has no parent (null)")
  t.is(main_a.status, "active", "accounts: main is active")
  t.is(gen_a.name, "gen", "accounts: result.accounts[2] is gen")
  t.is(gen_a.parent, "main", "accounts: gen's parent")
  t.is(gen_a.status, "closed", "accounts: gen is closed after the merge")
  local gs = gen_a.summary or {}
  t.is(gs.initial_cash, 5000, "accounts: gen's initial cash is the fork's amount")
  t.is(gs.round_trips, 1, "accounts: gen made one round trip")
  t.near(gs.total_return, 6300 / 6000 - 1, 1e-12, "accounts: gen's time-weighted return (13 / 12 - ...)")
  t.near(main_a.summary and main_a.summary.total_return, 0, 1e-12, "accounts: main earned nothing itself")
  t.near(r.summary.total_return, 11800 / 11500 - 1, 1e-12, "accounts: the total's return nets the flows out")
  t.is(r.trades[1] and r.trades[1].account, "gen", "accounts: the trade is gen's")
  t.is(r.trades[1] and r.trades[1].gross, 300, "accounts: 100 x (13 - 10)")
  check_books(r, eng, "accounts")
end

do
  -- Cash a working order has reserved is not free: not for a withdrawal, a transfer
  -- or a fork.
  local r, st = run([[
return {
  on_order = log_order,
  on_bar = function(ctx, bar)
    if bar_no(ctx) ~= 1 then return end
    ctx:open_account("side", { from = "main", cash = 0 })
    ctx:buy("AAA", 90, { limit = 10, tif = "gtc" })                  -- reserves 900 of 1000
    keep(ctx, "withdraw", ctx:withdraw("main", 100.01))
    keep(ctx, "transfer", ctx:transfer("main", "side", 200))
    keep(ctx, "fork", ctx:open_account("gen", { from = "main", cash = 500 }))
    keep(ctx, "small", ctx:open_account("gen", { from = "main", cash = 100 }))
  end,
}]], { bars = { FLAT, FLAT }, cash = 1000 })
  t.is(st.withdraw and st.withdraw[2],
    "account main: withdrawal of $100.01 exceeds the $100.00 not reserved for open orders or short puts",
    "accounts: a withdrawal of reserved cash is refused")
  t.is(st.transfer and st.transfer[2],
    "account main: transfer of $200.00 exceeds the $100.00 not reserved for open orders or short puts",
    "accounts: a transfer of reserved cash is refused")
  t.is(st.fork and st.fork[1], nil, "accounts: a fork of cash reserved for an open order is refused")
  t.is(st.fork and st.fork[2], "account main: fork of $500.00 exceeds the $100.00 not reserved for open orders or short puts",
    "accounts: and says what is free")
  t.is(st.small and st.small[1] and st.small[1].name, "gen", "accounts: a fork of the free cash is fine")
  t.is(order_row(r, "o1").status, "filled", "accounts: the order that reserved the cash fills")
  t.is_deeply(ledger(r, "main"), { { "deposit", "", 1000, "-" }, { "transfer_out", "gen", -100, "-" },
    { "fill", "AAA", -900, "o1" } }, "accounts: main's ledger")
end

do
  -- A child with a working order cannot be merged; canceled, it can, and a closed
  -- account takes no orders.
  local r, st, eng = run([[
return {
  on_order = log_order,
  on_bar = function(ctx, bar)
    if bar_no(ctx) ~= 1 then return end
    local gen = ctx:open_account("gen", { from = "main", cash = 500 })
    keep(ctx, "buy", gen:buy("AAA", 10, { limit = 8, tif = "gtc" }))
    keep(ctx, "refused", ctx:merge("gen"))
    keep(ctx, "cancel", ctx:cancel("o1"))
    keep(ctx, "merge", ctx:merge("gen"))
    keep(ctx, "closed", gen:buy("AAA", 1))
    keep(ctx, "deposit", ctx:deposit("gen", 10))
  end,
}]], { bars = { FLAT, { 10, 10.5, 7.5, 8 }, FLAT }, cash = 1000 })
  t.is(st.refused and st.refused[2], "account gen has 1 working order: cancel them before merging",
    "accounts: merge refused while the child has a working order")
  t.is_deeply(st.merge, { n = 1, true }, "accounts: merged once the order is canceled")
  t.is(st.closed and st.closed[2], "account gen is closed", "accounts: a closed account rejects orders")
  t.is(st.deposit and st.deposit[1], nil, "accounts: a closed account takes no deposit")
  t.is(order_row(r, "o1").status, "canceled", "accounts: the canceled order stays canceled (low 7.5 <= 8)")
  t.is(r.accounts[2] and r.accounts[2].status, "closed", "accounts: gen is closed")
  money_is(eng and eng:cash(eng.account_by_name.main), 1000, "accounts: all the cash is back in main")
  check_books(r, eng, "merge")
end

-- ---- round trips ----

do
  -- Long 100 at 10; sell 150 at 12 (closes the long, opens short 50); buy 50 at 11.
  -- Commission $0.01/share, min $1: 1.00, 1.50, 1.00.
  local r, _, eng = run([[
return {
  on_bar = function(ctx, bar)
    local n = bar_no(ctx)
    if n == 1 then ctx:buy("AAA", 100) end
    if n == 2 then ctx:sell("AAA", 150) end
    if n == 3 then ctx:buy("AAA", 50) end
  end,
}]], { bars = { FLAT, { 10, 10.5, 9.5, 10.2 }, { 12, 12.5, 11.5, 12 }, { 11, 11.5, 10.5, 11 }, FLAT },
       risk = { allow_short = true }, commission = { model = "per_share", rate = 0.01, min = 1 } })
  t.is(r.status, "ok", "trips: the run is ok")
  t.is(#r.trades, 2, "trips: a fill through zero closes one trip and opens another")
  local a, b = r.trades[1] or {}, r.trades[2] or {}
  t.is_deeply({ a.id, a.account, a.symbol, a.side, a.qty, a.entry_price, a.exit_price },
    { 1, "main", "AAA", "long", 100, 10, 12 }, "trips: the long: 100 from 10 to 12")
  t.is(a.entry_time, time.format(stamp(2)), "trips: the long's entry time")
  t.is(a.exit_time, time.format(stamp(3)), "trips: the long's exit time")
  t.is(a.gross, 200, "trips: the long's gross 100 x 2")
  t.is(a.commission, 2, "trips: its commission: 1.00 + 100/150 of 1.50")
  t.is(a.pnl, 198, "trips: its pnl")
  t.is_deeply({ b.id, b.side, b.qty, b.entry_price, b.exit_price }, { 2, "short", 50, 12, 11 },
    "trips: the short: 50 from 12 to 11")
  t.is(b.entry_time, time.format(stamp(3)), "trips: the short opens on the fill through zero")
  t.is(b.exit_time, time.format(stamp(4)), "trips: and closes on bar 4")
  t.is(b.gross, 50, "trips: the short's gross 50 x 1")
  t.is(b.commission, 1.5, "trips: its commission: 50/150 of 1.50 + 1.00")
  t.is(b.pnl, 48.5, "trips: its pnl")
  t.is(a.bars, 1, "trips: the long was held one bar (opened on bar 2, closed on bar 3)")
  t.is(b.bars, 1, "trips: the short one bar")
  t.is(r.summary.exposure, 2 / 5, "trips: a position was open after 2 of the 5 bars")
  t.is(r.summary.round_trips, 2, "trips: summary.round_trips")
  t.is(r.summary.win_rate, 1, "trips: both won")
  t.is(r.summary.commissions, 3.5, "trips: summary.commissions")
  t.is_deeply(ledger(r), {
    { "deposit", "", 100000, "-" },
    { "fill", "AAA", -1000, "o1" }, { "commission", "AAA", -1, "o1" },
    { "fill", "AAA", 1800, "o2" }, { "commission", "AAA", -1.5, "o2" },
    { "fill", "AAA", -550, "o3" }, { "commission", "AAA", -1, "o3" },
  }, "trips: the ledger")
  money_is(eng and eng:cash(eng.account_by_name.main), 100000 + 200 + 50 - 3.5, "trips: cash = start + pnl")
  money_is(r.equity[3] and r.equity[3].total, 100000 - 1000 - 1 + 1800 - 1.5 - 50 * 12,
    "trips: day 3 equity with short 50 at close 12")
  t.is(#r.positions, 0, "trips: flat at the end")
  check_books(r, eng, "trips")
end

do
  -- Scaling in and out: 100 at 10, 50 at 13; 60 out at 12, 90 at 14.  One trip.
  local r, st, eng = run([[
return {
  on_bar = function(ctx, bar)
    local n = bar_no(ctx)
    if n == 1 then ctx:buy("AAA", 100) end
    if n == 2 then ctx:buy("AAA", 50) end
    if n == 3 then ctx:sell("AAA", 60) end
    if n == 4 then
      keep(ctx, "pos", ctx:position("AAA"))
      ctx:sell("AAA", 90)
    end
  end,
}]], { bars = { FLAT, { 10, 10.5, 9.5, 10 }, { 13, 13.5, 12.5, 13 }, { 12, 12.5, 11.5, 12 },
                { 14, 14.5, 13.5, 14 }, FLAT } })
  t.is(#r.trades, 1, "scale: adding and reducing stay one round trip")
  local a = r.trades[1] or {}
  t.is(a.qty, 150, "scale: qty is the largest the position reached")
  t.is(a.entry_price, 11, "scale: entry price = (100 x 10 + 50 x 13) / 150")
  t.is(a.exit_price, 13.2, "scale: exit price = (60 x 12 + 90 x 14) / 150")
  t.is(a.gross, 330, "scale: gross = 1980 - 1650")
  t.is(a.entry_time, time.format(stamp(2)), "scale: entry time is the first opening fill")
  t.is(a.exit_time, time.format(stamp(5)), "scale: exit time is the last closing fill")
  t.is(a.bars, 3, "scale: held over bars 2, 3 and 4")
  t.is(st.pos and st.pos[1], 90, "scale: 90 left after selling 60")
  t.near(st.pos and st.pos[2], (40 * 10 + 50 * 13) / 90, 1e-12, "scale: avg_cost of the FIFO lots left (40 x 10, 50 x 13)")
  check_books(r, eng, "scale")
end

do
  -- Day orders on minute bars: one placed before the close works until the close;
  -- one placed at the close (the 15:59 bar happens at 16:00) works the next session.
  local function m(d, h, mi) return (time.from_ny(2024, 3, d, h, mi)) end
  local s = series.new("AAA", "1m")
  s:append(m(5, 15, 58), 10, 10.1, 9.9, 10, 100)
  s:append(m(5, 15, 59), 10, 10.1, 9.7, 10, 100)
  s:append(m(6, 9, 30), 10, 10.2, 9.0, 9.5, 100)
  s:append(m(6, 9, 31), 9.5, 9.6, 9.4, 9.5, 100)
  local r, st = run([[
return {
  on_order = log_order,
  on_bar = function(ctx, bar)
    local n = bar_no(ctx)
    if n == 1 then ctx:buy("AAA", 10, { limit = 9.6, id = "before-close" }) end
    if n == 2 then ctx:buy("AAA", 10, { limit = 9.6, id = "at-close" }) end
  end,
}]], { data = { { series = s, source = "m" } } })
  t.is_deeply(st.status["before-close"], { "accepted", "expired" },
    "session: a day order placed at 15:59 expires at the close")
  t.is(order_row(r, "before-close").updated, time.format(m(6, 9, 30)),
    "session: seen expired by the next session's first bar, which it does not get")
  t.is_deeply(st.status["at-close"], { "accepted", "filled" }, "session: a day order placed at 16:00 works the next session")
  t.is(order_row(r, "at-close").avg_price, 9.6, "session: and fills there at its limit")
end

do
  -- A stop that triggers but fills only in part (participation) is a market order
  -- from then on: its rest fills at the next open, even below the stop.
  local r, st = run([[
return {
  on_order = log_order, on_fill = log_fill,
  on_bar = function(ctx, bar)
    if bar_no(ctx) == 1 then ctx:buy("AAA", 50, { stop = 20.8, tif = "gtc", id = "stop" }) end
  end,
}]], { bars = { { 20, 20.5, 19.5, 20, 300 }, { 20, 21, 19, 20.5, 300 }, { 20.2, 20.4, 20.1, 20.3, 300 } },
       fill = { participation = 0.1 } })
  local f = st.fills or {}
  t.is_deeply({ f[1] and f[1].qty, f[1] and f[1].price, f[2] and f[2].qty, f[2] and f[2].price },
    { 30, 20.8, 20, 20.2 }, "participation: 30 at the stop, then the rest at the next open")
  t.is_deeply(st.status.stop, { "accepted", "partially_filled", "filled" }, "participation: stop in two fills")
  t.is(order_row(r, "stop").avg_price, (30 * 20.8 + 20 * 20.2) / 50, "participation: average of the two fills")
end

do
  -- Less than one unit of volume allowed: no fill, but the stop triggers.
  local r, st = run([[
return {
  on_fill = log_fill,
  on_bar = function(ctx, bar)
    if bar_no(ctx) == 1 then ctx:buy("AAA", 1, { stop = 20.8, tif = "gtc", id = "stop" }) end
  end,
}]], { bars = { { 20, 20.5, 19.5, 20, 300 }, { 20, 21, 19, 20.5, 5 }, { 20.2, 20.4, 20.1, 20.3, 300 } },
       fill = { participation = 0.1 } })
  local f = (st.fills or {})[1] or {}
  t.is_deeply({ f.qty, f.price, f.time }, { 1, 20.2, stamp(3) },
    "participation: a cap under one unit fills nothing but triggers the stop; the next open fills it")
end

-- ---- a finished run lets go of its data ----

do
  local weak = setmetatable({}, { __mode = "k" })
  local function once(src, label)
    local s = daily("AAA", { FLAT, FLAT })
    weak[s] = label
    local r = backtest.run { strategy = strategy_file(src), data = { { series = s, source = "t" } },
                             check_invariants = true }
    return r and r.status
  end
  t.is(once("return { on_bar = function(ctx, bar) end }", "plain"), "ok", "memory: a plain run")
  t.is(once("return { on_start = function(ctx) ctx.state.h = ctx:bars('AAA') end }", "bars"), "ok",
    "memory: a run that reads bar history")
  collectgarbage()
  collectgarbage()
  local alive = {}
  for _, v in pairs(weak) do alive[v] = true end
  -- Regression test (this was a bug, now fixed): every backtest run keeps its series (all the bars) alive for the life of the
  -- process, so a parameter sweep of many runs in one process grows without bound.
  -- (1) backtest.lua:106-121 bar_type() makes a new ctype per run with ffi.metatype,
  -- whose __index/__tostring close over `feeds` (and so every series); LuaJIT anchors
  -- a metatype's metatable permanently, so the feeds are never collected (and each run
  -- uses up one of the 64K ctype ids).  Fix: one bar ctype at module level whose
  -- metamethods find the feed through a per-run table that the run drops at its end
  -- (e.g. a run number in the struct and a module table cleared after the loop).
  -- (2) strategy.lua:154/181: the module-level `registry` of history columns keeps
  -- { p, w, keep = s } for every ctx:bars ever made.  Fix: keep the entries in the run
  -- (e.g. clear them when the run ends, or a weak-valued registry whose entries the
  -- history table holds).
  t.ok(not alive.plain, "memory: a finished run keeps no reference to its series")
  t.ok(not alive.bars, "memory: nor one whose strategy used ctx:bars")
end

-- ---- determinism ----

do
  local src = [[
return {
  on_bar = function(ctx, bar)
    local n = bar_no(ctx)
    if n == 1 then ctx:open_account("side", { from = "main", cash = 3000 }) ; ctx:buy("AAA", 100) end
    if n == 2 then ctx:account("side"):buy("AAA", 20, { limit = 10.1, tif = "gtc" }) end
    if n == 3 then ctx:sell("AAA", 60) ; ctx:deposit("side", 125.5) end
    if n == 4 then ctx:close("AAA") end
  end,
}]]
  local file = strategy_file(PRELUDE .. src)
  local bars = { FLAT, { 10, 10.6, 9.9, 10.3 }, { 10.4, 10.9, 10.0, 10.8 }, { 10.7, 11, 10.5, 10.9 }, FLAT }
  local opts = { file = file, bars = bars, commission = { model = "per_share", rate = 0.005, min = 1 },
                 fill = { slippage_bps = 3 } }
  local r1 = run(nil, opts)
  local r2 = run(nil, opts)
  local j1 = json.encode(r1, { sorted = true })
  local j2 = json.encode(r2, { sorted = true })
  t.ok(#j1 > 1000, "determinism: a full result")
  t.is(j1, j2, "determinism: two runs of the same inputs encode to identical strings")
end

-- ---- several symbols ----

do
  -- One-minute bars: AAA at 09:30, 09:32, 09:34; BBB at 09:31, 09:33.  A bar happens at
  -- its end (time + 1 minute).
  local function m(h, mi) return (time.from_ny(2024, 3, 5, h, mi)) end
  local aaa, bbb = series.new("AAA", "1m"), series.new("BBB", "1m")
  aaa:append(m(9, 30), 10, 10.2, 9.9, 10.1, 500)
  aaa:append(m(9, 32), 10.1, 10.3, 10.0, 10.2, 500)
  aaa:append(m(9, 34), 10.2, 10.4, 10.1, 10.3, 500)
  bbb:append(m(9, 31), 20, 20.2, 19.9, 20.1, 500)
  bbb:append(m(9, 33), 20.5, 20.6, 20.4, 20.5, 500)
  local r, st, eng = run([[
return {
  on_fill = log_fill,
  on_bar = function(ctx, bar)
    local n = bar_no(ctx)
    local st = ctx.state
    st.seen = st.seen or {}
    st.seen[#st.seen + 1] = { bar.symbol, ctx:now(), bar.time }
    if n == 1 then keep(ctx, "early", ctx:buy("BBB", 1)) end  -- no BBB bar yet
    if n == 2 then ctx:buy("BBB", 10) end                     -- on BBB's bar: fills at its next open
    if n == 3 then ctx:buy("AAA", 5) end                      -- on AAA's bar
  end,
}]], { data = { { series = aaa, source = "a" }, { series = bbb, source = "b" } } })
  t.is(r.status, "ok", "symbols: the run is ok")
  local M = 60e6
  t.is_deeply(st.seen, {
    { "AAA", m(9, 30) + M, m(9, 30) }, { "BBB", m(9, 31) + M, m(9, 31) }, { "AAA", m(9, 32) + M, m(9, 32) },
    { "BBB", m(9, 33) + M, m(9, 33) }, { "AAA", m(9, 34) + M, m(9, 34) },
  }, "symbols: bars of two series come in time order, each at its end")
  t.is(st.early and st.early[2], "no price for BBB yet: wait for its first bar",
    "symbols: an order for a symbol before its first bar is rejected")
  local px = {}
  for _, f in ipairs(st.fills or {}) do px[f.symbol] = { f.price, f.time } end
  t.is_deeply(px.BBB, { 20.5, m(9, 33) }, "symbols: a BBB order fills at BBB's next open")
  t.is_deeply(px.AAA, { 10.2, m(9, 34) }, "symbols: an AAA order fills at AAA's next open")
  money_is(r.equity[1] and r.equity[1].total, 100000 - 205 - 51 + 10 * 20.5 + 5 * 10.3,
    "symbols: equity marks each symbol at its last close")
  t.is(#r.config.data, 2, "symbols: config.data lists both feeds")
  t.is(r.config.data[2] and r.config.data[2].bars, 2, "symbols: with their bar counts")
  check_books(r, eng, "symbols")
end

do
  -- Daily bars of AAA and BBB happen at the same time (16:00), AAA's first.  An order
  -- for BBB placed on AAA's bar of day 2 must not fill at BBB's day-2 open (09:30,
  -- before the order existed): its next bar is day 3's.
  local aaa = daily("AAA", { FLAT, FLAT, FLAT })
  local bbb = daily("BBB", { { 20, 20.5, 19.5, 20 }, { 21, 21.5, 20.5, 21 }, { 22, 22.5, 21.5, 22 } })
  local _, st = run([[
return {
  on_fill = log_fill,
  on_bar = function(ctx, bar)
    if bar.symbol == "AAA" and bar_no(ctx) == 2 then ctx:buy("BBB", 10) end
  end,
}]], { data = { { series = aaa, source = "a" }, { series = bbb, source = "b" } } })
  local f = (st.fills or {})[1] or {}
  -- Regression test (this was a bug, now fixed): engine.lua Engine:match offers every working order to the symbol's next
  -- delivered bar, even one with the same event time as the order (the bar's open is
  -- then earlier than the order: look-ahead).  Here the order placed at day 2 16:00
  -- fills at BBB's day-2 open 21 (listed in docs/backtest.md "Known issues").  Fix:
  -- in Engine:match, skip orders whose created time is not before the current event
  -- time (eng.now), so an order's first bar is one that happens after it.
  t.is_deeply({ f.price, f.time }, { 22, stamp(3) },
    "symbols: an order placed on another symbol's bar fills at its symbol's next bar, not a same-time one")
end

-- ---- ledger and equity invariant on a busier run ----

do
  local r, _, eng = run([[
return {
  on_bar = function(ctx, bar)
    local n = bar_no(ctx)
    if n == 1 then ctx:buy("AAA", 37) ; ctx:open_account("b", { from = "main", cash = 2500 }) end
    if n == 2 then ctx:account("b"):buy("AAA", 11, { limit = 10.05, tif = "gtc" }) ; ctx:sell("AAA", 12) end
    if n == 3 then ctx:withdraw("main", 333.33) ; ctx:account("b"):sell("AAA", 4) end
    if n == 4 then ctx:buy("AAA", 3, { stop = 10.2 }) end
  end,
}]], { bars = { FLAT, { 10.1, 10.4, 9.9, 10.2 }, { 10.2, 10.5, 10.0, 10.15 }, { 10.1, 10.3, 9.9, 10.25 },
                { 10.3, 10.6, 10.2, 10.45 } },
       commission = { model = "percent", rate = 0.05, min = 0.35 }, fill = { slippage_bps = 7 } })
  t.is(r.status, "ok", "books: the run is ok")
  check_books(r, eng, "books")
  -- Equity rows: cash + qty x the day's close, recomputed from the ledger and the fills.
  local closes = { 10, 10.2, 10.15, 10.25, 10.45 }
  local ok = true
  for i, row in ipairs(r.equity) do
    for name, eq in pairs(row.accounts) do
      local cash, qty = 0, 0
      local day_end = time.format(close_time(i))
      for _, p in ipairs(r.ledger) do
        if p.account == name and p.time <= day_end then
          cash = cash + cents(p.amount)
        end
      end
      for _, o in ipairs(r.orders) do
        if o.account == name and o.filled_qty > 0 and o.updated <= day_end then
          qty = qty + (o.side == "buy" and o.filled_qty or -o.filled_qty)
        end
      end
      if cents(eq) ~= cents(cash / 100 + qty * closes[i]) then
        ok = false
        t.diag(row.date, name, eq, cash / 100 + qty * closes[i])
      end
    end
  end
  t.ok(ok, "books: every equity row = cash + position x that day's close")
end

do
  -- backtest.write_json streams the orders, ledger and trades rows; the file must be
  -- byte for byte the encoding of the full result (two accounts, so the ledger rows
  -- are merged from both in seq order; no trade for the empty-array form).
  local src = strategy_file([[
return {
  on_bar = function(ctx, bar)
    if bar.index == 0 then
      ctx:buy("AAA", 5)
      assert(ctx:open_account("side", { from = "main", cash = 1000 }))
      ctx:account("side"):buy("AAA", 2)
    end
    if bar.index == 2 then ctx:close("AAA") end
  end,
}]])
  local rows = {}
  for i = 1, 5 do rows[i] = { 10 + i, 11 + i, 9 + i, 10.5 + i, 1000 } end
  local data = { { series = daily("AAA", rows), source = "t" } }
  local full = backtest.run { strategy = src, data = data, cash = 10000 }
  local lean, eng = backtest.run { strategy = src, data = data, cash = 10000, records = false }
  t.is(lean.orders, nil, "records = false leaves the orders out")
  t.is(lean.counts.orders, #full.orders, "counts.orders still has the total")
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  backtest.write_json(f, lean, eng)
  f:close()
  local g = assert(io.open(path, "rb"))
  local streamed = g:read("*a")
  g:close()
  os.remove(path)
  t.is(streamed, json.encode(full, { sorted = true, indent = 2 }) .. "\n",
    "write_json: byte-identical to encoding the whole result")
  local back = json.decode(streamed)
  t.is(#back.ledger, full.counts.ledger, "write_json: every posting, from both accounts")
  local last = 0
  local ordered = true
  for _, e in ipairs(back.ledger) do
    if e.seq <= last then ordered = false end
    last = e.seq
  end
  t.ok(ordered, "write_json: postings in seq order")
end

fx.cleanup()
