-- alluse.report.stats: the statistics of a backtest's result — returns, wealth index,
-- drawdown, weekly and monthly returns, and the summary table.  docs/results.md is the
-- contract for every formula here.
--
--   local stats = require("alluse.report.stats")
--   local r  = stats.daily_returns(equity, flows, initial)
--   local dd = stats.drawdown(equity, flows, initial)
--   local s  = stats.summary{ dates = d, equity = e, flows = f, initial = 100000,
--                             trades = t, bars = 252, exposed_bars = 120, commissions = 42.5 }
--
-- Series are Lua arrays aligned by index: dates[i] "YYYY-MM-DD" (New York, strictly
-- increasing), equity[i] at the end of that day, flows[i] the external cash that came
-- in during that day (nil flows: none).  Returns are time-weighted: a deposit or a
-- transfer moves equity but is not a return.
--
-- Pure Lua and deterministic: every sum and product runs in index order, so the same
-- inputs give the same doubles.  Dates are parsed here (not through alluse.calendar's
-- FFI) so that any proleptic Gregorian date works, not just the calendar's range.
-- Undefined statistics are json.null so the key still appears in the JSON.
local json = require("alluse.json")
local check = require("alluse.check")

local type, error, pairs, tonumber = type, error, pairs, tonumber
local floor, sqrt, huge = math.floor, math.sqrt, math.huge
local format, match, sub = string.format, string.match, string.sub
local show = check.show
local null = json.null

local M = {}

---------------------------------------------------------------------------- checks

-- Each check returns an error message (without the "stats.fn: " prefix) or nil, so
-- the public function can raise it at its caller's level.

local function is_finite(v)
  return type(v) == "number" and v == v and v ~= huge and v ~= -huge
end

local DAYS_IN_MONTH = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

