-- strategies/alluse, the ALL-USE protocol (docs/protocol.md): its rules as pure
-- functions (week mode and the 11 week types at their boundaries, ATR levels, strike
-- choice), then scenarios on hand-made daily bars of one ticker priced by a fixed-vol
-- chain model, each checked against numbers computed here from the ledger and
-- Black-Scholes: a put expiring worthless, assignment then covered calls until called
-- away, a premium below the floor, a fork exactly at its threshold (and not a cent
-- before) with the tax reserve held back, a merge, the quarterly reinvestment on the
-- first trading day after a holiday, the ATR levels of an open put, the circuit
-- breaker after three losing cycles, the week types of assigned shares, a put rolled
-- out and down for a credit (P-RO) and a put stopped out in a crash (P-DD).
local t = require("alluse.test")
local series = require("alluse.series")
local time = require("alluse.time")
local calendar = require("alluse.calendar")
local options = require("alluse.options")
local backtest = require("alluse.backtest")
local ind = require("alluse.indicators")

local root = (debug.getinfo(1, "S").source:sub(2):gsub("[^/]*$", "")) .. "../../"
local STRAT = root .. "strategies/alluse"
package.path = root .. "strategies/alluse/?.lua;" .. package.path
local weeks = require("weeks")
local atr = require("atr")
local strikes = require("strikes")

local floor, ceil, max, min, abs = math.floor, math.ceil, math.max, math.min, math.abs
local YEAR = 365 * 86400e6
local RATE, VOL = 0.04, 0.80

-- ---- the rules as functions ----

t.is(weeks.mode(0.015, 0.015), "Green", "mode: +1.5% is Green")
t.is(weeks.mode(0.0149, 0.015), "Chop", "mode: just under +1.5% is Chop")
t.is(weeks.mode(-0.015, 0.015), "Red", "mode: -1.5% is Red")
t.is(weeks.mode(-0.0149, 0.015), "Chop", "mode: just above -1.5% is Chop")
t.is(weeks.mode(nil, 0.015), nil, "mode: none without a week to judge by")

local K = 100
local cases = {
  { "P-EW", { position = "put", strike = K, price = 100, move = -0.01 } },
  { "P-AWL", { position = "put", strike = K, price = 99.99, move = -0.02 } },
  { "P-AWL", { position = "put", strike = K, price = 95, move = -0.05 } },
  { "P-RO", { position = "put", strike = K, price = 94.99, move = -0.06, rolled = true } },
  { "P-AOL", { position = "put", strike = K, price = 94.99, move = -0.06 } },
  { "P-AOL", { position = "put", strike = K, price = 85, move = -0.12 } },
  { "P-DD", { position = "put", strike = K, price = 84.99, move = -0.12 } },
  { "P-DD", { position = "put", strike = K, price = 99, move = -0.151 } },
  { "C-WAP", { position = "stock", strike = K, price = 100, move = 0.05 } },
  { "C-WAP+", { position = "stock", strike = K, price = 106, move = 0.0501 } },
  { "C-PNO", { position = "stock", strike = K, price = 99.99, move = -0.05 } },
  { "C-RO", { position = "stock", strike = K, price = 90, move = -0.0501 } },
  { "C-RO", { position = "stock", strike = K, price = 90, move = -0.10 } },
  { "C-REC", { position = "stock", strike = K, price = 86, move = -0.1001 } },
  { "C-REC", { position = "stock", strike = K, price = 86, move = -0.15 } },
  { "P-DD", { position = "stock", strike = K, price = 84, move = -0.1501 } },
  { "C-PNO", { position = "stock", price = 101, move = 0.03 } },
  { "W-IDL", { price = 100, move = 0.02 } },
}
local seen = {}
for _, c in ipairs(cases) do
  local w = c[2]
  t.is(weeks.type(w), c[1], string.format("week type %s: %s S=%g K=%s move=%g%s", c[1], w.position or "cash",
    w.price, tostring(w.strike), w.move, w.rolled and " rolled" or ""))
  seen[c[1]] = true
end
local n = 0
for _, code in ipairs(weeks.TYPES) do if seen[code] then n = n + 1 end end
t.is(n, 11, "every one of the 11 week types is reached")
t.is_deeply(require("alluse.report.protocol").TYPES, weeks.TYPES, "the report lists the same 11 types in the same order")

t.is(atr.level(0.999), 0, "ATR level 0 below 1")
t.is(atr.level(1), 1, "level 1 at 1 ATR")
t.is(atr.level(2), 2, "level 2 at 2 ATR")
t.is(atr.level(2.999), 2, "level 2 below 3")
t.is(atr.level(3), 3, "level 3 at 3 ATR")
t.is(atr.adverse("put", 96, 100, 98, 2, "entry"), 2, "a put's adverse move from entry: (100 - 96) / 2")
t.is(atr.adverse("put", 96, 100, 98, 2, "strike"), 1, "from the strike (constitution): (98 - 96) / 2")
t.is(atr.adverse("call", 104, 100, 102, 2, "entry"), 2, "a call's is the mirror")
t.is(atr.adverse("put", 104, 100, 98, 2, "entry"), 0, "a favourable move is 0")

