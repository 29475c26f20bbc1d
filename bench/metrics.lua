-- bench/metrics: alluse.metrics' hot path (inc/set/observe on a bound child, and the
-- lookup by a labels table) in ns per call, and render() of 1,000 series.
-- Goal (issue #8): /metrics >= 20,000 requests/s, so a render of the runner's
-- registry should take well under 50 us.
local metrics = require("alluse.metrics")
local clock = require("alluse.time")
local format = string.format

local function best_of(runs, fn)
  local best = math.huge
  for _ = 1, runs do
    local t0 = clock.monotonic()
    fn()
    best = math.min(best, clock.monotonic() - t0)
  end
  return best
end

local N = 10000000
local reg = metrics.registry()
local c = reg:counter("bench_total", "bench", { "k" })
local child = c:labels("a")
local g = reg:gauge("bench_gauge", "bench")
local h = reg:histogram("bench_seconds", "bench", {}, metrics.DEFAULT_BUCKETS)
local hc = reg:histogram("bench2_seconds", "bench", { "k" }):labels("a")

-- clock.monotonic() counts microseconds.
local function ns(t, n) return t / n * 1e3 end

local t = best_of(3, function() for _ = 1, N do child:inc() end end)
print(format("metrics: counter child:inc()         %6.2f ns/call", ns(t, N)))
t = best_of(3, function() for i = 1, N do g:set(i) end end)
print(format("metrics: gauge family:set(v)         %6.2f ns/call", ns(t, N)))
t = best_of(3, function() for i = 1, N do h:observe((i % 1000) * 0.001) end end)
print(format("metrics: histogram observe (11 b.)   %6.2f ns/call", ns(t, N)))
t = best_of(3, function() for i = 1, N do hc:observe((i % 1000) * 0.001) end end)
print(format("metrics: histogram child:observe     %6.2f ns/call", ns(t, N)))
local M2 = N / 10
local lbl = { k = "a" }
t = best_of(3, function() for _ = 1, M2 do c:inc(lbl, 1) end end)
print(format("metrics: counter inc({k=...}, 1)     %6.2f ns/call (label lookup)", ns(t, M2)))

-- 1,000 series: 400 counters, 400 gauges, 200 histogram series of 11 buckets.
local r = metrics.registry()
local rc = r:counter("alluse_bench_requests_total", "Requests", { "path", "code" })
local rg = r:gauge("alluse_bench_equity_dollars", "Equity", { "account" })
local rh = r:histogram("alluse_bench_latency_seconds", "Latency", { "op" })
for i = 1, 400 do rc:labels("/p/" .. i, tostring(200 + i % 5)):inc(i) end
for i = 1, 400 do rg:labels("acct-" .. i):set(i * 1234.5678) end
for i = 1, 200 do local x = rh:labels("op" .. i); for j = 1, 20 do x:observe(j * 0.01) end end
local body
local R = 200
local counters = {}
for i = 1, 400 do counters[i] = rc:labels("/p/" .. i, tostring(200 + i % 5)) end
local hists = {}
for i = 1, 200 do hists[i] = rh:labels("op" .. i) end
-- Every series changed since the last render (the worst case): all numbers formatted.
t = best_of(3, function()
  for k = 1, R do
    for i = 1, 400 do counters[i]:inc() end
    for i = 1, 200 do hists[i]:observe(k * 1e-4) end
    rg:labels("acct-1"):set(k)
    body = r:render()
  end
end)
print(format("metrics: render 1,000 series          %6.1f us/render, every series changed (%d bytes, %d lines)",
  ns(t, R) / 1000, #body, select(2, body:gsub("\n", ""))))
t = best_of(3, function() for _ = 1, R do body = r:render() end end)
print(format("metrics: render 1,000 series          %6.1f us/render, nothing changed", ns(t, R) / 1000))
local small = metrics.registry()
local d = metrics.alluse_defaults(small)
for _, st in ipairs({ "new", "accepted", "filled", "canceled", "rejected" }) do d.orders:labels(st):inc() end
for _, a in ipairs({ "main", "fork-1", "fork-2" }) do
  d.equity:labels(a):set(1e5); d.cash:labels(a):set(5e4); d.fills:labels(a):inc()
  for _, tk in ipairs({ "AAPL", "MSFT" }) do d.protocol_level:labels(a, tk):set(1) end
end
for _, p in ipairs({ "/metrics", "/healthz", "/readyz" }) do d.http_requests:labels(p, "200"):inc() end
local lag, http = d.loop_lag, d.http_requests:labels("/metrics", "200")
R = 20000
t = best_of(3, function()
  for k = 1, R do http:inc(); lag:observe(k * 1e-7); body = small:render() end
end)
print(format("metrics: render alluse_defaults       %6.1f us/render (%d bytes), a counter and the loop-lag histogram changed",
  ns(t, R) / 1000, #body))
