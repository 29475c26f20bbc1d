-- alluse.core.sqlite: the SQLite driver's Lua contract (the same one the PostgreSQL
-- driver keeps), on real files: binding and reading back every type exactly, error
-- codes, the bulk path, the statement cache, locking between connections, close.
local t = require("alluse.test")
local sqlite = require("alluse.core.sqlite")
local time = require("alluse.time")
local null = require("cjson").null

local created = {}
local function temp_db()
  local path = os.tmpname()
  os.remove(path) -- tmpname creates an empty file; let SQLite create its own
  path = path .. ".db"
  created[#created + 1] = path
  return path
end
local function remove_db(path)
  for _, suffix in ipairs({ "", "-wal", "-shm", "-journal" }) do os.remove(path .. suffix) end
end
local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- One value from a one-row query.
local function scalar(conn, sql, params)
  local rows, cols = conn:query(sql, params)
  assert(rows, cols)
  return rows[1] and rows[1][cols[1]]
end

t.like(sqlite.version(), "^3%.%d+%.%d+", "version() is SQLite's library version")
t.ok(sqlite.null == null and type(sqlite.null) == "userdata", "sqlite.null is the cjson null sentinel")

-- ---- open ----

local path = temp_db()
local db, err, code = sqlite.open(path)
t.ok(db, "open a file database: " .. tostring(err))
t.is(tostring(db), "sqlite.conn(" .. path .. ")", "__tostring names the path")
t.is(scalar(db, "PRAGMA journal_mode"), "wal", "journal_mode is wal")
t.is(scalar(db, "PRAGMA foreign_keys"), 1, "foreign_keys is on")
t.is(scalar(db, "PRAGMA synchronous"), 2, "synchronous defaults to full (2)")
t.is(scalar(db, "PRAGMA busy_timeout"), 5000, "busy timeout defaults to 5000 ms")
do
  local mem = assert(sqlite.open(":memory:", { synchronous = "normal", busy_timeout_ms = 250 }))
  t.is(scalar(mem, "PRAGMA synchronous"), 1, "synchronous = normal")
  t.is(scalar(mem, "PRAGMA busy_timeout"), 250, "busy_timeout_ms is applied")
  t.is(scalar(mem, "PRAGMA journal_mode"), "memory", ":memory: keeps its journal mode (no WAL)")
  mem:close()
  mem = assert(sqlite.open(":memory:", { synchronous = "off" }))
  t.is(scalar(mem, "PRAGMA synchronous"), 0, "synchronous = off")
  mem:close()
end
t.raises(function() sqlite.open(path, { synchronous = "fast" }) end, "synchronous must be", "bad synchronous raises")
t.raises(function() sqlite.open(path, { busy_timeout = 10 }) end, "unknown option 'busy_timeout'",
  "a misspelt option raises")
t.raises(function() sqlite.open(path, { busy_timeout_ms = -1 }) end, "busy_timeout_ms", "negative timeout raises")
t.raises(function() sqlite.open(path, { readonly = "yes" }) end, "readonly must be a boolean", "readonly non-boolean raises")
t.raises(function() sqlite.open(nil) end, "string expected", "open(nil) raises")

local missing = "/nonexistent-alluse-dir-" .. os.time() .. "/sub/x.db"
local nodb, nerr, ncode = sqlite.open(missing)
t.is(nodb, nil, "open in a missing directory returns nil")
t.is(nerr, "sqlite:" .. missing .. ": unable to open database file", "the message names the path")
t.is(ncode, "EIO", "missing directory: EIO")

do
  local junk = temp_db()
  local f = assert(io.open(junk, "wb"))
  f:write(string.rep("not a database ", 400))
  f:close()
  local j, jerr, jcode = sqlite.open(junk)
  t.ok(j == nil and jerr == "sqlite:" .. junk .. ": file is not a database" and jcode == "EIO",
    "a file that is not a database is refused at open: " .. tostring(jerr))
  j, jerr, jcode = sqlite.open(junk, { readonly = true })
  t.ok(j == nil and jcode == "EIO", "... also when opened readonly: " .. tostring(jerr))
end

-- ---- schema ----

t.is(db:exec_script([[
  CREATE TABLE vals (id INTEGER PRIMARY KEY, v);          -- no affinity: typeof shows the binding
  CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    client_order_id TEXT NOT NULL UNIQUE,
    symbol TEXT NOT NULL,
    qty INTEGER,
    price REAL
  );
  CREATE TABLE fills (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id), qty INTEGER);
  CREATE TABLE three (a, b, c);
]]), true, "exec_script runs several statements")
do
  local r, e, c = db:exec_script("CREATE TABLE ok1 (x); CREATE TABLE (broken")
  t.ok(r == nil and e:find("syntax error", 1, true) and c == "ESQL", "exec_script syntax error: nil, msg, ESQL")
  t.is(scalar(db, "SELECT count(*) FROM sqlite_master WHERE name = 'ok1'"), 1,
    "exec_script ran the statements before the broken one (no implicit transaction)")
