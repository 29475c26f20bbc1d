-- bench/live_latency: issue #8's latency goal for the live runner: from a bar arriving
-- to the paper fill of the order it triggers, p99 < 50 µs at 10,000 events/s.
--   alluse exec bench/live_latency.lua [SECONDS] [RATE]      (defaults: 20 s, 10000 bars/s)
--
-- What runs: the driver `alluse run` runs (alluse.backtest's run with a pace hook, as
-- alluse.live calls it), the paper broker (the engine's fill model), the runner's
-- metrics observer (alluse.live.new_metrics), and a strategy in its sandbox
-- (bench/live_latency_strategy.lua) that always has one market order working, so
-- every bar fills one.  Nothing of the engine or the driver is copied here.
--
-- The feed: a libuv timer that ticks every millisecond and releases the bars due by
-- then at RATE per second (10 a tick at 10,000/s), stamping each with its arrival
-- time.  The runner takes bars from it in the driver's pace hook, and waits on the
-- loop when none is there.  The driver hands control to the loop only between New
-- York days, so the bars are daily bars, one day each: then every bar goes through
-- the loop, as a live feed's bar would.  It also means that every bar pays a day's
-- roll (calendar, the day order session), which a daily strategy like ALL-USE pays
-- on every bar anyway, and an intraday bar would not: for those, the figure errs high.
--
-- The latency, on CLOCK_MONOTONIC in ns:
--   t0  the runner takes the bar from the feed (pace returns);
--   t1  the fill that bar makes reaches the strategy: the driver's sink calls the
--       runner's observer and, right after it in the same function, on_fill.
-- t1 - t0 is the goal's figure: the day's roll, the bar matched against the working
-- order (fill model, cash, ledger, round trip), the fill event built and delivered.
-- It is split where the match starts (eng:match wrapped on the run's engine: one
-- more clock read and call in the path).  Also shown: t1 - arrival, which adds the
-- wait behind the bars of the same tick.
-- The first second of bars (the JIT compiling) is left out.  The samples go into
-- preallocated FFI arrays: from t0 to t1 the bench itself allocates nothing.
--
-- The calendar ends in 2199 (51,481 trading days from 1995), so the bars are fed as
-- runs of up to 50,000 days, one after another; the feed's clock restarts with each.
local ffi = require("ffi")
local task = require("alluse.task")
local loop = require("alluse.core.loop")
local backtest = require("alluse.backtest")
local live = require("alluse.live")
local series = require("alluse.series")
local calendar = require("alluse.calendar")

local seconds = tonumber(arg[1]) or 20
local rate = tonumber(arg[2]) or 10000
local GOAL_US = 50
local STRATEGY = "bench/live_latency_strategy.lua"

-- ns, not time.monotonic's µs: the figures are tens of µs.
pcall(ffi.cdef, [[
typedef struct au_bench_timespec { long sec, nsec; } au_bench_timespec;
int clock_gettime(int clock_id, au_bench_timespec *ts);
]])
local CLOCK_MONOTONIC = 1
local ts = ffi.new("au_bench_timespec")
local function now_ns()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.sec) * 1e9 + tonumber(ts.nsec)
end

-- The runs: each one series of `per_run` daily bars; bar 0 of a run starts it
-- (no pace before it), bars 1..per_run-1 are fed and measured.
local total = math.floor(seconds * rate)
local runs = math.ceil(total / 50000)
local per_run = math.ceil(total / runs) + 1
local dates = calendar.trading_days("1995-01-01", "2199-12-31")
local bars = series.new("X", "1d")
bars:reserve(per_run)
for i = 1, per_run do
  local open = calendar.session(dates[i])
  local p = 100 + 10 * math.sin(i / 50) -- any walk: a market order fills at any open
  bars:append(open, p, p * 1.01, p * 0.99, p, 1e6)
end

-- Samples (µs), for every run: preallocated.
local lat = ffi.new("double[?]", total + runs)
local rolled = ffi.new("double[?]", total + runs) -- t0 -> the match starts: the day's roll
local since_arrival = ffi.new("double[?]", total + runs)
local nsamples = 0
local arrival = ffi.new("double[?]", per_run) -- ns, per bar of the current run

-- The feed of the current run: how many bars it released and the runner took, and
-- when it started (nil between runs).
local feed_start, released, taken, waiter = nil, 0, 0, nil
local max_backlog, fed_ns, batches = 0, 0, 0
local t0, t_match, last_t1

