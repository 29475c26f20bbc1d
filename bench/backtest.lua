-- bench/backtest: the full engine (event dispatch, Lua on_bar per bar, orders, fills,
-- ledger) running strategies/examples/sma_cross.lua on the 1M-bar reference walk
-- from the bar store (goal: >= 10M bars/s), against the plain-C loop of the same
-- strategy timed in the same run (goal: within 15x), and its memory (goal: peak
-- <= 100 MiB with the bars preloaded; no per-bar growth).
--   alluse exec bench/backtest.lua STORE_DIR SMA_REF_BIN BIN_FILE ALLUSE_BIN
--   alluse exec bench/backtest.lua STORE_DIR once       (one timed run; what the above runs 5x)
--   alluse exec bench/backtest.lua STORE_DIR mem        (peak memory of one run)
local data = require("alluse.data")
local backtest = require("alluse.backtest")
local clock = require("alluse.time")

local store, sma_ref, bin = arg[1], arg[2], arg[3]
local s = assert(data.load(store, "X", "1m", { verify = false }))

local function status_kib(field)
  local f = io.open("/proc/self/status")
  local text = f:read("*a")
  f:close()
  return tonumber(text:match(field .. ":%s*(%d+)"))
end

-- "mem": one run in this fresh process, bars preloaded (every page touched), then the
-- peak resident size: what a user's `alluse backtest` of this file needs.
if sma_ref == "mem" then
  local sum = 0
  for _, f in ipairs({ "time", "open", "high", "low", "close", "volume" }) do
    for i = 0, s.n - 1 do sum = sum + tonumber(s[f].v[i]) end
  end
  local before = status_kib("VmRSS")
  local with_json = arg[3] == "json"
  local result, eng = backtest.run { strategy = "strategies/examples/sma_cross.lua",
    data = { { series = s, source = store } }, cash = 1e6, records = false }
  assert(result.status == "ok", result.error)
  if with_json then -- what --json adds: the whole document, streamed to a file
    local f = assert(io.open("/dev/null", "wb"))
    backtest.write_json(f, result, eng)
    f:close()
  end
  print(string.format("  memory, one run in a fresh process%s: RSS %.1f MiB with the bars loaded, peak %.1f MiB  (goal <= 100 MiB)",
    with_json and ", then its JSON written (30 MB)" or "", before / 1024, status_kib("VmHWM") / 1024))
  return
end
-- "once": one timed run in this fresh process, the way `alluse backtest` runs it: the
-- loop's traces are compiled for this run's strategy closures (a second run in the
-- same process enters traces specialised on the first run's closures and is slower,
-- which is not what a user sees).  Prints one line for the parent to read.
if sma_ref == "once" then
  local sum = 0 -- touch every column once so the run does not pay the page faults
  for _, f in ipairs({ "open", "high", "low", "close", "volume" }) do
    local v = s[f].v
    for i = 0, s.n - 1, 512 do sum = sum + v[i] end
  end
  collectgarbage()
  local heap = {}
  local t0 = clock.monotonic()
  local result, eng = backtest.run {
    strategy = "strategies/examples/sma_cross.lua", data = { { series = s, source = store } }, cash = 1e6,
    progress = function(done) heap[#heap + 1] = string.format("%d:%.0f", done, collectgarbage("count")) end,
  }
  local total = clock.monotonic() - t0
  assert(result.status == "ok", result.error)
  print(string.format("loop_us=%d total_us=%d events=%d equity=%.2f trips=%d heap=%s", eng.timing.loop_us, total,
    eng.timing.events, result.summary.final_equity, result.summary.round_trips, table.concat(heap, ",")))
  return
end

-- Best of 5 runs, each in its own process.
local self_bin = arg[4]
local best, best_total, n, equity, trips, heap = math.huge, math.huge, nil, nil, nil, nil
for _ = 1, 5 do
  local p = io.popen(string.format("ALLUSE_LUA_PATH= %s exec bench/backtest.lua %s once", self_bin, store))
  local line = p:read("*a")
  p:close()
  local loop_us, total_us = tonumber(line:match("loop_us=(%d+)")), tonumber(line:match("total_us=(%d+)"))
  assert(loop_us, "bench/backtest: a run printed no figure: " .. line)
  n, equity, trips = tonumber(line:match("events=(%d+)")), tonumber(line:match("equity=([%d%.]+)")),
    tonumber(line:match("trips=(%d+)"))
  heap = heap or line:match("heap=(%S*)")
  best, best_total = math.min(best, loop_us), math.min(best_total, total_us)
end
local bars_per_s = n / best * 1e6
print(string.format("backtest: sma_cross on %d bars from the store: final equity %.2f, %d round trips",
  n, equity, trips))
print(string.format("  engine loop            %7.1f ms  %6.1f M bars/s  %6.1f ns/bar  (goal >= 10 M bars/s; best of 5 processes)",
  best / 1000, bars_per_s / 1e6, best * 1000 / n))
print(string.format("  whole run + results    %7.1f ms", best_total / 1000))

-- The plain-C loop, same strategy, same bars, this machine, now.
-- Best of 5 runs of 20 repetitions, like the engine's best of 5: the C loop is so short
-- that one run's figure moves with the machine's noise.
local ref_ns, line
for _ = 1, 5 do
  local p = io.popen(string.format("%s bin %s 20", sma_ref, bin))
  line = p:read("*a")
  p:close()
  local ns = tonumber(line:match("ns_per_bar=([%d%.]+)"))
  if ns and (not ref_ns or ns < ref_ns) then ref_ns = ns end
end
if ref_ns then
  print(string.format("  sma_ref bin (plain C)  %7.2f ns/bar  ratio engine/C = %.1fx  (goal <= 15x; best of 5 each)",
    ref_ns, best * 1000 / n / ref_ns))
else
  print("  sma_ref bin: no figure (" .. line .. ")")
end

-- Memory: the Lua heap at each progress point of one run (every 65,536 bars).
local points = {}
for done, kib in heap:gmatch("(%d+):(%d+)") do points[#points + 1] = { tonumber(done), tonumber(kib) } end
local first, last = points[2], points[#points - 1]
if first and last and last[1] > first[1] then
  print(string.format("  Lua heap over the run  %.0f KiB at bar %d -> %.0f KiB at bar %d (%.1f bytes/bar; orders and trades, not bars)",
    first[2], first[1], last[2], last[1], (last[2] - first[2]) * 1024 / (last[1] - first[1])))
end
