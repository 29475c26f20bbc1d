-- alluse.store.sessions: the live runner's sessions (docs/live.md, Recovery).
--
-- A session is a name (alluse run --session) whose latest run a restart continues:
--
--   local s = sessions.claim(db, { session = "spy", strategy = ..., params = ... })
--   s.run_id, s.checkpoint, s.commands     -- a run to resume, or s.new: start one
--   sessions.command(db, run_id, pos, "flatten", "http")  -- before doing it
--
-- A run that was killed (incomplete) or drained (stopped) is resumed; one that ended
-- (ok, error) leaves the name free for a new run; a halted one is resumed only when
-- asked (clear_halt); a running one is refused: one process per session, by an
-- advisory lock on PostgreSQL, by host and pid on SQLite.
local json = require("alluse.json")
local time = require("alluse.time")
local runs = require("alluse.store.runs")

local format = string.format
local null = json.null

local M = {}

-- PostgreSQL: the session's advisory lock, held by this connection until it closes.
-- True when this process may run the session (and, on PostgreSQL, holds the lock).
local function lock(db, name)
  if db.kind ~= "postgres" then return true end
  local row, err, code = db:one("SELECT pg_try_advisory_lock(hashtext(?)) AS ok", "alluse session " .. name)
  if not row then return nil, err, code end
  if row.ok ~= true and row.ok ~= "t" then
    return nil, format("session '%s' is running in another process (it holds the session's PostgreSQL advisory lock)",
      name), "EBUSY"
  end
  return true
end

-- Which run the session continues.  spec: session, strategy, params (table),
-- clear_halt.  Returns { new = true } or { run_id, checkpoint (table or nil: nothing
-- committed yet), commands = { { pos, command } ... } }; nil, message, code when the
-- session may not run here now.
function M.claim(db, spec)
  local name = spec.session
  local ok, err, code = lock(db, name)
  if not ok then return nil, err, code end
  -- A session lock lives as long as its connection: a reconnect takes it again, and a
  -- process that finds it taken meanwhile stops there (EBUSY fails the commit).
  db.on_connect = function(d) return lock(d, name) end
  ok, err, code = runs.reap(db)
  if not ok then return nil, err, code end
  local run
  run, err, code = db:one("SELECT id, status, strategy, params, host, pid, checkpoint FROM runs "
    .. "WHERE session = ? ORDER BY id DESC LIMIT 1", name)
  if err then return nil, err, code end
  if run == nil or run.status == "ok" or run.status == "error" then return { new = true } end
  local id = tonumber(run.id)
  if run.status == "running" and db.kind ~= "postgres" then
    -- reap left it running: its process lives, or it lives on another host
    return nil, format("session '%s' is running (run %d, pid %s on %s)", name, id, tostring(run.pid), tostring(run.host)),
      "EBUSY"
  end
  if run.status == "halted" and not spec.clear_halt then
    return nil, format("session '%s' was halted (run %d): start it with --clear-halt to trade it again, "
      .. "or start another --session", name, id), "EHALTED"
  end
  local params = json.encode(spec.params or {}, { sorted = true })
  if run.strategy ~= spec.strategy or run.params ~= params then
    return nil, format("session '%s' (run %d) ran %s with params %s, not %s with %s: run it as it was started, "
      .. "or start another --session", name, id, run.strategy, run.params, spec.strategy, params), "EMISMATCH"
  end
  local h = require("alluse.core.host")
  local commands = {}
  ok, err, code = db:transaction(function()
    -- The closing rows of a drained run are made again when the resumed one ends.
    for _, t in ipairs({ "trades", "positions", "tax_lots", "assignments" }) do
      local dok, derr, dcode = db:exec(format("DELETE FROM %s WHERE run_id = ?", t), id)
      if not dok then return nil, derr, dcode end
    end
    local uok, uerr, ucode = db:exec("UPDATE runs SET status = 'running', host = ?, pid = ?, ended_at = NULL, "
      .. "error = NULL WHERE id = ?", h.hostname(), h.pid(), id)
    if not uok then return nil, uerr, ucode end
    return db:audit("session resume", "resumed", { session = name, run = id, was = run.status })
  end)
  if not ok then return nil, err, code end
  local rows
  rows, err, code = db:query("SELECT pos, command FROM run_commands WHERE run_id = ? ORDER BY seq", id)
  if not rows then return nil, err, code end
  for _, r in ipairs(rows) do commands[#commands + 1] = { pos = tonumber(r.pos), command = r.command } end
  local checkpoint = run.checkpoint ~= null and run.checkpoint ~= nil and json.decode(run.checkpoint) or nil
  return { run_id = id, checkpoint = checkpoint, commands = commands, was = run.status }
end

-- An operator's command that changes what the run does (flatten, cancel_all), made
-- durable before it is carried out, at the position it takes effect: a resume does it
-- again there.  source: http | control | signal.
function M.command(db, run_id, pos, command, source)
  return db:transaction(function()
    local row, err, code = db:one("SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM run_commands WHERE run_id = ?", run_id)
    if not row then return nil, err, code end
    local ok, ierr, icode = db:exec("INSERT INTO run_commands (run_id, seq, pos, command, source, at) VALUES (?, ?, ?, ?, ?, ?)",
      run_id, tonumber(row.seq), pos, command, source, time.now())
    if not ok then return nil, ierr, icode end
    return db:audit(command, "done", { run = run_id, pos = pos, source = source })
  end)
end

return M
