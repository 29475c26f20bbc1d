-- alluse.report.stats: every formula against values worked out by hand on short
-- series (with and without flows), drawdown durations, ISO weeks and month
-- boundaries, the undefined cases (json.null), bad arguments, determinism — then the
-- shipped SPY closes as an equity curve, against reference computations written here
-- differently (two loops, Welford, the C library's strftime and alluse.calendar).
local t = require("alluse.test")
local stats = require("alluse.report.stats")
local json = require("alluse.json")
local calendar = require("alluse.calendar")

local abs, sqrt, max = math.abs, math.sqrt, math.max
local format = string.format
local null = json.null

local EPS = 1e-12

local function near_rel(got, want, tol, name)
  local scale = max(abs(want), 1e-300)
  return t.ok(type(got) == "number" and abs(got - want) / scale <= tol,
    format("%s (got %s, want %s)", name, tostring(got), tostring(want)))
end

local function near_all(got, want, tol, name)
  local ok = #got == #want
  for i = 1, #want do
    if not (type(got[i]) == "number" and abs(got[i] - want[i]) <= tol) then
      ok = false
      t.diag(format("%s: [%d] got %s, want %s", name, i, tostring(got[i]), tostring(want[i])))
      break
    end
  end
  return t.ok(ok, name)
end

local SUMMARY_KEYS = { "bars", "cagr", "calmar", "commissions", "end", "exposure", "final_equity",
  "initial_cash", "max_drawdown", "max_drawdown_days", "profit_factor", "round_trips", "sharpe",
  "sortino", "start", "total_return", "volatility", "win_rate" }

local function keys_of(tab)
  local ks = {}
  for k in pairs(tab) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end

local function summary(args)
  args.trades = args.trades or {}
  args.bars = args.bars or #args.equity
  args.exposed_bars = args.exposed_bars or 0
  args.commissions = args.commissions or 0
  return stats.summary(args)
end

-- ---- a 5-day series without flows ----
-- Returns chosen to be round: +10 %, -10 %, +5 %, +10 %, -5 %.
do
  local dates = { "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-10" }
  local equity = { 110, 99, 103.95, 114.345, 108.62775 }
  local r = stats.daily_returns(equity, nil, 100)
  near_all(r, { 0.1, -0.1, 0.05, 0.1, -0.05 }, EPS, "daily_returns: equity change over the previous day")
  t.ok(json.is_array(r), "daily_returns: marked as a JSON array")
  local w = stats.wealth(equity, nil, 100)
  near_all(w, { 1.1, 0.99, 1.0395, 1.14345, 1.0862775 }, EPS, "wealth: running product of 1 + r")
  local dd = stats.drawdown(equity, nil, 100)
  near_all(dd, { 0, 0.1, 1 - 1.0395 / 1.1, 0, 0.05 }, EPS, "drawdown: 1 - W / running peak")
  t.is(dd[1], 0, "drawdown: exactly 0 at a new peak")
  t.is(dd[4], 0, "drawdown: exactly 0 back above the peak")

  local s = summary{ dates = dates, equity = equity, initial = 100, bars = 5, exposed_bars = 3,
    commissions = 12.5, trades = { { pnl = 10 }, { pnl = -5 }, { pnl = 0 }, { pnl = 20 }, { pnl = -10 } } }
  t.is_deeply(keys_of(s), SUMMARY_KEYS, "summary: exactly the documented keys")
  t.is(s.start, "2024-01-02", "summary: start")
  t.is(s["end"], "2024-01-10", "summary: end")
  t.is(s.bars, 5, "summary: bars as given")
  t.is(s.initial_cash, 100, "summary: initial_cash")
  t.is(s.final_equity, 108.62775, "summary: final_equity is the last equity")
  t.near(s.total_return, 0.0862775, EPS, "summary: total_return = W[n] - 1")
  t.near(s.total_return, 108.62775 / 100 - 1, EPS, "summary: total_return = final/initial - 1 without flows")
  -- 2024-01-02 .. 2024-01-10 is 8 calendar days.
  t.near(s.cagr, 1.0862775 ^ (365.25 / 8) - 1, 1e-9, "summary: cagr over calendar days")
  -- mean 0.02; deviations .08 -.12 .03 .08 -.07; squares sum .033; / (n-1) = .00825
  t.near(s.volatility, sqrt(0.00825) * sqrt(252), EPS, "summary: volatility = sample stdev * sqrt(252)")
  t.near(s.sharpe, 0.02 / sqrt(0.00825) * sqrt(252), 1e-10, "summary: sharpe = mean / stdev * sqrt(252)")
  -- downside: (.1^2 + .05^2) / 5 = .0025 -> .05
  t.near(s.sortino, 0.02 / 0.05 * sqrt(252), 1e-10, "summary: sortino over all days' downside")
  t.near(s.max_drawdown, 0.1, EPS, "summary: max_drawdown")
  -- 01-02 peak, back above it on 01-05 (3 days); 01-05 peak, still below on 01-10 (5 days).
  t.is(s.max_drawdown_days, 5, "summary: max_drawdown_days counts an unrecovered drawdown to the end")
  t.near(s.calmar, s.cagr / s.max_drawdown, EPS, "summary: calmar = cagr / max_drawdown")
  t.is(s.round_trips, 5, "summary: round_trips = #trades")
  t.is(s.win_rate, 2 / 5, "summary: win_rate counts pnl > 0 only")
  t.is(s.profit_factor, 30 / 15, "summary: profit_factor = gains / |losses|")
  t.is(s.exposure, 3 / 5, "summary: exposure = exposed_bars / bars")
  t.is(s.commissions, 12.5, "summary: commissions as given")

  local s2 = summary{ dates = dates, equity = equity, initial = 100, periods_per_year = 52 }
  t.near(s2.volatility, sqrt(0.00825) * sqrt(52), EPS, "summary: periods_per_year scales volatility")
  t.near(s2.sortino, 0.4 * sqrt(52), 1e-10, "summary: periods_per_year scales sortino")

  local enc = json.encode(s)
  t.like(enc, '"max_drawdown":0%.09', "summary: encodes to JSON")
end

-- ---- flows are not returns ----
do
  -- +10 %; then a 50 deposit and +10 %; then -10 % and a 100 withdrawal.
  local equity, flows = { 110, 171, 53.9 }, { 0, 50, -100 }
  local r = stats.daily_returns(equity, flows, 100)
  near_all(r, { 0.1, 0.1, -0.1 }, EPS, "flows: a deposit or withdrawal is taken off the day's change")
  near_all(stats.wealth(equity, flows, 100), { 1.1, 1.21, 1.089 }, EPS, "flows: wealth is time-weighted")
  local s = summary{ dates = { "2024-02-01", "2024-02-02", "2024-02-05" }, equity = equity,
    flows = flows, initial = 100 }
  t.near(s.total_return, 0.089, EPS, "flows: total_return is W[n] - 1, not final/initial - 1")
  t.is(s.final_equity, 53.9, "flows: final_equity is still the equity")
  t.near(s.max_drawdown, 1 - 1.089 / 1.21, EPS, "flows: a withdrawal is no drawdown")

  -- A deposit on a flat day: equity up by exactly the deposit, return 0.
  local s2 = summary{ dates = { "2024-02-01", "2024-02-02" }, equity = { 100, 150 }, flows = { 0, 50 },
    initial = 100 }
  t.is_deeply(stats.daily_returns({ 100, 150 }, { 0, 50 }, 100), { 0, 0 }, "flows: a deposit alone is return 0")
  t.is(s2.total_return, 0, "flows: deposit only -> total_return 0")
  t.is(s2.cagr, 0, "flows: cagr 0")
  t.is(s2.volatility, 0, "flows: volatility 0 for constant returns")
  t.is(s2.sharpe, null, "flows: sharpe undefined when stdev is 0")
  t.is(s2.sortino, null, "flows: sortino undefined with no down day")
  t.is(s2.max_drawdown, 0, "flows: max_drawdown 0")
  t.is(s2.max_drawdown_days, 0, "flows: max_drawdown_days 0 without a drawdown")
  t.is(s2.calmar, null, "flows: calmar undefined without a drawdown")

  -- nil flows and all-zero flows agree bit for bit.
  t.is_deeply(stats.daily_returns({ 101, 99.5, 103 }, { 0, 0, 0 }, 100),
    stats.daily_returns({ 101, 99.5, 103 }, nil, 100), "flows: nil is the same as all zero")
end

-- ---- a day that starts from nothing ----
do
  -- Everything lost on day 1; a deposit on day 2 starts from 0, so it has no return.
  local equity, flows = { 0, 50, 60 }, { 0, 50, 0 }
  t.is_deeply(stats.daily_returns(equity, flows, 100), { -1, 0, 60 / 50 - 1 },
    "prev <= 0: the day's return is 0")
  t.is_deeply(stats.wealth(equity, flows, 100), { 0, 0, 0 }, "prev <= 0: wealth stays 0 after a wipe-out")
  local s = summary{ dates = { "2024-02-01", "2024-02-02", "2024-02-05" }, equity = equity,
    flows = flows, initial = 100 }
  t.is(s.total_return, -1, "wipe-out: total_return -1")
  t.is(s.cagr, null, "wipe-out: cagr undefined when 1 + total_return <= 0")
  t.is(s.calmar, null, "wipe-out: calmar undefined with cagr undefined")
  t.is(s.max_drawdown, 1, "wipe-out: max_drawdown 1")
  t.is(s.max_drawdown_days, 4, "wipe-out: drawdown from the start to the end")
  -- A debt: equity below zero gives a return below -1 and a drawdown above 1.
  t.is_deeply(stats.daily_returns({ -10, -5 }, nil, 100), { -1.1, 0 }, "prev < 0: return 0")
  t.is(stats.drawdown({ -10 }, nil, 100)[1], 1.1, "a debt is a drawdown above 1")
end

-- ---- drawdown durations ----
do
  local function days(dates, equity, flows)
    return summary{ dates = dates, equity = equity, flows = flows, initial = 100 }.max_drawdown_days
  end
  -- Below the initial peak at once: counted from the start date.
  t.is(days({ "2024-03-01", "2024-03-04", "2024-03-05", "2024-03-06" }, { 90, 95, 100, 101 }), 4,
    "duration: from the start date to the first day back at the initial peak")
  -- Recovered episode longer than the open one at the end.
  t.is(days({ "2024-03-01", "2024-03-04", "2024-03-11", "2024-03-12", "2024-03-13" },
    { 100, 90, 101, 105, 100 }), 10, "duration: the longest recovered drawdown wins")
  -- The peak is the last day at the running max before the fall (flat days move it).
  t.is(days({ "2024-03-01", "2024-03-04", "2024-03-05", "2024-03-08", "2024-03-11" },
    { 105, 105, 105, 100, 106 }), 6, "duration: from the last day at the peak")
  -- Never recovers: to the last date.
  t.is(days({ "2024-03-01", "2024-03-04", "2024-04-01" }, { 105, 100, 104 }), 31,
    "duration: never recovered runs to the last date")
  -- Two drawdowns, the second longer and open.
  t.is(days({ "2024-03-01", "2024-03-02", "2024-03-03", "2024-03-20" }, { 105, 100, 106, 90 }), 17,
    "duration: open drawdown longer than an earlier recovered one")
  -- A deposit during a drawdown does not end it.
  t.is(days({ "2024-03-01", "2024-03-04", "2024-03-05" }, { 105, 100, 200 }, { 0, 0, 99 }), 4,
    "duration: a deposit is no recovery")
  -- Rising every day: no drawdown.
  t.is(days({ "2024-03-01", "2024-03-04" }, { 101, 102 }), 0, "duration: 0 without a drawdown")
end

-- ---- ISO weeks ----
do
  local known = {
    { "2021-01-03", "2020-W53" }, { "2021-01-04", "2021-W01" }, { "2020-12-31", "2020-W53" },
    { "2024-12-30", "2025-W01" }, { "2026-01-01", "2026-W01" }, { "2008-12-29", "2009-W01" },
    { "2010-01-03", "2009-W53" }, { "2005-01-01", "2004-W53" }, { "2024-01-01", "2024-W01" },
    { "2023-01-01", "2022-W52" }, { "1969-12-29", "1970-W01" }, { "1970-01-01", "1970-W01" },
    { "2000-02-29", "2000-W09" }, { "2015-12-31", "2015-W53" }, { "2016-01-03", "2015-W53" },
    { "2027-01-01", "2026-W53" }, { "2032-12-31", "2032-W53" }, { "1600-03-01", "1600-W09" },
    { "2099-12-31", "2099-W53" },
  }
  for _, k in ipairs(known) do
    t.is(stats.iso_week(k[1]), k[2], "iso_week " .. k[1])
  end

  local dates = { "2020-12-31", "2021-01-01", "2021-01-04", "2021-01-08", "2021-01-11",
    "2021-01-25" }
  local equity = { 110, 121, 108.9, 119.79, 107.811, 118.5921 } -- +10 +10 -10 +10 -10 +10 %
  local wk = stats.weekly_returns(dates, equity, nil, 100)
  t.ok(json.is_array(wk), "weekly_returns: a JSON array")
  t.is(#wk, 4, "weekly_returns: one row per week present (an empty week is skipped)")
  t.is_deeply({ wk[1].week, wk[1].start, wk[1]["end"] }, { "2020-W53", "2020-12-31", "2021-01-01" },
    "weekly_returns: a week across New Year belongs to the year of its Thursday")
  t.is_deeply({ wk[2].week, wk[2].start, wk[2]["end"] }, { "2021-W01", "2021-01-04", "2021-01-08" },
    "weekly_returns: Monday starts a week")
  t.is_deeply({ wk[3].week, wk[3].start, wk[3]["end"] }, { "2021-W02", "2021-01-11", "2021-01-11" },
    "weekly_returns: a one-day week")
  t.is(wk[4].week, "2021-W04", "weekly_returns: W03 absent")
  near_all({ wk[1]["return"], wk[2]["return"], wk[3]["return"], wk[4]["return"] },
    { 1.1 * 1.1 - 1, 0.9 * 1.1 - 1, -0.1, 0.1 }, EPS, "weekly_returns: product of 1 + r over the week")
  t.is_deeply(keys_of(wk[1]), { "end", "return", "start", "week" }, "weekly_returns: row keys")

  local wk2 = stats.weekly_returns({ "2024-12-27", "2024-12-30", "2025-01-02", "2025-01-06" },
    { 100, 101, 102, 103 }, nil, 100)
  t.is_deeply({ wk2[1].week, wk2[2].week, wk2[3].week }, { "2024-W52", "2025-W01", "2025-W02" },
    "weekly_returns: 2024-12-30 opens 2025-W01")
  t.is(wk2[2].start, "2024-12-30", "weekly_returns: start is the first date present")
  t.is(wk2[2]["end"], "2025-01-02", "weekly_returns: end is the last date present")
  -- A week's return is time-weighted too.
  local wk3 = stats.weekly_returns({ "2024-01-08", "2024-01-09" }, { 110, 1111.1 }, { 0, 1000 }, 100)
  t.near(wk3[1]["return"], 1.1 * 1.01 - 1, EPS, "weekly_returns: a deposit is not a return")
  t.is(#stats.weekly_returns({}, {}, nil, 100), 0, "weekly_returns: empty series, no rows")
  t.is(json.encode(stats.weekly_returns({}, {}, nil, 100)), "[]", "weekly_returns: empty encodes as []")
end

-- ---- months ----
do
  local dates = { "2023-12-29", "2024-01-02", "2024-01-31", "2024-02-01", "2024-02-29", "2024-03-01" }
  local equity = { 110, 121, 108.9, 119.79, 107.811, 118.5921 } -- +10 +10 -10 +10 -10 +10 %
  local mo = stats.monthly_returns(dates, equity, nil, 100)
  t.ok(json.is_array(mo), "monthly_returns: a JSON array")
  t.is(#mo, 4, "monthly_returns: one row per month present")
  t.is_deeply({ mo[1].year, mo[1].month, mo[2].year, mo[2].month, mo[3].month, mo[4].month },
    { 2023, 12, 2024, 1, 2, 3 }, "monthly_returns: year and month as numbers, in date order")
  near_all({ mo[1]["return"], mo[2]["return"], mo[3]["return"], mo[4]["return"] },
    { 0.1, 1.1 * 0.9 - 1, 1.1 * 0.9 - 1, 0.1 }, EPS, "monthly_returns: product over the month's days")
  t.is_deeply(keys_of(mo[1]), { "month", "return", "year" }, "monthly_returns: row keys")
  t.is(json.encode(stats.monthly_returns({}, {}, nil, 1)), "[]", "monthly_returns: empty encodes as []")
end

-- ---- undefined cases ----
do
  local s = stats.summary{ dates = {}, equity = {}, initial = 1000, trades = {}, bars = 0,
    exposed_bars = 0, commissions = 0 }
  t.is_deeply(keys_of(s), SUMMARY_KEYS, "empty: still every key")
  local want = { bars = 0, initial_cash = 1000, round_trips = 0, commissions = 0 }
  local ok = true
  for _, k in ipairs(SUMMARY_KEYS) do
    local w = want[k]
    if w == nil then w = null end
    if s[k] ~= w then
      ok = false
      t.diag("empty: ", k, " = ", tostring(s[k]))
    end
  end
  t.ok(ok, "empty: null except bars, initial_cash, round_trips, commissions (exposure null: bars 0)")
  local e = json.encode(s, { sorted = true })
  t.like(e, '"sharpe":null', "empty: null encodes as JSON null")
  t.unlike(e, "nan", "empty: no NaN in JSON")
  local s2 = stats.summary{ dates = {}, equity = {}, initial = 1000, trades = {}, bars = 10,
    exposed_bars = 5, commissions = 0 }
  t.is(s2.exposure, 0.5, "empty: exposure still from bars")

  local one = summary{ dates = { "2024-01-02" }, equity = { 95 }, initial = 100 }
  t.is(one.cagr, null, "one day: cagr undefined (0 calendar days)")
  t.is(one.volatility, null, "one day: volatility undefined")
  t.is(one.sharpe, null, "one day: sharpe undefined")
  t.near(one.sortino, -0.05 / 0.05 * sqrt(252), EPS, "one day: sortino defined on a down day")
  t.near(one.max_drawdown, 0.05, EPS, "one day: max_drawdown")
  t.is(one.max_drawdown_days, 0, "one day: the drawdown starts and ends on the start date")
  t.is(one.calmar, null, "one day: calmar undefined")
  t.is(one.win_rate, null, "no trades: win_rate undefined")
  t.is(one.profit_factor, null, "no trades: profit_factor undefined")
  t.is(one.exposure, 0, "exposure 0 with no exposed bars")
  t.is(summary{ dates = { "2024-01-02" }, equity = { 95 }, initial = 100, bars = 0 }.exposure, null,
    "exposure undefined with 0 bars")

  local wins = summary{ dates = { "2024-01-02" }, equity = { 105 }, initial = 100,
    trades = { { pnl = 3 }, { pnl = 2, symbol = "SPY" } } }
  t.is(wins.win_rate, 1, "all winners: win_rate 1")
  t.is(wins.profit_factor, null, "all winners: profit_factor undefined")
  t.is(wins.sortino, null, "no down day: sortino undefined")
  local losses = summary{ dates = { "2024-01-02" }, equity = { 105 }, initial = 100,
    trades = { { pnl = -3 }, { pnl = 0 } } }
  t.is(losses.win_rate, 0, "no winners: win_rate 0")
  t.is(losses.profit_factor, 0, "no winners: profit_factor 0")
end

-- ---- bad arguments ----
do
  local function base()
    return { dates = { "2024-01-02", "2024-01-03", "2024-01-04" }, equity = { 100, 101, 102 },
      initial = 100, trades = {}, bars = 3, exposed_bars = 1, commissions = 0 }
  end
  local function bad(change, pattern, name)
    local a = base()
    change(a)
    t.raises(function() stats.summary(a) end, pattern, name)
  end
  t.lives(function() stats.summary(base()) end, "bad: the base arguments are fine")
  bad(function(a) a.equity[3] = 0 / 0 end, "^[^:]*test_stats%.lua:%d+: stats%.summary: equity%[3%] is not a finite number %(nan%)$",
    "bad: NaN equity, named with its index, raised at the caller")
  bad(function(a) a.equity[2] = 1 / 0 end, "equity%[2%] is not a finite number %(inf%)", "bad: inf equity")
  bad(function(a) a.equity[1] = "100" end, 'equity%[1%] is not a finite number %("100"%)', "bad: string equity")
  bad(function(a) a.equity = 5 end, "stats%.summary: equity must be an array", "bad: equity not a table")
  bad(function(a) a.equity[4] = 103 end, "stats%.summary: dates has 3 entries but equity has 4", "bad: lengths differ")
  bad(function(a) a.flows = { 0, 0 } end, "flows has 2 entries but equity has 3", "bad: flows length")
  bad(function(a) a.flows = { 0, -1 / 0, 0 } end, "flows%[2%] is not a finite number %(%-inf%)", "bad: flows -inf")
  bad(function(a) a.flows = { 0, nil, 0 } end, "flows", "bad: a hole in flows")
  bad(function(a) a.flows = "none" end, "flows must be nil or an array", "bad: flows a string")
  bad(function(a) a.dates[2] = "2024-01-02" end,
    'dates%[2%] "2024%-01%-02" is not after dates%[1%] "2024%-01%-02"', "bad: repeated date")
  bad(function(a) a.dates[3] = "2024-01-01" end, "dates%[3%] .* is not after dates%[2%]", "bad: decreasing date")
  bad(function(a) a.dates[1] = "2024-1-02" end, 'dates%[1%] is not a "YYYY%-MM%-DD" date %("2024%-1%-02"%)',
    "bad: malformed date")
  bad(function(a) a.dates[1] = "2023-02-29" end, "dates%[1%] is not a", "bad: Feb 29 of a common year")
  bad(function(a) a.dates[1] = "2023-13-01" end, "dates%[1%] is not a", "bad: month 13")
  bad(function(a) a.dates[1] = 19723 end, "dates%[1%] is not a .*%(19723%)", "bad: day number instead of text")
  bad(function(a) a.dates[1] = "2024-01-02T00:00:00Z" end, "dates%[1%] is not a", "bad: a time, not a date")
  bad(function(a) a.dates = nil end, "dates must be an array", "bad: no dates")
  bad(function(a) a.initial = 0 end, "initial must be a positive finite number, got 0", "bad: initial 0")
  bad(function(a) a.initial = -5 end, "initial must be a positive finite number, got %-5", "bad: initial negative")
  bad(function(a) a.initial = 0 / 0 end, "initial must be a positive finite number, got nan", "bad: initial NaN")
  bad(function(a) a.initial = nil end, "initial must be a positive finite number, got nil", "bad: initial missing")
  bad(function(a) a.trades = nil end, "trades must be an array", "bad: trades missing")
  bad(function(a) a.trades = { { pnl = 1 }, { gross = 2 } } end, "trades%[2%]%.pnl is not a finite number %(nil%)",
    "bad: trade without pnl")
  bad(function(a) a.trades = { 5 } end, "trades%[1%] must be a table", "bad: trade not a table")
  bad(function(a) a.bars = -1 end, "bars must be a whole number >= 0, got %-1", "bad: negative bars")
  bad(function(a) a.bars = 2.5 end, "bars must be a whole number", "bad: fractional bars")
  bad(function(a) a.exposed_bars = nil end, "exposed_bars must be a whole number", "bad: exposed_bars missing")
  bad(function(a) a.exposed_bars = 4 end, "exposed_bars %(4%) is more than bars %(3%)", "bad: exposed_bars > bars")
  bad(function(a) a.commissions = 0 / 0 end, "commissions must be a finite number, got nan", "bad: commissions NaN")
  bad(function(a) a.periods_per_year = 0 end, "periods_per_year must be a positive finite number", "bad: ppy 0")
  bad(function(a) a.exposed = 1 end, 'unknown argument "exposed"', "bad: a misspelt argument")
  t.raises(function() stats.summary() end, "stats%.summary: expected a table of arguments, got nil", "bad: no table")

  t.raises(function() stats.daily_returns({ 1, 0 / 0 }, nil, 1) end,
    "test_stats%.lua:%d+: stats%.daily_returns: equity%[2%] is not a finite number %(nan%)", "bad: daily_returns")
  t.raises(function() stats.wealth({ 1 }, nil, 0) end, "stats%.wealth: initial must be", "bad: wealth")
  t.raises(function() stats.drawdown({ 1 }, { 1, 2 }, 1) end, "stats%.drawdown: flows has 2 entries", "bad: drawdown")
  t.raises(function() stats.weekly_returns({ "2024-01-02" }, { 1, 2 }, nil, 1) end,
    "stats%.weekly_returns: dates has 1 entries but equity has 2", "bad: weekly_returns")
  t.raises(function() stats.monthly_returns({ "2024-01-32" }, { 1 }, nil, 1) end,
    "stats%.monthly_returns: dates%[1%] is not a", "bad: monthly_returns")
  t.raises(function() stats.iso_week("2024-W01") end, "stats%.iso_week: expected", "bad: iso_week")
end

-- ---- determinism ----
do
  local dates, equity, flows = {}, {}, {}
  local x, day = 1000, calendar.day_number("2020-01-01")
  for i = 1, 400 do
    -- A fixed pseudo-random walk (LCG), so the run is the same on every machine.
    x = (x * 1103515245 + 12345) % 2147483648
    equity[i] = 1e5 * (1 + (x / 2147483648 - 0.45) * 0.3)
    flows[i] = (i % 37 == 0) and 5000 or 0
    day = day + 1 + (i % 3)
    dates[i] = calendar.date(day)
  end
  local args = { dates = dates, equity = equity, flows = flows, initial = 1e5, trades = {},
    bars = 400, exposed_bars = 200, commissions = 0 }
  local a = json.encode(stats.summary(args), { sorted = true })
  local b = json.encode(stats.summary(args), { sorted = true })
  t.is(a, b, "determinism: the same summary, bit for bit, twice")
  t.is(json.encode(stats.weekly_returns(dates, equity, flows, 1e5)),
    json.encode(stats.weekly_returns(dates, equity, flows, 1e5)), "determinism: weekly_returns")
  t.is_deeply(stats.drawdown(equity, flows, 1e5), stats.drawdown(equity, flows, 1e5), "determinism: drawdown")
  t.is(equity[1], 1e5 * (1 + (((1000 * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.45) * 0.3),
    "determinism: inputs untouched")
end

-- ---- the shipped SPY closes as an equity curve ----

local function data_dir()
  local src = debug.getinfo(1, "S").source
  return (src:match("^@(.-)tests/lua/[^/]+$") or "") .. "data/"
end

local spy_dates, spy_close = {}, {}
do
  local header = true
  for line in io.lines(data_dir() .. "SPY-daily.csv") do
    if header then
      t.like(line, "^date,open,high,low,close,", "SPY: header is date,open,high,low,close,...")
      header = false
    else
      local d, c = line:match("^([^,]*),[^,]*,[^,]*,[^,]*,([^,]*),")
      spy_dates[#spy_dates + 1] = d
      spy_close[#spy_close + 1] = tonumber(c)
    end
  end
end
local N = #spy_close
t.ok(N > 6000, "SPY: " .. N .. " daily closes")

-- Day 1's close is the starting cash, days 2..N the curve: the returns are then
-- exactly the close-to-close returns.
local function curve(first, last)
  local d, e = {}, {}
  for i = first + 1, last do
    d[#d + 1] = spy_dates[i]
    e[#e + 1] = 100 * spy_close[i]
  end
  return d, e, 100 * spy_close[first]
end

local function index_of(date)
  for i = 1, N do if spy_dates[i] == date then return i end end
  error("no SPY bar on " .. date)
end

do
  local d, e, init = curve(1, N)
  local s = stats.summary{ dates = d, equity = e, initial = init, trades = {}, bars = #e,
    exposed_bars = #e, commissions = 0 }
  near_rel(s.total_return, spy_close[N] / spy_close[1] - 1, 1e-12, "SPY: total_return = last/first - 1")

  -- Calendar days through alluse.calendar, not the module's own date parser.
  local span = calendar.day_number(d[#d]) - calendar.day_number(d[1])
  near_rel(s.cagr, (spy_close[N] / spy_close[1]) ^ (365.25 / span) - 1, 1e-9, "SPY: cagr")

  -- Welford's one-pass mean and variance of the close-to-close returns.
  local n, mean, m2, down = 0, 0, 0, 0
  for i = 2, N do
    local x = spy_close[i] / spy_close[i - 1] - 1
    n = n + 1
    local delta = x - mean
    mean = mean + delta / n
    m2 = m2 + delta * (x - mean)
    if x < 0 then down = down + x * x end
  end
  local sd = sqrt(m2 / (n - 1))
  near_rel(s.volatility, sd * sqrt(252), 1e-9, "SPY: volatility against Welford")
  near_rel(s.sharpe, mean / sd * sqrt(252), 1e-9, "SPY: sharpe against Welford")
  near_rel(s.sortino, mean / sqrt(down / n) * sqrt(252), 1e-9, "SPY: sortino")
  t.ok(s.volatility > 0.17 and s.volatility < 0.22, format("SPY: volatility %.4f in the usual band", s.volatility))

  -- Max drawdown by two loops: the worst fall from any earlier close.
  local worst, wi, wj = 0, 1, 1
  for j = 2, N do
    for i = 1, j - 1 do
      local f = 1 - spy_close[j] / spy_close[i]
      if f > worst then worst, wi, wj = f, i, j end
    end
  end
  near_rel(s.max_drawdown, worst, 1e-12, "SPY: max_drawdown against two loops")
  t.is(spy_dates[wi] .. " " .. spy_dates[wj], "2007-10-09 2009-03-09", "SPY: the worst fall is 2007-10-09 .. 2009-03-09")
  t.ok(abs(worst - 0.55) < 0.03, format("SPY: max drawdown %.4f is about 0.55", worst))
  local dd = stats.drawdown(e, nil, init)
  near_rel(dd[wj - 1], worst, 1e-12, "SPY: drawdown series at the trough")

  -- Longest drawdown by searching forward from every record close for the first
  -- close back at or above it.
  local longest, peak, from_day, to_day = 0, -1, nil, nil
  for i = 1, N do
    if spy_close[i] >= peak then
      peak = spy_close[i]
      local k = i + 1
      while k <= N and spy_close[k] < peak do k = k + 1 end
      if k > i + 1 then
        local stop = k <= N and k or N
        local len = calendar.day_number(spy_dates[stop]) - calendar.day_number(spy_dates[i])
        if len > longest then longest, from_day, to_day = len, spy_dates[i], spy_dates[stop] end
      end
    end
  end
  t.is(s.max_drawdown_days, longest, format("SPY: max_drawdown_days %d (%s .. %s)", longest,
    tostring(from_day), tostring(to_day)))

  -- Weeks: every date's ISO week against the C library's strftime %G-W%V.
  local bad
  for i = 1, N do
    local y, m, dd_ = spy_dates[i]:match("^(%d+)-(%d+)-(%d+)$")
    local ref = os.date("%G-W%V", os.time{ year = tonumber(y), month = tonumber(m), day = tonumber(dd_), hour = 12 })
    if stats.iso_week(spy_dates[i]) ~= ref then bad = spy_dates[i] .. " " .. ref break end
  end
  t.is(bad, nil, "SPY: iso_week agrees with strftime on every date")

  local prod = 1
  local wk = stats.weekly_returns(d, e, nil, init)
  for i = 1, #wk do prod = prod * (1 + wk[i]["return"]) end
  near_rel(prod - 1, s.total_return, 1e-9, "SPY: weekly returns compound to the total")
  local ok = true
  for i = 2, #wk do
    if not (wk[i].week > wk[i - 1].week and wk[i].start > wk[i - 1]["end"]) then ok = false end
  end
  t.ok(ok, "SPY: " .. #wk .. " weeks, each after the last")

  prod = 1
  local mo = stats.monthly_returns(d, e, nil, init)
  for i = 1, #mo do prod = prod * (1 + mo[i]["return"]) end
  near_rel(prod - 1, s.total_return, 1e-9, "SPY: monthly returns compound to the total")
  local y1, m1 = d[1]:match("^(%d+)-(%d+)")
  local y2, m2_ = d[#d]:match("^(%d+)-(%d+)")
  t.is(#mo, (tonumber(y2) - tonumber(y1)) * 12 + tonumber(m2_) - tonumber(m1) + 1,
    "SPY: one row per calendar month")
  local oct08 -- October 2008: close of 2008-10-31 over close of 2008-09-30
  for i = 1, #mo do if mo[i].year == 2008 and mo[i].month == 10 then oct08 = mo[i]["return"] end end
  near_rel(oct08, spy_close[index_of("2008-10-31")] / spy_close[index_of("2008-09-30")] - 1, 1e-12,
    "SPY: October 2008 = month-end close over the previous month-end close")
end

do
  -- The crash alone: from the 2007-10-09 close to the 2009-03-09 close.
  local d, e, init = curve(index_of("2007-10-09"), index_of("2009-03-09"))
  local s = stats.summary{ dates = d, equity = e, initial = init, trades = {}, bars = #e,
    exposed_bars = 0, commissions = 0 }
  near_rel(s.max_drawdown, 1 - spy_close[index_of("2009-03-09")] / spy_close[index_of("2007-10-09")], 1e-12,
    "SPY 2007-10-09..2009-03-09: max_drawdown peak to trough")
  -- The peak is the starting cash (the 2007-10-09 close), so it counts from the first date.
  t.is(d[1], "2007-10-10", "SPY 2007-10-09..2009-03-09: the curve starts the day after the peak")
  t.is(s.max_drawdown_days, calendar.day_number("2009-03-09") - calendar.day_number("2007-10-10"),
    "SPY 2007-10-09..2009-03-09: a drawdown from the starting cash runs from the start date to the end")
  t.near(s.total_return, -s.max_drawdown, 1e-12, "SPY 2007-10-09..2009-03-09: total_return = -max_drawdown")
end
