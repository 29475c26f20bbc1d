-- alluse.report.html: a backtest result as one self-contained HTML5 page.
--
--   local html = require("alluse.report.html")
--   local page = html.render(result)   -- a string; the result schema is docs/results.md
--
-- Self-contained means the file is the whole report: inline CSS, inline SVG charts,
-- no script, no image, no font and no link that needs the network, so it opens the
-- same on an air-gapped machine or years later.  Deterministic: map keys are sorted,
-- every number goes through string.format, and nothing (no clock, no path) depends on
-- when or where it was rendered, so the same result gives a byte-identical page.
--
-- Every text that comes from the result (names, symbols, params, the error) is
-- escaped: a strategy can name an account "<script>".  The charts put data-series and
-- data-points attributes on each polyline and data-count on each histogram bar so
-- tests (and a headless browser) can check the data without parsing coordinates.
local json = require("alluse.json")
local stats = require("alluse.report.stats")
local version = require("alluse.version")

local type, pairs, ipairs, tostring, pcall, error = type, pairs, ipairs, tostring, pcall, error
local format, gsub, sub = string.format, string.gsub, string.sub
local concat, sort = table.concat, table.sort
local floor, ceil, abs, max, min, huge, log10 = math.floor, math.ceil, math.abs, math.max, math.min,
  math.huge, math.log10
local null = json.null

local M = {}

-- A report with more rows than this would be slow to open; the rest are in the JSON
-- and CSV output, which the page says.
M.max_trades = 2000

---------------------------------------------------------------------------- text

local ESCAPES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

-- Safe in text and in quoted attribute values alike.
local function esc(s)
  return (gsub(tostring(s), "[&<>\"']", ESCAPES))
end

local function is_finite(v)
  return type(v) == "number" and v == v and v ~= huge and v ~= -huge
end

local DASH = "—" -- undefined (json.null) or missing

-- "1234567" -> "1,234,567" (digits only).
local function group(digits)
  local s = gsub(digits:reverse(), "(%d%d%d)", "%1,"):reverse()
  if sub(s, 1, 1) == "," then s = sub(s, 2) end
  return s
end

-- A number with `decimals` decimals and thousands separators.  A value that rounds
-- to zero loses its sign: "-0.00" would suggest a loss that is not there.
local function fixed(v, decimals)
  if v == nil or v == null then return DASH end
  if not is_finite(v) then return esc(tostring(v)) end
  local s = format("%." .. decimals .. "f", abs(v))
  local int, frac = s:match("^(%d+)(.*)$")
  local out = group(int) .. frac
  if v < 0 and s:find("[1-9]") then out = "-" .. out end
  return out
end

local function money(v)
  if not is_finite(v) then return fixed(v) end
  local s = fixed(v, 2)
  if sub(s, 1, 1) == "-" then return "-$" .. sub(s, 2) end
  return "$" .. s
end

local function percent(v, decimals)
  if not is_finite(v) then return fixed(v) end
  return fixed(v * 100, decimals or 2) .. "%"
end

local function ratio(v)
  if not is_finite(v) then return fixed(v) end
  return fixed(v, 2)
end

-- Counts and quantities: whole numbers grouped, fractions kept as written (up to 8
-- decimals: crypto quantities).
local function count(v)
  if not is_finite(v) then return fixed(v) end
  if v % 1 == 0 then return fixed(v, 0) end
  local s = gsub(format("%.8f", v), "0+$", "")
  local int, frac = s:match("^%-?(%d+)(.*)$")
  return (v < 0 and "-" or "") .. group(int) .. frac
end

-- Prices: at least 2 decimals, up to 6 when the price has them (options, forex).
local function price(v)
  if not is_finite(v) then return fixed(v) end
  local s = format("%.6f", abs(v))
  s = gsub(s, "(%.%d%d%d-)0+$", "%1")
  local int, frac = s:match("^(%d+)(.*)$")
  local out = group(int) .. frac
  if v < 0 and s:find("[1-9]") then out = "-" .. out end
  return out
end

-- Any value from the result (params, risk limits) as escaped text.
local function value_text(v)
  local t = type(v)
  if v == nil or v == null then return DASH end
  if t == "number" then
    if is_finite(v) then return esc(json.format_number(v)) end
    return esc(tostring(v))
  elseif t == "boolean" or t == "string" then
    return esc(tostring(v))
  elseif t == "table" then
    local ok, s = pcall(json.encode, v, { sorted = true })
    return esc(ok and s or tostring(v))
  end
  return esc(t)
end

local function sorted_keys(map)
  local keys = {}
  if type(map) ~= "table" then return keys end
  for k in pairs(map) do keys[#keys + 1] = k end
  sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
    return type(a) < type(b)
  end)
  return keys
end

local function tbl(v) return type(v) == "table" and v or {} end

---------------------------------------------------------------------------- summary