do
  local list = {
    { right = "put", dte = 1, strike = 95, delta = -0.30, bid = 0.5 },
    { right = "put", dte = 1, strike = 96, delta = -0.37, bid = 0.6 },
    { right = "put", dte = 1, strike = 97, delta = -0.44, bid = 0.8 },
    { right = "put", dte = 1, strike = 98, delta = -0.52, bid = 1.1 },
    { right = "put", dte = 8, strike = 97, delta = -0.45, bid = 2.0 },
  }
  local c = strikes.choose(list, { right = "put", dte = 1, dte_min = 0, dte_max = 1, delta_min = 0.40, delta_max = 0.50 })
  t.is(c and c.strike, 97, "strike choice: |delta| closest to the band's middle (0.45), inside the band")
  local none, why = strikes.choose(list, { right = "put", dte = 1, dte_min = 0, dte_max = 1, delta_min = 0.38,
    delta_max = 0.43 })
  t.is(none, nil, "no strike inside the band: none")
  t.like(why, "no put strike with |delta| in 0.38%-0.43", "and why")
  t.is(select(2, strikes.choose(list, { right = "put", dte = 30, dte_min = 25, dte_max = 35, delta_min = 0.4,
    delta_max = 0.5 })), "no put expiry 25-35 days out", "no expiry in range")
  local p = { gen_delta_min = 0.40, gen_delta_max = 0.50, gen_delta_floor = 0.35 }
  local lo, hi = strikes.band(p, "gen", weeks.delta_shift("Chop", { red_shift = 0.05, chop_shift = 0.10 }))
  t.is_deeply({ lo, hi }, { 0.35, 0.40 }, "Chop shifts the band by -0.10, kept at the allowed floor")
end

-- ---- scenarios ----

-- Daily bars of XYZ from date `from`, one per trading day: { open, close [, reach] }
-- (high and low `reach` beyond them, 1 when not given: a wide reach makes a day's
-- true range, and so the ATR, grow).
local function bars(from, rows, symbol)
  local s = series.new(symbol or "XYZ", "1d")
  local d = from
  local dates = {}
  for i, r in ipairs(rows) do
    local y, m, dd = d:match("^(%d+)-(%d+)-(%d+)$")
    local reach = r[3] or 1
    s:append((time.from_ny(tonumber(y), tonumber(m), tonumber(dd), 9, 30)), r[1], max(r[1], r[2]) + reach,
      min(r[1], r[2]) - reach, r[2], 1e6)
    dates[i] = d
    d = calendar.next_trading_day(d)
  end
  return s, dates
end

local IV = {}
for _, sym in ipairs({ "XYZ", "ABC", "DEF" }) do IV[sym] = { dates = { "2000-01-01" }, ivs = { VOL }, source = "test" } end

-- One ticker for every kind; money in Gen only unless params say otherwise.
local function run(s, params, cash)
  local p = { gen_tickers = "XYZ", rev_tickers = "XYZ", com_tickers = "XYZ", split_gen = 1, split_rev = 0,
    split_com = 0, gen_floor = 0.001 }
  for k, v in pairs(params or {}) do p[k] = v end
  local data = {}
  for i, one in ipairs(type(s) == "table" and s[1] and s or { s }) do data[i] = { series = one, source = "test" } end
  local r, e = backtest.run { strategy = STRAT, data = data, cash = cash or 100000,
    iv_series = IV, options = { rate = RATE }, check_invariants = true, params = p, state = {} }
  assert(r, e)
  return r
end