end
t.ok(exists(path .. "-wal"), "writes went to a -wal file")

-- ---- binding and reading back every type ----

local function roundtrip(value, params_n)
  local params = { value }
  if params_n then params.n = params_n end
  local n, e = db:exec("INSERT INTO vals (v) VALUES (?)", params)
  assert(n == 1, e)
  local id = db:last_insert_id()
  local rows = assert(db:query("SELECT v, typeof(v) AS type, length(CAST(v AS BLOB)) AS bytes FROM vals WHERE id = ?", { id }))
  return rows[1].v, rows[1].type, rows[1].bytes
end

local ints = { 0, 1, -1, 42, 2 ^ 31, -(2 ^ 31) - 1, 2 ^ 53 - 1, -(2 ^ 53 - 1), 1e15 }
for _, x in ipairs(ints) do
  local v, ty = roundtrip(x)
  t.ok(v == x and ty == "integer", string.format("integer %.17g round-trips as integer (got %s %s)", x, tostring(v), ty))
end
local doubles = { 0.1, -0.1, 1e-300, 26.4720001220703125, 1.5, 1 / 3, 1.7976931348623157e308,
                  4.9406564584124654e-324, 2 ^ 53, -(2 ^ 53), 2 ^ 60 + 2 ^ 8, 123456789.125 }
for _, x in ipairs(doubles) do
  local v, ty = roundtrip(x)
  t.ok(v == x and ty == "real", string.format("double %.17g round-trips exactly as real (got %.17g %s)", x, v, ty))
end
do
  local v, ty = roundtrip(1 / 0)
  t.ok(v == 1 / 0 and ty == "real", "+inf round-trips")
  v, ty = roundtrip(-1 / 0)
  t.ok(v == -1 / 0 and ty == "real", "-inf round-trips")
end

