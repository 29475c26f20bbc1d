-- alluse.core.dbwriter: batches committed on a thread of their own, against SQLite
-- (a temporary file) or ALLUSE_TEST_DB (test_db_pg.sh: a private PostgreSQL).
local t = require("alluse.test")
local store = require("alluse.store")
local json = require("alluse.json")
local null = store.null

local target = dofile((debug.getinfo(1, "S").source:sub(2):gsub("[^/]*$", "")) .. "db_target.lua")
local url = target.url
local db = assert(store.open(url, { migrate = true }))
t.diag("backend: " .. db.kind)
local run = assert(require("alluse.store.runs").start(db, { kind = "test", strategy = "writer", params = {} }))
local id = run.id
local COLS = { "run_id", "seq", "stream", "time", "body" }

local w = assert(db:writer())
t.is(w:pending(), 0, "a new writer has nothing pending")

-- rows, and rows whose body is a table: the thread writes it as a JSON object
local rows = {}
local bodies = {
  { kind = "roll", price = 26.4720001220703125, ok = true, skip = false, note = "quote \" back\\slash\nnew\ttab\1ctl",
    ticker = "日本", big = 2 ^ 53 - 1, tiny = 5e-324, neg = -0.1, huge = 1.7976931348623157e308 },
  { only = "one" },
  {},
}
for i = 1, 2000 do
  local b = bodies[(i - 1) % #bodies + 1]
  rows[i] = { id, i, "s" .. (i % 3), i * 1000, b }
end
local t1 = w:submit(db:insert_steps("protocol_events", COLS, rows))
t.is(t1, 1, "submit returns ticket 1")
for i = 1, 2000 do rows[i] = nil end -- the batch owns its copy: the caller may drop its rows
collectgarbage()
local LEDGER = { "run_id", "seq", "account", "time", "kind", "symbol", "amount", "balance", "ref_order" }
local t2 = w:submit(db:insert_steps("ledger", LEDGER,
  { { id, 1, "A", 1, "deposit", "", 100.25, 100.25, null }, { id, 2, "A", 2, "fill", "SPY", -50.125, 50.125, "o1" } }))
t.is(t2, 2, "tickets count up")
local wok, werr = w:wait(t1)
t.is(wok, true, "wait(ticket): that batch is committed" .. (werr and (": " .. werr) or ""))
t.is(w:wait(), true, "wait(): everything submitted is committed")
t.is(w:pending(), 0, "... nothing pending")
local n = db:one("SELECT COUNT(*) AS n FROM protocol_events WHERE run_id = ?", id).n
t.is(n, 2000, "all 2000 rows are in")
local got = db:query("SELECT seq, body FROM protocol_events WHERE run_id = ? AND seq <= 3 ORDER BY seq", id)
for i, r in ipairs(got) do
  local dec = json.decode(r.body)
  t.is(json.encode(dec, { sorted = true }), json.encode(bodies[i], { sorted = true }),
    "a table body comes back as the same JSON object (" .. i .. ")")
end
t.is(db:one("SELECT balance FROM ledger WHERE run_id = ? AND seq = 2", id).balance, 50.125, "a plain batch too")
t.is(db:one("SELECT ref_order FROM ledger WHERE run_id = ? AND seq = 1", id).ref_order, null, "null stays null")
t.is(db:one("SELECT ref_order FROM ledger WHERE run_id = ? AND seq = 2", id).ref_order, "o1", "text stays text")

-- a step given by columns: constants, a sequence, slices of arrays, a field, objects
local journal = { { time = 11, k = "a" }, { time = 12, k = "b", flag = true }, { time = 13, k = "c" } }
local st = db:insert_steps("protocol_events", COLS, {})[1]
st[2], st.n = nil, 2
st.columns = { id, { seq = 5001 }, "cols", { from = journal, at = 2, field = "time" }, { from = journal, at = 2 } }
t.ok(w:submit({ st }), "submit a step given by columns")
t.is(w:wait(), true, "... committed")
local cr = db:query("SELECT seq, stream, time, body FROM protocol_events WHERE run_id = ? AND stream = 'cols' ORDER BY seq", id)
t.is(#cr, 2, "n rows, from the at-th element on")
t.is_deeply({ cr[1].seq, cr[2].seq, cr[1].time, cr[2].time }, { 5001, 5002, 12, 13 }, "sequence and field columns")
t.is(json.encode(json.decode(cr[1].body), { sorted = true }), '{"flag":true,"k":"b","time":12}', "an element as JSON")
local bad = db:insert_steps("protocol_events", COLS, {})[1]
bad[2], bad.n, bad.columns = nil, 1, { id, 1 }
t.raises(function() w:submit({ bad }) end, "columns must list ncols", "columns must match ncols")

-- bad input raises at submit and queues nothing
t.raises(function() w:submit({ { "INSERT INTO kv (scope, key, value, updated) VALUES (?, ?, ?, ?)", { { "a", "b", function() end, 1 } }, 4 } }) end,
  "step 1 row 1 value 3 is a function", "a bad value raises, naming step, row and value")
t.raises(function() w:submit({ { "x", {}, 1, "sideways" } }) end, "mode must be", "a bad mode raises")
t.raises(function() w:submit({ { "INSERT", { { { nested = { 1 } } } }, 1 } }) end, "is a table", "a nested table raises")
t.is(w:pending(), 0, "... and nothing was queued")

-- a failing batch: rolled back, and every later call returns its error
local ok, err, code = w:submit(db:insert_steps("equity", { "run_id", "account", "date", "equity", "flow" },
  { { id, "B", "2024-01-03", 1, 0 }, { id, "B", "2024-01-03", 2, 0 } })) -- the second is a duplicate key
w:submit(db:insert_steps("kv", { "scope", "key", "value", "updated" }, { { "after", "x", "{}", 0 } }))
t.ok(ok, "a batch that will fail is accepted (it fails on the thread)")
t.is(w:wait(t2), true, "wait for a batch before the failed one: committed")
ok, err, code = w:wait()
t.is(ok, nil, "wait returns the failure")
-- (whether submit still accepted it depends on how far the thread had got: either way)
t.is(db:one("SELECT COUNT(*) AS n FROM kv WHERE scope = 'after'").n, 0,
  "a batch submitted behind the failing one is not written")
t.is(code, "ECONSTRAINT", "... with its code")
t.ok(err and (err:find("UNIQUE") or err:find("duplicate")), "... and the database's message: " .. tostring(err))
t.is(db:one("SELECT COUNT(*) AS n FROM equity WHERE run_id = ? AND account = 'B'", id).n, 0,
  "the failed batch is rolled back whole")
local again, aerr = w:submit(db:insert_steps("equity", { "run_id", "account", "date", "equity", "flow" },
  { { id, "C", "2024-01-04", 1, 0 } }))
t.ok(again == nil and aerr == err, "a later submit returns the same failure")
t.is(db:one("SELECT COUNT(*) AS n FROM protocol_events WHERE run_id = ?", id).n, 2002,
  "what was committed before stays")
w:close()
t.lives(function() w:close() end, "close twice")
t.raises(function() w:submit({}) end, "closed", "submit after close raises")

-- close drains the queue
local w2 = assert(db:writer())
for b = 1, 20 do
  local batch = {}
  for i = 1, 100 do batch[i] = { "drain", tostring((b - 1) * 100 + i), "{}", 0 } end
  w2:submit(db:insert_steps("kv", { "scope", "key", "value", "updated" }, batch))
end
t.is(w2:close(), true, "close after 20 batches")
t.is(db:one("SELECT COUNT(*) AS n FROM kv WHERE scope = 'drain'").n, 2000, "close waited for all of them")
db:close()
target.cleanup()