local function rows(r, stream, pred)
  local out = {}
  for _, x in ipairs(r.journal[stream] or {}) do if pred(x) then out[#out + 1] = x end end
  return out
end

local function ledger(r, account, kind)
  local out = {}
  for _, e in ipairs(r.ledger) do
    if e.account == account and (kind == nil or e.kind == kind) then out[#out + 1] = e end
  end
  return out
end

local function account(r, name)
  for _, a in ipairs(r.accounts) do if a.name == name then return a end end
end

local function cash_of(r, name)
  local c = 0
  for _, e in ipairs(ledger(r, name)) do c = c + floor(e.amount * 100 + 0.5) end
  return c / 100
end

-- The model's bid for a contract at spot and time now (mid - max(0.01, 2% of mid),
-- down to cents).
local function model_mid(right, spot, strike, expiry_us, now)
  return options.bs { spot = spot, strike = strike, t = (expiry_us - now) / YEAR, rate = RATE, vol = VOL,
    right = right }.price
end
local function model_bid(right, spot, strike, expiry_us, now)
  local mid = model_mid(right, spot, strike, expiry_us, now)
  local hs = max(0.01, 0.02 * mid)
  return max(0, floor((mid - hs) * 100 + 1e-9) / 100)
end
-- And its ask: mid + the half-spread, up to cents.
local function model_ask(right, spot, strike, expiry_us, now)
  local mid = model_mid(right, spot, strike, expiry_us, now)
  local hs = max(0.01, 0.02 * mid)
  return ceil((mid + hs) * 100 - 1e-9) / 100
end

local function cents(x) return floor(x * 100 + 0.5) / 100 end

local function sells(r, acct)
  local out = {}
  for _, o in ipairs(r.orders) do
    if o.account == acct and o.side == "sell" then out[#out + 1] = o end
  end
  return out
end

-- A: Gen sells a 1-DTE put at Thursday's close, filled at Friday's open at the bid,
-- expiring worthless at Friday's close: P-EW, the premium in the ledger.
local WEEK = { { 100, 100 }, { 100, 100.5 }, { 100.5, 100.2 }, { 100.2, 100.4 }, { 100.4, 101 } }
do
  local s, dates = bars("2024-03-04", WEEK)
  local r = run(s)
  t.is(r.status, "ok", "A: the run")
  local o = sells(r, "GEN")[1]
  t.ok(o ~= nil, "A: Gen sold an option")
  local c = options.occ.parse(o.symbol)
  t.is(c.right, "put", "A: a put")
  t.is(c.expiry, "2024-03-08", "A: expiring Friday (1 day from Thursday's close)")
  -- The strike: |delta| at Thursday's close closest to 0.45 (the band 0.40-0.50: no
  -- prior week, no mode shift), checked against the neighbours.
  local thu = (time.from_ny(2024, 3, 7, 16, 0))
  local function d(k)
    return abs(options.bs { spot = 100.4, strike = k, t = (c.expiry_time - thu) / YEAR, rate = RATE, vol = VOL,
      right = "put" }.delta)
  end
  t.ok(abs(d(c.strike) - 0.45) <= abs(d(c.strike - 1) - 0.45) and abs(d(c.strike) - 0.45) <= abs(d(c.strike + 1) - 0.45),
    string.format("A: strike %g has the |delta| closest to 0.45 (%.3f)", c.strike, d(c.strike)))
  local fri_open = (time.from_ny(2024, 3, 8, 9, 30))
  local bid = model_bid("put", 100.4, c.strike, c.expiry_time, fri_open)
  t.is(o.avg_price, bid, "A: filled at the model's bid at Friday's open")
  -- Contracts: 95% of the deployable 95% of $100,000, over one ticker.
  local n = floor(100000 * 0.95 * 0.95 / (c.strike * 100))
  t.is(o.qty, n, "A: contracts = floor(deployable x size / (strike x 100))")
  local prem = ledger(r, "GEN", "fill")
  t.is(#prem, 1, "A: one fill posting")
  t.is(prem[1].amount, floor(bid * 100 * n * 100 + 0.5) / 100, "A: the premium credited")
  t.is(cash_of(r, "GEN"), 100000 + bid * 100 * n - 0.65 * n, "A: Gen's cash: capital + premium - $0.65 a contract")
  local w = rows(r, "weeks", function(x) return x.account == "GEN" and x.week == "2024-W10" end)[1]
  t.is(w and w.type, "P-EW", "A: the week is P-EW (Friday close 101 >= K)")
  t.is(w and w.premium, floor(bid * 100 * n * 100 + 0.5) / 100, "A: the week's premium")
  t.is(w and w.pnl, floor((bid * 100 * n - 0.65 * n) * 100 + 0.5) / 100, "A: the week's P&L: premium - commission")
  t.is(#r.assignments, 0, "A: nothing assigned")
end

-- C: the same week with a premium floor of 50%: skipped, W-IDL, an alert event.
do
  local s = bars("2024-03-04", WEEK)
  local r = run(s, { gen_floor = 0.5 })
  t.is(#sells(r, "GEN"), 0, "C: no order below the premium floor")
  local w = rows(r, "weeks", function(x) return x.account == "GEN" and x.week == "2024-W10" end)[1]
  t.is(w and w.type, "W-IDL", "C: the week is W-IDL")
  t.is(w and w.reason, "premium below the floor", "C: and says why")
  local e = rows(r, "events", function(x) return x.kind == "skip" and x.account == "GEN" end)[1]
  t.ok(e and e.floor_pct == 0.5 and e.premium_pct > 0 and e.premium_pct < 0.5,
    "C: the skip event carries the premium and the floor")
end

-- B: assigned Friday (close 97 < K), covered calls the next week, called away.
do
  local s = bars("2024-03-04", { { 100, 100 }, { 100, 100.5 }, { 100.5, 100.2 }, { 100.2, 100.4 }, { 100.4, 97 },
    { 97, 97.5 }, { 97.5, 98 }, { 98, 99 }, { 99, 99.8 }, { 99.8, 104 } })
  local r = run(s)
  t.is(#r.assignments, 2, "B: two settlements: the put assigned, then the call")
  local a = r.assignments[1]
  local put = options.occ.parse(a.contract)
  t.is(a.underlying_price, 97, "B: at the close, 97")
  local w1 = rows(r, "weeks", function(x) return x.account == "GEN" and x.week == "2024-W10" end)[1]
  local want1 = weeks.type { position = "put", strike = put.strike, price = 97, move = nil }
  t.is(w1 and w1.type, want1, "B: week 1 is " .. want1 .. " (97 against K " .. put.strike .. ")")
  local s2 = sells(r, "GEN")
  t.is(#s2, 2, "B: a second sell: the covered call")
  local call = options.occ.parse(s2[2].symbol)
  t.is(call.right, "call", "B: week 2 sells a call on the shares")
  t.is(s2[2].qty, s2[1].qty, "B: one call per 100 shares")
  local basis = put.strike - s2[1].avg_price
  t.ok(call.strike >= basis, string.format("B: the call's strike %g is not below the cost %.2f", call.strike, basis))
  local w2 = rows(r, "weeks", function(x) return x.account == "GEN" and x.week == "2024-W11" end)[1]
  t.like(w2 and w2.type or "", "^C%-WAP", "B: week 2 is C-WAP or C-WAP+ (called away)")
  t.is(w2 and w2.type, 104 / 97 - 1 > 0.05 and "C-WAP+" or "C-WAP", "B: + when the week rose more than 5%")
  local pos = 0
  for _, p in ipairs(r.positions) do if p.account == "GEN" then pos = pos + 1 end end
  t.is(pos, 0, "B: nothing left: the shares were called away")
  t.is(#rows(r, "events", function(x) return x.kind == "called_away" end), 1, "B: a called_away event")
  t.is(options.occ.parse(r.assignments[2].contract).right, "call", "B: the second settlement is the call's")
  t.is(r.assignments[2].shares, -100 * s2[2].qty, "B: delivering the shares")
end

-- D and G: a fork exactly at the threshold, not a cent before, with the tax reserve
-- (30% of the realized short-term gain) held back from the surplus.
do
  local days = {}
  for i, row in ipairs(WEEK) do days[i] = row end
  days[6], days[7] = { 101, 101 }, { 101, 101.2 }
  local s = bars("2024-03-04", days)
  local probe = run(s, { fork_surplus = 0.01, fork_child_gen = 1, fork_child_com = 1 })
  local f = rows(probe, "events", function(x) return x.kind == "fork" end)[1]
  t.ok(f ~= nil, "D: a fork once the surplus passes a threshold of one cent")
  local prem = ledger(probe, "GEN", "fill")[1].amount
  local reserve = floor(0.30 * prem * 100 + 0.5) / 100
  t.is(f and f.tax_reserve, reserve, "G: the tax reserve is 30% of the premium realized at expiry")
  t.is(f and f.surplus, floor((f.equity - 100000 - f.tax_reserve) * 100 + 0.5) / 100,
    "G: surplus = equity - capital base - tax reserve")
  local S = f.surplus
  local at = run(s, { fork_surplus = S, fork_child_gen = 1, fork_child_com = 1 })
  local f2 = rows(at, "events", function(x) return x.kind == "fork" end)[1]
  t.is(f2 and f2.time, f.time, "D: with the threshold at exactly the surplus, the fork happens")
  t.ok(account(at, "GEN-GEN-1") and account(at, "GEN-COM-1"), "D: children GEN-GEN-1 and GEN-COM-1")
  local out = 0
  for _, e in ipairs(ledger(at, "GEN", "transfer_out")) do out = out + e.amount end
  t.is(out, -2, "D: $1 + $1 moved out of Gen by transfers")
  local before = run(s, { fork_surplus = S + 0.01, fork_child_gen = 1, fork_child_com = 1 })
  t.is(#rows(before, "events", function(x) return x.kind == "fork" and x.time == f.time end), 0,
    "D: a cent below the threshold, no fork that day")
  -- E: the family is worth its $2, over a merge threshold of $1: merged into COM.
  local m = run(s, { fork_surplus = S, fork_child_gen = 1, fork_child_com = 1, merge_at = 1 })
  local me = rows(m, "events", function(x) return x.kind == "merge" end)[1]
  t.ok(me ~= nil, "E: the family merges")
  t.is(me and me.into, "COM", "E: into the root Com-Acc")
  t.is(account(m, "GEN-GEN-1").status, "closed", "E: the Gen child is closed")
  t.is(account(m, "GEN-COM-1").status, "closed", "E: the Com child is closed")
  local into = 0
  for _, e in ipairs(ledger(m, "COM", "transfer_in")) do into = into + e.amount end
  t.is(into, 2, "E: the children's $2 reached COM")

  -- E2: the constitution's fork into a mini main account (fork = "main"), split like
  -- the first, merged back into the first main's Com-Acc once worth merge_multiple x
  -- what it started with (1x here: at once).
  local mm = run(s, { fork_surplus = S, fork = "main", merge_multiple = 1, merge_years = 0 })
  local fm = rows(mm, "events", function(x) return x.kind == "fork" end)[1]
  t.ok(fm and fm.into == "main" and fm.main == 2 and fm.amount == S, "E2: Gen forks its surplus into main account 2")
  t.ok(account(mm, "M2-GEN") and account(mm, "M2-REV") and account(mm, "M2-COM"), "E2: M2-GEN, M2-REV, M2-COM opened")
  local out1 = ledger(mm, "GEN", "transfer_out")[1]
  t.ok(out1 and out1.amount == -S and out1.time == fm.time, "E2: the surplus left Gen by a transfer at the fork")
  -- The merge returns each closed account's cash to its engine parent (Gen, for the
  -- mini main's accounts) and the strategy moves it on to COM: Gen is a pass-through.
  local net = 0
  for _, e in ipairs(ledger(mm, "GEN")) do
    if e.kind == "transfer_in" or e.kind == "transfer_out" then net = net + e.amount end
  end
  t.is(net, 100000 - S, "E2: Gen's transfers net to its capital less the fork")
  local ms = rows(mm, "events", function(x) return x.kind == "merge_start" end)[1]
  local me2 = rows(mm, "events", function(x) return x.kind == "merge" end)[1]
  t.ok(ms ~= nil and me2 ~= nil, "E2: the mini main merges")
  t.is(me2 and me2.into, "COM", "E2: into the first main's Com-Acc")
  for _, name in ipairs({ "M2-GEN", "M2-REV", "M2-COM" }) do
    t.is(account(mm, name).status, "closed", "E2: " .. name .. " is closed")
  end
  local back = 0
  for _, e in ipairs(ledger(mm, "COM", "transfer_in")) do back = back + e.amount end
  local held = 0
  for _, name in ipairs({ "M2-GEN", "M2-REV", "M2-COM" }) do held = held + cash_of(mm, name) end
  t.is(held, 0, "E2: the mini main's accounts end empty")
  t.is(back, S, "E2: all " .. S .. " of it reached COM")

  -- The report's protocol sections, from the same journal.
  local page = require("alluse.report.html").render(m)
  for _, id in ipairs({ "protocol-accounts", "week-types", "protocol-weekly", "protocol-monthly", "atr-log",
      "lifecycle", "tax" }) do
    t.like(page, '<section id="' .. id:gsub("%-", "%%-") .. '">', "report: section " .. id)
  end
  local prem = 0
  for _, w in ipairs(m.journal.weeks) do if w.account == "GEN" then prem = prem + w.premium end end
  t.like(page, string.format('<tr data%%-account="GEN">.-data%%-premium="%.2f"', prem),
    "report: Gen's premium is the sum of its weekly rows")
  t.like(page, '<tr data%-kind="fork">.-GEN%-GEN%-1 %+ GEN%-COM%-1', "report: the fork in the timeline")
  t.like(page, '<tr data%-kind="merge">.-into COM', "report: the merge in the timeline")
  local tx = m.journal.tax
  t.ok(#tx >= 3 and tx[1].account == "GEN" and tx[1].realized_st > 0, "report: tax rows per account (Gen realized its premium)")
  t.is(tx[1].reserve, floor(0.30 * tx[1].realized_st * 100 + 0.5) / 100, "report: Gen's reserve is 30% of its short-term gain")
end

-- F: the quarterly reinvestment on the first trading day of the quarter, 2024-01-02
-- (1 January is a holiday), and not on the run's first day.
do
  local rowsF = {}
  for i = 1, 8 do rowsF[i] = { 100, 100 } end
  local s, dates = bars("2023-12-26", rowsF)
  local r = run(s, { split_gen = 0, split_com = 1, com_puts = false })
  local ev = rows(r, "events", function(x) return x.kind == "reinvest" end)
  t.is(#ev, 1, "F: one reinvestment")
  t.is(ev[1] and ev[1].time:sub(1, 10), "2024-01-02", "F: on 2 January, the quarter's first trading day")
  local amount = 100000 - 100000 * 0.05
  t.is(ev[1] and ev[1].reinvestable, amount, "F: reinvestable = cash - 5% buffer - tax reserve (0)")
  local buys = {}
  for _, o in ipairs(r.orders) do if o.account == "COM" and o.side == "buy" then buys[#buys + 1] = o end end
  t.is(buys[1] and buys[1].symbol, "XYZ", "F: shares first")
  t.is(buys[1] and buys[1].qty, floor(amount * 0.75 * 0.98 / 100), "F: 75% of it in shares (2% kept for the open)")
  local leaps = buys[2] and options.occ.parse(buys[2].symbol)
  t.ok(leaps and leaps.right == "call" and calendar.day_number(leaps.expiry) - calendar.day_number("2024-01-02") >= 365,
    "F: 25% in a LEAPS call a year or more out")

  -- The monthly statement of the same run: COM's December and January.
  local mo = rows(r, "months", function(x) return x.account == "COM" end)
  t.is(#mo, 2, "F: COM has a statement row for December and one for January")
  local dec, jan = mo[1], mo[2]
  local last_of = {}
  for _, e in ipairs(r.equity) do last_of[e.date:sub(1, 7)] = e.accounts.COM end
  t.ok(dec and dec.month == "2023-12" and dec.start == 0 and dec.flows == 100000,
    "F: December starts at 0 with the opening $100,000 as a transfer in")
  t.is(dec and dec.value, last_of["2023-12"], "F: December's end value is COM's equity on 29 December")
  t.is(jan and jan.start, dec and dec.value, "F: January starts where December ended")
  t.is(jan and jan.value, last_of["2024-01"], "F: and ends at COM's equity on the run's last day")
  t.is(jan and jan.growth, jan and cents(jan.value - jan.start - jan.flows), "F: growth = end - start - transfers")
  local page = require("alluse.report.html").render(r)
  t.like(page, '<tr data%-account="COM"><td class="text">2024%-01</td>', "F: the report's monthly statement has COM's January")
  t.like(page, '<tr class="total" data%-account="all"><td class="text">2023%-12</td>', "F: led by the month's total")
end

-- H: the ATR levels of an open Com put (30-45 DTE, sold at Monday's close): the
-- underlying holds at 100 while ATR(14) settles, then falls 1, 2 and 3 ATRs below the
-- price at entry; each level change is an event with its numbers, and level 3 buys
-- the put back.
do
  local r0 = {}
  for i = 1, 16 do r0[i] = { 100, 100 } end
  local path = { 97.8, 95.2, 93.2, 90 } -- m = 1.02, 2.04, 2.77, 3.78 (computed below)
  for i, c in ipairs(path) do r0[16 + i] = { i == 1 and 100 or path[i - 1], c } end
  r0[21] = { 90, 90 }
  local s = bars("2024-01-08", r0) -- a Monday
  local r = run(s, { split_gen = 0, split_com = 1, com_puts = true })
  local put = sells(r, "COM")[1]
  t.ok(put ~= nil and options.occ.parse(put.symbol).right == "put", "H: Com sold a put at Monday's close")
  t.is(put and put.created:sub(1, 10), "2024-01-08", "H: on the first Monday")
  -- The levels the rule gives, from the same bars and an ATR(14) computed here.
  local a14 = ind.atr(14)
  local expect, last = {}, 0
  for i = 1, #r0 do
    local v = a14:update(max(r0[i][1], r0[i][2]) + 1, min(r0[i][1], r0[i][2]) - 1, r0[i][2])
    if v and i > 1 and last < 3 then
      local lv = atr.level(max(0, 100 - r0[i][2]) / v)
      if lv ~= last then expect[#expect + 1] = lv; last = lv end
    end
  end
  local got = {}
  local lv = rows(r, "events", function(x) return x.kind == "level" and x.account == "COM" end)
  for i, e in ipairs(lv) do got[i] = e.to end
  -- After the stop-loss the exposure is gone: back to level 0.
  t.is(got[#got], 0, "H: level 0 once the put is bought back")
  got[#got] = nil
  t.is_deeply(got, expect, "H: the level changes are the rule's (" .. table.concat(expect, ", ") .. ")")
  t.is(expect[#expect], 3, "H: the path reaches level 3")
  t.ok(lv[1] and lv[1].m >= 1 and lv[1].atr > 0 and lv[1].entry == 100, "H: each carries m, the ATR and the entry price")
  local two = rows(r, "events", function(x) return (x.kind == "roll" or x.kind == "hold") and x.account == "COM" end)
  t.is(#two, 1, "H: level 2 rolls for a credit or holds for assignment, and says which")
  local sl = rows(r, "events", function(x) return x.kind == "stop_loss" end)[1]
  t.ok(sl ~= nil, "H: level 3 is a stop-loss")
  local bought
  for _, o in ipairs(r.orders) do
    if o.account == "COM" and o.side == "buy" and o.symbol == (sl and sl.contract) then bought = o end
  end
  t.is(bought and bought.status, "filled", "H: the put is bought back at the next open")
end

-- I: the circuit breaker after 3 losing cycles in a row: Gen's puts on three tickers
-- are all assigned far below the strike at one Friday close (each cycle loses
-- (K - S) x 100 x n more than its premium); the third trips the breaker, and the next
-- week's entries are skipped for it.
do
  local days = { { 100, 100 }, { 100, 100.5 }, { 100.5, 100.2 }, { 100.2, 100.4 }, { 100.4, 90 },
    { 90, 90.5 }, { 90.5, 91 }, { 91, 91.5 }, { 91.5, 92 }, { 92, 92.5 } }
  local three = { (bars("2024-03-04", days, "XYZ")), (bars("2024-03-04", days, "ABC")), (bars("2024-03-04", days, "DEF")) }
  local r = run(three, { gen_tickers = "ABC,DEF,XYZ", rev_tickers = "XYZ", com_tickers = "XYZ" })
  t.is(#r.assignments, 3, "I: three puts assigned at Friday's close")
  local losing = 0
  for _, a in ipairs(r.assignments) do
    local o
    for _, x in ipairs(r.orders) do if x.symbol == a.contract then o = x end end
    if o.avg_price < (a.strike - a.underlying_price) then losing = losing + 1 end
  end
  t.is(losing, 3, "I: each lost more than its premium ((K - S) > premium)")
  local w1 = rows(r, "weeks", function(x) return x.account == "GEN" and x.week == "2024-W10" end)
  local aol = 0
  for _, w in ipairs(w1) do if w.type == "P-AOL" and w.price < 0.95 * w.strike and w.price >= 0.85 * w.strike then aol = aol + 1 end end
  t.is(aol, 3, "I: week 1 is P-AOL on each ticker (0.85K <= 90 < 0.95K, no roll)")
  local br = rows(r, "events", function(x) return x.kind == "breaker" end)
  t.is(#br, 1, "I: one breaker trip")
  t.is(br[1] and br[1].losses, 3, "I: after the third losing cycle")
  t.is(br[1] and br[1].until_date, "2024-03-18", "I: entries paused to the Monday after next")
  local w2 = rows(r, "weeks", function(x) return x.account == "GEN" and x.week == "2024-W11" end)
  t.is(#w2, 3, "I: week 2 has a row per ticker")
  local all = true
  for _, w in ipairs(w2) do all = all and w.reason == "circuit breaker" end
  t.ok(all, "I: and each says the breaker skipped it")
  t.is(#sells(r, "GEN"), 3, "I: no sale in week 2, not even covered calls")
end

-- J: the weeks of assigned shares, one type each: down 3% (C-PNO), 7% (C-RO), 12%
-- (C-REC), then 16% (P-DD: preservation sells the shares at the next open).
do
  local days = { { 100, 100 }, { 100, 100.5 }, { 100.5, 100.2 }, { 100.2, 100.4 }, { 100.4, 97 } }
  local fri = 97
  for _, m in ipairs({ -0.03, -0.07, -0.12, -0.16 }) do
    for _ = 1, 4 do days[#days + 1] = { fri, fri } end
    local c = floor(fri * (1 + m) * 100 + 0.5) / 100
    days[#days + 1] = { fri, c }
    fri = c
  end
  days[#days + 1] = { fri, fri }
  local r = run((bars("2024-04-08", days))) -- five full weeks, no holiday
  t.is(#r.assignments, 1, "J: assigned in week 1")
  local got = {}
  for _, w in ipairs(rows(r, "weeks", function(x) return x.account == "GEN" end)) do got[#got + 1] = w.type end
  t.is_deeply({ got[2], got[3], got[4], got[5] }, { "C-PNO", "C-RO", "C-REC", "P-DD" },
    "J: weeks 2-5 of the shares: C-PNO, C-RO, C-REC, P-DD")
  local sl = rows(r, "events", function(x) return x.kind == "stop_loss" and x.reason == "P-DD" end)[1]
  t.ok(sl ~= nil and sl.shares == 100 * r.assignments[1].contracts * -1, "J: the P-DD week stops out all the shares")
  local held = 0
  for _, p in ipairs(r.positions) do if p.account == "GEN" and p.symbol == "XYZ" then held = p.qty end end
  t.is(held, 0, "J: sold at the next open")
end

-- Rev's weekly puts on a flat XYZ at 100 (ATR(14) settles near 2), the last sold at
-- Friday 2 February's close and filled at Monday's open: the week after is K or L.
local function rev_weeks(week6)
  local days = {}
  for i = 1, 19 do days[i] = { 100, 100 } end -- 8 January to 2 February
  for i, row in ipairs(week6) do days[19 + i] = row end
  return run((bars("2024-01-08", days)), { split_gen = 0, split_rev = 1 })
end
local function the(r, pred)
  for _, o in ipairs(r.orders) do if pred(o) then return o end end
end
local function ny(y, m, d, hh, mm) return (time.from_ny(y, m, d, hh, mm)) end

-- K: P-RO.  The put (K 94) is at level 2 at Tuesday's close (95.3: 2 ATRs below the
-- entry at 100, still above K) and a put a week further out, in Rev's delta band,
-- bids more than this one asks: rolled out and down.  The days after fall with wide
-- ranges, so the ATR grows and the move stays under 3 ATRs (no stop-loss); Friday
-- closes at 85.5, within 0.85K-0.95K of the new strike and not 15% below the week
-- before.
do
  local r = rev_weeks({ { 100, 98 }, { 98, 95.3 }, { 95.3, 90, 15 }, { 90, 87, 15 }, { 87, 85.5, 15 }, { 85.5, 86 } })
  t.is(r.status, "ok", "K: the run")
  local first = the(r, function(o) return o.account == "REV" and o.side == "sell" and o.created:sub(1, 10) == "2024-02-02" end)
  local c0 = first and options.occ.parse(first.symbol)
  t.is(c0 and c0.strike, 94, "K: the put sold on 2 February has K 94")
  local lv = rows(r, "events", function(x) return x.kind == "level" and x.account == "REV" and x.to == 2 end)[1]
  t.ok(lv and lv.time:sub(1, 10) == "2024-02-06" and lv.m >= 2 and lv.m < 3 and lv.price == 95.3,
    "K: level 2 at Tuesday's close")
  local roll = rows(r, "events", function(x) return x.kind == "roll" end)[1]
  t.ok(roll ~= nil, "K: a roll, not a hold")
  local c1 = roll and options.occ.parse(roll.to_contract)
  t.is(roll and roll.from_contract, first and first.symbol, "K: from the put held")
  t.is(c1 and c1.expiry, "2024-02-16", "K: out to the next weekly expiry")
  t.ok(c1 and c1.strike < c0.strike, "K: and down (K " .. (c1 and c1.strike or "?") .. ")")
  local tue = ny(2024, 2, 6, 16, 0)
  local ask0 = model_ask("put", 95.3, 94, c0.expiry_time, tue)
  local bid1 = model_bid("put", 95.3, c1.strike, c1.expiry_time, tue)
  t.is(roll.buy_back, ask0, "K: the buy-back is priced at the held put's ask at Tuesday's close")
  t.is(roll.new_bid, bid1, "K: the new put at its bid")
  t.ok(abs(roll.credit - (bid1 - ask0)) < 1e-9 and roll.credit > 0, "K: a net credit of " .. roll.credit)
  -- The two legs: bought back at Wednesday's open (95.3), the new put sold from that
  -- fill, at Thursday's open (90).
  local back = the(r, function(o) return o.account == "REV" and o.side == "buy" and o.symbol == first.symbol end)
  local wed = ny(2024, 2, 7, 9, 30)
  t.is(back and cents(back.avg_price), model_ask("put", 95.3, 94, c0.expiry_time, wed), "K: bought back at the ask at Wednesday's open")
  local new = the(r, function(o) return o.account == "REV" and o.side == "sell" and o.symbol == roll.to_contract end)
  local thu = ny(2024, 2, 8, 9, 30)
  local bid_thu = model_bid("put", 90, c1.strike, c1.expiry_time, thu)
  t.is(new and new.avg_price, bid_thu, "K: the new put sold at its bid at Thursday's open")
  t.is(new and new.qty, first.qty, "K: as many contracts")
  local n = first.qty
  local legs = {}
  for _, e in ipairs(ledger(r, "REV", "fill")) do
    if e.symbol == first.symbol or e.symbol == roll.to_contract then legs[#legs + 1] = e.amount end
  end
  t.is_deeply(legs, { cents(first.avg_price * 100 * n), cents(-back.avg_price * 100 * n), cents(bid_thu * 100 * n) },
    "K: the ledger: the premium, the buy-back, the new premium")
  t.is(#rows(r, "events", function(x) return x.kind == "stop_loss" end), 0, "K: no stop-loss: the ATR grew with the fall")
  local w = rows(r, "weeks", function(x) return x.account == "REV" and x.week == "2024-W06" end)[1]
  t.is(w and w.type, "P-RO", "K: the week is P-RO")
  t.ok(w and w.strike == c1.strike and w.price == 85.5 and 85.5 >= 0.85 * c1.strike and 85.5 < 0.95 * c1.strike,
    "K: 0.85K <= S < 0.95K for the strike rolled to")
  t.is(w and w.premium, cents((first.avg_price + bid_thu) * 100 * n), "K: the week's premium: both sales")
end

-- L: P-DD on a put.  Monday closes 17% down at 83: the put (K 94) is more than 3 ATRs
-- against, level 3, and is bought back at Tuesday's open; the week ends 18% down.
do
  local r = rev_weeks({ { 100, 83 }, { 83, 82.5 }, { 82.5, 82 }, { 82, 82 }, { 82, 82 }, { 82, 82 } })
  t.is(r.status, "ok", "L: the run")
  local first = the(r, function(o) return o.account == "REV" and o.side == "sell" and o.created:sub(1, 10) == "2024-02-02" end)
  local c0 = first and options.occ.parse(first.symbol)
  local lv = rows(r, "events", function(x) return x.kind == "level" and x.account == "REV" and x.to == 3 end)[1]
  t.ok(lv and lv.time:sub(1, 10) == "2024-02-05" and lv.m >= 3, "L: level 3 at Monday's close")
  local sl = rows(r, "events", function(x) return x.kind == "stop_loss" end)[1]
  t.ok(sl and sl.contract == first.symbol and sl.contracts == first.qty, "L: a stop-loss on the whole put")
  local back = the(r, function(o) return o.account == "REV" and o.side == "buy" and o.symbol == first.symbol end)
  local ask = model_ask("put", 83, c0.strike, c0.expiry_time, ny(2024, 2, 6, 9, 30))
  t.is(back and cents(back.avg_price), ask, "L: bought back at the ask at Tuesday's open (83)")
  local n = first.qty
  local w = rows(r, "weeks", function(x) return x.account == "REV" and x.week == "2024-W06" end)[1]
  t.is(w and w.type, "P-DD", "L: the week is P-DD")
  t.ok(w and abs(w.move - (82 / 100 - 1)) < 1e-12, "L: a move of -18% over the week")
  t.is(w and w.pnl, cents((first.avg_price - ask) * 100 * n - 2 * 0.65 * n),
    "L: the week's P&L: premium - buy-back - two commissions")
  local later = the(r, function(o) return o.account == "REV" and o.side == "sell" and o.created > "2024-02-05" end)
  t.is(later, nil, "L: no new put for the rest of the week")
end
