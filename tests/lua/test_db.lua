-- alluse.store: the storage suite.  It runs against ALLUSE_TEST_DB when set (the
-- PostgreSQL integration test, tests/integration/test_db_pg.sh, points it at a
-- private server) and against a temporary SQLite file otherwise: one suite, both
-- drivers.
local t = require("alluse.test")
local store = require("alluse.store")
local schema = require("alluse.store.schema")
local runs = require("alluse.store.runs")
local json = require("alluse.json")
local null = store.null

local target = dofile((debug.getinfo(1, "S").source:sub(2):gsub("[^/]*$", "")) .. "db_target.lua")
local url = target.url
local cleanup = target.cleanup

-- ---- URLs and placeholders (no database needed) ----

local p = assert(store.parse_url("sqlite:/var/x.db?busy_timeout=250&synchronous=normal"))
t.is_deeply(p, { kind = "sqlite", path = "/var/x.db", opts = { busy_timeout_ms = 250, synchronous = "normal" } },
  "sqlite URL with parameters")
p = assert(store.parse_url("postgres://u:secret@h:5433/db?sslmode=verify-full&statement_timeout=250&reconnect_ms=10"))
t.is(p.conninfo, "postgres://u:secret@h:5433/db?sslmode=verify-full", "our parameters are taken out before libpq")
t.is(p.statement_timeout, 250, "statement_timeout parameter")
t.is(p.reconnect_ms, 10, "reconnect_ms parameter")
t.is(store.parse_url("postgresql://h/db").conninfo, "postgresql://h/db", "postgresql:// scheme")
local _, perr = store.parse_url("mysql://h/db")
t.like(perr, "unknown storage URL 'mysql://h/db' %(sqlite:PATH or postgres://", "an unknown scheme is named")
_, perr = store.parse_url("sqlite:x.db?busytimeout=1")
t.like(perr, "unknown parameter 'busytimeout'", "a misspelt sqlite parameter is named")
_, perr = store.parse_url("postgres://u:pw@h/db?statement_timeout=soon")
t.like(perr, "statement_timeout must be milliseconds", "a bad statement_timeout is refused")
t.unlike(perr, "pw@", "... and the message does not show the password")
t.is(store.redact("postgres://alice:s3cret@db:5432/x"), "postgres://alice:***@db:5432/x", "redact hides the password")
t.is(store.redact("postgres://alice@db/x"), "postgres://alice@db/x", "redact leaves a URL without password alone")
t.is(store.redact("postgres://alice@db/x?sslmode=require&password=s3cret&application_name=a"),
  "postgres://alice@db/x?sslmode=require&password=***&application_name=a", "redact hides a password= parameter")
t.is(store._numbered("SELECT ? , '?', \"a?\", ? -- ?\n, ?"), "SELECT $1 , '?', \"a?\", $2 -- ?\n, $3",
  "? becomes $n outside strings, identifiers and comments")
do
  local old = os.getenv("ALLUSE_DB")
  t.is(store.url("sqlite:given.db"), "sqlite:given.db", "a given URL wins")
  if not old then t.is(store.url(nil), store.DEFAULT_URL, "no URL and no ALLUSE_DB: sqlite:alluse.db") end
end

-- ---- opening and the schema ----

local db, oerr = store.open(url, { migrate = true })
t.ok(db, "open " .. store.redact(url) .. (oerr and (": " .. oerr) or ""))
if not db then cleanup() return end
t.diag("backend: " .. db.kind)
t.is(schema.version(db), schema.latest, "migrated to the latest version")
t.is_deeply(schema.migrate(db), {}, "migrating again applies nothing")
t.is(schema.check(db), nil, "check: current")
for _, tbl in ipairs({ "runs", "accounts", "orders", "order_events", "fills", "positions", "tax_lots", "ledger",
  "equity", "weeks", "protocol_events", "audit", "kv", "bars", "trades", "assignments" }) do
  t.ok(db:query("SELECT COUNT(*) AS n FROM " .. tbl), "table " .. tbl .. " exists")
end

-- A schema newer than the binary is refused, by open and by migrate.
t.ok(db:exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", schema.latest + 1,
  "from the future", 0), "pretend a newer alluse migrated")
