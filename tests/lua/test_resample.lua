-- Resampling checked against the definitions, computed here bar by bar on the real
-- SPY minute samples (extended hours included) and the real SPY daily file.
local t = require("alluse.test")
local series = require("alluse.series")
local time = require("alluse.time")
local calendar = require("alluse.calendar")

-- Plain Lua reading of the shipped files: independent of the C CSV reader.
local function read_rows(path)
  local rows = {}
  local f = assert(io.open(path))
  f:read("*l")
  for line in f:lines() do
    local ts, o, h, l, c, v = line:match("^([^,]+),([^,]+),([^,]+),([^,]+),([^,]+),([^,]+)")
    rows[#rows + 1] = { ts = ts, o = tonumber(o), h = tonumber(h), l = tonumber(l), c = tonumber(c), v = tonumber(v) }
  end
  f:close()
  return rows
end

local minute = series.new("SPY", "1m")
local days = { "2025-07-08", "2025-07-09", "2025-07-10", "2025-07-11", "2025-07-14" }
for _, d in ipairs(days) do
  for _, r in ipairs(read_rows("data/SPY-1min-" .. d .. ".csv")) do
    minute:append(assert(time.parse(r.ts)), r.o, r.h, r.l, r.c, r.v)
  end
end
t.is(minute.n, 942 + 937 + 935 + 941 + 941, "all minute bars loaded")

-- The reference: group bars by a key computed from the New York wall clock.
local function reference(s, key_of)
  local out, cur = {}, nil
  for i = 0, s.n - 1 do
    local key, label = key_of(s.time[i])
    if key then
      if not cur or cur.key ~= key then
        cur = { key = key, time = label, open = s.open[i], high = s.high[i], low = s.low[i], close = 0, volume = 0 }
        out[#out + 1] = cur
      end
      cur.high = math.max(cur.high, s.high[i])
      cur.low = math.min(cur.low, s.low[i])
      cur.close = s.close[i]
      cur.volume = cur.volume + s.volume[i]
    end
  end
  return out
end

local function compare(got, want, what)
  local ok, why = got.n == #want, "count " .. got.n .. " vs " .. #want
  if ok then
    for i = 0, got.n - 1 do
      local w = want[i + 1]
      for _, f in ipairs({ "time", "open", "high", "low", "close", "volume" }) do
        if got[f][i] ~= w[f] then
          ok, why = false, string.format("bar %d %s: %s vs %s", i, f, tostring(got[f][i]), tostring(w[f]))
          break
        end
      end
      if not ok then break end
    end
  end
  t.ok(ok, what .. (ok and "" or (": " .. why)))
end

local function ny_minutes(us)
  local f = time.to_ny(us)
  return f, f.hour * 60 + f.min
end

for _, m in ipairs({ 5, 15, 30, 60 }) do
  local tf = m == 60 and "1h" or (m .. "m")
  local key_of = function(us, regular)
    local f, mins = ny_minutes(us)
    local since = mins - 570
    local bucket = math.floor(since / m) * m + 570
    local label = time.from_ny(f.year, f.month, f.day, math.floor(bucket / 60), bucket % 60, 0)
    return label, label
  end
  compare(assert(minute:resample(tf)), reference(minute, key_of), tf .. " bars: every bucket aligned to 09:30 ET, extended hours kept")
  local regular = reference(minute, function(us)
    local f, mins = ny_minutes(us)
    if mins < 570 or mins >= 960 then return nil end
    return key_of(us)
  end)
  compare(assert(minute:resample(tf, { regular = true })), regular, tf .. " bars, regular session only")
end

local r5 = assert(minute:resample("5m", { regular = true }))
t.is(time.format(r5.time[0], { tz = "America/New_York" }), "2025-07-08T09:30:00-04:00", "the first regular 5m bar opens 09:30 ET")
t.is(r5.n, 5 * 78, "78 five-minute bars per regular session")
local h = assert(minute:resample("1h", { regular = true }))
t.is(h.n, 5 * 7, "7 hourly bars per session (the last one 15:30-16:00)")

local daily_ref = reference(minute, function(us)
  local f, mins = ny_minutes(us)
  if mins < 570 or mins >= 960 then return nil end
  local label = time.from_ny(f.year, f.month, f.day, 9, 30, 0)
  return label, label
end)
compare(assert(minute:resample("1d")), daily_ref, "daily bars from minutes: regular session only")
local ext_ref = reference(minute, function(us)
  local f = time.to_ny(us)
  local label = time.from_ny(f.year, f.month, f.day, 9, 30, 0)
  return label, label
end)
compare(assert(minute:resample("1d", { extended = true })), ext_ref, "daily bars with extended hours")

-- Daily bars from the real file against the daily CSV's own values: the regular
-- session's open and close should be close to Yahoo's (different feeds, same day).
local spy_daily = series.new("SPY", "1d")
for _, r in ipairs(read_rows("data/SPY-daily.csv")) do
  local y, mo, d = r.ts:match("(%d+)-(%d+)-(%d+)")
  spy_daily:append(time.from_ny(tonumber(y), tonumber(mo), tonumber(d), 9, 30, 0), r.o, r.h, r.l, r.c, r.v)
end
local from_minutes = assert(minute:resample("1d"))
local i = spy_daily:lower_bound(from_minutes.time[0])
t.is(spy_daily.time[i], from_minutes.time[0], "the 09:30 ET stamps of the two daily series line up")
t.near(from_minutes.close[0], spy_daily.close[i], 0.05, "2025-07-08 close from minutes matches the daily file")

-- Weekly and monthly from 26 years of daily bars.
local weekly_ref = reference(spy_daily, function(us)
  local f = time.to_ny(us)
  local monday = time.from_ny(f.year, f.month, f.day, 9, 30, 0) - (f.wday - 1) * 86400e6
  local mf = time.to_ny(monday)
  local label = time.from_ny(mf.year, mf.month, mf.day, 9, 30, 0)   -- DST-safe 09:30
  return label, label
end)
local weekly = assert(spy_daily:resample("1w"))
compare(weekly, weekly_ref, "weekly bars: Monday to Friday, labelled by the Monday")
t.is(time.to_ny(weekly.time[100]).wday, 1, "weekly labels are Mondays")
local monthly_ref = reference(spy_daily, function(us)
  local f = time.to_ny(us)
  local label = time.from_ny(f.year, f.month, 1, 9, 30, 0)
  return label, label
end)
compare(assert(spy_daily:resample("1mo")), monthly_ref, "monthly bars labelled by the 1st")

-- Early closes: the regular session ends at 13:00 on those days.
do
  local s = series.new("X", "1m")
  local open = time.from_ny(2024, 11, 29, 9, 30, 0)   -- the day after Thanksgiving
  for k = 0, 389 do s:append(open + k * 60e6, 1, 2, 0.5, 1 + k, 1) end
  local d = assert(s:resample("1d"))
  local _, close_us = calendar.session("2024-11-29")
  t.is(close_us, time.from_ny(2024, 11, 29, 13, 0, 0), "calendar: 2024-11-29 closes 13:00")
  t.is(d.volume[0], 210, "an early-close day keeps 09:30-13:00 (210 minutes)")
  t.is(d.close[0], 1 + 209, "its close is the 12:59 bar's")
end

-- Refusals.
local _, e1 = minute:resample("1m")
t.like(e1, "not longer than", "same timeframe refused")
local _, e2 = assert(minute:resample("5m")):resample("7m")
t.like(e2, "not a whole multiple", "a target that is not a multiple refused")
local _, e3 = spy_daily:resample("1h")
t.like(e3, "not longer than", "daily to hourly refused")
t.raises(function() minute:resample("2d") end, "unknown timeframe", "unknown timeframe raises")
