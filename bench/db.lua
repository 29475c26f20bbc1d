-- bench/db: the database store's write rates, for the acceptance lines of issue #7:
--   "≥ 50,000 order events/s persisted on SQLite and on PostgreSQL (loopback)" and
--   "a backtest with --db at most 20% slower than without".
--   alluse exec bench/db.lua [--bin BINARY] [--data DIR] [URL...]
-- Per URL: a run row (alluse.store.runs.start), then order events persisted (a) the way
-- a live runner group-commits, N per transaction through db:insert (COPY on
-- PostgreSQL, the prepared-statement loop on SQLite), (b) one per transaction, each a
-- durable commit, and (c) orders through db:upsert, 1000 rows per transaction.  Rows are
-- built in Lua inside the timing, as a runner builds them.  With --bin: make run's
-- backtest (strategies/alluse, the 10 tickers of DIR, default data/) timed as a fresh
-- process without --db and with --db each URL, in rounds (BENCH_DB_ROUNDS, default 7):
-- the median of the rounds' ratios is the figure.
-- URL `sqlite:` or `sqlite:?synchronous=normal` (no path) is a fresh temporary file,
-- removed at the end; the default is those two.  PostgreSQL is migrated first
-- (alluse.store.schema.migrate); its bench rows stay in that database.
-- Figures only; the goals are printed beside them, never asserted.
local store = require("alluse.store")
local schema = require("alluse.store.schema")
local runs = require("alluse.store.runs")
local clock = require("alluse.time")

local format = string.format
local unpack = table.unpack or unpack
local null = store.null

local EVENTS = tonumber(os.getenv("BENCH_DB_EVENTS")) or 200000 -- per batched measurement
local SINGLE_US = (tonumber(os.getenv("BENCH_DB_SINGLE_S")) or 2) * 1e6
local UPSERT_ROWS = 100000
local REPS = 3