local strings = {
  [""] = "empty string",
  ["plain"] = "ascii",
  ["a\0b\0\0c"] = "embedded NUL bytes",
  ["\0"] = "a lone NUL",
  ["€ — 日本語 ✓ 𝄞"] = "UTF-8",
  ["\255\254\0\1 not utf-8"] = "bytes that are not UTF-8",
  [string.rep("x", 100000)] = "100 kB",
}
for s, what in pairs(strings) do
  local v, ty, bytes = roundtrip(s)
  t.ok(v == s and ty == "text" and bytes == #s, "string round-trips byte for byte: " .. what)
end
do
  local v, ty = roundtrip(true)
  t.ok(v == 1 and ty == "integer", "true binds as integer 1")
  v, ty = roundtrip(false)
  t.ok(v == 0 and ty == "integer", "false binds as integer 0")
  v, ty = roundtrip(null)
  t.ok(v == null and ty == "null", "the null sentinel binds as NULL and reads back as null")
  v, ty = roundtrip(nil, 1)
  t.ok(v == null and ty == "null", "nil with params.n = 1 binds NULL")
  local rows = assert(db:query("SELECT x'00ff10' AS b, x'' AS e, typeof(x'') AS te"))
  t.ok(rows[1].b == "\0\255\16" and rows[1].e == "" and rows[1].te == "blob", "BLOBs read back as strings, empty too")
end

-- hostile text is data
do
  local hostile = "'); DROP TABLE orders; --"
  t.is(db:exec("INSERT INTO orders (client_order_id, symbol, qty, price) VALUES (?, ?, ?, ?)",
    { hostile, "SPY", 10, 612.25 }), 1, "insert hostile text")
  local rows = assert(db:query("SELECT client_order_id, symbol, qty, price FROM orders WHERE client_order_id = ?", { hostile }))
  t.is_deeply(rows, { { client_order_id = hostile, symbol = "SPY", qty = 10, price = 612.25 } },
    "hostile text stored verbatim")
  t.is(scalar(db, "SELECT count(*) FROM sqlite_master WHERE name = 'orders'"), 1, "orders table survives")
  t.is(db:exec("DELETE FROM orders"), 1, "DELETE returns the rows it removed")
end

-- holes up to params.n
do
  t.is(db:exec("INSERT INTO three VALUES (?, ?, ?)", { 1, nil, 3, n = 3 }), 1, "holes: middle nil with n = 3")
  t.is(db:exec("INSERT INTO three VALUES (?, ?, ?)", { 4, n = 3 }), 1, "holes: trailing nils with n = 3")
  local rows = assert(db:query("SELECT a, b, c FROM three ORDER BY a"))
  t.is_deeply(rows, { { a = 1, b = null, c = 3 }, { a = 4, b = null, c = null } }, "holes read back as null")
  t.raises(function() db:exec("INSERT INTO three VALUES (?, ?, ?)", { 5 }) end,
    "1 parameters for a statement with 3 placeholders", "too few parameters (no n) raises")
  t.raises(function() db:exec("INSERT INTO three VALUES (?, ?, ?)", { 1, 2, 3, 4 }) end,
    "4 parameters", "too many parameters raises")
  t.raises(function() db:exec("INSERT INTO three VALUES (?, ?, ?)", { n = 2.5 }) end, "params.n", "fractional n raises")
end

-- a value with no SQL type raises naming the parameter; the statement stays usable
do
  local sql = "INSERT INTO three VALUES (?, ?, ?)"
  t.raises(function() db:exec(sql, { 1, {}, 3 }) end, "bad argument #2 to 'exec' %(parameter 2: cannot bind a table%)",
    "a table parameter raises naming index 2")
  t.raises(function() db:exec(sql, { 1, 2, print }) end, "parameter 3: cannot bind a function",
    "a function parameter raises naming index 3")
  t.raises(function() db:query("SELECT ?", { coroutine.create(print) }) end, "parameter 1: cannot bind a thread",
    "query raises too")
  t.raises(function() db:exec(sql, "1,2,3") end, "table expected", "params not a table raises")
  t.is(db:exec(sql, { 7, "after", 9 }), 1, "the same statement works after a raise")
  t.is(scalar(db, "SELECT b FROM three WHERE a = 7"), "after", "... with the new values")
end

-- ---- changes and ids ----

do
  t.is(db:exec("UPDATE three SET c = 0"), 3, "UPDATE returns the rows changed")
  t.is(db:changes(), 3, "changes() agrees")
  t.is(db:exec("UPDATE three SET c = 1 WHERE a = -99"), 0, "an UPDATE that matches nada returns 0")
  t.is(db:exec("INSERT INTO three VALUES (8, 8, 8)"), 1, "one INSERT")
  t.is(db:exec("CREATE TABLE ddl (x)"), 0, "DDL after an INSERT returns 0, not the INSERT's count")
  t.is(db:exec("SELECT * FROM three"), 0, "exec of a SELECT returns 0")
  assert(db:exec("INSERT INTO vals (id, v) VALUES (?, ?)", { 5000000, "id" }))
  t.is(db:last_insert_id(), 5000000, "last_insert_id")
end

-- ---- errors ----

do
  assert(db:exec("INSERT INTO orders (client_order_id, symbol) VALUES (?, ?)", { "C1", "SPY" }))
  local r, e, c = db:exec("INSERT INTO orders (client_order_id, symbol) VALUES (?, ?)", { "C1", "QQQ" })
  t.is(r, nil, "duplicate key returns nil")
  t.is(e, "sqlite: UNIQUE constraint failed: orders.client_order_id", "... the constraint's message")
  t.is(c, "ECONSTRAINT", "... ECONSTRAINT")
  r, e, c = db:exec("INSERT INTO orders (client_order_id, symbol) VALUES (?, ?)", { "C2", null })
  t.ok(r == nil and e:find("NOT NULL constraint failed: orders.symbol", 1, true) and c == "ECONSTRAINT",
    "NOT NULL violation: ECONSTRAINT")
  r, e, c = db:exec("INSERT INTO fills (order_id, qty) VALUES (?, ?)", { 987654, 1 })
  t.ok(r == nil and e:find("FOREIGN KEY constraint failed", 1, true) and c == "ECONSTRAINT",
    "foreign keys are enforced: ECONSTRAINT")

  r, e, c = db:exec("SELECT *\nFROM orders\nWHERE id = = 1")
  t.is(r, nil, "syntax error returns nil")
  t.is(c, "ESQL", "... ESQL")
  t.like(e, "^sqlite: near \"=\": syntax error %(in: SELECT %* FROM orders WHERE id = = 1%)$",
    "... a one-line message that quotes the statement")
  t.ok(not e:find("\n"), "... with no line break")
  r, e, c = db:query("SELECT nope FROM orders")
  t.ok(r == nil and e:find("no such column: nope", 1, true) and c == "ESQL", "unknown column: ESQL")
  r, e, c = db:exec("INSERT INTO three VALUES (1, 2, 3); DROP TABLE three")
  t.ok(r == nil and e:find("more than one statement", 1, true) and c == "ESQL", "exec refuses two statements")
  t.is(scalar(db, "SELECT count(*) FROM sqlite_master WHERE name = 'three'"), 1, "... and ran neither")
  t.ok(db:exec("SELECT 1; -- trailing comment") == 0, "a trailing comment is not a second statement")
  r, e, c = db:exec("   ")
  t.ok(r == nil and c == "ESQL", "blank SQL: ESQL")
  t.raises(function() db:exec("SELECT 1\0; DROP TABLE three") end, "NUL byte", "SQL with a NUL byte raises")
end

-- a failed statement inside a transaction leaves it usable and the transaction intact
do
  local ins = "INSERT INTO orders (client_order_id, symbol) VALUES (?, ?)"
  assert(db:exec("BEGIN IMMEDIATE"))
  t.is(db:exec(ins, { "T1", "SPY" }), 1, "insert inside a transaction")
  local r, _, c = db:exec(ins, { "T1", "SPY" })
  t.ok(r == nil and c == "ECONSTRAINT", "a duplicate inside the transaction fails")
  t.is(db:exec(ins, { "T2", "SPY" }), 1, "the same cached statement runs again")
  t.is(db:exec("COMMIT"), 0, "COMMIT succeeds (no statement left running)")
  t.is(scalar(db, "SELECT count(*) FROM orders WHERE client_order_id IN ('T1', 'T2')"), 2, "both good rows committed")
  assert(db:exec("BEGIN"))
  assert(db:exec(ins, { "T3", "SPY" }))
  t.is(db:exec("ROLLBACK"), 0, "ROLLBACK")
  t.is(scalar(db, "SELECT count(*) FROM orders WHERE client_order_id = 'T3'"), 0, "rolled back row is gone")
end

-- ---- query shape ----

do
  local rows, cols = db:query("SELECT a, b, c FROM three WHERE a < ?", { -1 })
  t.is_deeply(rows, {}, "zero rows: an empty array")
  t.is(#rows, 0, "... of length 0")
  t.is_deeply(cols, { "a", "b", "c" }, "... and still the column names")
  rows, cols = db:query("SELECT 1 AS one, NULL AS nada, 'x' AS [the x]")
  t.is_deeply(cols, { "one", "nada", "the x" }, "columns in select order")
  t.ok(rows[1].nada == null and rows[1]["the x"] == "x", "NULL is the sentinel, so every key is present")
end

-- ---- insert_rows ----

do
  db:exec("CREATE TABLE bars (t INTEGER PRIMARY KEY, sym TEXT, close REAL, note TEXT)")
  local rows = {}
  for i = 1, 10000 do
    rows[i] = { i, i % 2 == 0 and "SPY" or "QQQ", 100 + i / 8, i % 10 == 0 and null or ("n" .. i) }
  end
  local t0 = time.monotonic()
  assert(db:exec("BEGIN"))
  local n, e = db:insert_rows("INSERT INTO bars (t, sym, close, note) VALUES (?, ?, ?, ?)", rows)
  assert(db:exec("COMMIT"))
  local us = time.monotonic() - t0
  t.is(n, 10000, "insert_rows returns the row count: " .. tostring(e))
  t.diag(string.format("insert_rows: 10,000 rows x 4 columns in one transaction: %.1f ms (%.0f rows/s)",
    us / 1000, 10000 / (us / 1e6)))
  t.is(scalar(db, "SELECT count(*) FROM bars"), 10000, "10,000 rows in the table")
  t.is(scalar(db, "SELECT sum(close) FROM bars"), 100 * 10000 + (10000 * 10001 / 2) / 8, "closes exact")
  t.is(scalar(db, "SELECT count(*) FROM bars WHERE note IS NULL"), 1000, "null sentinels became NULL")
  t.is(scalar(db, "SELECT note FROM bars WHERE t = 9999"), "n9999", "strings bound per row")
  t.is(scalar(db, "SELECT count(*) FROM bars WHERE sym = 'SPY'"), 5000, "per-row values")

  local few = { { 1, "A" }, { 2 }, { 3, "C" } }
  t.is(db:insert_rows("INSERT INTO three (a, b) VALUES (?, ?)", few), 3, "short rows: missing values are NULL")
  t.is(scalar(db, "SELECT typeof(b) FROM three WHERE a = 2 AND c IS NULL"), "null", "... read back as null")
  t.is(db:insert_rows("INSERT INTO three (a, b) VALUES (?, ?)", {}), 0, "no rows: 0")
  t.is(db:insert_rows("INSERT INTO three (a, b) VALUES (?, ?)", { { 9, 9 } }, 2), 1, "explicit ncols")
  t.raises(function() db:insert_rows("INSERT INTO three (a, b) VALUES (?, ?)", { { 1, 2 } }, 3) end,
    "3 columns for a statement with 2 placeholders", "ncols that does not match raises")
  t.raises(function() db:insert_rows("INSERT INTO three (a, b) VALUES (?, ?)", { { 1, 2 }, "x" }) end,
    "row 2 is a string", "a row that is not a table raises naming it")
  t.raises(function() db:insert_rows("INSERT INTO three (a, b) VALUES (?, ?)", { { 1, 2 }, { 3, 4 }, { 5, {} } }) end,
    "row 3, parameter 2: cannot bind a table", "a bad value raises naming row and parameter")

  -- error in row 17: reported with its index, and the caller's rollback leaves nada
  local batch = {}
  for i = 1, 30 do batch[i] = { "B" .. i, "SPY", i, 1.25 * i } end
  batch[17][1] = "B3"
  local before = scalar(db, "SELECT count(*) FROM orders")
  assert(db:exec("BEGIN"))
  local r, msg, c = db:insert_rows("INSERT INTO orders (client_order_id, symbol, qty, price) VALUES (?, ?, ?, ?)", batch)
  t.is(r, nil, "insert_rows with a duplicate returns nil")
  t.is(msg, "sqlite: row 17: UNIQUE constraint failed: orders.client_order_id", "... naming row 17")
  t.is(c, "ECONSTRAINT", "... ECONSTRAINT")
  t.is(scalar(db, "SELECT count(*) FROM orders WHERE client_order_id LIKE 'B%'"), 16,
    "the 16 rows before it were inserted (no implicit rollback)")
  t.is(db:exec("ROLLBACK"), 0, "the caller rolls back")
  t.is(scalar(db, "SELECT count(*) FROM orders"), before, "rollback leaves no rows from the batch")
  batch[17][1] = "B17"
  assert(db:exec("BEGIN"))
  t.is(db:insert_rows("INSERT INTO orders (client_order_id, symbol, qty, price) VALUES (?, ?, ?, ?)", batch), 30,
    "the fixed batch goes in with the same cached statement")
  assert(db:exec("COMMIT"))
  local b17 = assert(db:query("SELECT qty, price FROM orders WHERE client_order_id = 'B17'"))
  t.is_deeply(b17, { { qty = 17, price = 21.25 } }, "row 17's values")
end

-- ---- statement cache ----

do
  local first = "SELECT ? + 0 AS v"
  t.is(scalar(db, first, { 1 }), 1, "cache: first statement")
  for k = 1, 200 do
    local sql = "SELECT ? + " .. k .. " AS v"
    local got = scalar(db, sql, { k })
    if got ~= 2 * k then t.fail("cache: statement " .. k, tostring(got)) break end
  end
  t.is(scalar(db, first, { 41 }), 41, "the first statement, evicted by 200 others, is prepared again and right")
  for round = 1, 3 do
    for k = 1, 70 do -- more than the 64 slots, cycled: every lookup misses
      if scalar(db, "SELECT ? * " .. k .. " AS v", { round }) ~= round * k then
        t.fail("cache cycling round " .. round .. " k " .. k)
      end
    end
  end
  t.pass("cycling 70 statements through 64 slots stays correct")

  -- What the cache holds, seen through SQLite's own list of a connection's prepared
  -- statements (the sqlite_stmt table, in builds with SQLITE_ENABLE_STMTVTAB).
  local mem = assert(sqlite.open(":memory:"))
  if not mem:query("SELECT count(*) FROM sqlite_stmt") then
    t.skip("this SQLite has no sqlite_stmt table", 4)
  else
    local a = "SELECT ? + 1000 AS v"
    for _ = 1, 3 do scalar(mem, a, { 1 }) end
    local function runs(sql) return scalar(mem, "SELECT run FROM sqlite_stmt WHERE sql = ?", { sql }) end
    t.is(runs(a), 3, "one prepared statement ran 3 times (prepared once, reused)")
    for k = 1, 100 do
      scalar(mem, "SELECT ? + " .. k .. " AS v", { k })
      scalar(mem, a, { k }) -- keeps a the most recently used
    end
    t.is(runs(a), 103, "a statement in constant use survives 100 others (least recently used goes first)")
    t.is(runs("SELECT ? + 1 AS v"), nil, "the oldest unused one was evicted")
    t.is(scalar(mem, "SELECT count(*) FROM sqlite_stmt"), 64, "evicted statements are finalized: 64 remain")
  end
  mem:close()
  -- a cached statement sees schema changes (SQLite re-prepares it)
  db:exec("CREATE TABLE shape (a)")
  db:exec("INSERT INTO shape VALUES (1)")
  local _, cols = db:query("SELECT * FROM shape")
  t.is_deeply(cols, { "a" }, "cached SELECT * before ALTER")
  db:exec("ALTER TABLE shape ADD COLUMN b DEFAULT 'bee'")
  local rows
  rows, cols = db:query("SELECT * FROM shape")
  t.is_deeply(cols, { "a", "b" }, "the same cached SELECT * after ALTER sees the new column")
  t.is(rows[1].b, "bee", "... and its value")
end

-- ---- two connections ----

do
  local a = assert(sqlite.open(path))
  local b = assert(sqlite.open(path, { busy_timeout_ms = 100 }))
  assert(a:exec("BEGIN IMMEDIATE"))
  assert(a:exec("INSERT INTO three VALUES (100, 100, 100)"))
  local t0 = time.monotonic()
  local r, e, c = b:exec("INSERT INTO three VALUES (101, 101, 101)")
  local ms = (time.monotonic() - t0) / 1000
  t.is(r, nil, "a write while another connection holds the write lock fails")
  t.is(c, "EBUSY", "... EBUSY")
  t.is(e, "sqlite: database is locked", "... database is locked")
  t.ok(ms >= 90 and ms < 1000, string.format("... after the 100 ms busy timeout (%.0f ms)", ms))
  t.is(scalar(b, "SELECT count(*) FROM three WHERE a = 100"), 0, "WAL: the reader does not see the open transaction")
  assert(a:exec("COMMIT"))
  t.is(b:exec("INSERT INTO three VALUES (101, 101, 101)"), 1, "after COMMIT the other connection writes")
  t.is(scalar(a, "SELECT count(*) FROM three WHERE a IN (100, 101)"), 2, "both rows visible")

  -- __gc closes: a connection dropped inside a write transaction releases the lock
  assert(a:exec("BEGIN IMMEDIATE"))
  assert(a:exec("INSERT INTO three VALUES (102, 0, 0)"))
  a = nil -- luacheck: ignore
  collectgarbage()
  collectgarbage()
  t.is(b:exec("INSERT INTO three VALUES (103, 0, 0)"), 1, "__gc closed the dropped connection (lock released)")
  t.is(scalar(b, "SELECT count(*) FROM three WHERE a = 102"), 0, "... and rolled its transaction back")
  b:close()
end

-- ---- readonly ----

do
  local ro = assert(sqlite.open(path, { readonly = true }))
  t.is(scalar(ro, "SELECT count(*) FROM bars"), 10000, "readonly connection reads")
  local r, e, c = ro:exec("INSERT INTO three VALUES (1, 1, 1)")
  t.is(r, nil, "readonly refuses a write")
  t.is(c, "EIO", "... EIO")
  t.like(e, "readonly database", "... attempt to write a readonly database")
  r, e, c = ro:exec_script("CREATE TABLE nope (x)")
  t.ok(r == nil and c == "EIO", "readonly refuses DDL through exec_script: " .. tostring(e))
  ro:close()
  local missing_ro = temp_db()
  local x, xe, xc = sqlite.open(missing_ro, { readonly = true })
  t.ok(x == nil and xc == "EIO" and xe:find(missing_ro, 1, true), "readonly does not create a missing file")
  t.ok(not exists(missing_ro), "... and no file appeared")
end

-- ---- close ----

do
  t.is(db:close(), true, "close")
  t.is(db:close(), true, "close again is fine")
  t.is(tostring(db), "sqlite.conn(" .. path .. ")", "__tostring after close")
  local calls = {
    exec = { "SELECT 1" }, query = { "SELECT 1" }, exec_script = { "SELECT 1" },
    insert_rows = { "INSERT INTO three VALUES (?, ?, ?)", {} }, last_insert_id = {}, changes = {},
  }
  for name, args in pairs(calls) do
    local r, e, c = db[name](db, unpack(args))
    t.ok(r == nil and e == "sqlite: connection is closed" and c == "ECLOSED", name .. " after close: ECLOSED")
  end
  t.ok(not exists(path .. "-wal"), "closing the last connection removes the -wal file")
end

-- the data was durable
do
  local again = assert(sqlite.open(path))
  t.is(scalar(again, "SELECT count(*) FROM bars"), 10000, "reopened: rows are there")
  t.is(scalar(again, "SELECT count(*) FROM orders WHERE client_order_id LIKE 'B%'"), 30, "reopened: the batch")
  again:close()
end

for _, p in ipairs(created) do remove_db(p) end
t.ok(not exists(path) and not exists(path .. "-wal") and not exists(path .. "-shm"), "temp files removed")
