-- PostgreSQL on the loop: inside a task, statements yield on the connection's socket
-- instead of blocking, so queries on several connections overlap and timers keep
-- firing.  Needs ALLUSE_TEST_DB=postgres://... (tests/integration/test_db_pg.sh runs it
-- against a private server); without one it skips.
local t = require("alluse.test")
local url = os.getenv("ALLUSE_TEST_DB") or ""
if not url:match("^postgres") then
  t.skip("needs ALLUSE_TEST_DB=postgres://... (test_db_pg.sh)", 1)
  return
end
local task = require("alluse.task")
local store = require("alluse.store")
local loop = require("alluse.core.loop")

task.run(function()
  local dbs = {}
  for i = 1, 3 do
    local db, err = store.open(url)
    t.ok(db, "connect " .. i .. " from a task (PQconnectStart/PQconnectPoll)" .. (err and (": " .. err) or ""))
    dbs[i] = db
  end
  local ticks, ticking = 0, true
  task.spawn(function() while ticking do task.sleep(10) ticks = ticks + 1 end end)
  local got, done = {}, 0
  local t0 = loop.now()
  for i = 1, 3 do
    task.spawn(function()
      local rows = assert(dbs[i]:query("SELECT pg_sleep(0.3), ? AS v, ? AS s", i * 10, "ab'c"))
      got[i] = rows[1].v .. rows[1].s
      done = done + 1
    end)
  end
  while done < 3 do task.sleep(5) end
  local took = loop.now() - t0
  ticking = false
  t.is_deeply(got, { "10ab'c", "20ab'c", "30ab'c" }, "three queries, each its own result")
  t.ok(took < 550, "three 0.3 s queries on three connections overlap (" .. took .. " ms)")
  t.ok(ticks >= 15, "a 10 ms timer kept firing meanwhile (" .. ticks .. " ticks): the loop is not blocked")

  local db = dbs[1]
  t.is(db:exec("INSERT INTO kv (scope, key, value, updated) VALUES ('async', 'k', 'v', 1)"), 1, "exec: rows changed")
  local _, err, code = db:exec("INSERT INTO kv (scope, key, value, updated) VALUES ('async', 'k', 'v', 1)")
  t.is(code, "ECONSTRAINT", "a constraint error comes back the same way: ECONSTRAINT")
  t.like(err, "already exists", "... with the server's message")
  local ok = db:transaction(function()
    return db:exec("UPDATE kv SET updated = updated + 1 WHERE scope = 'async'")
  end)
  t.is(ok, 1, "a transaction in a task")
  t.is(db:one("SELECT updated FROM kv WHERE scope = 'async'").updated, 2, "... committed")
  _, err, code = db:query("SELEKT")
  t.is(code, "ESQL", "a syntax error: ESQL")
  t.is(db:one("SELECT 1 AS one").one, 1, "the connection is usable after an error")

  local sep = url:find("?", 1, true) and "&" or "?"
  local tdb = assert(store.open(url .. sep .. "statement_timeout=100"))
  local t1 = loop.now()
  _, err, code = tdb:query("SELECT pg_sleep(2)")
  t.is(code, "ETIMEDOUT", "statement_timeout in a task: ETIMEDOUT")
  t.ok(loop.now() - t1 < 1500, "... well before the statement would have ended")
  for _, d in ipairs(dbs) do d:close() end
  tdb:close()
end)
