-- alluse.series: columns as bounds-checked FFI arrays, appends, views, slices, and
-- memory that stays valid for as long as any column of it is held.
local t = require("alluse.test")
local series = require("alluse.series")

local s = series.new("TEST", "1m")
t.is(s.n, 0, "a new series is empty")
t.is(#s.close, 0, "its columns are empty")
for i = 1, 3000 do   -- past the first reallocation (1024 rows)
  s:append(i * 60e6, i, i + 1, i - 0.5, i + 0.25, i * 10)
end
t.is(s.n, 3000, "3000 bars appended")
t.is(#s.close, 3000, "# of a column is its length")
t.is(s.close[0], 1.25, "index 0 is the first bar")
t.is(s.close[2999], 3000.25, "index n-1 is the last bar")
t.is(s.time[2999], 3000 * 60e6, "times come back as exact numbers")
t.is(s.volume[10], 110, "volume column")
t.is(s.adj_close, nil, "no adj_close unless asked")
t.is(s.symbol, "TEST", "symbol")
t.is(s.timeframe, "1m", "timeframe name")
t.like(tostring(s), "TEST 1m: 3000 bars", "tostring")
t.raises(function() return s.close[3000] end, "out of range 0..2999", "reading past the end raises")
t.raises(function() return s.close[-1] end, "out of range", "negative index raises")
t.raises(function() return s.close[1.5] end, "out of range", "fractional index raises")
t.raises(function() s.close[0] = 5 end, "read%-only", "columns are read-only")
t.raises(function() s:append(3000 * 60e6, 1, 1, 1, 1, 1) end, "not after the last bar", "time must increase")
t.raises(function() s:append("x", 1, 1, 1, 1, 1) end, "time must be a number", "non-number time raises")
t.raises(function() s:append(1e15 + 0.5, 1, 1, 1, 1, 1) end, "integer microseconds", "fractional time raises")
t.raises(function() s:append(4e12, 0 / 0, 1, 1, 1, 1) end, "open must be a number", "NaN price raises")
t.raises(function() series.new("", "1d") end, "symbol", "empty symbol raises")
t.raises(function() series.new(string.rep("A", 40), "1d") end, "symbol", "long symbol raises")
t.raises(function() series.new("X", "7q") end, "unknown timeframe '7q'", "bad timeframe raises")
local a = series.new("ADJ", "1d", { adj_close = true })
a:append(1e12, 1, 2, 0.5, 1.5, 100, 1.4)
t.is(a.adj_close[0], 1.4, "adj_close kept when asked")

-- lower_bound, views and slices: no copy, same memory.
t.is(s:lower_bound(0), 0, "lower_bound before the start")
t.is(s:lower_bound(60e6 * 10), 9, "lower_bound on a bar")
t.is(s:lower_bound(60e6 * 10 + 1), 10, "lower_bound between bars")
t.is(s:lower_bound(1e18), 3000, "lower_bound after the end")
local v = s:slice(60e6 * 100, 60e6 * 200)
t.is(v.n, 100, "slice [from, to) has to - from bars")
t.is(v.time[0], 60e6 * 100, "slice starts at from")
t.is(v.time[99], 60e6 * 199, "slice ends before to")
t.ok(v.close.v == s.close.v + 99, "a slice shares the parent's memory (no copy)")
local vv = v:view(10, 20)
t.is(vv.close[0], s.close[109], "a view of a view indexes the same data")
t.raises(function() v:append(1e15, 1, 1, 1, 1, 1) end, "view", "a view cannot grow")
t.is(s:slice(nil, 60e6 * 3).n, 2, "open start")
t.is(s:slice(60e6 * 2999).n, 2, "open end")
t.is(s:slice(60e6 * 5000, 60e6 * 6000).n, 0, "empty slice")

-- Columns keep their memory alive after the series (and its views) are gone.
do
  local keep = vv.close
  local first = keep[0]
  s, v, vv = nil, nil, nil
  for _ = 1, 3 do collectgarbage() end
  local junk = {}
  for i = 1, 2e5 do junk[i] = { i } end   -- churn the allocator
  t.is(keep[0], first, "a held column survives its series being collected")
  t.is(#keep, 10, "and keeps its length")
end

-- A JIT-compiled loop over a column through [] gives the same sum as the raw pointer.
do
  local big = series.new("BIG", "1m")
  for i = 1, 100000 do big:append(i * 60e6, 1, 1, 1, i % 7, 1) end
  local c, sum1, sum2 = big.close, 0, 0
  for i = 0, #c - 1 do sum1 = sum1 + c[i] end
  for i = 0, #c - 1 do sum2 = sum2 + c.v[i] end
  t.is(sum1, sum2, "checked and raw access agree")
end

-- reserve: one allocation for a known count; the columns still read right after it.
do
  local r = series.new("RES", "1d")
  r:append(1e6, 1, 2, 0.5, 1.5, 10)
  r:reserve(5000)
  t.is(r._cs.cap, 5000LL, "reserve sets the capacity")
  t.is(r.close[0], 1.5, "the bars before it are still there")
  for i = 2, 5000 do r:append(i * 1e6, 1, 2, 0.5, i, 10) end
  t.is(r._cs.cap, 5000LL, "appending up to it allocates nothing more")
  t.is(r.close[4999], 5000, "and the last bar reads back")
  t.raises(function() r:view(0, 2):reserve(10) end, "cannot grow", "a view cannot reserve")
  t.is(series.timeframe_name("60m"), "1h", "timeframe_name: 60m is 1h")
  t.is(series.timeframe_name("daily"), "1d", "timeframe_name: daily is 1d")
  t.raises(function() series.timeframe_name("7q") end, "unknown timeframe", "timeframe_name: an unknown one raises")
end