-- The summary keys in reading order, each with its label and unit.  Keys a newer
-- engine adds show after these, sorted, as plain values.
local SUMMARY = {
  { "start", "Start", "text" },
  { "end", "End", "text" },
  { "bars", "Bars", "count" },
  { "initial_cash", "Initial cash", "money" },
  { "final_equity", "Final equity", "money" },
  { "total_return", "Total return", "percent" },
  { "cagr", "CAGR", "percent" },
  { "volatility", "Volatility (annualized)", "percent" },
  { "sharpe", "Sharpe ratio", "ratio" },
  { "sortino", "Sortino ratio", "ratio" },
  { "max_drawdown", "Max drawdown", "percent" },
  { "max_drawdown_days", "Longest drawdown", "days" },
  { "calmar", "Calmar ratio", "ratio" },
  { "round_trips", "Round trips", "count" },
  { "win_rate", "Win rate", "percent" },
  { "profit_factor", "Profit factor", "ratio" },
  { "exposure", "Exposure", "percent" },
  { "commissions", "Commissions", "money" },
}
local SUMMARY_UNIT = {}
for _, s in ipairs(SUMMARY) do SUMMARY_UNIT[s[1]] = s[3] end

local function summary_value(key, v)
  if v == nil or v == null then return DASH end
  local unit = SUMMARY_UNIT[key]
  if type(v) ~= "number" then return value_text(v) end
  if unit == "money" then return money(v)
  elseif unit == "percent" then return percent(v)
  elseif unit == "ratio" then return ratio(v)
  elseif unit == "count" then return count(v)
  elseif unit == "days" then return count(v) .. (v == 1 and " day" or " days")
  end
  return value_text(v)
end

-- Positive / negative class for values whose sign is good or bad news.
local SIGNED = { total_return = true, cagr = true, sharpe = true, sortino = true, calmar = true }

local function sign_class(v)
  if not is_finite(v) or v == 0 then return "" end
  return v > 0 and ' class="pos"' or ' class="neg"'
end

---------------------------------------------------------------------------- charts

local W, H = 960, 320                 -- chart size in SVG units (scaled to the page width)
local ML, MR, MT, MB = 92, 16, 14, 34 -- margins: value labels left, date labels below

-- Coordinates to 2 decimals, trailing zeros dropped: the curves are most of the file.
local function coord(v)
  local s = format("%.2f", v)
  s = gsub(gsub(s, "(%.%d-)0+$", "%1"), "%.$", "")
  if s == "-0" then s = "0" end
  return s
end

local NICE = { 1, 2, 2.5, 5, 10 }

-- A "nice" step (1, 2, 2.5 or 5 times a power of ten) for about n steps over span:
-- the smallest at least span / n (axes: never more than n ticks), or with `nearest`
-- the closest on a log scale (histogram bins: within a factor 1.42 of n).
local function nice_step(span, n, nearest)
  local raw = span / n
  if not (raw > 0) or not is_finite(raw) then return 1 end
  local mag = 10 ^ floor(log10(raw))
  local f = raw / mag
  local best, err = nil, huge
  for _, c in ipairs(NICE) do
    if nearest then
      local e = abs(log10(c / f))
      if e < err then best, err = c, e end
    elseif c >= f * (1 - 1e-9) then
      return c * mag
    end
  end
  return (best or 10) * mag
end

