-- bench/indicators: streaming updates through the FFI from JIT-compiled Lua loops,
-- and run() over a column.  Goal: SMA(20) >= 100 million updates/s.
local ind = require("alluse.indicators")
local clock = require("alluse.time")
local ffi = require("ffi")
local bit = require("bit")

local band = bit.band
local format = string.format

-- 1024 prices of a random walk around 100 (read with i & 1023: no memory traffic,
-- no integer division in the loop).
local PRICES = ffi.new("double[1024]")
do
  local x, seed = 100, 12345
  for i = 0, 1023 do
    seed = (seed * 1103515245 + 12345) % 2147483648
    x = x * (1 + (seed / 2147483648 - 0.5) * 0.02)
    PRICES[i] = x
  end
end

local function best_of(runs, fn)
  local best, result = math.huge, nil
  for _ = 1, runs do
    local t0 = clock.monotonic()
    result = fn()
    best = math.min(best, clock.monotonic() - t0)
  end
  return best, result
end

local aborts = 0
local function on_trace(what) if what == "abort" then aborts = aborts + 1 end end
jit.attach(on_trace, "trace")

-- Each benchmark gets its own loop function, compiled from source, so its update
-- call site stays monomorphic (a loop shared by several kinds would be measured
-- through polymorphic side traces).
local LOOP = [[
local o, p, n, band = ...
local acc = 0
for i = 1, n do
  local c = p[band(i, 1023)]
  local x, y, z = o:update(%s)
  if x then acc = acc + x %s end
end
return acc
]]

local function loop(make, kind)
  local args = kind == "hlc" and "c * 1.01, c * 0.99, c" or "c"
  local extra = kind == "three" and "+ y + z" or ""
  local fn = assert(loadstring(format(LOOP, args, extra), "=bench loop"))
  return function(n) return fn(make(), PRICES, n, band) end
end

local N_SMA = 2e8
local N = 2e7

print("indicators: updates through the FFI from a JIT-compiled loop (best of 3)")

local baseline = best_of(3, function()
  local p, acc = PRICES, 0
  for i = 1, N_SMA do acc = acc + p[band(i, 1023)] end
  return acc
end)
print(format("  %-22s %8.1f M/s  %6.2f ns   (the loop alone, for scale)", "read + add",
  N_SMA / baseline, baseline * 1000 / N_SMA))

local sma_loop = loop(function() return ind.sma(20) end)
local sma_t = best_of(3, function() return sma_loop(N_SMA) end)
print(format("  %-22s %8.1f M/s  %6.2f ns   goal >= 100 M/s, %d updates", "sma(20)",
  N_SMA / sma_t, sma_t * 1000 / N_SMA, N_SMA))

local others = {
  { "ema(20)", loop(function() return ind.ema(20) end) },
  { "wma(20)", loop(function() return ind.wma(20) end) },
  { "rsi(14)", loop(function() return ind.rsi(14) end) },
  { "stddev(20)", loop(function() return ind.stddev(20) end) },
  { "roc(10)", loop(function() return ind.roc(10) end) },
  { "max(20)", loop(function() return ind.max(20) end) },
  { "min(20)", loop(function() return ind.min(20) end) },
  { "realized_vol(20)", loop(function() return ind.realized_vol(20) end) },
  { "bollinger(20, 2)", loop(function() return ind.bollinger(20) end, "three") },
  { "macd(12, 26, 9)", loop(function() return ind.macd() end, "three") },
  { "atr(14)", loop(function() return ind.atr(14) end, "hlc") },
  { "true_range()", loop(function() return ind.true_range() end, "hlc") },
}
for _, b in ipairs(others) do
  local dt = best_of(3, function() return b[2](N) end)
  print(format("  %-22s %8.1f M/s  %6.2f ns", b[1], N / dt, dt * 1000 / N))
end

-- run() over a column {v, n}: one C loop, output allocated per call.
local COUNT = 1e6
local col_v = ffi.new("double[?]", COUNT)
for i = 0, COUNT - 1 do col_v[i] = PRICES[i % 1024] end
local column = { v = col_v, n = COUNT }
print(format("indicators: run() over a column of %d values (best of 5)", COUNT))
for _, b in ipairs({
  { "sma(20)", function() return ind.sma(20) end },
  { "rsi(14)", function() return ind.rsi(14) end },
  { "bollinger(20, 2)", function() return ind.bollinger(20) end },
  { "macd(12, 26, 9)", function() return ind.macd() end },
}) do
  local dt = best_of(5, function() return b[2]():run(column) end)
  print(format("  %-22s %8.1f M values/s  %6.2f ms", b[1], COUNT / dt, dt / 1000))
end

jit.attach(on_trace)
print(format("indicators: %d trace aborts (warm-up side traces settle by themselves)", aborts))
