-- alluse.store: one storage interface over the two drivers (docs/storage.md).
--
--   local store = require("alluse.store")
--   local db, err, code = store.open("sqlite:alluse.db")       -- or postgres://..., or nil:
--                                                              -- $ALLUSE_DB, else sqlite:alluse.db
--   db:exec("INSERT INTO kv (scope, key, value, updated) VALUES (?, ?, ?, ?)", s, k, v, t) -> affected
--   local rows = db:query("SELECT * FROM runs WHERE id = ?", id)   -- array of name -> value
--   local row = db:one("SELECT ...", ...)                           -- first row or nil
--   db:transaction(function() ... end)      -- BEGIN/COMMIT, ROLLBACK when fn raises or fails
--   db:snapshot(function() ... end)         -- reads that all see one snapshot
--   db:insert("equity", { "run_id", "account", ... }, rows)   -- bulk: SQLite insert_rows, PostgreSQL COPY
--   db:close()
--
-- Statements are written once with `?` placeholders; for PostgreSQL they become $1,
-- $2, ... here.  Values are never spliced into SQL text: every value goes as a
-- parameter.  SQL NULL reads back as store.null (== json.null).
--
-- Inside a task (alluse.task) a PostgreSQL statement does not block: it is sent with
-- PQsendQueryParams and the task yields on the socket until the result is in, while
-- the loop runs other tasks (connects too: PQconnectStart/PQconnectPoll).  Bulk writes
-- (insert, upsert: COPY and pipelines) stay synchronous; outside a task everything is.
--
-- Failures return nil, message, code (the drivers' codes: ECONSTRAINT, ETIMEDOUT,
-- ECONNECTION, ESQL, EBUSY, EIO, ECLOSED, EDB).  PostgreSQL connections that drop are
-- reopened with exponential backoff and jitter: a statement outside a transaction is
-- retried once the connection is back, and db:transaction(fn) runs fn again from its
-- start (so fn must be safe to repeat: our writers use keys with ON CONFLICT DO NOTHING
-- or upserts).  Nothing is acknowledged before its COMMIT returned.
local json = require("alluse.json")

local type, tostring, tonumber, select, error, pcall, ipairs = type, tostring, tonumber, select, error, pcall, ipairs
local format, gsub, find, sub, match = string.format, string.gsub, string.find, string.sub, string.match

local M = {}
M.null = json.null
M.DEFAULT_URL = "sqlite:alluse.db"

-- ---- URLs ----