-- The value domain [lo, hi] widened to whole steps, and its ticks.  A flat series
-- (lo == hi: all-equal equity, one row) gets room around it instead of a zero span.
local function value_axis(lo, hi, n)
  if not (lo <= hi) then lo, hi = 0, 1 end
  if hi - lo <= abs(hi) * 1e-9 then
    local pad = abs(lo) * 0.01
    if pad == 0 then pad = 1 end
    lo, hi = lo - pad, hi + pad
  end
  local step = nice_step(hi - lo, n)
  local a, b = floor(lo / step + 1e-9) * step, ceil(hi / step - 1e-9) * step
  if b <= a then b = a + step end
  local ticks, k = {}, 0
  while true do
    local v = a + k * step
    if v > b + step * 1e-6 or k > 50 then break end
    ticks[#ticks + 1] = v
    k = k + 1
  end
  return a, b, ticks, step
end

-- Decimals a tick label needs to show every multiple of this step (2.5 needs one).
local function step_decimals(step)
  local d = 0
  while d < 8 do
    local scaled = step * 10 ^ d
    if abs(scaled - floor(scaled + 0.5)) <= 1e-9 * scaled then break end
    d = d + 1
  end
  return d
end

-- Row index to x: evenly spaced trading days; one row sits in the middle.
local function x_of(i, n)
  if n <= 1 then return ML + (W - ML - MR) / 2 end
  return ML + (i - 1) / (n - 1) * (W - ML - MR)
end

local function y_of(v, lo, hi)
  return MT + (hi - v) / (hi - lo) * (H - MT - MB)
end

-- Up to `most` labelled rows for the date axis: year starts over long runs, month
-- starts over shorter ones, else evenly spaced dates.
local function date_ticks(dates, n, most)
  local function thin(list)
    local stride = ceil(#list / most)
    local out = {}
    for k = 1, #list, stride do out[#out + 1] = list[k] end
    return out
  end
  local years, months = {}, {}
  for i = 2, n do
    local a, b = dates[i - 1], dates[i]
    if type(a) == "string" and type(b) == "string" then
      if sub(a, 1, 4) ~= sub(b, 1, 4) then years[#years + 1] = { i, sub(b, 1, 4) } end
      if sub(a, 1, 7) ~= sub(b, 1, 7) then months[#months + 1] = { i, sub(b, 1, 7) } end
    end
  end
  if #years >= 3 then return thin(years) end
  if #months >= 3 then return thin(months) end
  local out, seen = {}, {}
  local parts = min(n - 1, 4)
  for k = 0, max(parts, 0) do
    local i = parts > 0 and floor(1 + k * (n - 1) / parts + 0.5) or 1
    if not seen[i] and n > 0 then
      seen[i] = true
      out[#out + 1] = { i, tostring(dates[i] or "") }
    end
  end
  return out
end

local function svg_open(buf, label, extra)
  buf[#buf + 1] = format('<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s"%s>',
    W, H, W, H, esc(label), extra or "")
  buf[#buf + 1] = format('<title>%s</title>', esc(label))
end

-- The frame: horizontal grid lines with value labels, vertical ticks with dates.
local function axes(buf, ticks, lo, hi, label_of, xticks, n)
  buf[#buf + 1] = '<g class="axis">'
  for _, v in ipairs(ticks) do
    local y = coord(y_of(v, lo, hi))
    buf[#buf + 1] = format('<line class="grid" x1="%d" y1="%s" x2="%d" y2="%s"/><text x="%d" y="%s" text-anchor="end" dy="0.32em">%s</text>',
      ML, y, W - MR, y, ML - 6, y, label_of(v))
  end
  for _, t in ipairs(xticks) do
    local x = coord(x_of(t[1], n))
    buf[#buf + 1] = format('<line x1="%s" y1="%d" x2="%s" y2="%d"/><text x="%s" y="%d" text-anchor="middle">%s</text>',
      x, H - MB, x, H - MB + 5, x, H - MB + 18, esc(t[2]))
  end
  buf[#buf + 1] = format('<line x1="%d" y1="%d" x2="%d" y2="%d"/><line x1="%d" y1="%d" x2="%d" y2="%d"/></g>',
    ML, MT, ML, H - MB, ML, H - MB, W - MR, H - MB)
end

local function empty_note(buf, text)
  buf[#buf + 1] = format('<text class="note" x="%s" y="%s" text-anchor="middle">%s</text>',
    coord(ML + (W - ML - MR) / 2), coord(MT + (H - MT - MB) / 2), esc(text))
end

local PALETTE = { "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777",
  "#65a30d", "#7c3aed", "#ca8a04" }

-- Account names in the result's order, then any that appear only in equity rows
-- (sorted), so every curve has a legend entry and a stable colour.
local function account_names(result, rows)
  local names, seen = {}, {}
  for _, a in ipairs(tbl(result.accounts)) do
    if type(a) == "table" and a.name ~= nil and not seen[a.name] then
      seen[a.name] = true
      names[#names + 1] = a.name
    end
  end
  local extra = {}
  for _, row in ipairs(rows) do
    for name in pairs(tbl(row.accounts)) do
      if not seen[name] then
        seen[name] = true
        extra[name] = true
      end
    end
  end
  for _, name in ipairs(sorted_keys(extra)) do names[#names + 1] = name end
  return names
end

-- Axis labels: whole dollars unless the step needs cents (a nearly flat curve).
local function money_tick(decimals)
  return function(v)
    local s = fixed(v, decimals == 0 and 0 or max(2, decimals))
    if sub(s, 1, 1) == "-" then return "-$" .. sub(s, 2) end
    return "$" .. s
  end
end

local function equity_chart(buf, result, rows, dates)
  local n = #rows
  local names = account_names(result, rows)
  -- Series: the total first (drawn last, on top), then one per account.
  local series = { { key = "total", label = "Total", get = function(row) return row.total end,
    color = "#111827", cls = "total" } }
  for k, name in ipairs(names) do
    series[#series + 1] = {
      key = "account:" .. tostring(name), label = tostring(name), color = PALETTE[(k - 1) % #PALETTE + 1],
      cls = "account", get = function(row) local a = row.accounts; return type(a) == "table" and a[name] or nil end,
    }
  end
  local lo, hi = huge, -huge
  for _, s in ipairs(series) do
    for i = 1, n do
      local v = s.get(rows[i])
      if is_finite(v) then
        if v < lo then lo = v end
        if v > hi then hi = v end
      end
    end
  end
  local a, b, ticks, step = value_axis(lo, hi, 5)
  svg_open(buf, "Equity curve", ' data-chart="equity"')
  axes(buf, ticks, a, b, money_tick(step_decimals(step)), date_ticks(dates, n, 8), n)
  if n == 0 then empty_note(buf, "no equity rows") end
  for k = #series, 1, -1 do
    local s = series[k]
    local pts, np = {}, 0
    for i = 1, n do
      local v = s.get(rows[i])
      if is_finite(v) then
        np = np + 1
        pts[np] = coord(x_of(i, n)) .. "," .. coord(y_of(v, a, b))
      end
    end
    buf[#buf + 1] = format('<polyline class="%s" data-series="%s" data-points="%d" stroke="%s" points="%s"/>',
      s.cls, esc(s.key), np, s.color, concat(pts, " "))
  end
  buf[#buf + 1] = '</svg>'
  buf[#buf + 1] = '<ul class="legend">'
  for _, s in ipairs(series) do
    buf[#buf + 1] = format('<li><span class="swatch" style="background:%s"></span>%s</li>', s.color, esc(s.label))
  end
  buf[#buf + 1] = '</ul>'
end

local function drawdown_chart(buf, dd, dates, note)
  local n = #dd
  local worst = 0
  for i = 1, n do if is_finite(dd[i]) and dd[i] > worst then worst = dd[i] end end
  -- Drawn downwards from 0; a run with no drawdown still gets a 0..-1% frame.
  local _, b, ticks, step = value_axis(0, max(worst, 0.01), 4)
  local lo, hi = -b, 0
  for k = 1, #ticks do ticks[k] = -ticks[k] end
  local decimals = max(0, step_decimals(step * 100))
  svg_open(buf, "Drawdown of the total", ' data-chart="drawdown"')
  axes(buf, ticks, lo, hi, function(v) return percent(v, decimals) end, date_ticks(dates, n, 8), n)
  if note then empty_note(buf, note) elseif n == 0 then empty_note(buf, "no equity rows") end
  local pts, np = {}, 0
  for i = 1, n do
    if is_finite(dd[i]) then
      np = np + 1
      pts[np] = coord(x_of(i, n)) .. "," .. coord(y_of(-dd[i], lo, hi))
    end
  end
  buf[#buf + 1] = format('<polyline class="drawdown" data-series="drawdown" data-points="%d" points="%s"/>',
    np, concat(pts, " "))
  buf[#buf + 1] = '</svg>'
end

-- Weekly returns histogram.  The bin width is the nice step nearest to the range over
-- 28 (so 20 to 40 bins), and the bins are aligned on 0, so every bar is wholly a gain
-- or wholly a loss and can be coloured by sign.
local function histogram(buf, weekly)
  local values, skipped = {}, 0
  for _, w in ipairs(weekly) do
    local r = type(w) == "table" and w["return"] or nil
    if is_finite(r) then values[#values + 1] = r else skipped = skipped + 1 end
  end
  local n = #values
  local bins, width, start, nb = {}, 0, 0, 0
  if n > 0 then
    local lo, hi = huge, -huge
    for _, r in ipairs(values) do
      if r < lo then lo = r end
      if r > hi then hi = r end
    end
    if hi - lo < 1e-9 then lo, hi = lo - 0.005, hi + 0.005 end
    width = nice_step(hi - lo, 28, true)
    start = floor(lo / width) * width
    nb = floor((hi - start) / width) + 1
    for k = 1, nb do bins[k] = 0 end
    for _, r in ipairs(values) do
      local k = floor((r - start) / width) + 1
      if k < 1 then k = 1 elseif k > nb then k = nb end
      bins[k] = bins[k] + 1
    end
  end
  local most = 0
  for k = 1, nb do if bins[k] > most then most = bins[k] end end
  local _, top, ticks = value_axis(0, max(most, 1), 4)
  -- Counts are whole: drop fractional ticks (a chart of 1 or 2 weeks).
  local whole = {}
  for _, v in ipairs(ticks) do if v % 1 == 0 then whole[#whole + 1] = v end end
  svg_open(buf, "Weekly returns histogram", ' data-chart="weekly-histogram"')
  axes(buf, whole, 0, top, function(v) return fixed(v, 0) end, {}, 0)
  if n == 0 then empty_note(buf, "no weekly returns") end
  local pw = W - ML - MR
  local bw = nb > 0 and pw / nb or 0
  local decimals = max(1, step_decimals(width * 100))
  for k = 1, nb do
    local from, to = start + (k - 1) * width, start + k * width
    local x = ML + (k - 1) * bw
    local y = y_of(bins[k], 0, top)
    local cls = to <= 1e-12 and "neg" or "pos"
    buf[#buf + 1] = format('<rect class="%s" data-count="%d" x="%s" y="%s" width="%s" height="%s"><title>%s to %s: %d week%s</title></rect>',
      cls, bins[k], coord(x + 0.5), coord(y), coord(max(bw - 1, 0.5)), coord(H - MB - y),
      percent(from, decimals), percent(to, decimals), bins[k], bins[k] == 1 and "" or "s")
  end
  -- Return labels at round values (a whole number of bins apart, about 7 of them)
  -- on the bin edges.
  if nb > 0 then
    local stride = max(1, floor(nice_step(nb * width, 7) / width + 0.5))
    local label_step = stride * width
    decimals = max(0, step_decimals(label_step * 100))
    local k = ceil(start / label_step - 1e-9)
    while true do
      local edge = (k * label_step - start) / width -- in bins from the left
      if edge > nb + 1e-6 then break end
      buf[#buf + 1] = format('<text class="tick" x="%s" y="%d" text-anchor="middle">%s</text>',
        coord(ML + edge * bw), H - MB + 18, percent(k * label_step, decimals))
      k = k + 1
    end
  end
  buf[#buf + 1] = '</svg>'
  if skipped > 0 then
    buf[#buf + 1] = format('<p class="note">%d week%s without a return left out.</p>', skipped,
      skipped == 1 and "" or "s")
  end
end

---------------------------------------------------------------------------- tables

local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }

-- Shade by sign and size: five steps each way (scale 1 for months, 3 for years).
local function shade(r, scale)
  if not is_finite(r) or r == 0 then return "" end
  local a, level = abs(r) / scale, 5
  if a < 0.01 then level = 1 elseif a < 0.025 then level = 2 elseif a < 0.05 then level = 3
  elseif a < 0.1 then level = 4 end
  return format(' class="%s%d"', r > 0 and "p" or "n", level)
end

local function monthly_table(buf, monthly, note)
  if note then
    buf[#buf + 1] = format('<p class="note">%s</p>', esc(note))
    return
  end
  if #monthly == 0 then
    buf[#buf + 1] = '<p class="note">No equity rows, so no monthly returns.</p>'
    return
  end
  local years, by_year = {}, {}
  for _, m in ipairs(monthly) do
    local y = m.year
    if not by_year[y] then
      by_year[y] = {}
      years[#years + 1] = y
    end
    by_year[y][m.month] = m["return"]
  end
  sort(years)
  buf[#buf + 1] = '<div class="scroll"><table class="monthly"><thead><tr><th>Year</th>'
  for _, name in ipairs(MONTHS) do buf[#buf + 1] = '<th>' .. name .. '</th>' end
  buf[#buf + 1] = '<th>Year</th></tr></thead><tbody>'
  for _, y in ipairs(years) do
    local row = by_year[y]
    buf[#buf + 1] = format('<tr data-year="%d"><th>%d</th>', y, y)
    local acc = 1
    for m = 1, 12 do
      local r = row[m]
      if is_finite(r) then
        acc = acc * (1 + r)
        buf[#buf + 1] = format('<td%s>%s</td>', shade(r, 1), percent(r, 1))
      else
        buf[#buf + 1] = '<td></td>'
      end
    end
    -- The year's return compounds its months (the months hold the whole year's days).
    buf[#buf + 1] = format('<td class="year"><span%s>%s</span></td></tr>', shade(acc - 1, 3), percent(acc - 1, 1))
  end
  buf[#buf + 1] = '</tbody></table></div>'
end

local function summary_table(buf, summary)
  buf[#buf + 1] = '<table class="kv summary"><tbody>'
  local known = {}
  for _, s in ipairs(SUMMARY) do
    local key, label = s[1], s[2]
    known[key] = true
    local v = summary[key]
    buf[#buf + 1] = format('<tr data-key="%s"><th>%s</th><td%s>%s</td></tr>', key, label,
      SIGNED[key] and sign_class(v) or "", summary_value(key, v))
  end
  for _, key in ipairs(sorted_keys(summary)) do
    if not known[key] then
      buf[#buf + 1] = format('<tr data-key="%s"><th>%s</th><td>%s</td></tr>', esc(key), esc(key),
        value_text(summary[key]))
    end
  end
  buf[#buf + 1] = '</tbody></table>'
end

-- The per-account table keeps to the statistics that compare accounts, with short
-- headings so it fits the page; the full set is in the JSON.
local ACCOUNT_COLUMNS = {
  { "start", "Start" }, { "final_equity", "Final equity" }, { "total_return", "Return" },
  { "cagr", "CAGR" }, { "volatility", "Volatility" }, { "sharpe", "Sharpe" },
  { "max_drawdown", "Max DD" }, { "round_trips", "Trades" }, { "win_rate", "Win rate" },
  { "profit_factor", "PF" }, { "exposure", "Exposure" }, { "commissions", "Commissions" },
}

local function accounts_table(buf, accounts)
  if #accounts == 0 then
    buf[#buf + 1] = '<p class="note">No accounts.</p>'
    return
  end
  buf[#buf + 1] = '<div class="scroll"><table class="grid accounts"><thead><tr><th class="text">Account</th><th class="text">Parent</th><th class="text">Status</th>'
  for _, c in ipairs(ACCOUNT_COLUMNS) do buf[#buf + 1] = '<th>' .. c[2] .. '</th>' end
  buf[#buf + 1] = '</tr></thead><tbody>'
  for _, a in ipairs(accounts) do
    a = tbl(a)
    local s = tbl(a.summary)
    buf[#buf + 1] = format('<tr><td class="text">%s</td><td class="text">%s</td><td class="text">%s</td>',
      value_text(a.name), value_text(a.parent), value_text(a.status))
    for _, c in ipairs(ACCOUNT_COLUMNS) do
      local key = c[1]
      buf[#buf + 1] = format('<td%s>%s</td>', SIGNED[key] and sign_class(s[key]) or "", summary_value(key, s[key]))
    end
    buf[#buf + 1] = '</tr>'
  end
  buf[#buf + 1] = '</tbody></table></div>'
end

-- "2000-01-03T14:30:00Z" as "2000-01-03 14:30" (the heading says UTC): narrower
-- columns.  Seconds stay when they are not zero; other text shows as it is.
local function time_text(v)
  if type(v) == "string" then
    local d, hm, sec = v:match("^(%d%d%d%d%-%d%d%-%d%d)T(%d%d:%d%d)(:%d%d[%.%d]*)Z$")
    if d then return d .. " " .. hm .. (sec == ":00" and "" or sec) end
  end
  return value_text(v)
end

local function trades_table(buf, trades)
  local n = #trades
  if n == 0 then
    buf[#buf + 1] = '<p class="note">No trades.</p>'
    return
  end
  buf[#buf + 1] = '<div class="scroll"><table class="grid trades"><thead><tr><th>#</th><th class="text">Account</th><th class="text">Symbol</th><th class="text">Side</th><th>Qty</th><th class="text">Entry (UTC)</th><th>Entry price</th><th class="text">Exit (UTC)</th><th>Exit price</th><th>Bars</th><th>Gross</th><th>Commission</th><th>P&amp;L</th></tr></thead><tbody>'
  for i = 1, min(n, M.max_trades) do
    local tr = tbl(trades[i])
    buf[#buf + 1] = format('<tr><td>%s</td><td class="text">%s</td><td class="text">%s</td><td class="text">%s</td><td>%s</td><td class="text">%s</td><td>%s</td><td class="text">%s</td><td>%s</td><td>%s</td><td%s>%s</td><td>%s</td><td%s>%s</td></tr>',
      value_text(tr.id), value_text(tr.account), value_text(tr.symbol), value_text(tr.side), count(tr.qty),
      time_text(tr.entry_time), price(tr.entry_price), time_text(tr.exit_time), price(tr.exit_price),
      count(tr.bars), sign_class(tr.gross), money(tr.gross), money(tr.commission), sign_class(tr.pnl), money(tr.pnl))
  end
  buf[#buf + 1] = '</tbody></table></div>'
  if n > M.max_trades then
    buf[#buf + 1] = format('<p class="note more-trades">%s more trades in the JSON/CSV output.</p>',
      fixed(n - M.max_trades, 0))
  end
end

local function config_section(buf, result)
  local cfg, strat = tbl(result.config), tbl(result.strategy)
  local fill, comm = tbl(cfg.fill), tbl(cfg.commission)
  local function row(label, text) buf[#buf + 1] = format('<tr><th>%s</th><td>%s</td></tr>', label, text) end
  local function range_end(v, open) return (v == nil or v == null) and open or value_text(v) end
  buf[#buf + 1] = '<table class="kv config"><tbody>'
  row("Strategy file", value_text(strat.file))
  row("Initial cash", is_finite(cfg.initial_cash) and money(cfg.initial_cash) or value_text(cfg.initial_cash))
  row("Dates requested", range_end(cfg.from, "start of data") .. " to " .. range_end(cfg.to, "end of data"))
  local part = fill.participation
  row("Fills", format("slippage %s bps, participation %s", value_text(fill.slippage_bps),
    (part == 0 and "no cap") or (is_finite(part) and percent(part)) or value_text(part)))
  -- The units of rate depend on the model (docs/fills.md#commission).
  local model, rate = comm.model, value_text(comm.rate)
  local ctext = value_text(model)
  if model == "per_share" then ctext = ctext .. ": $" .. rate .. " per share"
  elseif model == "per_contract" then ctext = ctext .. ": $" .. rate .. " per contract"
  elseif model == "percent" then ctext = ctext .. ": " .. rate .. "% of value"
  elseif model ~= "none" then ctext = ctext .. ": rate " .. rate end
  if model ~= "none" then
    ctext = ctext .. format(", at least %s per order, at most %s%% of value",
      is_finite(comm.min) and money(comm.min) or value_text(comm.min), value_text(comm.max_percent))
  end
  row("Commission", ctext)
  -- The option chain model the run priced with (docs/options.md#chains-in-a-backtest).
  local om = tbl(cfg.options)
  if om.model ~= nil then
    local vol, hs, oc = tbl(om.vol), tbl(om.half_spread), tbl(om.commission)
    local vtext = format("realized vol over %s bars x %s", value_text(vol.window), value_text(vol.factor))
    local ivs = {}
    for _, e in ipairs(tbl(vol.iv_series)) do ivs[#ivs + 1] = esc(tostring(e.underlying)) .. " from " .. esc(tostring(e.source)) end
    if #ivs > 0 then vtext = vtext .. "; IV series: " .. concat(ivs, ", ") end
    local real = {}
    for _, e in ipairs(tbl(om.real_chains)) do
      real[#real + 1] = format("%s %s (%s, %s contracts)", esc(tostring(e.underlying)), esc(tostring(e.date)),
        esc(tostring(e.source)), value_text(e.contracts))
    end
    row("Options model", format("%s, rate %s, yield %s; %s; half-spread max(%s, %s of mid); %s per contract%s; real chains: %s",
      esc(tostring(om.model)), value_text(om.rate), value_text(om.div), vtext, value_text(hs.min), value_text(hs.pct),
      value_text(oc.rate), om.allow_naked == true and "; naked options allowed" or "",
      #real > 0 and concat(real, "; ") or "none"))
  end
  local risk = {}
  for _, k in ipairs(sorted_keys(cfg.risk)) do
    risk[#risk + 1] = esc(k) .. " " .. value_text(cfg.risk[k])
  end
  row("Risk", #risk > 0 and concat(risk, ", ") or DASH)
  -- counts: the engine's totals, present even when the orders and ledger tables were
  -- left out of the result (they are written only to the JSON).
  local counts = tbl(result.counts)
  local norders = type(counts.orders) == "number" and counts.orders or #tbl(result.orders)
  local nledger = type(counts.ledger) == "number" and counts.ledger or #tbl(result.ledger)
  row("Orders, ledger postings", format("%s orders, %s postings (in the JSON output)",
    fixed(norders, 0), fixed(nledger, 0)))
  buf[#buf + 1] = '</tbody></table>'

  buf[#buf + 1] = '<h3>Parameters</h3>'
  local keys = sorted_keys(strat.params)
  if #keys == 0 then
    buf[#buf + 1] = '<p class="note">No parameters.</p>'
  else
    buf[#buf + 1] = '<table class="kv params"><tbody>'
    for _, k in ipairs(keys) do row(esc(k), value_text(strat.params[k])) end
    buf[#buf + 1] = '</tbody></table>'
  end

  buf[#buf + 1] = '<h3>Data</h3>'
  local data = tbl(cfg.data)
  if #data == 0 then
    buf[#buf + 1] = '<p class="note">No data feeds.</p>'
  else
    buf[#buf + 1] = '<div class="scroll"><table class="grid data"><thead><tr><th class="text">Symbol</th><th class="text">Timeframe</th><th class="text">Source</th><th>Bars</th><th class="text">First</th><th class="text">Last</th></tr></thead><tbody>'
    for _, d in ipairs(data) do
      d = tbl(d)
      buf[#buf + 1] = format('<tr><td class="text">%s</td><td class="text">%s</td><td class="text">%s</td><td>%s</td><td class="text">%s</td><td class="text">%s</td></tr>',
        value_text(d.symbol), value_text(d.timeframe), value_text(d.source),
        is_finite(d.bars) and count(d.bars) or value_text(d.bars), value_text(d.first), value_text(d.last))
    end
    buf[#buf + 1] = '</tbody></table></div>'
  end
end

---------------------------------------------------------------------------- page

-- System fonts only: a web font would need the network or a large inline blob.
local CSS = [[
:root{--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--pos:#15803d;--neg:#b91c1c}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:16px 20px 40px;font:14px/1.45 system-ui,"DejaVu Sans",Arial,sans-serif;color:var(--fg);background:#fff}
h1{font-size:24px;margin:8px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}
.status{display:inline-block;padding:2px 8px;border-radius:4px;font-weight:600}
.status.ok{background:#dcfce7;color:#166534}.status.error{background:#fee2e2;color:#991b1b}
pre.error{background:#fef2f2;border:1px solid #fecaca;padding:8px 10px;white-space:pre-wrap;overflow-x:auto;font-size:12px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{font-weight:600}table.kv th{text-align:left;color:#374151}table.kv td{text-align:left}
table.grid thead th{text-align:right;background:#f9fafb}table.grid .text{text-align:left}
.scroll{overflow-x:auto}
.pos{color:var(--pos)}.neg{color:var(--neg)}
table.monthly td{min-width:56px}table.trades,table.accounts{font-size:13px}table.monthly td.year{font-weight:600}
.p1{background:#f0fdf4}.p2{background:#dcfce7}.p3{background:#bbf7d0}.p4{background:#86efac}.p5{background:#4ade80}
.n1{background:#fef2f2}.n2{background:#fee2e2}.n3{background:#fecaca}.n4{background:#fca5a5}.n5{background:#f87171}
td.year span{display:inline-block;padding:0 4px;border-radius:3px}
svg.chart{display:block;width:100%;height:auto;max-width:960px;font-size:11px;fill:var(--muted)}
svg.chart .axis line{stroke:#9ca3af;stroke-width:1}svg.chart .axis line.grid{stroke:var(--line)}
svg.chart polyline{fill:none;stroke-width:1.25;stroke-linejoin:round}svg.chart polyline.total{stroke-width:2}
svg.chart polyline.drawdown{stroke:var(--neg);stroke-width:1.5}
svg.chart rect.pos{fill:#22c55e}svg.chart rect.neg{fill:#ef4444}
svg.chart text.note{font-size:14px}
ul.legend{list-style:none;padding:0;margin:6px 0 0;display:flex;flex-wrap:wrap;gap:4px 16px}
.swatch{display:inline-block;width:14px;height:3px;margin-right:6px;vertical-align:middle}
.note{color:var(--muted)}footer{margin-top:32px;color:var(--muted);font-size:12px}
]]

function M.render(result)
  if type(result) ~= "table" then
    error("html.render: expected a result table, got " .. type(result), 2)
  end
  local strat = tbl(result.strategy)
  local name = strat.name
  if name == nil or name == null or name == "" then name = "backtest" end
  local summary = tbl(result.summary)
  local rows = {}
  for _, row in ipairs(tbl(result.equity)) do
    if type(row) == "table" then rows[#rows + 1] = row end
  end
  local n = #rows

  -- The total's series for the drawdown chart and the monthly table.
  local dates, totals, flows = {}, {}, {}
  for i, row in ipairs(rows) do
    dates[i], totals[i] = row.date, row.total
    local f = type(row.flows) == "table" and row.flows.total or 0
    flows[i] = is_finite(f) and f or 0
  end
  local initial = summary.initial_cash
  if not (is_finite(initial) and initial > 0) then initial = tbl(result.config).initial_cash end
  if not (is_finite(initial) and initial > 0) then initial = is_finite(totals[1]) and totals[1] > 0 and totals[1] or 1 end
  -- A malformed row must not cost the whole report: the chart says what went wrong.
  local ok_dd, dd = pcall(stats.drawdown, totals, flows, initial)
  local dd_note
  if not ok_dd then dd, dd_note = {}, "cannot compute the drawdown: " .. tostring(dd) end
  local ok_m, monthly = pcall(stats.monthly_returns, dates, totals, flows, initial)
  local m_note
  if not ok_m then monthly, m_note = {}, "Cannot compute monthly returns: " .. tostring(monthly) end

  local buf = {}
  buf[#buf + 1] = '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
  buf[#buf + 1] = '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
  buf[#buf + 1] = format('<title>%s — alluse backtest</title>\n<style>\n%s</style>\n</head>\n<body>\n', esc(name), CSS)

  local status = result.status == "error" and "error" or (result.status == "ok" and "ok" or nil)
  buf[#buf + 1] = format('<header>\n<h1>%s</h1>\n<p><span class="status %s" data-status="%s">%s</span>',
    esc(name), status or "error", esc(tostring(result.status)), status == "ok" and "Completed" or
    (status == "error" and "Stopped by an error" or "Status " .. value_text(result.status)))
  local s, e = summary.start, summary["end"]
  if type(s) == "string" and type(e) == "string" then
    buf[#buf + 1] = format(' %s to %s, %s trading days', esc(s), esc(e), fixed(n, 0))
  end
  buf[#buf + 1] = '</p>\n'
  if result.status == "error" then
    buf[#buf + 1] = '<p>The results below run up to the failing event.</p>\n'
    buf[#buf + 1] = format('<pre class="error">%s</pre>\n', value_text(result.error))
  end
  buf[#buf + 1] = '</header>\n'

  buf[#buf + 1] = '<section id="config">\n<h2>Configuration</h2>\n'
  config_section(buf, result)
  buf[#buf + 1] = '\n</section>\n<section id="summary">\n<h2>Summary</h2>\n'
  summary_table(buf, summary)
  buf[#buf + 1] = '\n<h3>Accounts</h3>\n'
  accounts_table(buf, tbl(result.accounts))
  buf[#buf + 1] = '\n</section>\n<section id="equity">\n<h2>Equity</h2>\n'
  equity_chart(buf, result, rows, dates)
  buf[#buf + 1] = '\n</section>\n<section id="drawdown">\n<h2>Drawdown</h2>\n'
  drawdown_chart(buf, dd, dates, dd_note)
  buf[#buf + 1] = '\n</section>\n<section id="weekly">\n<h2>Weekly returns</h2>\n'
  histogram(buf, tbl(result.weekly_returns))
  buf[#buf + 1] = format('\n<p class="note">%s weeks.</p>\n</section>\n<section id="monthly">\n<h2>Monthly returns</h2>\n',
    fixed(#tbl(result.weekly_returns), 0))
  monthly_table(buf, monthly, m_note)
  buf[#buf + 1] = format('\n</section>\n<section id="trades">\n<h2>Trades (%s)</h2>\n', fixed(#tbl(result.trades), 0))
  trades_table(buf, tbl(result.trades))
  buf[#buf + 1] = '\n</section>\n'
  -- The ALL-USE protocol's sections, when the strategy recorded its weeks.
  if type(result.journal) == "table" and type(result.journal.weeks) == "table" and #result.journal.weeks > 0 then
    require("alluse.report.protocol").render(buf, result, { esc = esc, money = money, percent = percent, fixed = fixed })
  end
  buf[#buf + 1] = format('<footer>alluse %s, result schema version %s.</footer>\n</body>\n</html>\n',
    esc(version.version), value_text(result.version))
  return concat(buf)
end

return M