local ticker = loop.timer()
local ticking = true
local function tick()
  if feed_start then
    local now = now_ns()
    local due = math.min(per_run - 1, math.floor((now - feed_start) * rate / 1e9) + 1)
    if due > released then
      for j = released + 1, due do arrival[j] = now end
      released, batches = due, batches + 1
      if waiter then
        local wake = waiter
        waiter = nil
        wake()
      end
    end
  end
  if ticking then ticker:start(1, tick) end
end

-- The driver calls this after each day (each bar, here): take the next bar.
local function park(wake) waiter = wake end
local function pace()
  taken = taken + 1
  if not feed_start then -- the run's first fed bar: the feed starts now, with it
    feed_start = now_ns()
    released, arrival[1] = 1, feed_start
  end
  while taken > released do task.await(park) end
  if released - taken > max_backlog then max_backlog = released - taken end
  t0 = now_ns()
end

-- The runner's own observer (metrics), with t1 taken after it, just before on_fill.
local state = {}
live.new_metrics(state)
local runner = state.observer
local observer = {
  order = runner.order,
  fill = function(eng, f)
    runner.fill(eng, f)
    local t1 = now_ns()
    if t0 then
      lat[nsamples] = (t1 - t0) / 1e3
      rolled[nsamples] = (t_match - t0) / 1e3
      since_arrival[nsamples] = (t1 - arrival[taken]) / 1e3
      nsamples = nsamples + 1
      t0, last_t1 = nil, t1
    end
  end,
}

task.run(function()
  tick()
  for _ = 1, runs do
    feed_start, released, taken = nil, 0, 0
    local result, err = backtest.run { strategy = STRATEGY, data = { { series = bars, source = "generated" } },
      cash = 1e7, records = false, observer = observer, pace = pace, log = function() end,
      -- When the bar's match starts, to split the figure: eng:match wrapped on this
      -- engine only (the driver calls it as a method, so it finds this field).
      on_engine = function(eng)
        local match = eng.match
        eng.match = function(self, sid, b)
          t_match = now_ns()
          return match(self, sid, b)
        end
      end }
    assert(result, err)
    assert(result.status == "ok", result.error)
    fed_ns = fed_ns + (last_t1 - feed_start)
  end
  ticking = false
  ticker:close()
end)

local expected = runs * (per_run - 1)
assert(nsamples == expected, string.format("%d fills measured, %d bars fed: a bar did not fill", nsamples, expected))

-- The samples after the warm-up, sorted; value(i) gives sample i.
local warm = math.min(rate, nsamples - 1)
local function sorted(value)
  local out = {}
  for i = warm, nsamples - 1 do out[#out + 1] = value(i) end
  table.sort(out)
  return out
end
local function pct(s, p) return s[math.max(1, math.ceil(#s * p))] end
local a = sorted(function(i) return lat[i] end)
local roll = sorted(function(i) return rolled[i] end)
local match = sorted(function(i) return lat[i] - rolled[i] end)
local w = sorted(function(i) return since_arrival[i] end)
local p99 = pct(a, 0.99)
print(string.format("live latency: bar arrival -> paper fill (bench/live_latency.lua), %d daily bars fed at %d/s"
  .. " in %d runs", expected, rate, runs))
print(string.format("  achieved %.0f events/s; %.1f bars a tick on average; largest backlog %d bars; %d samples"
  .. " (the first %d left out: JIT warm-up)", expected / (fed_ns / 1e9), expected / batches, max_backlog, #a, warm))
print(string.format("  taken -> on_fill    p50 %5.1f  p99 %5.1f  p99.9 %6.1f  max %7.1f us  (goal p99 < %d us: %s)",
  pct(a, 0.5), p99, pct(a, 0.999), a[#a], GOAL_US, p99 < GOAL_US and "PASS" or "FAIL"))
print(string.format("    of which the day's roll p50 %4.1f  p99 %5.1f us; the match -> on_fill p50 %4.1f  p99 %5.1f us",
  pct(roll, 0.5), pct(roll, 0.99), pct(match, 0.5), pct(match, 0.99)))
print(string.format("  arrival -> on_fill  p50 %5.1f  p99 %5.1f  p99.9 %6.1f  max %7.1f us  (with the wait behind"
  .. " the tick's earlier bars)", pct(w, 0.5), pct(w, 0.99), pct(w, 0.999), w[#w]))
