-- alluse.indicators: every indicator, streaming and run(), against reference
-- implementations written here from the definitions (two-pass sums, no running
-- state beyond what the definition itself recurses on), on the shipped daily data
-- (SPY and AAPL, 6 642 bars each), to 1e-9 relative.  Then warm-up boundaries,
-- reset, value, run's sources, misuse, the sandbox and the JIT.
local t = require("alluse.test")
local ind = require("alluse.indicators")
local ffi = require("ffi")

local abs, sqrt, log, huge, nan = math.abs, math.sqrt, math.log, math.huge, 0 / 0
local format = string.format

-- ---- data ----

local function data_dir()
  local src = debug.getinfo(1, "S").source
  local root = src:match("^@(.-)tests/lua/[^/]+$") or ""
  return root .. "data/"
end

-- date,open,high,low,close,volume with a header line.
local function load_bars(name)
  local bars = { high = {}, low = {}, close = {}, name = name }
  local first = true
  for line in io.lines(data_dir() .. name .. "-daily.csv") do
    if first then
      first = false
    else
      local _, _, h, l, c = line:match("^([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),")
      local i = #bars.close + 1
      bars.high[i], bars.low[i], bars.close[i] = tonumber(h), tonumber(l), tonumber(c)
    end
  end
  return bars
end