local db2, nerr, ncode = store.open(url)
t.is(db2, nil, "open refuses a newer schema")
t.like(nerr, "newer than this alluse knows", "... saying why")
t.is(ncode, "ESCHEMA", "... code ESCHEMA")
local applied, merr = schema.migrate(db)
t.ok(applied == nil and merr:find("upgrade alluse"), "migrate refuses it too")
t.ok(db:exec("DELETE FROM schema_migrations WHERE version = ?", schema.latest + 1), "back to the real version")

-- ---- values go as parameters, and come back exactly ----

local run = assert(runs.start(db, { kind = "test", strategy = "suite", params = { a = 1 } }))
t.ok(type(run.id) == "number" and run.id >= 1, "a run row is created")
local hostile = "x'); DROP TABLE orders; --"
local hostile_account = "acct\"; DELETE FROM runs; --"
local ORDER = "INSERT INTO orders (run_id, seq, client_order_id, account, symbol, side, type, tif, qty, "
  .. "limit_price, stop_price, status, reason, filled_qty, avg_price, created, updated) "
  .. "VALUES (?, ?, ?, ?, ?, 'buy', 'limit', 'day', ?, ?, ?, 'accepted', ?, 0, ?, ?, ?)"
t.is(db:exec(ORDER, run.id, 1, "o1", hostile_account, hostile, 100, 26.4720001220703125, null, "", null,
  1e15, 1e15 + 1), 1, "insert with a hostile symbol and account name")