local bin, dir
local urls = {}
do
  local i = 1
  while arg[i] do
    if arg[i] == "--bin" then bin, i = arg[i + 1], i + 2
    elseif arg[i] == "--data" then dir, i = arg[i + 1], i + 2
    else urls[#urls + 1], i = arg[i], i + 1 end
  end
end
dir = dir or "data"
if #urls == 0 then urls = { "sqlite:", "sqlite:?synchronous=normal" } end

-- ---- the databases ----

local temp_files = {}
local function remove_sqlite(path)
  for _, s in ipairs({ "", "-wal", "-shm", "-journal" }) do os.remove(path .. s) end
end

-- url as given -> { url = what to open, label = what to print, temp = path | nil }
local function target(url)
  local q = url:match("^sqlite:(%?.*)$")
  if url == "sqlite:" or q then
    local path = os.tmpname()
    temp_files[#temp_files + 1] = path
    local sync = (q or ""):match("synchronous=(%a+)") or "full"
    return { url = "sqlite:" .. path .. (q or ""), label = format("sqlite, synchronous=%s", sync), temp = path }
  end
  local where = url:match("^postgres%a*://([^/?]*)") -- [user[:password]@]host:port
  return { url = url, label = where and ("postgres, " .. where:gsub("^.*@", "")) or store.redact(url) }
end

local function open(t)
  local db, err = store.open(t.url, { migrate = false })
  if not db then error(format("bench/db: %s: %s", t.label, tostring(err)), 0) end
  assert(schema.migrate(db))
  return db
end

-- ---- the rows ----

local T0 = 1735828200e6 -- 2025-01-02 14:30 UTC, in microseconds
local STATUS = { "new", "accepted", "partially_filled", "filled" }
local IDS = {}
for i = 1, 1000 do IDS[i] = format("bench-%06d", i) end
local EVENT_COLS = { "run_id", "seq", "client_order_id", "time", "status", "filled_qty", "avg_price", "reason" }
local EVENT_SQL = "INSERT INTO order_events (run_id, seq, client_order_id, time, status, filled_qty, avg_price, "
  .. "reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"

local function event(run, seq)
  local k = seq % 4 + 1
  return { run, seq, IDS[seq % 1000 + 1], T0 + seq * 1000, STATUS[k], k >= 3 and 50 * (k - 2) or 0,
    k >= 3 and 101.25 or null, "" }
end

local ORDER_COLS = { "run_id", "seq", "client_order_id", "account", "symbol", "side", "type", "tif", "qty",
  "limit_price", "stop_price", "status", "reason", "filled_qty", "avg_price", "created", "updated" }

local function order(run, k, version)
  local st = STATUS[version % 4 + 1]
  local filled = st == "filled" and 100 or st == "partially_filled" and 50 or 0
  return { run, k, format("bench-o%07d", k), "main", "SPY", "buy", "limit", "day", 100, 450.5, null, st, "",
    filled, filled > 0 and 450.25 or null, T0 + k * 1000, T0 + k * 1000 + version }
end

-- ---- the measurements ----

local function rate(n, us) return n / (us / 1e6) end

local function best_rate(fn)
  local best = 0
  for _ = 1, REPS do best = math.max(best, fn()) end
  return best
end

local function bench_url(t)
  local db = open(t)
  local rec = assert(runs.start(db, { kind = "bench", strategy = "bench", params = {} }))
  local id, seq = rec.id, 0
  local out = {}

  -- (a) group commit: n events per transaction, db:insert (the recorder's path).
  for _, n in ipairs({ 100, 1000 }) do
    out["batch" .. n] = best_rate(function()
      local t0 = clock.monotonic()
      for _ = 1, EVENTS / n do
        local rows = {}
        for i = 1, n do
          seq = seq + 1
          rows[i] = event(id, seq)
        end
        assert(db:transaction(function() return db:insert("order_events", EVENT_COLS, rows) end))
      end
      return rate(EVENTS, clock.monotonic() - t0)
    end)
  end

  -- (b) one event per transaction, for ~2 s: every event its own durable commit.
  local lat = {}
  local t0 = clock.monotonic()
  local now = t0
  repeat
    seq = seq + 1
    local e = event(id, seq)
    assert(db:transaction(function() return db:exec(EVENT_SQL, unpack(e, 1, 8)) end))
    local t = clock.monotonic()
    lat[#lat + 1] = t - now
    now = t
  until now - t0 >= SINGLE_US
  out.single = rate(#lat, now - t0)
  table.sort(lat)
  out.single_n = #lat
  out.p50 = lat[math.floor(#lat * 0.5) + 1] / 1000
  out.p99 = lat[math.min(#lat, math.floor(#lat * 0.99) + 1)] / 1000
  out.max = lat[#lat] / 1000

  local row = assert(db:one("SELECT COUNT(*) AS n FROM order_events WHERE run_id = ?", id))
  assert(tonumber(row.n) == seq, format("%s: %s order events stored, %d written", t.label, tostring(row.n), seq))
  out.events = seq

  -- (c) orders through db:upsert, 1000 rows per transaction: new orders, then updates
  -- of 1000 live ones (the recorder upserts the orders still open at each flush).
  local k = 0
  out.upsert_new = best_rate(function()
    local t1 = clock.monotonic()
    for _ = 1, UPSERT_ROWS / 1000 do
      local rows = {}
      for i = 1, 1000 do
        k = k + 1
        rows[i] = order(id, k, 0)
      end
      assert(db:transaction(function() return db:upsert("orders", ORDER_COLS, { "run_id", "client_order_id" }, rows) end))
    end
    return rate(UPSERT_ROWS, clock.monotonic() - t1)
  end)
  local version = 0
  out.upsert_upd = best_rate(function()
    local t1 = clock.monotonic()
    for _ = 1, UPSERT_ROWS / 1000 do
      version = version + 1
      local rows = {}
      for i = 1, 1000 do rows[i] = order(id, i, version) end
      assert(db:transaction(function() return db:upsert("orders", ORDER_COLS, { "run_id", "client_order_id" }, rows) end))
    end
    return rate(UPSERT_ROWS, clock.monotonic() - t1)
  end)
  row = assert(db:one("SELECT COUNT(*) AS n FROM orders WHERE run_id = ?", id))
  local first = assert(db:one("SELECT updated FROM orders WHERE run_id = ? AND seq = 1", id))
  assert(tonumber(row.n) == k and tonumber(first.updated) == T0 + 1000 + version,
    format("%s: orders after the upserts: %s rows, order 1 updated %s", t.label, tostring(row.n),
      tostring(first.updated)))

  assert(db:exec("UPDATE runs SET status = 'ok', ended_at = ? WHERE id = ?", clock.now(), id))
  db:close()
  return out
end

local function commas(x)
  local s = format("%.0f", x)
  repeat
    local n
    s, n = s:gsub("^(%d+)(%d%d%d)", "%1,%2")
  until n == 0
  return s
end

print(format("db: order events persisted (goal >= 50,000 events/s on SQLite and on PostgreSQL over loopback);"
  .. " best of %d over %s events each", REPS, commas(EVENTS)))
local targets = {}
for i, url in ipairs(urls) do
  local t = target(url)
  targets[i] = t
  local r = bench_url(t)
  print("  " .. t.label)
  print(format("    group commit, 100 per transaction   %10s events/s  (goal >= 50,000)", commas(r.batch100)))
  print(format("    group commit, 1000 per transaction  %10s events/s  (goal >= 50,000)", commas(r.batch1000)))
  print(format("    one per transaction (durable each)  %10s events/s  (%s in %.1f s; commit p50 %.2f ms, p99 %.2f, max %.1f)",
    commas(r.single), commas(r.single_n), SINGLE_US / 1e6, r.p50, r.p99, r.max))
  print(format("    orders upsert, new, 1000 per tx     %10s rows/s", commas(r.upsert_new)))
  print(format("    orders upsert, updates, 1000 per tx %10s rows/s", commas(r.upsert_upd)))
end

-- ---- make run's backtest with and without --db ----

if bin then
  local tickers = { "AAPL", "AMZN", "GOOG", "IWM", "META", "MSFT", "NVDA", "QQQ", "SPY", "TSLA" }
  local out = os.tmpname()
  local cmd = { bin, "backtest strategies/alluse" }
  for _, tk in ipairs(tickers) do cmd[#cmd + 1] = "--data " .. dir .. "/" .. tk .. "-daily.csv" end
  cmd[#cmd + 1] = "--from 2015-01-01 --cash 500000 --param profile=iai --quiet"
  cmd[#cmd + 1] = "--json " .. out .. ".json --report " .. out .. ".html"
  local base = table.concat(cmd, " ")
  local function shq(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
  -- Rounds of no --db then each URL: the VM's noise (±10-15 % from run to run here)
  -- falls on all alike, and each round gives a ratio of runs made a moment apart; the
  -- median of those is the figure, the best times are printed beside it.
  local ROUNDS = tonumber(os.getenv("BENCH_DB_ROUNDS")) or 7
  local cases = { { label = "without --db", times = {} } }
  for _, t in ipairs(targets) do
    cases[#cases + 1] = { label = "--db " .. t.label, t = t, times = {} }
  end
  for _ = 1, ROUNDS do
    for _, c in ipairs(cases) do
      local line = base
      if c.t then
        -- A fresh file each time for the temporary SQLite ones (the migration included).
        if c.t.temp then remove_sqlite(c.t.temp) end
        line = line .. " --db " .. shq(c.t.url)
      end
      line = line .. " >/dev/null 2>&1"
      local t0 = clock.monotonic()
      local rc = os.execute(line)
      local s = (clock.monotonic() - t0) / 1e6
      assert(rc == 0, "the backtest command failed: " .. line)
      c.best = math.min(c.best or math.huge, s)
      c.times[#c.times + 1] = s
    end
  end
  os.remove(out)
  os.remove(out .. ".json")
  os.remove(out .. ".html")
  local function median(list)
    local l = {}
    for i, v in ipairs(list) do l[i] = v end
    table.sort(l)
    local n = #l
    return n % 2 == 1 and l[(n + 1) / 2] or (l[n / 2] + l[n / 2 + 1]) / 2
  end
  print(format("db: make run's backtest, a fresh process, %d rounds (goal: --db at most 20%% slower than without)",
    ROUNDS))
  local none = cases[1]
  for _, c in ipairs(cases) do
    if c.t then
      local ratios = {}
      for i, v in ipairs(c.times) do ratios[i] = v / none.times[i] end
      print(format("  %-36s best %6.3f s  median %6.3f s  x%.2f (median of the rounds' ratios; best x%.2f)"
        .. "  (goal <= x1.20)", c.label, c.best, median(c.times), median(ratios), c.best / none.best))
    else
      print(format("  %-36s best %6.3f s  median %6.3f s", c.label, c.best, median(c.times)))
    end
  end
end

for _, path in ipairs(temp_files) do remove_sqlite(path) end