local DATA = { load_bars("SPY"), load_bars("AAPL") }
for _, d in ipairs(DATA) do
  t.ok(#d.close > 6000 and #d.high == #d.close and #d.low == #d.close,
    format("%s: %d bars of high, low, close", d.name, #d.close))
end

-- ---- reference implementations (1-based; nil where there is no value yet) ----

local function window_sum(x, i, n)
  local s = 0
  for j = i - n + 1, i do s = s + x[j] end
  return s
end

local function ref_sma(x, n)
  local out = {}
  for i = n, #x do out[i] = window_sum(x, i, n) / n end
  return out
end

-- EMA: the first value is the mean of the first n inputs (at input n), then
-- k*x + (1-k)*prev with k = 2/(n+1).  `from` starts the seed later (MACD's fast EMA).
local function ref_ema(x, n, from)
  from = from or 1
  local out, k = {}, 2 / (n + 1)
  local i0 = from + n - 1
  if i0 > #x then return out end
  local prev = window_sum(x, i0, n) / n
  out[i0] = prev
  for i = i0 + 1, #x do
    if x[i] == nil then break end
    prev = k * x[i] + (1 - k) * prev
    out[i] = prev
  end
  return out
end

local function ref_wma(x, n)
  local out, div = {}, n * (n + 1) / 2
  for i = n, #x do
    local s = 0
    for w = 1, n do s = s + w * x[i - n + w] end
    out[i] = s / div
  end
  return out
end

-- Wilder: averages of the first n gains/losses (changes 2..n+1), then
-- avg = (avg*(n-1) + g)/n; RSI = 100 * gain / (gain + loss), 0 when both are 0.
local function ref_rsi(x, n)
  local out, g, l = {}, 0, 0
  local function rsi(a, b) return a + b == 0 and 0 or 100 * a / (a + b) end
  for i = 2, #x do
    local ch = x[i] - x[i - 1]
    local gi, li = math.max(ch, 0), math.max(-ch, 0)
    if i <= n + 1 then
      g, l = g + gi, l + li
      if i == n + 1 then
        g, l = g / n, l / n
        out[i] = rsi(g, l)
      end
    else
      g, l = (g * (n - 1) + gi) / n, (l * (n - 1) + li) / n
      out[i] = rsi(g, l)
    end
  end
  return out
end

local function ref_tr(h, l, c)
  local out = {}
  for i = 2, #c do
    out[i] = math.max(h[i], c[i - 1]) - math.min(l[i], c[i - 1])
  end
  return out
end

local function ref_atr(h, l, c, n)
  local tr, out = ref_tr(h, l, c), {}
  local a = 0
  for i = 2, #c do
    if i <= n + 1 then
      a = a + tr[i]
      if i == n + 1 then a = a / n; out[i] = a end
    else
      a = (a * (n - 1) + tr[i]) / n
      out[i] = a
    end
  end
  return out
end

-- Two-pass: mean first, then the mean of squared deviations (population) or
-- the sum over n - 1 (sample).
local function window_sd(x, i, n, sample)
  local mean = window_sum(x, i, n) / n
  local ss = 0
  for j = i - n + 1, i do ss = ss + (x[j] - mean) ^ 2 end
  return sqrt(ss / (sample and n - 1 or n)), mean
end

local function ref_stddev(x, n)
  local out = {}
  for i = n, #x do out[i] = window_sd(x, i, n) end
  return out
end

local function ref_bollinger(x, n, ku, kd)
  local mid, up, lo = {}, {}, {}
  for i = n, #x do
    local sd, mean = window_sd(x, i, n)
    mid[i], up[i], lo[i] = mean, mean + ku * sd, mean - kd * sd
  end
  return mid, up, lo
end

-- MACD with TA-Lib's alignment: the fast EMA is seeded with the mean of the `fast`
-- inputs that end where the slow EMA's seed ends (input slow), the signal EMA with
-- the mean of the first `sig` MACD values; output from input slow + sig - 1.
local function ref_macd(x, fast, slow, sig)
  local ef, es = ref_ema(x, fast, slow - fast + 1), ref_ema(x, slow)
  local line = {}
  for i = slow, #x do line[i] = ef[i] - es[i] end
  local s = ref_ema(line, sig, slow)
  local ol, os, oh = {}, {}, {}
  for i = slow + sig - 1, #x do
    ol[i], os[i], oh[i] = line[i], s[i], line[i] - s[i]
  end
  return ol, os, oh
end

local function ref_roc(x, n)
  local out = {}
  for i = n + 1, #x do
    local p = x[i - n]
    out[i] = p ~= 0 and (x[i] / p - 1) * 100 or 0
  end
  return out
end

local function ref_extreme(x, n, pick)
  local out = {}
  for i = n, #x do
    local m = x[i]
    for j = i - n + 1, i do m = pick(m, x[j]) end
    out[i] = m
  end
  return out
end

local function ref_rvol(x, n, periods)
  local r, out = {}, {}
  for i = 2, #x do r[i] = log(x[i] / x[i - 1]) end
  for i = n + 1, #x do out[i] = window_sd(r, i, n, true) * sqrt(periods) end
  return out
end

-- ---- comparison ----

local REL, FLOOR = 1e-9, 1e-12

-- nil where want is nil, else within REL relative (FLOOR absolute near 0).
-- Returns nil or a description of the first difference, the worst relative error
-- among values held to REL, and how many values near 0 passed by the floor alone.
local function compare(got, want, count)
  local worst, floored = 0, 0
  for i = 1, count do
    local g, w = got[i], want[i]
    if w == nil then
      if g ~= nil then return format("index %d: got %.17g, expected nil (not warm)", i - 1, g), worst end
    else
      if type(g) ~= "number" then return format("index %d: got %s, expected %.17g", i - 1, tostring(g), w), worst end
      local err = abs(g - w)
      if err > REL * abs(w) then
        if err > FLOOR then
          return format("index %d: got %.17g, expected %.17g (relative error %.3g)", i - 1, g, w,
            err / abs(w)), worst, floored
        end
        floored = floored + 1
      elseif w ~= 0 then
        worst = math.max(worst, err / abs(w))
      end
    end
  end
  return nil, worst, floored
end

-- A run() output (double[n], NaN for not warm) as a 1-based table with nils.
local function from_array(a, count)
  local out = {}
  for i = 1, count do
    local v = a[i - 1]
    if v == v then out[i] = v end
  end
  return out
end

local function first_index(out, count)
  for i = 1, count do if out[i] ~= nil then return i - 1 end end
end

local worst_overall, floored_overall = 0, 0

-- Check one indicator on one data set: streaming and run() against the references,
-- and that the first value appears exactly at lookback.
local function check(label, make, refs, inputs, nout)
  local count = #inputs[1]
  local obj = make()
  local got = {}
  for k = 1, nout do got[k] = {} end
  for i = 1, count do
    local a, b, c
    if #inputs == 3 then
      a, b, c = obj:update(inputs[1][i], inputs[2][i], inputs[3][i])
    else
      a, b, c = obj:update(inputs[1][i])
    end
    got[1][i] = a
    if nout == 3 then got[2][i], got[3][i] = b, c end
  end
  local names = { "", " (2nd output)", " (3rd output)" }
  local ok, msg = true, nil
  for k = 1, nout do
    local d, worst, floored = compare(got[k], refs[k], count)
    worst_overall = math.max(worst_overall, worst)
    floored_overall = floored_overall + floored
    if d then ok, msg = false, d .. names[k]; break end
  end
  if not t.ok(ok, label .. ": update() matches the definition") then t.diag(msg) end

  local arrays
  if #inputs == 3 then
    arrays = { make():run(inputs[1], inputs[2], inputs[3]) }
  else
    arrays = { make():run(inputs[1]) }
  end
  ok, msg = #arrays == nout, format("run returned %d arrays", #arrays)
  for k = 1, ok and nout or 0 do
    local d, worst, floored = compare(from_array(arrays[k], count), refs[k], count)
    worst_overall = math.max(worst_overall, worst)
    floored_overall = floored_overall + floored
    if d then ok, msg = false, d .. names[k]; break end
  end
  if not t.ok(ok, label .. ": run() matches the definition") then t.diag(msg) end

  local first = first_index(got[1], count)
  t.is(first, obj:lookback(), label .. ": first value at index " .. obj:lookback())
end

for _, d in ipairs(DATA) do
  local c, h, l = d.close, d.high, d.low
  local C = { c }
  for _, n in ipairs({ 1, 2, 20, 200 }) do
    check(format("%s sma(%d)", d.name, n), function() return ind.sma(n) end, { ref_sma(c, n) }, C, 1)
  end
  for _, n in ipairs({ 1, 10, 50 }) do
    check(format("%s ema(%d)", d.name, n), function() return ind.ema(n) end, { ref_ema(c, n) }, C, 1)
  end
  for _, n in ipairs({ 1, 9, 30 }) do
    check(format("%s wma(%d)", d.name, n), function() return ind.wma(n) end, { ref_wma(c, n) }, C, 1)
  end
  for _, n in ipairs({ 2, 14 }) do
    check(format("%s rsi(%d)", d.name, n), function() return ind.rsi(n) end, { ref_rsi(c, n) }, C, 1)
  end
  check(d.name .. " true_range()", function() return ind.true_range() end, { ref_tr(h, l, c) },
    { h, l, c }, 1)
  for _, n in ipairs({ 1, 14 }) do
    check(format("%s atr(%d)", d.name, n), function() return ind.atr(n) end,
      { ref_atr(h, l, c, n) }, { h, l, c }, 1)
  end
  for _, n in ipairs({ 2, 20, 100 }) do
    check(format("%s stddev(%d)", d.name, n), function() return ind.stddev(n) end,
      { ref_stddev(c, n) }, C, 1)
  end
  check(d.name .. " bollinger(20, 2, 2)", function() return ind.bollinger(20) end,
    { ref_bollinger(c, 20, 2, 2) }, C, 3)
  check(d.name .. " bollinger(10, 1.5, 2.5)", function() return ind.bollinger(10, 1.5, 2.5) end,
    { ref_bollinger(c, 10, 1.5, 2.5) }, C, 3)
  check(d.name .. " macd(12, 26, 9)", function() return ind.macd() end,
    { ref_macd(c, 12, 26, 9) }, C, 3)
  check(d.name .. " macd(5, 35, 5)", function() return ind.macd(5, 35, 5) end,
    { ref_macd(c, 5, 35, 5) }, C, 3)
  for _, n in ipairs({ 1, 10 }) do
    check(format("%s roc(%d)", d.name, n), function() return ind.roc(n) end, { ref_roc(c, n) }, C, 1)
  end
  for _, n in ipairs({ 1, 5, 30 }) do
    check(format("%s max(%d)", d.name, n), function() return ind.max(n) end,
      { ref_extreme(h, n, math.max) }, { h }, 1)
    check(format("%s min(%d)", d.name, n), function() return ind.min(n) end,
      { ref_extreme(l, n, math.min) }, { l }, 1)
  end
  check(d.name .. " realized_vol(20)", function() return ind.realized_vol(20) end,
    { ref_rvol(c, 20, 252) }, C, 1)
  check(d.name .. " realized_vol(2, 365)", function() return ind.realized_vol(2, 365) end,
    { ref_rvol(c, 2, 365) }, C, 1)
end
t.diag(format("worst relative error against the definitions: %.3g; values near 0 that "
  .. "passed by the %g absolute floor alone (update and run counted apart): %d", worst_overall,
  FLOOR, floored_overall))

-- ---- warm-up boundaries by hand ----

do
  local function firsts(obj, n, three)
    local out = {}
    for i = 1, n do
      local v
      if three then v = obj:update(10 + i, 9 + i, 9.5 + i) else v = obj:update(10 + i % 3) end
      out[i] = v ~= nil
    end
    local first
    for i = 1, n do if out[i] then first = i - 1 break end end
    return first
  end
  t.is(firsts(ind.sma(5), 10), 4, "sma(5): first value at index 4")
  t.is(firsts(ind.ema(5), 10), 4, "ema(5): first value at index 4")
  t.is(firsts(ind.wma(5), 10), 4, "wma(5): first value at index 4")
  t.is(firsts(ind.rsi(14), 20), 14, "rsi(14): first value at index 14")
  t.is(firsts(ind.atr(14), 20, true), 14, "atr(14): first value at index 14")
  t.is(firsts(ind.true_range(), 5, true), 1, "true_range: first value at index 1")
  t.is(firsts(ind.stddev(5), 10), 4, "stddev(5): first value at index 4")
  t.is(firsts(ind.bollinger(5), 10), 4, "bollinger(5): first value at index 4")
  t.is(firsts(ind.macd(), 40), 33, "macd(12, 26, 9): first value at index 33")
  t.is(firsts(ind.roc(10), 20), 10, "roc(10): first value at index 10")
  t.is(firsts(ind.max(5), 10), 4, "max(5): first value at index 4")
  t.is(firsts(ind.min(5), 10), 4, "min(5): first value at index 4")
  t.is(firsts(ind.realized_vol(20), 30), 20, "realized_vol(20): first value at index 20")
end

-- ---- outputs by hand ----

do
  local s = ind.sma(3)
  t.is(s:update(1), nil, "sma(3) update 1: nil")
  t.is(s:update(2), nil, "sma(3) update 2: nil")
  t.is(s:update(6), 3, "sma(3) update 3: the mean 3")
  t.is(s:value(), 3, "value() is the last output")
  local b = ind.bollinger(2, 2, 1)
  b:update(1)
  local m, u, lo = b:update(3)
  t.is_deeply({ m, u, lo }, { 2, 4, 1 }, "bollinger(2, 2, 1) of 1, 3: middle, upper, lower")
  t.is_deeply({ b:value() }, { 2, 4, 1 }, "bollinger value() returns all three")
  local mac = ind.macd(2, 3, 2)
  for _, x in ipairs({ 1, 2, 4 }) do mac:update(x) end
  local line, sig, hist = mac:update(8)
  t.ok(abs(line - 7 / 6) < 1e-15 and abs(sig - 11 / 12) < 1e-15 and abs(hist - 0.25) < 1e-15,
    "macd(2, 3, 2) of 1, 2, 4, 8: 7/6, 11/12, 1/4 (fast seeded from input 1)")
  t.is(ind.rsi(2):run({ 5, 5, 5 })[2], 0, "rsi of a flat series is 0, as TA-Lib")
  t.is(ind.roc(1):run({ 0, 5 })[1], 0, "roc after a 0 is 0, as TA-Lib")
  t.is(ind.stddev(3):run({ 1.1, 7.3, 2.2, 3.3, 3.3, 3.3 })[5], 0,
    "stddev of a window of equal values is exactly 0")
  t.is(ind.realized_vol(2):run({ 10, 10, 10, 10 })[3], 0, "realized vol of a flat price is 0")
end

-- Bollinger's middle band is the SMA, bit for bit.
do
  local c = DATA[1].close
  local mid = ind.bollinger(20):run(c)
  local sma = ind.sma(20):run(c)
  local same = true
  for i = 19, #c - 1 do if mid[i] ~= sma[i] then same = false break end end
  t.ok(same, "bollinger(20) middle == sma(20) exactly")
end

-- ---- reset, value, lookback, params, tostring ----

do
  local c = DATA[2].close
  local r = ind.rsi(14)
  for i = 1, 100 do r:update(c[i]) end
  t.ok(r:value() ~= nil, "rsi: value after 100 updates")
  t.is(r:reset(), r, "reset returns the indicator")
  t.is(r:value(), nil, "after reset, value() is nil")
  local a, b = {}, {}
  for i = 1, 100 do a[i] = r:update(c[i]) end
  local fresh = ind.rsi(14)
  for i = 1, 100 do b[i] = fresh:update(c[i]) end
  t.is_deeply(a, b, "after reset, the same outputs as a new rsi(14)")

  local m = ind.macd()
  for i = 1, 50 do m:update(c[i]) end
  m:reset()
  t.is(m:value(), nil, "macd reset")
  t.is(m:lookback(), 33, "macd lookback 33")
  t.is_deeply({ m:params() }, { 12, 26, 9 }, "macd params")
  t.is_deeply({ ind.bollinger(20, 2.5):params() }, { 20, 2.5, 2.5 }, "bollinger k_dn defaults to k_up")
  t.is_deeply({ ind.realized_vol(21):params() }, { 21, 252 }, "realized_vol periods defaults to 252")
  t.is(select("#", ind.true_range():params()), 0, "true_range has no params")
  t.is(tostring(ind.sma(20)), "sma(20)", "tostring sma")
  t.is(tostring(ind.bollinger(20, 2, 1.5)), "bollinger(20, 2, 1.5)", "tostring bollinger")
  t.is(tostring(ind.macd()), "macd(12, 26, 9)", "tostring macd")
  t.is(tostring(ind.true_range()), "true_range()", "tostring true_range")
  t.is(ind.atr(14):lookback(), 14, "atr(14) lookback 14")
  t.is(ind.sma(20):lookback(), 19, "sma(20) lookback 19")
end

-- ---- run(): sources, continuation, n ----

do
  local c = DATA[1].close
  local count = #c
  local arr = ffi.new("double[?]", count)
  for i = 1, count do arr[i - 1] = c[i] end
  local want = ind.ema(10):run(c)
  local function same_as(got, n)
    for i = 0, (n or count) - 1 do
      if not (got[i] == want[i] or (got[i] ~= got[i] and want[i] ~= want[i])) then return false end
    end
    return true
  end
  t.ok(ffi.istype("double[?]", want) and ffi.sizeof(want) == 8 * count, "run returns a double[n]")
  t.ok(same_as(ind.ema(10):run(arr)), "run over a double array: n from its size")
  t.ok(same_as(ind.ema(10):run(ffi.cast("double *", arr), count)), "run over a pointer with n")
  t.ok(same_as(ind.ema(10):run(ffi.cast("const double *", arr), count)), "run over a const pointer with n")
  t.ok(same_as(ind.ema(10):run({ v = arr, n = count })), "run over a column {v, n}")
  ffi.cdef("typedef struct test_ind_col { double *v; int64_t n; } test_ind_col;")
  local col = ffi.new("test_ind_col", arr, count)
  t.ok(same_as(ind.ema(10):run(col)), "run over a column cdata with v and n (int64)")
  local part = ind.ema(10):run(c, 100)
  t.ok(ffi.sizeof(part) == 800 and same_as(part, 100), "run(src, n) takes the first n")
  t.is(ffi.sizeof(ind.ema(10):run({})), 0, "run over an empty table: an empty array")

  local e = ind.ema(10)
  local a1 = e:run(c, 3000)
  local a2 = e:run(ffi.cast("double *", arr) + 3000, count - 3000)
  local ok = true
  for i = 0, count - 1 do
    local g = i < 3000 and a1[i] or a2[i - 3000]
    if not (g == want[i] or (g ~= g and want[i] ~= want[i])) then ok = false break end
  end
  t.ok(ok, "run continues the stream: run(first part), run(rest) == run(all)")
  t.is(e:value(), want[count - 1], "after run, value() is the last output")
  t.is(e:update(c[count]), (c[count] - want[count - 1]) * (2 / 11) + want[count - 1],
    "after run, update() continues from the end")

  local bars = DATA[2]
  local ah = ffi.new("double[?]", #bars.high)
  for i = 1, #bars.high do ah[i - 1] = bars.high[i] end
  local x1 = ind.atr(14):run(bars.high, bars.low, bars.close)
  local x2 = ind.atr(14):run(ah, bars.low, { v = ffi.new("double[?]", #bars.close, bars.close), n = #bars.close })
  local same = true
  for i = 0, #bars.close - 1 do
    if not (x1[i] == x2[i] or (x1[i] ~= x1[i] and x2[i] ~= x2[i])) then same = false end
  end
  t.ok(same, "atr run over mixed sources (array, table, column)")
end

-- ---- misuse raises, naming the caller's line ----

do
  local here = debug.getinfo(1, "S").short_src
  local function raises_here(fn, pattern, name)
    local ok, err = pcall(fn)
    if not t.ok(not ok and tostring(err):find(pattern) ~= nil and tostring(err):find(here, 1, true) == 1,
      name) then
      t.diag(tostring(err))
    end
  end
  raises_here(function() ind.sma(0) end, "indicators.sma: n must be an integer in 1..1000000, got 0",
    "sma(0) raises")
  raises_here(function() ind.rsi(-1) end, "got %-1", "rsi(-1) raises")
  raises_here(function() ind.ema(2.5) end, "got 2.5", "ema(2.5) raises")
  raises_here(function() ind.wma("14") end, 'got "14"', "wma('14') raises")
  raises_here(function() ind.atr() end, "got nil", "atr() raises")
  raises_here(function() ind.stddev(1e6 + 1) end, "1000001", "stddev above the maximum raises")
  raises_here(function() ind.max(0 / 0) end, "got nan", "max(nan) raises")
  raises_here(function() ind.min(huge) end, "got inf", "min(inf) raises")
  raises_here(function() ind.sma(5, 6) end, "too many arguments", "sma(5, 6) raises")
  raises_here(function() ind.true_range(14) end, "takes no arguments", "true_range(14) raises")
  raises_here(function() ind.bollinger(20, -1) end, "k_up must be a finite number >= 0", "bollinger negative k")
  raises_here(function() ind.bollinger(20, 2, 0 / 0) end, "k_dn must be", "bollinger NaN k_dn")
  raises_here(function() ind.macd(26, 12) end, "fast %(26%) must not be longer than slow %(12%)",
    "macd(26, 12) raises")
  raises_here(function() ind.macd(12, 26, 0) end, "signal must be an integer", "macd signal 0")
  raises_here(function() ind.realized_vol(1) end, "n must be an integer in 2%.%.", "realized_vol(1)")
  raises_here(function() ind.realized_vol(20, 0) end, "periods must be a finite number > 0", "periods 0")

  local s = ind.sma(3)
  raises_here(function() s:update(nil) end, "sma:update: x must be a finite number, got nil", "update(nil)")
  raises_here(function() s:update("5") end, 'got "5"', "update('5'): no string coercion")
  raises_here(function() s:update(0 / 0) end, "got nan", "update(nan)")
  raises_here(function() s:update(huge) end, "got inf", "update(inf)")
  raises_here(function() s:update(-huge) end, "got %-inf", "update(-inf)")
  raises_here(function() s.update(5) end, "sma:update: self must be an indicators%.sma object, got 5 %(called with '%.' instead of ':'%?%)",
    "update called with '.'")
  raises_here(function() s.run({ 1, 2 }) end, "sma:run: self must be an indicators%.sma object", "run called with '.'")
  raises_here(function() s.reset(ind.rsi(3)) end, "got ctype<struct md_ind_rsi %*>", "reset on another kind")
  raises_here(function() s.value(ffi.new("double[8]")) end, "sma:value: self must be", "value on a double array")
  raises_here(function() s.update(ffi.cast("void *", s), 1) end, "got ctype<void %*>",
    "update on a void pointer (it would convert to any pointer in C)")
  raises_here(function() ind.bollinger(5).lookback({}) end, "bollinger:lookback: self must be", "lookback on a table")
  raises_here(function() ind.realized_vol(5):update(0) end, "positive finite number, got 0",
    "realized_vol update(0)")
  raises_here(function() ind.realized_vol(5):update(-1) end, "got %-1", "realized_vol update(-1)")
  raises_here(function() ind.atr(14):update(10, 9) end, "atr:update: close must be", "atr without close")
  raises_here(function() ind.true_range():update(nil, 1, 1) end, "high must be", "true_range nil high")
  raises_here(function() ind.macd():update({}) end, "got table", "macd update({})")

  raises_here(function() s:run("1,2,3") end, "sma:run: src must be a Lua array", "run(string)")
  raises_here(function() s:run({ 1, 2, "3" }) end, 'src%[3%] must be a number, got "3"', "run with a string element")
  raises_here(function() s:run(ffi.new("double[3]"), 4) end, "n must be an integer in 0..3, got 4",
    "run with n beyond the array")
  raises_here(function() s:run({ 1, 2 }, -1) end, "got %-1", "run with n < 0")
  raises_here(function() s:run({ 1, 2 }, 1.5) end, "got 1.5", "run with a fractional n")
  raises_here(function() s:run(ffi.new("double[3]") + 0) end, "n is required when src is a pointer",
    "run over a pointer without n")
  raises_here(function() s:run(ffi.new("int[3]")) end, "ctype<int %[3%]>", "run over an int array")
  raises_here(function() s:run({ v = ffi.new("int[3]"), n = 3 }) end, "its v is not a double pointer",
    "run over a column of ints")

  s:run({ 1, 2, 3, 4 })
  raises_here(function() s:run({ 5, 6, 0 / 0, 8 }) end, "sma:run: src%[3%] is not a finite number %(nan%)",
    "run with a NaN names it (1-based for a table)")
  t.is(s:value(), 3, "... and processed nothing: the state is as before")
  raises_here(function() s:run(ffi.new("double[3]", 1, huge, 2)) end, "src%[1%] is not a finite number %(inf%)",
    "run with inf names it (0-based for an array)")
  raises_here(function() ind.realized_vol(2):run({ 1, 2, 0 }) end, "src%[3%] is not a positive finite number",
    "realized_vol run refuses 0")
  raises_here(function() ind.atr(2):run({ 1, 2 }, { 1 }, { 1, 2 }) end, "different lengths %(2, 1, 2%)",
    "atr run with different lengths")
  raises_here(function() ind.atr(2):run({ 3, 4 }, { 1, 0 / 0 }, { 2, 3 }) end, "low%[2%] is not a finite number",
    "atr run names the bad input")
  t.lives(function() ind.atr(2):run({ 1, 2, 3 }, { 1, 1 }, { 1, 2, 3 }, 2) end,
    "atr run with different lengths and n")
end

-- ---- objects: opaque to scripts, collected by the GC ----

do
  local s = ind.sma(5)
  t.raises(function() return s.buf end, "has no member named 'buf'", "no struct field is visible (buf)")
  t.raises(function() return s.n end, "has no member named 'n'", "no struct field is visible (n)")
  t.raises(function() s.pos = 1e9 end, nil, "fields cannot be written")
  t.raises(function() return s + 1 end, nil, "no pointer arithmetic")
  t.raises(function() return s[0] end, nil, "no indexing")

  local sandbox = require("alluse.sandbox")
  local box = sandbox.new({ modules = { ["alluse.indicators"] = true } })
  local fn = assert(box:load([[
    local ind = require("alluse.indicators")
    local r = ind.rsi(3)
    local v
    for _, x in ipairs({ 1, 2, 3, 2, 5 }) do v = r:update(x) end
    local wrote = pcall(function() r.count = 0 end)
    local read = pcall(function() return r.buf end)
    return v, wrote, read
  ]], "=strategy"))
  local ok, v, wrote, read = box:call(fn)
  t.ok(ok and v and v > 0 and v < 100 and wrote == false and read == false,
    "inside the sandbox: indicators work and their memory is out of reach")

  for _ = 1, 2000 do ind.max(1000):update(1) end
  collectgarbage()
  collectgarbage()
  t.pass("2000 max(1000) objects created and collected")
end

-- ---- the JIT compiles the update loop without aborting a trace ----

if jit and jit.status() then
  local jutil = require("jit.util")
  local vmdef_ok, vmdef = pcall(require, "jit.vmdef")
  local c, h, l = DATA[1].close, DATA[1].high, DATA[1].low
  local objs = { ind.sma(20), ind.ema(20), ind.wma(20), ind.rsi(14), ind.stddev(20),
    ind.roc(10), ind.max(20), ind.min(20), ind.realized_vol(20), ind.bollinger(20), ind.macd(),
    ind.atr(14), ind.true_range() }
  -- One loop per indicator, each its own function as in a strategy (a call site
  -- shared by several kinds is polymorphic: side traces, not what this checks), run
  -- on an indicator already warmed up by run().
  local loops, loop_of = {}, {}
  for k, o in ipairs(objs) do
    local three = k > #objs - 2
    local warm = o:lookback() + 1
    if three then o:run(h, l, c, warm) else o:run(c, warm) end
    loops[k] = assert(loadstring(format([[
      local o, c, h, l, from = ...
      local acc = 0
      for i = from, #c do
        local x, y, z = o:update(%s)
        if x then acc = acc + x + (y or 0) + (z or 0) end
      end
      return acc
    ]], three and "h[i], l[i], c[i]" or "c[i]"), "=" .. tostring(o) .. " loop"))
    loop_of[loops[k]] = k
  end
  -- What counts: each loop becomes a trace that loops back on itself, and nothing
  -- aborts for want of a compiled path (NYI).  Other aborts ("loop unroll limit",
  -- "leaving loop in root trace") depend on where hot counters happen to trigger —
  -- they are hashed by bytecode address — and settle by themselves.
  local started, looped, nyi = {}, {}, {}
  local function on_trace(what, tr, func, pc, otr, oex)
    if what == "start" then
      started[tr] = loop_of[func]
    elseif what == "stop" then
      local k = started[tr]
      if k and jutil.traceinfo(tr).linktype == "loop" then looped[k] = true end
    elseif what == "abort" then
      local why = vmdef_ok and format(vmdef.traceerr[otr] or "?", oex) or tostring(otr)
      if why:find("NYI") then
        nyi[#nyi + 1] = format("%s: %s", jutil.funcinfo(func, pc).loc or "?", why)
      end
    end
  end
  jit.flush()
  jit.attach(on_trace, "trace")
  local acc = 0
  for k, o in ipairs(objs) do acc = acc + loops[k](o, c, h, l, o:lookback() + 2) end
  jit.attach(on_trace)
  t.ok(acc == acc, "update loops ran")
  local missing = {}
  for k, o in ipairs(objs) do
    if not looped[k] then missing[#missing + 1] = tostring(o) end
  end
  if not t.is(#missing, 0, "every kind's update loop compiles to a looping trace") then
    t.diag("not compiled: " .. table.concat(missing, ", "))
  end
  if not t.is(#nyi, 0, "no trace aborts for a path the JIT cannot compile (NYI)") then
    t.diag(table.concat(nyi, "\n"))
  end
else
  t.skip("JIT disabled", 3)
end