local function is_leap(y)
  return (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
end

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil);
-- floor division keeps it right before 1970 too.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12                       -- March = 0
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- The year of a day number (civil_from_days, year only).
local function year_of(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local y = yoe + era * 400
  if mp >= 10 then y = y + 1 end                -- January and February
  return y
end

-- "YYYY-MM-DD" to day number, year, month; nil when it is not a real date.
local function parse_date(s)
  if type(s) ~= "string" then return nil end
  local ys, ms, ds = match(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if not ys then return nil end
  local y, m, d = tonumber(ys), tonumber(ms), tonumber(ds)
  if m < 1 or m > 12 or d < 1 then return nil end
  local dim = (m == 2 and is_leap(y)) and 29 or DAYS_IN_MONTH[m]
  if d > dim then return nil end
  return days_from_civil(y, m, d), y, m
end

-- The ISO-8601 week of a day number as "YYYY-Www": weeks start on Monday and week 1
-- is the one holding the year's first Thursday, so a week belongs to the year of its
-- Thursday.  1970-01-01 (day 0) was a Thursday.
local function iso_week(day)
  local weekday = (day + 3) % 7 + 1              -- Monday 1 .. Sunday 7
  local thursday = day - weekday + 4
  local y = year_of(thursday)
  local week = floor((thursday - days_from_civil(y, 1, 1)) / 7) + 1
  return format("%04d-W%02d", y, week), y, week
end

local function check_numbers(t, field, n)
  if type(t) ~= "table" then return format("%s must be an array of numbers, got %s", field, show(t)) end
  for i = 1, n do
    local v = t[i]
    if not is_finite(v) then return format("%s[%d] is not a finite number (%s)", field, i, show(v)) end
  end
  return nil
end

-- equity, flows, initial; returns n or nil, message.
local function check_series(equity, flows, initial)
  if type(equity) ~= "table" then
    return nil, format("equity must be an array of numbers, got %s", show(equity))
  end
  local n = #equity
  local err = check_numbers(equity, "equity", n)
  if err then return nil, err end
  if flows ~= nil then
    if type(flows) ~= "table" then
      return nil, format("flows must be nil or an array of numbers, got %s", show(flows))
    end
    if #flows ~= n then
      return nil, format("flows has %d entries but equity has %d", #flows, n)
    end
    err = check_numbers(flows, "flows", n)
    if err then return nil, err end
  end
  if not is_finite(initial) or initial <= 0 then
    return nil, format("initial must be a positive finite number, got %s", show(initial))
  end
  return n
end

-- dates aligned with n equity values; returns their day numbers or nil, message.
local function check_dates(dates, n)
  if type(dates) ~= "table" then
    return nil, format("dates must be an array of \"YYYY-MM-DD\" strings, got %s", show(dates))
  end
  if #dates ~= n then return nil, format("dates has %d entries but equity has %d", #dates, n) end
  local days = {}
  for i = 1, n do
    local day = parse_date(dates[i])
    if not day then
      return nil, format("dates[%d] is not a \"YYYY-MM-DD\" date (%s)", i, show(dates[i]))
    end
    if i > 1 and day <= days[i - 1] then
      return nil, format("dates[%d] %s is not after dates[%d] %s", i, show(dates[i]), i - 1,
        show(dates[i - 1]))
    end
    days[i] = day
  end
  return days
end

---------------------------------------------------------------------------- series

-- Unchecked cores, shared by the public functions and summary.

local function returns_of(equity, flows, initial, n)
  local r = {}
  local prev = initial
  for i = 1, n do
    local e = equity[i]
    -- A flow arrives during the day and earns nothing that day, so it is taken off
    -- the end value.  With nothing (or a debt) to start the day from, no rate of
    -- return exists: the day counts as 0.
    if prev > 0 then
      r[i] = (e - (flows and flows[i] or 0)) / prev - 1
    else
      r[i] = 0
    end
    prev = e
  end
  return r
end

local function wealth_of(r, n)
  local w, acc = {}, 1
  for i = 1, n do
    acc = acc * (1 + r[i])
    w[i] = acc
  end
  return w
end

local function drawdown_of(w, n)
  local dd, peak = {}, 1 -- W0 = 1 is the first peak
  for i = 1, n do
    local v = w[i]
    if v > peak then peak = v end
    dd[i] = 1 - v / peak
  end
  return dd
end

-- Product of (1 + r) over runs of equal keys, in index order.
local function grouped(r, n, key_of, make)
  local out = json.array({})
  local i = 1
  while i <= n do
    local key = key_of(i)
    local j, acc = i, 1
    while j <= n and key_of(j) == key do
      acc = acc * (1 + r[j])
      j = j + 1
    end
    out[#out + 1] = make(i, j - 1, acc - 1)
    i = j
  end
  return out
end

function M.daily_returns(equity, flows, initial)
  local n, err = check_series(equity, flows, initial)
  if not n then error("stats.daily_returns: " .. err, 2) end
  return json.array(returns_of(equity, flows, initial, n))
end

function M.wealth(equity, flows, initial)
  local n, err = check_series(equity, flows, initial)
  if not n then error("stats.wealth: " .. err, 2) end
  return json.array(wealth_of(returns_of(equity, flows, initial, n), n))
end

function M.drawdown(equity, flows, initial)
  local n, err = check_series(equity, flows, initial)
  if not n then error("stats.drawdown: " .. err, 2) end
  return json.array(drawdown_of(wealth_of(returns_of(equity, flows, initial, n), n), n))
end

local function weekly_of(dates, days, r, n)
  local weeks = {}
  for i = 1, n do weeks[i] = iso_week(days[i]) end
  return grouped(r, n, function(i) return weeks[i] end, function(a, b, ret)
    return { week = weeks[a], start = dates[a], ["end"] = dates[b], ["return"] = ret }
  end)
end

function M.weekly_returns(dates, equity, flows, initial)
  local n, err = check_series(equity, flows, initial)
  local days
  if n then days, err = check_dates(dates, n) end
  if err then error("stats.weekly_returns: " .. err, 2) end
  return weekly_of(dates, days, returns_of(equity, flows, initial, n), n)
end

function M.monthly_returns(dates, equity, flows, initial)
  local n, err = check_series(equity, flows, initial)
  local days
  if n then days, err = check_dates(dates, n) end
  if err then error("stats.monthly_returns: " .. err, 2) end
  local r = returns_of(equity, flows, initial, n)
  return grouped(r, n, function(i) return sub(dates[i], 1, 7) end, function(a, _, ret)
    local d = dates[a]
    return { year = tonumber(sub(d, 1, 4)), month = tonumber(sub(d, 6, 7)), ["return"] = ret }
  end)
end

---------------------------------------------------------------------------- summary

local SUMMARY_ARGS = { dates = true, equity = true, flows = true, initial = true, trades = true,
  bars = true, exposed_bars = true, commissions = true, periods_per_year = true }

local function is_count(v)
  return type(v) == "number" and v >= 0 and v % 1 == 0 and v < 2 ^ 53
end

local function check_summary_args(a)
  if type(a) ~= "table" then return nil, "expected a table of arguments, got " .. show(a) end
  for k in pairs(a) do
    if not SUMMARY_ARGS[k] then return nil, "unknown argument " .. show(k) end
  end
  local n, err = check_series(a.equity, a.flows, a.initial)
  if not n then return nil, err end
  local days
  days, err = check_dates(a.dates, n)
  if not days then return nil, err end
  local trades = a.trades
  if type(trades) ~= "table" then return nil, "trades must be an array of {pnl = ...}, got " .. show(trades) end
  for i = 1, #trades do
    local tr = trades[i]
    if type(tr) ~= "table" then return nil, format("trades[%d] must be a table, got %s", i, show(tr)) end
    if not is_finite(tr.pnl) then
      return nil, format("trades[%d].pnl is not a finite number (%s)", i, show(tr.pnl))
    end
  end
  if not is_count(a.bars) then return nil, "bars must be a whole number >= 0, got " .. show(a.bars) end
  if not is_count(a.exposed_bars) then
    return nil, "exposed_bars must be a whole number >= 0, got " .. show(a.exposed_bars)
  end
  if a.exposed_bars > a.bars then
    return nil, format("exposed_bars (%s) is more than bars (%s)", show(a.exposed_bars), show(a.bars))
  end
  if not is_finite(a.commissions) then
    return nil, "commissions must be a finite number, got " .. show(a.commissions)
  end
  local ppy = a.periods_per_year
  if ppy ~= nil and not (is_finite(ppy) and ppy > 0) then
    return nil, "periods_per_year must be a positive finite number, got " .. show(ppy)
  end
  return n, days
end

-- Longest drawdown in calendar days: from the last day at the running peak (the
-- start date for the initial peak W0) to the first day back at it, or to the last
-- day when it never comes back.  "At the peak" is dd == 0, the same test that makes
-- max_drawdown 0, so the two always agree on whether there was a drawdown.
local function longest_drawdown(dd, days, n)
  if n == 0 then return 0 end
  local longest, peak_day, falling = 0, days[1], false
  for i = 1, n do
    if dd[i] > 0 then
      falling = true
    else
      if falling and days[i] - peak_day > longest then longest = days[i] - peak_day end
      falling = false
      peak_day = days[i]
    end
  end
  if falling and days[n] - peak_day > longest then longest = days[n] - peak_day end
  return longest
end

function M.summary(a)
  local n, days = check_summary_args(a)
  if not n then error("stats.summary: " .. days, 2) end
  local ppy = a.periods_per_year or 252
  local trades = a.trades
  local nt = #trades

  local s = {
    start = null, ["end"] = null, bars = a.bars, initial_cash = a.initial, final_equity = null,
    total_return = null, cagr = null, volatility = null, sharpe = null, sortino = null,
    max_drawdown = null, max_drawdown_days = null, calmar = null, round_trips = nt,
    win_rate = null, profit_factor = null, exposure = null, commissions = a.commissions,
  }

  -- Trade statistics need no series.
  if nt > 0 then
    local wins, gains, losses, has_loss = 0, 0, 0, false
    for i = 1, nt do
      local p = trades[i].pnl
      if p > 0 then
        wins = wins + 1
        gains = gains + p
      elseif p < 0 then
        losses = losses + p
        has_loss = true
      end
    end
    s.win_rate = wins / nt
    if has_loss then s.profit_factor = gains / -losses end
  end
  if a.bars > 0 then s.exposure = a.exposed_bars / a.bars end

  if n == 0 then return s end

  local equity = a.equity
  local r = returns_of(equity, a.flows, a.initial, n)
  local w = wealth_of(r, n)
  local dd = drawdown_of(w, n)

  s.start, s["end"] = a.dates[1], a.dates[n]
  s.final_equity = equity[n]
  local total = w[n] - 1
  s.total_return = total

  local span = days[n] - days[1]
  if span > 0 and 1 + total > 0 then s.cagr = (1 + total) ^ (365.25 / span) - 1 end

  local sum, down = 0, 0
  for i = 1, n do
    sum = sum + r[i]
    local neg = r[i] < 0 and r[i] or 0
    down = down + neg * neg
  end
  local mean = sum / n
  local root = sqrt(ppy)
  if n >= 2 then
    -- Two passes: the deviations from the mean, not sum of squares minus square of
    -- sums, which cancels badly for small daily returns.
    local ss = 0
    for i = 1, n do
      local d = r[i] - mean
      ss = ss + d * d
    end
    local sd = sqrt(ss / (n - 1))
    s.volatility = sd * root
    if sd > 0 then s.sharpe = mean / sd * root end
  end
  local downside = sqrt(down / n)
  if downside > 0 then s.sortino = mean / downside * root end

  local mdd = 0
  for i = 1, n do
    if dd[i] > mdd then mdd = dd[i] end
  end
  s.max_drawdown = mdd
  s.max_drawdown_days = longest_drawdown(dd, days, n)
  if mdd > 0 and s.cagr ~= null then s.calmar = s.cagr / mdd end
  return s
end

-- Exposed for the tests and the report: the ISO week of a "YYYY-MM-DD" date.
function M.iso_week(date)
  local day = parse_date(date)
  if not day then error("stats.iso_week: expected a \"YYYY-MM-DD\" date, got " .. show(date), 2) end
  return iso_week(day) -- "2024-W01", 2024, 1
end

return M
