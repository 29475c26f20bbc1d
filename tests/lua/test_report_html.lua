-- alluse.report.html: the page is self-contained (nothing to fetch), its charts hold
-- one point per equity row for each series, the histogram counts every week, the
-- monthly table has the run's years, every text from the result is escaped, the edge
-- cases render, and the same result gives the same bytes.
local t = require("alluse.test")
local html = require("alluse.report.html")
local stats = require("alluse.report.stats")
local json = require("alluse.json")

local format, floor = string.format, math.floor
local null = json.null

-- ---- a result built here ----

-- Weekdays from Monday 2023-01-02: n dates, civil arithmetic done by hand so the test
-- does not lean on the library it checks.
local DAYS_IN_MONTH = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
local function weekdays(n)
  local y, m, d, wd = 2023, 1, 2, 1 -- wd: 1 Monday .. 7 Sunday
  local out = {}
  while #out < n do
    if wd <= 5 then out[#out + 1] = format("%04d-%02d-%02d", y, m, d) end
    d, wd = d + 1, wd % 7 + 1
    local dim = DAYS_IN_MONTH[m] + ((m == 2 and y % 4 == 0) and 1 or 0)
    if d > dim then d, m = 1, m + 1 end
    if m > 12 then m, y = 1, y + 1 end
  end
  return out
end

-- A small LCG: the same walk on every machine.
local function rng(seed)
  local s = seed
  return function()
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  end
end

local HEDGE = "<script>alert(1)</script>&hedge"
local SYMBOL = "B&B<i>"

-- ndays of equity for "main" and, from day `split` on, HEDGE, which starts with
-- 20 000 moved out of main (a transfer: a flow for each, none for the total).
local function make_result(ndays, split, ntrades)
  local rand = rng(42)
  local dates = weekdays(ndays)
  local main, hedge = 100000, nil
  local equity = json.array()
  local totals, tflows = {}, {}
  for i = 1, ndays do
    local fm, fh = 0, nil
    main = main * (1 + (rand() - 0.48) * 0.02)
    if i == split then
      main, hedge, fm, fh = main - 20000, 20000, -20000, 20000
    elseif hedge then
      hedge = hedge * (1 + (rand() - 0.5) * 0.03)
    end
    local accounts, flows = { main = main }, { main = fm, total = 0 }
    if hedge then accounts[HEDGE], flows[HEDGE] = hedge, fh end
    equity[i] = { date = dates[i], total = main + (hedge or 0), accounts = accounts, flows = flows }
    totals[i], tflows[i] = equity[i].total, 0
  end

  -- Weekly returns by hand: the dates are weekdays from a Monday, so every five rows
  -- are one week; a day's return is end over the day before.
  local weekly = json.array()
  local prev = 100000
  for w = 1, math.ceil(ndays / 5) do
    local acc = 1
    local a, b = (w - 1) * 5 + 1, math.min(w * 5, ndays)
    for i = a, b do
      acc = acc * (totals[i] / prev)
      prev = totals[i]
    end
    weekly[w] = { week = format("W%d", w), start = dates[a], ["end"] = dates[b], ["return"] = acc - 1 }
  end

  local trades = json.array()
  for k = 1, ntrades do
    local pnl = (k % 3 == 0) and -125.5 * k or 310.25 * k
    trades[k] = {
      id = k, account = k % 2 == 0 and HEDGE or "main", symbol = SYMBOL, side = k % 4 == 0 and "short" or "long",
      qty = 100 * k, entry_time = "2023-02-01T14:30:00Z", entry_price = 101.255, exit_time = "2023-03-01T21:00:00Z",
      exit_price = 103.5, bars = 20, gross = pnl + 2, commission = 2, pnl = pnl,
    }
  end

  local summary = stats.summary { dates = dates, equity = totals, flows = tflows, initial = 100000,
    trades = trades, bars = ndays, exposed_bars = floor(ndays / 2), commissions = 2 * ntrades }
  return {
    version = 1, status = "ok",
    strategy = { name = "Walk & <b>bold</b>", file = "strategies/walk.lua",
      params = { fast = 5, slow = "20", label = "<tag>&", flag = true } },
    config = {
      initial_cash = 100000, from = null, to = "2024-12-31",
      fill = { slippage_bps = 1, participation = 0 },
      commission = { model = "per_share", rate = 0.005, min = 1, max_percent = 1 },
      risk = { allow_short = true, max_position = 0 },
      data = { { symbol = SYMBOL, timeframe = "1d", source = "data/<x>.csv", bars = ndays,
        first = "2023-01-02T21:00:00Z", last = "2024-02-23T21:00:00Z" } },
    },
    summary = summary,
    accounts = {
      { name = "main", parent = null, status = "active", summary = summary },
      { name = HEDGE, parent = "main", status = "closed", summary = summary },
    },
    equity = equity,
    weekly_returns = weekly,
    trades = trades,
    orders = { {}, {}, {} },
    ledger = { {} },
  }
end

-- ---- reading the page back ----

local function unescape(s)
  return (s:gsub("&lt;", "<"):gsub("&gt;", ">"):gsub("&quot;", '"'):gsub("&#39;", "'"):gsub("&amp;", "&"))
end

-- Every <polyline>: { series =, points = data-points, pairs = coordinate pairs }.
local function polylines(page)
  local out = {}
  for tag in page:gmatch("<polyline(.-)/>") do
    local series = tag:match('data%-series="([^"]*)"')
    local pts = tag:match('points="([^"]*)"', (tag:find(' points="', 1, true) or 1))
    local pairs_, bad = 0, 0
    for tok in pts:gmatch("%S+") do
      if tok:match("^%-?[%d.]+,%-?[%d.]+$") then pairs_ = pairs_ + 1 else bad = bad + 1 end
    end
    out[unescape(series)] = { points = tonumber(tag:match('data%-points="(%d+)"')), pairs = pairs_, bad = bad }
  end
  return out
end

local function histogram_counts(page)
  local svg = page:match('<svg[^>]-data%-chart="weekly%-histogram".-</svg>')
  if not svg then return nil end
  local sum, bars = 0, 0
  for c in svg:gmatch('<rect[^>]-data%-count="(%d+)"') do
    sum, bars = sum + tonumber(c), bars + 1
  end
  return sum, bars
end

local function years_of(page)
  local ys = {}
  for y in page:gmatch('<tr data%-year="(%d+)"') do ys[#ys + 1] = tonumber(y) end
  return ys
end

local function count_of(page, pattern)
  local n = 0
  for _ in page:gmatch(pattern) do n = n + 1 end
  return n
end

-- Nothing in the page may reach the network or run code from elsewhere.
local function self_contained(page, label)
  local ok = not page:find("http://", 1, true) and not page:find("https://", 1, true)
    and not page:find("src=", 1, true) and not page:lower():find("<script", 1, true)
    and not page:find("url(", 1, true) and not page:find("@import", 1, true)
    and not page:lower():find("<link", 1, true) and not page:find("//", 1, true)
  t.ok(ok, label .. ": no URL, no src=, no <script>, no <link>, no url(), no //")
end

-- Every & starts an entity: nothing from the result went in unescaped.
local function entities_only(page, label)
  local rest = page:gsub("&#?%w+;", "")
  t.unlike(rest, "&", label .. ": every & is an entity")
end

local function numbers_finite(page, label)
  local low = page:lower()
  t.ok(not low:find("nan", 1, true) and not low:find("inf", 1, true),
    label .. ": no nan or inf anywhere")
end

-- ---- the full result ----

local R = make_result(300, 100, 7)
local page = html.render(R)
t.is(type(page), "string", "render returns a string")
t.like(page, "^<!DOCTYPE html>\n<html lang=\"en\">", "an HTML5 document")
t.like(page, "</html>\n$", "... complete to its end")
self_contained(page, "full result")
entities_only(page, "full result")
numbers_finite(page, "full result")

local lines = polylines(page)
local want = { total = 300, ["account:main"] = 300, ["account:" .. HEDGE] = 201, drawdown = 300 }
local nlines = 0
for _ in pairs(lines) do nlines = nlines + 1 end
t.is(nlines, 4, "four polylines: total, two accounts, drawdown")
for series, n in pairs(want) do
  local l = lines[series] or {}
  t.is(l.points, n, format("%s: data-points=%d", series, n))
  t.is(l.pairs, n, format("%s: %d coordinate pairs in points", series, n))
  t.is(l.bad, 0, series .. ": nothing but x,y pairs in points")
end
t.like(page, '<polyline class="total" data%-series="total"', "the total's polyline is marked")
t.like(page, 'data%-series="account:&lt;script&gt;alert%(1%)&lt;/script&gt;&amp;hedge"',
  "the account's series name is escaped in its attribute")

-- Coordinates have at most 2 decimals.
local long = page:match('points="[^"]-%d%.%d%d%d')
t.is(long, nil, "coordinates are rounded to 2 decimals")

local sum, bars = histogram_counts(page)
t.is(sum, #R.weekly_returns, format("histogram counts sum to the %d weeks", #R.weekly_returns))
t.ok(bars and bars >= 20 and bars <= 41, format("histogram has 20 to 41 bins (%s)", tostring(bars)))

t.is_deeply(years_of(page), { 2023, 2024 }, "monthly table: one row for 2023, one for 2024")
local row2023 = page:match('<tr data%-year="2023">(.-)</tr>')
t.is(count_of(row2023 or "", "<td"), 13, "2023 has 12 month cells and a year total")
t.like(row2023 or "", 'class="[pn]%d"', "month cells are shaded by sign")
-- 2024 covers January and February only: 10 empty months.
local row2024 = page:match('<tr data%-year="2024">(.-)</tr>')
t.is(count_of(row2024 or "", "<td></td>"), 10, "2024: ten empty months")

-- Monthly values agree with stats.monthly_returns.
do
  local dates, totals, flows = {}, {}, {}
  for i, row in ipairs(R.equity) do dates[i], totals[i], flows[i] = row.date, row.total, row.flows.total end
  local m = stats.monthly_returns(dates, totals, flows, 100000)
  local jan = format("%.1f%%", m[1]["return"] * 100)
  t.like(row2023 or "", "^<th>2023</th><td[^>]*>" .. jan:gsub("([%-%.%%])", "%%%1") .. "</td>",
    "January 2023 shows stats.monthly_returns' value (" .. jan .. ")")
end

-- Escaping: the strategy name, params, account names, symbols, source.
t.like(page, "<title>Walk &amp; &lt;b&gt;bold&lt;/b&gt; — alluse backtest</title>", "title escaped")
t.like(page, "<h1>Walk &amp; &lt;b&gt;bold&lt;/b&gt;</h1>", "heading escaped")
t.unlike(page, "<b>", "no raw tag from the strategy name")
t.like(page, "<tr><th>label</th><td>&lt;tag&gt;&amp;</td></tr>", "a string param is escaped")
t.like(page, "B&amp;B&lt;i&gt;", "symbols escaped")
t.like(page, "data/&lt;x&gt;%.csv", "data source escaped")

-- Config and summary formatting.
t.like(page, "<tr><th>Initial cash</th><td>%$100,000%.00</td></tr>", "initial cash with separators and cents")
t.like(page, "start of data to 2024%-12%-31", "open start date and the requested end")
t.like(page, "per_share: %$0%.005 per share, at least %$1%.00 per order, at most 1%% of value", "commission")
t.like(page, "participation no cap", "participation 0 is no cap")
t.like(page, "allow_short true, max_position 0", "risk limits, sorted")
t.like(page, "3 orders, 1 postings", "orders and ledger are counted, not listed")
local params = page:match('<table class="kv params">(.-)</table>')
t.is(select(2, (params or ""):gsub("<tr><th>(%w+)</th>", "")), 4, "four params")
t.like(params or "", "<th>fast</th>.*<th>flag</th>.*<th>label</th>.*<th>slow</th>", "params sorted by name")

for _, key in ipairs({ "start", "end", "bars", "initial_cash", "final_equity", "total_return", "cagr",
  "volatility", "sharpe", "sortino", "max_drawdown", "max_drawdown_days", "calmar", "round_trips",
  "win_rate", "profit_factor", "exposure", "commissions" }) do
  t.like(page, '<tr data%-key="' .. key .. '">', "summary shows " .. key)
end

do
  local s = {}
  for k, v in pairs(R.summary) do s[k] = v end
  s.total_return, s.final_equity, s.sharpe, s.cagr, s.calmar = 0.12345, 1234567.891, 1.23456, null, null
  s.max_drawdown, s.win_rate, s.commissions, s.max_drawdown_days = 0.0456, 0.5, -0.001, 1
  local r = setmetatable({ summary = s }, { __index = R })
  local p = html.render(r)
  local function cell(key) return p:match('<tr data%-key="' .. key .. '"><th>[^<]*</th><td[^>]*>(.-)</td>') end
  t.is(cell("total_return"), "12.35%", "total_return as a percentage")
  t.is(cell("final_equity"), "$1,234,567.89", "money with separators and cents")
  t.is(cell("sharpe"), "1.23", "a ratio to 2 decimals")
  t.is(cell("cagr"), "—", "json.null shows as a dash")
  t.is(cell("max_drawdown"), "4.56%", "max_drawdown as a percentage")
  t.is(cell("win_rate"), "50.00%", "win_rate as a percentage")
  t.is(cell("commissions"), "$0.00", "a value rounding to 0 has no sign")
  t.is(cell("max_drawdown_days"), "1 day", "drawdown duration in days")
  t.like(cell("bars"), "^300$", "bars as a count")
end

-- Accounts table: both accounts, the parent.
local accounts = page:match('<table class="grid accounts">(.-)</table>') or ""
t.is(count_of(accounts, "<tr>") - 1, 2, "accounts table: a row per account")
t.like(accounts, "&lt;script&gt;alert%(1%)&lt;/script&gt;&amp;hedge</td><td class=\"text\">main</td><td class=\"text\">closed",
  "accounts table: escaped name, parent, status")

-- Trades.
local trades = page:match('<table class="grid trades">(.-)</table>') or ""
t.is(count_of(trades, "<tr>") - 1, 7, "every trade has a row")
t.like(trades, "<td>101%.255</td>", "prices keep their decimals")
t.like(trades, "<td class=\"neg\">%-%$376%.50</td>", "a losing trade's P&L is marked")
t.unlike(page, "more trades in the JSON", "no 'more trades' line under the limit")

-- Legend.
t.like(page, '<ul class="legend"><li>.-Total</li><li>.-main</li><li>.-&lt;script&gt;', "legend: total, then accounts")

-- Determinism: twice, and from a result whose maps were filled in another order.
t.is(html.render(R), page, "rendering twice gives identical bytes")
do
  local R2 = make_result(300, 100, 7)
  R2.strategy.params = {}
  for _, k in ipairs({ "slow", "label", "flag", "fast" }) do R2.strategy.params[k] = R.strategy.params[k] end
  t.is(html.render(R2), page, "the same result built again (keys inserted in another order) gives identical bytes")
end

-- ---- edge cases ----

local function edge(label, r, checks)
  local ok, p = pcall(html.render, r)
  if not t.ok(ok and type(p) == "string", label .. ": renders") then
    t.diag(tostring(p))
    return
  end
  self_contained(p, label)
  entities_only(p, label)
  numbers_finite(p, label)
  if checks then checks(p) end
end

local function copy(r, changes)
  local out = {}
  for k, v in pairs(r) do out[k] = v end
  for k, v in pairs(changes) do out[k] = v end
  return out
end

edge("no equity rows", copy(R, { equity = json.array(), weekly_returns = json.array(), trades = json.array() }),
  function(p)
    local l = polylines(p)
    t.is(l.total and l.total.points, 0, "no rows: the total has 0 points")
    t.is(l.drawdown and l.drawdown.points, 0, "no rows: the drawdown has 0 points")
    t.is(histogram_counts(p), 0, "no weekly returns: histogram counts 0")
    t.like(p, "no weekly returns", "no weekly returns: said so")
    t.like(p, "No trades%.", "no trades: said so")
    t.is(#years_of(p), 0, "no rows: no monthly rows")
  end)

do
  local one = make_result(1, 100, 0)
  edge("one equity row", one, function(p)
    local l = polylines(p)
    t.is(l.total and l.total.pairs, 1, "one row: one point")
    t.is(l.drawdown and l.drawdown.pairs, 1, "one row: one drawdown point")
    t.is(histogram_counts(p), 1, "one week: histogram counts 1")
  end)
end

do
  local flat = make_result(30, 100, 0)
  for _, row in ipairs(flat.equity) do row.total, row.accounts.main = 100000, 100000 end
  for _, w in ipairs(flat.weekly_returns) do w["return"] = 0 end
  edge("all-equal equity", flat, function(p)
    local l = polylines(p)
    t.is(l.total and l.total.pairs, 30, "flat: 30 points")
    t.is(histogram_counts(p), #flat.weekly_returns, "flat: all weeks in one bin")
  end)
end

do
  local zero = make_result(20, 100, 0)
  for _, row in ipairs(zero.equity) do row.total, row.accounts.main = 0, 0 end
  zero.summary = copy(zero.summary, { initial_cash = 0 })
  zero.config = copy(zero.config, { initial_cash = 0 })
  edge("equity all zero, initial cash 0", zero)
end

do
  local err = copy(make_result(50, 20, 2), { status = "error",
    error = "strategies/x.lua:3: bad <thing> & more\nstack traceback:\n\t[C]: in ?" })
  edge("an error result", err, function(p)
    t.like(p, 'data%-status="error"', "error: the status is shown")
    t.like(p, '<pre class="error">strategies/x%.lua:3: bad &lt;thing&gt; &amp; more\nstack traceback:', "error: the message, escaped")
    t.is(polylines(p)["account:" .. HEDGE].points, 31, "error: the account created on day 20 has 31 points")
  end)
end

edge("an error before any data", { version = 1, status = "error", error = "cannot load <x>",
  strategy = { name = "x" }, config = {} }, function(p)
    t.like(p, "cannot load &lt;x&gt;", "bare error result: message shown")
  end)

do
  local many = make_result(10, 100, 2005)
  edge("2005 trades", many, function(p)
    local tb = p:match('<table class="grid trades">(.-)</table>') or ""
    t.is(count_of(tb, "<tr>") - 1, 2000, "2000 trade rows")
    t.like(p, ">5 more trades in the JSON/CSV output", "then a line for the rest")
  end)
end

do
  local skip = make_result(30, 100, 0)
  skip.weekly_returns[2]["return"] = null
  edge("a week without a return", skip, function(p)
    t.is(histogram_counts(p), #skip.weekly_returns - 1, "the null week is left out of the bars")
    t.like(p, "1 week without a return left out", "... and said so")
  end)
end

t.raises(function() html.render("x") end, "html.render: expected a result table, got string", "render of a non-table raises")