local row = db:one("SELECT * FROM orders WHERE run_id = ? AND client_order_id = ?", run.id, "o1")
t.is(row.symbol, hostile, "the symbol is stored verbatim")
t.is(row.account, hostile_account, "the account name is stored verbatim")
t.is(row.limit_price, 26.4720001220703125, "a double comes back exactly")
t.is(row.stop_price, null, "NULL comes back as store.null")
t.is(row.created, 1e15, "a microsecond time comes back exactly")
t.ok(db:one("SELECT COUNT(*) AS n FROM runs WHERE id = ?", run.id).n == 1, "runs is still there")
t.ok(db:one("SELECT COUNT(*) AS n FROM orders").n >= 1, "orders is still there")
local by_symbol = db:query("SELECT client_order_id FROM orders WHERE symbol = ?", hostile)
t.is(#by_symbol, 1, "a hostile value in WHERE matches itself and nothing else")

for _, v in ipairs({ 0.1, 1e-300, 2 ^ 53 - 1, -123456.789, 5e-324, 1.7976931348623157e308 }) do
  db:exec("DELETE FROM kv WHERE scope = ?", "num")
  db:exec("INSERT INTO kv (scope, key, value, updated) VALUES (?, ?, ?, ?)", "num", "k", "v", 0)
  db:exec("UPDATE equity SET equity = equity WHERE run_id = -1") -- a no-op statement in between
  local id = db:exec("INSERT INTO equity (run_id, account, date, equity, flow) VALUES (?, ?, ?, ?, ?)", run.id,
    "num", tostring(v), v, -v)
  local r = db:one("SELECT equity, flow FROM equity WHERE run_id = ? AND account = 'num' AND date = ?", run.id,
    tostring(v))
  t.ok(id == 1 and r.equity == v and r.flow == -v, string.format("%.17g round-trips exactly", v))
end
local utf = "日本語 ✓ \t tab \n newline \\ backslash"
db:exec("INSERT INTO kv (scope, key, value, updated) VALUES (?, ?, ?, ?)", "text", utf, utf, 1)
t.is(db:one("SELECT value FROM kv WHERE scope = 'text' AND key = ?", utf).value, utf, "UTF-8 and escapes verbatim")

-- ---- errors ----

local ok, err, code = db:exec(ORDER, run.id, 2, "o1", "a", "SPY", 1, 1, 1, "", 1, 1, 1)
t.is(ok, nil, "a duplicate client order id is refused")
t.is(code, "ECONSTRAINT", "... code ECONSTRAINT")
t.like(err, "client_order_id", "... and the message names the key")
ok, err, code = db:query("SELEKT 1")
t.is(code, "ESQL", "a syntax error is ESQL")
t.unlike(err, "\n", "... on one line")

-- append-only tables
t.ok(db:exec("INSERT INTO audit (at, who, what, outcome) VALUES (?, ?, ?, ?)", 1, "test", "migrate", "ok"),
  "audit takes a row")
ok, err = db:exec("UPDATE audit SET outcome = 'forged'")
t.ok(ok == nil and err:find("append%-only"), "audit refuses UPDATE")
ok, err = db:exec("DELETE FROM audit")
t.ok(ok == nil and err:find("append%-only"), "audit refuses DELETE")
t.ok(db:exec("INSERT INTO order_events (run_id, seq, client_order_id, time, status) VALUES (?, ?, ?, ?, ?)",
  run.id, 1, "o1", 1, "accepted"), "order_events takes a row")
ok, err = db:exec("UPDATE order_events SET status = 'filled'")
t.ok(ok == nil and err:find("append%-only"), "order_events refuses UPDATE")

-- ---- transactions ----

local before = db:one("SELECT COUNT(*) AS n FROM kv").n
local r1, r2 = db:transaction(function()
  db:exec("INSERT INTO kv (scope, key, value, updated) VALUES ('tx', 'a', '1', 0)")
  return "done", 7
end)
t.ok(r1 == "done" and r2 == 7, "transaction returns fn's results")
ok, err = db:transaction(function()
  db:exec("INSERT INTO kv (scope, key, value, updated) VALUES ('tx', 'b', '1', 0)")
  error("boom")
end)
t.ok(ok == nil and err:find("boom"), "a raising fn: nil, its message")
ok, err, code = db:transaction(function()
  db:exec("INSERT INTO kv (scope, key, value, updated) VALUES ('tx', 'c', '1', 0)")
  return db:exec("INSERT INTO kv (scope, key, value, updated) VALUES ('tx', 'a', '1', 0)") -- duplicate
end)
t.ok(ok == nil and code == "ECONSTRAINT", "a failing statement rolls back and returns its code")
t.is(db:one("SELECT COUNT(*) AS n FROM kv").n, before + 1, "only the committed transaction's row is there")
ok = db:transaction(function()
  return db:transaction(function() return db:exec("INSERT INTO kv (scope, key, value, updated) VALUES ('tx', 'n', '1', 0)") end)
end)
t.ok(ok and db:one("SELECT value FROM kv WHERE scope = 'tx' AND key = 'n'"), "nested transaction joins the outer")

-- ---- bulk ----

local bulk = {}
for i = 1, 10000 do bulk[i] = { run.id, i, "o" .. i, i * 1000, i % 2 == 0 and "filled" or "accepted", i, i / 3, null } end
local n = db:transaction(function()
  return db:insert("order_events", { "run_id", "seq", "client_order_id", "time", "status", "filled_qty",
    "avg_price", "reason" }, bulk, "ignore")
end)
t.is(n, 10000, "bulk insert of 10,000 events")
local agg = db:one("SELECT COUNT(*) AS n, SUM(filled_qty) AS q FROM order_events WHERE run_id = ?", run.id)
t.is(agg.n, 10000, "... all there (the first, seq 1, was already: skipped)")
t.is(agg.q, 10000 * 10001 / 2 - 1 + 0, "... with their values") -- seq 1's row is the earlier one (filled_qty NULL)
t.is(db:one("SELECT avg_price FROM order_events WHERE run_id = ? AND seq = 9999", run.id).avg_price, 9999 / 3,
  "... exactly")
ok, err, code = db:transaction(function()
  return db:insert("order_events", { "run_id", "seq", "client_order_id", "time", "status" },
    { { run.id, 20001, "x", 1, "new" }, { run.id, 20002, "x", 1, "new" }, { run.id, 5, "dup", 1, "new" } })
end)
t.is(code, "ECONSTRAINT", "bulk insert of a duplicate fails whole")
t.is(db:one("SELECT COUNT(*) AS n FROM order_events WHERE run_id = ? AND seq > 20000", run.id).n, 0,
  "... and leaves none of its rows")
t.raises(function() db:insert("order_events; DROP TABLE runs", { "seq" }, { { 1 } }) end, "plain identifier",
  "a table name that is not an identifier raises")

-- upsert: the last row per key wins; existing keys are updated
local PCOLS, PKEY = { "run_id", "account", "symbol", "seq", "qty", "avg_cost" }, { "run_id", "account", "symbol" }
n = db:transaction(function()
  return db:upsert("positions", PCOLS, PKEY, {
    { run.id, "GEN", "SPY", 1, 100, 400.5 },
    { run.id, "GEN", "SPY", 1, 200, 401.25 },
    { run.id, hostile_account, hostile, 2, -3, 1.5 },
  })
end)
t.ok(n == 2 or n == 3, "upsert succeeds (" .. tostring(n) .. ")")
t.is(#db:query("SELECT * FROM positions WHERE run_id = ?", run.id), 2, "upsert leaves one row per key")
t.is(db:one("SELECT qty FROM positions WHERE run_id = ? AND account = 'GEN'", run.id).qty, 200,
  "... the last row given for a key wins")
db:transaction(function()
  return db:upsert("positions", PCOLS, PKEY, { { run.id, "GEN", "SPY", 1, 50, 399 } })
end)
local ps = db:query("SELECT * FROM positions WHERE run_id = ? ORDER BY seq", run.id)
t.is(#ps, 2, "upsert of an existing key adds no row")
t.is_deeply({ ps[1].qty, ps[1].avg_cost }, { 50, 399 }, "... and updates it")
t.is(ps[2].symbol, hostile, "a hostile symbol through upsert is verbatim")

-- weeks: a view over the protocol's "weeks" journal rows
t.ok(db:insert("protocol_events", { "run_id", "seq", "stream", "time", "body" }, {
  { run.id, 1, "weeks", 5, '{"week":"2024-W01","account":"GEN","ticker":"SPY","mode":"Green","type":"W-IDL"}' },
  { run.id, 2, "events", 6, '{"week":"2024-W01","account":"GEN","ticker":"SPY","mode":"Red"}' },
}), "two journal rows, one of them a week")
local wk = db:query("SELECT week, account, ticker, mode, type FROM weeks WHERE run_id = ?", run.id)
t.is_deeply(wk, { { week = "2024-W01", account = "GEN", ticker = "SPY", mode = "Green", type = "W-IDL" } },
  "the weeks view shows the week row and nothing else")

-- ---- runs: reaping the dead, a backtest stored and read back ----

local dead_pid = tonumber(io.popen("sh -c 'echo $$'"):read("*l"))
local h = require("alluse.core.host")
db:exec("INSERT INTO runs (kind, strategy, params, status, started_at, host, pid) VALUES ('backtest', 'dead', '{}', "
  .. "'running', 1, ?, ?)", h.hostname(), dead_pid)
db:exec("INSERT INTO runs (kind, strategy, params, status, started_at, host, pid) VALUES ('backtest', 'elsewhere', "
  .. "'{}', 'running', 1, 'another-host', ?)", dead_pid)
t.is(runs.reap(db), 1, "reap marks the run of a dead process")
t.is(db:one("SELECT status FROM runs WHERE strategy = 'dead'").status, "incomplete", "... incomplete")
t.is(db:one("SELECT status FROM runs WHERE strategy = 'elsewhere'").status, "running",
  "a run on another host is left alone")
t.is(db:one("SELECT status FROM runs WHERE id = ?", run.id).status, "running", "our own running run is left alone")

local backtest = require("alluse.backtest")
local data = require("alluse.data")
local spy = assert(data.read_csv("data/SPY-daily.csv"))
local rec = assert(runs.start(db, { kind = "backtest", strategy = "sma_cross", params = {} }))
local res, eng = backtest.run { strategy = "strategies/examples/sma_cross.lua", data = { { series = spy,
  source = "data/SPY-daily.csv" } }, recorder = rec, from = require("alluse.time").from_ny(2018, 1, 1) }
t.ok(res and res.status == "ok", "a backtest runs with a recorder")
t.is(rec:finish(eng, res, eng.run_counts), true, "finish")
local id = assert(rec:close())
t.is(id, rec.id, "close returns the run id")
t.is(db:one("SELECT status FROM runs WHERE id = ?", id).status, "ok", "the run is ok")
local back = assert(runs.load(db, id))
local want = json.encode(res, { sorted = true, indent = 2 })
t.is(json.encode(back, { sorted = true, indent = 2 }) == want, true,
  "the result rebuilt from the tables encodes to the same bytes")
t.is(db:one("SELECT COUNT(*) AS n FROM fills WHERE run_id = ?", id).n, res.counts.fills, "every fill is stored")
t.is(db:one("SELECT COUNT(*) AS n FROM order_events WHERE run_id = ?", id).n >= res.counts.orders, true,
  "order events: at least one per order")

-- one account's view, a date range
local main = assert(runs.load(db, id, { account = "main", records = false }))
t.is(main.summary.final_equity, res.accounts[1].summary.final_equity, "--account: that account's final equity")
t.is(#main.accounts, 1, "--account: one account")
local part = assert(runs.load(db, id, { from = "2020-01-01", to = "2020-12-31", records = false }))
t.is(part.equity[1].date >= "2020-01-01" and part.equity[#part.equity].date <= "2020-12-31", true,
  "--from/--to: equity within the range")
local e19
for _, r in ipairs(res.equity) do if r.date < "2020-01-01" then e19 = r.total end end
t.is(part.summary.initial_cash, e19, "--from: the starting equity is the last day's before it")
local none, nerr2, ncode2 = runs.load(db, 999999)
t.ok(none == nil and ncode2 == "ENOTFOUND" and nerr2:find("no run 999999"), "an unknown run id is named")
local inc, ierr = runs.load(db, run.id)
t.ok(inc == nil and ierr:find("no results"), "a run without results says so")
local list = runs.list(db)
t.ok(#list >= 3, "list shows the runs")

-- ---- bars: series in and out of the bars table ----

local series = require("alluse.series")
local bars = require("alluse.store.bars")
local ffi = require("ffi")

-- Column for column, bit for bit (NaN-safe): the same series.
local function same_series(a, b)
  if a.symbol ~= b.symbol or a.timeframe ~= b.timeframe or a.n ~= b.n then
    return false, string.format("%s %s %d vs %s %s %d", a.symbol, a.timeframe, a.n, b.symbol, b.timeframe, b.n)
  end
  if (a._cs.adj_close == nil) ~= (b._cs.adj_close == nil) then return false, "adj_close column" end
  for _, c in ipairs({ "time", "open", "high", "low", "close", "volume", "adj_close" }) do
    local pa, pb = a._cs[c], b._cs[c]
    if pa ~= nil and a.n > 0 and ffi.C.memcmp(pa, pb, a.n * 8) ~= 0 then return false, c .. " differs" end
  end
  return true
end
pcall(ffi.cdef, "int memcmp(const void *a, const void *b, size_t n);")

local DAY = 86400e6
local function make(symbol, tf, from, n, adj, bump)
  local s = series.new(symbol, tf, { adj_close = adj })
  for i = 0, n - 1 do
    local px = 100 + i * 0.1 + (bump or 0) + 1 / 3
    s:append(from + i * DAY, px, px + 1.25, px - 0.75, px + 0.5, 1000 + i, adj and px * 0.97 or nil)
  end
  return s
end

local T0 = 1577975400e6 -- 2020-01-02 14:30 UTC
local a = make("AAA", "1d", T0, 10, true)
local res = assert(bars.write(db, a))
t.is_deeply(res, { rows = 10, replaced = 0 }, "bars.write: 10 rows, none replaced")
local back = assert(bars.read(db, "AAA", "1d"))
t.ok(same_series(back, a), "bars.read gives the series written, adj_close included, bit for bit")
t.is(back.adj_close ~= nil, true, "... with its adj_close column")
t.is_deeply(bars.write(db, a), { rows = 10, replaced = 10 }, "writing it again replaces its 10 rows")
t.is(db:one("SELECT COUNT(*) AS n FROM bars WHERE symbol = 'AAA'").n, 10, "... and leaves 10")

-- A later write replaces only its own first..last range: rows before and after stay,
-- rows inside the range that it does not have are gone.
local mid = series.new("AAA", "1d")
mid:append(T0 + 3 * DAY, 50, 51, 49, 50.5, 7)
mid:append(T0 + 6 * DAY, 60, 61, 59, 60.5, 8)
t.is_deeply(bars.write(db, mid), { rows = 2, replaced = 4 }, "an overlapping write replaces the 4 rows in its range")
back = assert(bars.read(db, "AAA", "1d"))
local times = {}
for i = 0, back.n - 1 do times[#times + 1] = (back.time[i] - T0) / DAY end
t.is_deeply(times, { 0, 1, 2, 3, 6, 7, 8, 9 }, "... rows outside it stay, the range holds the new rows")
t.is(back.close[3], 50.5, "... with their values")
t.is(back.adj_close, nil, "a range without adj_close: the series read back has no adj_close column")

-- Chunked reading: chunk boundaries lose and repeat nothing.
local big = make("BIG", "5m", T0, 1000, false)
assert(bars.write(db, big))
local chunk = bars.CHUNK
bars.CHUNK = 7
local big_back = assert(bars.read(db, "BIG", "5m"))
bars.CHUNK = chunk
t.ok(same_series(big_back, big), "a read in chunks of 7 rows gives the whole series")
t.is(assert(bars.read(db, "BIG", "5min")).n, 1000, "a timeframe is read by its canonical name (5min = 5m)")

-- Hostile text goes as a parameter: stored and read back verbatim.
local evil = "x'); DROP TABLE bars; --"
assert(bars.write(db, make(evil, "1d", T0, 3, false)))
local eback = assert(bars.read(db, evil, "1d"))
t.is(eback.symbol, evil, "a hostile symbol is stored and read back verbatim")
t.is(eback.n, 3, "... with its bars")
t.ok(db:one("SELECT COUNT(*) AS n FROM bars").n >= 13, "... and the bars table survives")

local missing, merr2, mcode = bars.read(db, "NOPE", "1d")
t.ok(missing == nil and mcode == "ENOENT" and merr2:find("bars NOPE 1d: none", 1, true), "a missing symbol: ENOENT, named")
local _, tferr, tfcode = bars.read(db, "AAA", "7q")
t.ok(tfcode == "EINVAL" and tferr:find("unknown timeframe '7q'", 1, true), "an unknown timeframe is named")

local info = assert(bars.info(db))
local seen = {}
for _, e in ipairs(info) do seen[e.symbol .. " " .. e.timeframe] = e end
t.is(seen["AAA 1d"].rows, 8, "bars.info: rows per symbol and timeframe")
t.is(seen["AAA 1d"].first, T0, "bars.info: first bar time")
t.is(seen["AAA 1d"].last, T0 + 9 * DAY, "bars.info: last bar time")
t.is(seen[evil .. " 1d"].rows, 3, "bars.info lists the hostile symbol verbatim")
t.is(info[1].symbol <= info[#info].symbol, true, "bars.info is sorted by symbol")
assert(bars.write(db, make("AAA", "1h", T0, 2, false)))
t.is_deeply(bars.timeframes(db, "AAA"), { "1d", "1h" }, "bars.timeframes lists what the table holds")

-- Rows another program wrote are checked as read_csv checks a CSV row.
assert(db:exec("INSERT INTO bars (symbol, timeframe, time, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  "BAD", "1d", T0, 10, 9, 11, 10, 0))
local bad, berr, bcode = bars.read(db, "BAD", "1d")
t.ok(bad == nil and bcode == "EDATA" and berr:find("bar at " .. T0 .. ": high/low", 1, true),
  "a bar whose high is below its low is refused, naming the bar")
t.is(db:snapshot(function() return db:one("SELECT COUNT(*) AS n FROM bars WHERE symbol = 'BAD'").n end), 1,
  "db:snapshot runs fn and returns what it returns")
db:exec("DELETE FROM bars WHERE symbol IN ('AAA', 'BIG', 'BAD', ?)", evil)

-- A database at schema version 1 (bars without adj_close) takes migration 2 with its
-- rows in place.
do
  local v1 = os.tmpname()
  os.remove(v1)
  local steps, latest = schema.steps, schema.latest
  schema.steps, schema.latest = { steps[1] }, 1
  local old = assert(store.open("sqlite:" .. v1, { migrate = true }))
  schema.steps, schema.latest = steps, latest
  assert(old:exec("INSERT INTO bars (symbol, timeframe, time, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "OLD", "1d", T0, 10, 11, 9, 10.5, 100))
  t.is_deeply(schema.migrate(old), { 2, 3 }, "a version-1 database takes migrations 2 and 3")
  local o = assert(bars.read(old, "OLD", "1d"))
  t.ok(o.n == 1 and o.close[0] == 10.5 and o.adj_close == nil, "... and its bars read back, without adj_close")
  old:close()
  for _, sfx in ipairs({ "", "-wal", "-shm" }) do os.remove(v1 .. sfx) end
end

-- PostgreSQL only: the statement timeout
if db.kind == "postgres" then
  local sep = url:find("?", 1, true) and "&" or "?"
  local tdb = assert(store.open(url .. sep .. "statement_timeout=100"))
  local t0 = require("alluse.time").monotonic()
  local _, terr, tcode = tdb:query("SELECT pg_sleep(2)")
  t.is(tcode, "ETIMEDOUT", "a statement over statement_timeout is stopped: ETIMEDOUT")
  t.ok(require("alluse.time").monotonic() - t0 < 1.5e6, "... well before it would have ended")
  t.like(terr, "statement timeout", "... saying so")
  tdb:close()
else
  t.skip("statement_timeout is a PostgreSQL setting", 3)
end

db:close()
ok, err, code = db:query("SELECT 1")
t.ok(ok == nil and code == "ECLOSED", "a closed store says ECLOSED")
cleanup()