-- The text of a URL fit to print: a password is replaced by ***, whether it is in
-- the user part (postgres://user:PASSWORD@host) or a parameter (?password=PASSWORD).
function M.redact(url)
  local s = gsub(tostring(url), "^(%a[%w+.-]*://[^:/@]*:)[^@]*@", "%1***@")
  return (gsub(s, "([?&]password=)[^&]*", "%1***"))
end

local function query_params(q)
  local out = {}
  for k, v in (q or ""):gmatch("([^&=]+)=([^&]*)") do out[k] = v end
  return out
end

-- Our own URL parameters (not libpq's): taken out before the URL reaches libpq.
local PG_OWN = { statement_timeout = true, reconnect_ms = true }

-- url -> { kind = "sqlite", path, opts } | { kind = "postgres", conninfo, statement_timeout, reconnect_ms }
-- | nil, message
function M.parse_url(url)
  if type(url) ~= "string" or url == "" then return nil, "storage URL is empty" end
  local path = match(url, "^sqlite:(.*)$")
  if path then
    local p, q = match(path, "^([^?]*)%??(.*)$")
    if p == "" then return nil, format("storage URL '%s': no file after sqlite:", url) end
    local qp = query_params(q)
    local opts = {}
    for k, v in pairs(qp) do
      if k == "busy_timeout" then
        opts.busy_timeout_ms = tonumber(v)
        if not opts.busy_timeout_ms or opts.busy_timeout_ms < 0 then
          return nil, format("storage URL '%s': busy_timeout must be milliseconds", url)
        end
      elseif k == "synchronous" then
        if v ~= "full" and v ~= "normal" and v ~= "off" then
          return nil, format("storage URL '%s': synchronous must be full, normal or off", url)
        end
        opts.synchronous = v
      else
        return nil, format("storage URL '%s': unknown parameter '%s' (busy_timeout, synchronous)", url, k)
      end
    end
    return { kind = "sqlite", path = p, opts = opts }
  end
  if match(url, "^postgres://") or match(url, "^postgresql://") then
    local base, q = match(url, "^([^?]*)%??(.*)$")
    local keep, out = {}, { kind = "postgres", statement_timeout = 30000, reconnect_ms = 30000 }
    for part in q:gmatch("[^&]+") do
      local k, v = match(part, "^([^=]+)=(.*)$")
      if k and PG_OWN[k] then
        local n = tonumber(v)
        if not n or n < 0 then return nil, format("storage URL '%s': %s must be milliseconds", M.redact(url), k) end
        out[k] = n
      else
        keep[#keep + 1] = part
      end
    end
    out.conninfo = #keep > 0 and (base .. "?" .. table.concat(keep, "&")) or base
    return out
  end
  return nil, format("unknown storage URL '%s' (sqlite:PATH or postgres://USER@HOST:PORT/DB)", M.redact(url))
end

-- The URL to use: the given one, else $ALLUSE_DB, else the default.
function M.url(given)
  if given and given ~= "" then return given end
  local env = os.getenv("ALLUSE_DB")
  if env and env ~= "" then return env end
  return M.DEFAULT_URL
end

-- ---- placeholders ----

-- `?` -> $1, $2 ... outside quoted strings, identifiers and comments.
-- Our SQL is a bounded set of texts; the cache is dropped if it ever grows past that.
local numbered_cache, numbered_count = {}, 0
local function numbered(sql)
  local hit = numbered_cache[sql]
  if hit then return hit end
  local out, n, i, last, len = {}, 0, 1, 1, #sql
  while i <= len do
    local c = sub(sql, i, i)
    if c == "'" or c == '"' then
      local j = find(sql, c, i + 1, true)
      i = (j or len) + 1
    elseif c == "-" and sub(sql, i + 1, i + 1) == "-" then
      i = (find(sql, "\n", i, true) or len) + 1
    elseif c == "?" then
      n = n + 1
      out[#out + 1] = sub(sql, last, i - 1)
      out[#out + 1] = "$" .. n
      i = i + 1
      last = i
    else
      i = i + 1
    end
  end
  out[#out + 1] = sub(sql, last)
  local s = table.concat(out)
  numbered_count = numbered_count + 1
  if numbered_count > 4096 then numbered_cache, numbered_count = {}, 1 end
  numbered_cache[sql] = s
  return s
end
M._numbered = numbered

local function params_of(...)
  local n = select("#", ...)
  if n == 1 and type((...)) == "table" and (...) ~= json.null then return (...) end
  return { n = n, ... }
end

local function check_ident(name, what)
  if type(name) ~= "string" or not match(name, "^[%a_][%w_]*$") then
    error(format("store: %s must be a plain identifier, got %s", what, tostring(name)), 3)
  end
end

-- ---- the database object ----

local DB = {}
DB.__index = DB

local function in_task() return require("alluse.task").current() ~= nil end

local function sleep_ms(ms)
  if in_task() then return require("alluse.task").sleep(ms) end
  os.execute(format("sleep %.3f", ms / 1000)) -- no loop to yield to: the synchronous path
end

-- ---- PostgreSQL without blocking the loop ----
--
-- Inside a task, a statement is sent with PQsendQueryParams and the task yields on the
-- connection's socket (uv_poll) until the whole result is in; other tasks and timers
-- run meanwhile.  Outside a task the driver's blocking calls are used.

local function pg_connect(conninfo)
  local pg = require("alluse.core.pg")
  if not in_task() then return pg.connect(conninfo) end
  local task = require("alluse.task")
  local conn, err, code = pg.connect_start(conninfo)
  if not conn then return nil, err, code end
  local want = "w" -- libpq: start as if PQconnectPoll had said "writing"
  while true do
    local ok, werr = task.wait_fd(conn:socket(), want, 30000)
    if not ok then
      conn:close()
      return nil, "postgres: connect: " .. tostring(werr), "ECONNECTION"
    end
    local st, perr, pcode = conn:connect_poll()
    if st == nil then
      conn:close()
      return nil, perr, pcode
    end
    if st == "ok" then return conn end
    want = st == "read" and "r" or "w"
  end
end
M._pg_connect = pg_connect

-- One statement, asynchronously: exec -> affected; query -> rows, columns.  A result
-- that does not come within timeout_ms is canceled on the server (ETIMEDOUT).
local function pg_async(conn, method, sql, params, timeout_ms)
  local task = require("alluse.task")
  local ok, err, code = conn:send(sql, params)
  if not ok then return nil, err, code end
  local fd = conn:socket()
  while true do
    local r, ferr, fcode = conn:flush()
    if not r then return nil, ferr, fcode end
    if r == 0 then break end
    local w, werr = task.wait_fd(fd, "w", timeout_ms)
    if not w then return nil, "postgres: sending: " .. tostring(werr), "ECONNECTION" end
  end
  local rows, cols, affected, first_err, first_code
  local canceled = false
  while true do
    local busy, cerr, ccode = conn:consume()
    if busy == nil then return nil, cerr, ccode end
    while not busy do
      local more, a, b, c = conn:next_result()
      if more == false then
        if first_err then return nil, first_err, first_code end
        if method == "exec" then return affected or 0 end
        return rows, cols
      elseif more == nil then
        if not first_err then first_err, first_code = a, b end
      else
        rows, cols, affected = a, b, c
      end
      busy = conn:busy()
    end
    local r, werr = task.wait_fd(fd, "r", timeout_ms)
    if not r then
      if werr ~= "ETIMEDOUT" or canceled then
        return nil, "postgres: " .. (werr == "ETIMEDOUT" and "no answer after the statement was canceled" or tostring(werr)),
          werr == "ETIMEDOUT" and "ETIMEDOUT" or "ECONNECTION"
      end
      conn:cancel() -- the server answers with "canceling statement" (ETIMEDOUT)
      canceled = true
    end
  end
end

-- A driver call: asynchronous for exec/query on PostgreSQL inside a task.
local function raw(self, method, sql, params, extra)
  local conn = self.conn
  if self.kind == "postgres" and (method == "exec" or method == "query") and in_task() then
    -- the server's statement_timeout fires first; this is the net under it
    return pg_async(conn, method, sql, params or {}, self.statement_timeout + 5000)
  end
  return conn[method](conn, sql, params, extra)
end

-- PostgreSQL: open again after a drop, doubling the wait from 50 ms up to 2 s, each
-- wait jittered to 50..100 % so many clients do not knock in step; give up after
-- reconnect_ms.
local function try_reconnect(self)
  local deadline = require("alluse.time").monotonic() + self.reconnect_ms * 1000
  local wait = 50
  local last_err
  while true do
    if self.conn then self.conn:close() end
    local conn, err = pg_connect(self.conninfo)
    if conn then
      self.conn = conn
      local ok, serr, scode = self:_session_setup()
      if ok then
        self.reconnects = self.reconnects + 1
        return true
      end
      err = serr
      if scode ~= "ECONNECTION" then return nil, serr, scode end
    end
    last_err = err
    if require("alluse.time").monotonic() >= deadline then
      return nil, format("%s: gave up reconnecting after %d ms: %s", self.url, self.reconnect_ms, tostring(last_err)),
        "ECONNECTION"
    end
    sleep_ms(wait * (0.5 + 0.5 * math.random()))
    wait = math.min(wait * 2, 2000)
  end
end

-- db.reconnecting is true meanwhile (the live runner's /readyz says the store is
-- unreachable).
local function reconnect(self)
  self.reconnecting = true
  local ok, err, code = try_reconnect(self)
  self.reconnecting = false
  return ok, err, code
end

-- A new connection's settings: the statement timeout, and what the owner asked to be
-- redone on every connection (db.on_connect: the live runner's session lock).
function DB:_session_setup()
  if self.kind ~= "postgres" then return true end
  local ok, err, code = raw(self, "exec", format("SET statement_timeout = %d", self.statement_timeout), {})
  if ok and self.on_connect then ok, err, code = self.on_connect(self) end
  return ok, err, code
end

-- Runs driver method `method` with SQL and params; PostgreSQL reconnects and retries
-- when the connection dropped and no transaction is open (a transaction is retried
-- whole by db:transaction).
function DB:_call(method, sql, params, extra)
  local conn = self.conn
  if not conn then return nil, "store: the database is closed", "ECLOSED" end
  if self.kind == "postgres" then sql = numbered(sql) end
  local a, b, c = raw(self, method, sql, params, extra)
  if a == nil and c == "ECONNECTION" and self.kind == "postgres" and self.depth == 0 then
    local ok, err, code = reconnect(self)
    if not ok then return nil, err, code end
    a, b, c = raw(self, method, sql, params, extra)
  end
  return a, b, c
end

function DB:exec(sql, ...)
  return self:_call("exec", sql, params_of(...))
end

function DB:query(sql, ...)
  return self:_call("query", sql, params_of(...))
end

function DB:one(sql, ...)
  local rows, err, code = self:_call("query", sql, params_of(...))
  if not rows then return nil, err, code end
  return rows[1]
end

-- Several statements without parameters (schema migrations).
function DB:exec_script(sql)
  if not self.conn then return nil, "store: the database is closed", "ECLOSED" end
  return self.conn:exec_script(sql)
end

-- ---- bulk writes ----
--
-- A bulk write is a list of steps { sql, rows, ncols, mode }: mode "rows" runs sql once
-- per row, "copy" sends rows to a COPY ... FROM STDIN (PostgreSQL), "exec" runs sql
-- once.  db:insert and db:upsert run their steps at once; alluse.core.dbwriter runs the
-- same steps on its own thread (store/runs.lua: a run written behind its loop).

-- Steps inserting rows (arrays in the order of columns) into table `tbl`.  conflict:
-- nil (a duplicate is an error) or "ignore" (rows whose key exists are skipped).
function DB:insert_steps(tbl, columns, rows, conflict)
  check_ident(tbl, "table")
  for _, c in ipairs(columns) do check_ident(c, "column") end
  local cols = table.concat(columns, ", ")
  if self.kind == "postgres" and conflict == nil then
    return { { format("COPY %s (%s) FROM STDIN", tbl, cols), rows, #columns, "copy" } }
  end
  local marks = ("?, "):rep(#columns):sub(1, -3)
  local verb = (conflict == "ignore" and self.kind == "sqlite") and "INSERT OR IGNORE" or "INSERT"
  local tail = (conflict == "ignore" and self.kind == "postgres") and " ON CONFLICT DO NOTHING" or ""
  local sql = format("%s INTO %s (%s) VALUES (%s)%s", verb, tbl, cols, marks, tail)
  if self.kind == "postgres" then sql = numbered(sql) end
  return { { sql, rows, #columns, "rows" } }
end

-- Steps inserting or updating rows keyed by `keys` (a subset of columns): the other
-- columns take the new values; of rows repeating a key, the last wins.  SQLite: one
-- statement per row, in order.  PostgreSQL: COPY into a temporary table, then one
-- merging statement (which may touch a row only once: the last row per key is kept).
function DB:upsert_steps(tbl, columns, keys, rows)
  check_ident(tbl, "table")
  local is_key, key_pos = {}, {}
  for _, k in ipairs(keys) do check_ident(k, "key") is_key[k] = true end
  local sets = {}
  for i, c in ipairs(columns) do
    check_ident(c, "column")
    if is_key[c] then key_pos[#key_pos + 1] = i else sets[#sets + 1] = format("%s = excluded.%s", c, c) end
  end
  local cols, keycols = table.concat(columns, ", "), table.concat(keys, ", ")
  local conflict = format("ON CONFLICT (%s) DO %s", keycols,
    #sets > 0 and ("UPDATE SET " .. table.concat(sets, ", ")) or "NOTHING")
  if self.kind == "sqlite" then
    local marks = ("?, "):rep(#columns):sub(1, -3)
    return { { format("INSERT INTO %s (%s) VALUES (%s) %s", tbl, cols, marks, conflict), rows, #columns, "rows" } }
  end
  local last, order = {}, {}
  for _, r in ipairs(rows) do
    local parts = {}
    for j, p in ipairs(key_pos) do parts[j] = tostring(r[p]) end
    local k = table.concat(parts, "\0")
    if not last[k] then order[#order + 1] = k end
    last[k] = r
  end
  local uniq = {}
  for i, k in ipairs(order) do uniq[i] = last[k] end
  local stage = "alluse_stage_" .. tbl
  return {
    { format("CREATE TEMP TABLE IF NOT EXISTS %s (LIKE %s) ON COMMIT DELETE ROWS", stage, tbl), nil, 0, "exec" },
    { format("COPY %s (%s) FROM STDIN", stage, cols), uniq, #columns, "copy" },
    { format("INSERT INTO %s (%s) SELECT %s FROM %s %s", tbl, cols, cols, stage, conflict), nil, 0, "exec" },
    { format("DELETE FROM %s", stage), nil, 0, "exec" },
  }
end

-- SQL with `?` placeholders as this database's driver takes it.
function DB:dialect_sql(sql)
  return self.kind == "postgres" and numbered(sql) or sql
end

-- Runs steps now, in one transaction (the caller's, or one of its own): the number of
-- rows the steps carried, or nil, message, code.
function DB:run_steps(steps)
  return self:transaction(function()
    local n = 0
    for _, st in ipairs(steps) do
      local sql, rows, ncols, mode = st[1], st[2], st[3], st[4]
      local ok, err, code
      if mode == "exec" then
        ok, err, code = self:_call("exec", sql, {})
      elseif rows and #rows > 0 then
        ok, err, code = self:_call(mode == "copy" and "copy_rows" or "insert_rows", sql, rows, ncols)
        n = n + #rows
      else
        ok = true
      end
      if not ok then return nil, err, code end
    end
    return n
  end)
end

function DB:insert(tbl, columns, rows, conflict)
  if #rows == 0 then return 0 end
  return self:run_steps(self:insert_steps(tbl, columns, rows, conflict))
end

-- Returns the number of rows written (PostgreSQL: distinct keys; SQLite: rows given).
function DB:upsert(tbl, columns, keys, rows)
  if #rows == 0 then return 0 end
  return self:run_steps(self:upsert_steps(tbl, columns, keys, rows))
end

-- fn runs inside BEGIN ... COMMIT and its results are returned; when it raises, or
-- returns nil, message[, code], the transaction is rolled back and that comes back as
-- nil, message, code.  Nested calls join the outer transaction.  On PostgreSQL a
-- dropped connection reopens and fn runs again, up to 3 times.
local function run_transaction(self, begin, fn, ...)
  if self.depth > 0 then return fn(...) end
  local attempts = 0
  while true do
    attempts = attempts + 1
    local ok, err, code = self:_call("exec", begin, {})
    if not ok then return nil, err, code end
    self.depth = 1
    -- A repeat after a dropped connection may follow a COMMIT that did happen (only
    -- its answer was lost): writers then skip rows already there (db.retrying).
    self.retrying = attempts > 1
    local res = { pcall(fn, ...) }
    self.depth, self.retrying = 0, false
    local failed, ferr, fcode
    if not res[1] then
      failed, ferr, fcode = true, tostring(res[2]), "EDB"
    elseif res[2] == nil and res[3] ~= nil then
      failed, ferr, fcode = true, res[3], res[4]
    end
    if not failed and self.kind == "postgres" and self.conn:transaction_status() == "inerror" then
      -- A statement in fn failed and fn went on: PostgreSQL would answer COMMIT with
      -- a silent ROLLBACK.  Say so instead of reporting success.
      failed, ferr, fcode = true, "postgres: a statement in the transaction failed; it was rolled back", "EDB"
      raw(self, "exec", "ROLLBACK", {})
    elseif not failed then
      local cok, cerr, ccode = raw(self, "exec", "COMMIT", {})
      if cok then return select(2, unpack(res, 1, table.maxn(res))) end
      failed, ferr, fcode = true, cerr, ccode
    else
      raw(self, "exec", "ROLLBACK", {})
    end
    if not (fcode == "ECONNECTION" and self.kind == "postgres" and attempts < 3) then
      return nil, ferr, fcode
    end
    local rok, rerr, rcode = reconnect(self)
    if not rok then return nil, rerr, rcode end
  end
end

function DB:transaction(fn, ...)
  return run_transaction(self, self.kind == "sqlite" and "BEGIN IMMEDIATE" or "BEGIN", fn, ...)
end

-- Like transaction, for reads that must agree with each other (several queries over
-- one table while others write it): every statement in fn sees the database as it
-- was when the first one ran.  SQLite: a deferred BEGIN, one WAL snapshot, no write
-- lock taken; PostgreSQL: REPEATABLE READ, READ ONLY.
function DB:snapshot(fn, ...)
  return run_transaction(self, self.kind == "sqlite" and "BEGIN" or "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    fn, ...)
end

-- A writer thread on a connection of its own to the same database
-- (alluse.core.dbwriter): run_steps' batches committed behind the caller.
function DB:writer()
  local dbwriter = require("alluse.core.dbwriter")
  if self.kind == "sqlite" then
    return dbwriter.sqlite(self.path, { synchronous = self.sqlite_opts.synchronous,
      busy_timeout_ms = self.sqlite_opts.busy_timeout_ms })
  end
  local w, err, code = dbwriter.postgres(self.conninfo, { statement_timeout = self.statement_timeout })
  if not w then return nil, format("%s: %s", self.url, err), code end
  return w
end

function DB:close()
  if self.conn then self.conn:close() end
  self.conn = nil
end

function DB:__tostring() return format("store(%s)", self.url) end

-- ---- opening ----

-- store.open([url [, opts]]) -> db | nil, message, code.  opts.migrate: true (bring
-- the schema up to date), "check" (refuse a schema that is not current), false (neither).
-- opts.create = false: a SQLite file that does not exist is an error, not a new file
-- (commands that only read).
function M.open(url, opts)
  url = M.url(url)
  opts = opts or {}
  local spec, perr = M.parse_url(url)
  if not spec then return nil, perr, "EURL" end
  local self = setmetatable({ kind = spec.kind, url = M.redact(url), depth = 0, reconnects = 0 }, DB)
  if spec.kind == "sqlite" then
    if opts.create == false and spec.path ~= ":memory:" then
      local f = io.open(spec.path, "rb")
      if not f then return nil, format("%s: no such database file", self.url), "ENOTFOUND" end
      f:close()
    end
    local conn, err, code = require("alluse.core.sqlite").open(spec.path, spec.opts)
    if not conn then return nil, err, code end
    self.conn, self.path, self.sqlite_opts = conn, spec.path, spec.opts
  else
    self.conninfo, self.statement_timeout, self.reconnect_ms = spec.conninfo, spec.statement_timeout,
      spec.reconnect_ms
    local conn, err, code = pg_connect(spec.conninfo)
    if not conn then return nil, format("%s: %s", self.url, err), code end
    self.conn = conn
    local ok, serr, scode = self:_session_setup()
    if not ok then conn:close() return nil, serr, scode end
  end
  -- The embedded SQLite file is brought up to date on open; a shared PostgreSQL is
  -- migrated by `alluse db migrate` (a deploy's migration Job), and only checked here.
  local migrate = opts.migrate
  if migrate == nil then migrate = spec.kind == "sqlite" and true or "check" end
  local schema = require("alluse.store.schema")
  if migrate == true then
    local ok, err, code = schema.migrate(self)
    if not ok then self:close() return nil, err, code end
  elseif migrate == "check" then
    local err, code = schema.check(self)
    if err then self:close() return nil, err, code end
  end
  return self
end

-- Who did it, for the audit table: user@host.
function M.who()
  local user = os.getenv("USER") or os.getenv("LOGNAME") or ("uid" .. tostring(os.getenv("UID") or "?"))
  return user .. "@" .. require("alluse.core.host").hostname()
end

-- A row of the audit trail (append-only): now, who (user@host), what was done, its
-- outcome and a detail (text; a table is written as JSON).
function DB:audit(what, outcome, detail)
  if type(detail) == "table" then detail = require("alluse.json").encode(detail, { sorted = true }) end
  return self:exec("INSERT INTO audit (at, who, what, outcome, detail) VALUES (?, ?, ?, ?, ?)",
    require("alluse.time").now(), M.who(), what, outcome, detail)
end

return M
