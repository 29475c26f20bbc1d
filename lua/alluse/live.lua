-- alluse.live: the runner behind `alluse run` (issue #8; docs/live.md).  Today: the
-- replay feed with the paper broker, at a chosen speed, with the service endpoints,
-- the control socket, the store and SIGTERM drain around it.
--
-- The replay runs the backtest driver inside a task: the same feeds, the same
-- strategy callbacks, calendar events and fill model, so a strategy runs unchanged.
-- After each New York day the driver hands control to the loop (opts.pace): the
-- loop then serves HTTP and the control socket, waits to keep --speed, holds while
-- paused, and ends the run at a day boundary when asked to stop (SIGTERM, SIGINT).
local task = require("alluse.task")
local json = require("alluse.json")
local time = require("alluse.time")

local format = string.format

local M = {}

-- "max" -> 0; "5d/s" -> 200 ms per day; "0.5d/s" -> 2000 ms.
function M.parse_speed(text)
  if text == nil or text == "max" then return 0 end
  local n = tonumber((text:match("^([%d%.]+)d/s$")))
  if not n or n <= 0 then return nil, format("--speed must be max or N d/s (e.g. 5d/s), got '%s'", text) end
  return 1000 / n
end

local function json_response(v)
  return 200, { ["Content-Type"] = "application/json" }, json.encode(v, { sorted = true, indent = 2 }) .. "\n"
end

-- The engine's state as the API shows it.
local function accounts_of(state)
  local eng = state.eng
  local out = json.array()
  if not eng then return out end
  for _, a in ipairs(eng.accounts) do
    out[#out + 1] = { name = a.name, parent = a.parent or json.null, status = a.status,
      cash = eng:cash(a), equity = eng:equity(a) }
  end
  return out
end

local function positions_of(state)
  if not state.eng then return json.array() end
  return require("alluse.backtest").position_rows(state.eng)
end

local function orders_of(state, limit)
  local out = json.array()
  local eng = state.eng
  if not eng then return out end
  local order_row = require("alluse.backtest").order_row
  local n = eng:norders()
  for k = math.max(1, n - (limit or 100) + 1), n do out[#out + 1] = order_row(eng, k) end
  return out
end

-- The last `limit` rows of a journal stream (ctx:record), times as ISO text.
local function journal_of(state, stream, limit)
  local rows = state.eng and state.eng.journal[stream]
  if not rows then return json.array() end
  return require("alluse.backtest").journal_rows(rows, math.max(1, #rows - limit + 1))
end

local function limit_of(req)
  local n = tonumber(req.query:match("limit=(%d+)"))
  return n and math.min(n, 10000) or 100
end

M.METRICS_MAX_AGE_US = 1000000
-- The days of results a run keeps in memory (the store keeps all; docs/live.md).
M.KEEP_DAYS = 250

-- The endpoints (docs/live.md).  Reads need the token too unless public_read.
function M.routes(srv, state, opts)
  local token = opts.token
  -- /metrics: Prometheus scrapes it without a token, like /healthz (no account data
  -- beyond equity and cash figures; put the port behind the NetworkPolicy).
  -- The body is made at most once a second (METRICS_MAX_AGE_US) and served as is in
  -- between: a scrape is then a few microseconds however many accounts and series
  -- there are, and a burst of scrapes (or wrk) neither slows the loop nor fills the
  -- heap with 10 kB strings.  Prometheus scrapes every 15-60 s, so it never sees the
  -- cache.
  local content_type = require("alluse.metrics").CONTENT_TYPE
  srv:route("GET", "/metrics", function()
    local now = time.monotonic()
    if not state.metrics_body or now - state.metrics_at >= M.METRICS_MAX_AGE_US then
      M.refresh_metrics(state)
      state.metrics_body, state.metrics_at = state.registry:render(), now
    end
    return 200, { ["Content-Type"] = content_type }, state.metrics_body
  end)
  local read = token and not opts.public_read and { token = token } or nil
  srv:route("GET", "/healthz", function() return 200, { ["Content-Type"] = "text/plain" }, "ok\n" end)
  require("alluse.dashboard").route(srv) -- the page at /: no data in it, so no token
  srv:route("GET", "/readyz", function()
    local store_down = state.db and state.db.reconnecting
    local halted = state.halted or state.strategy_error
    local ready = state.started and not state.recovering and not store_down and not halted and not state.stopping
      and not state.finished
    local why = not state.started and "feed not started" or state.recovering and "recovering (re-running to the last commit)"
      or store_down and "store unreachable (reconnecting)" or halted and "halted" or state.stopping and "stopping"
      or state.finished and "the feed ended"
    return ready and 200 or 503, { ["Content-Type"] = "text/plain" }, ready and "ready\n" or ("not ready: " .. why .. "\n")
  end)
  srv:route("GET", "/api/v1/status", function()
    return json_response {
      strategy = state.strategy, feed = state.feed, speed = state.speed, date = state.date or json.null,
      days = state.days, paused = state.paused, halted = state.halted, stopping = state.stopping,
      recovering = state.recovering or false, run_id = state.run_id or json.null, session = state.session or json.null,
    }
  end, read)
  srv:route("GET", "/api/v1/accounts", function() return json_response(accounts_of(state)) end, read)
  srv:route("GET", "/api/v1/positions", function() return json_response(positions_of(state)) end, read)
  srv:route("GET", "/api/v1/orders", function() return json_response(orders_of(state)) end, read)
  -- the total equity per day, the last ?limit=N days (all that is kept without it)
  srv:route("GET", "/api/v1/equity", function(req)
    local eq, n = state.equity, tonumber(req.query:match("limit=(%d+)"))
    if not n or n >= #eq then return json_response(json.array(eq)) end
    local out = json.array()
    for i = #eq - n + 1, #eq do out[#out + 1] = eq[i] end
    return json_response(out)
  end, read)
  srv:route("GET", "/api/v1/weeks", function(req) return json_response(journal_of(state, "weeks", limit_of(req))) end,
    read)
  srv:route("GET", "/api/v1/events", function(req) return json_response(journal_of(state, "events", limit_of(req))) end,
    read)
  if token then
    local control = { token = token }
    srv:route("POST", "/api/v1/control/pause", function() state.paused = true return json_response { paused = true } end, control)
    srv:route("POST", "/api/v1/control/resume", function() state.paused = false return json_response { paused = false } end, control)
    srv:route("POST", "/api/v1/control/flatten", function()
      state.flatten_requested = "http"
      return json_response { flatten = "at the end of the day" }
    end, control)
    srv:route("POST", "/api/v1/control/halt", function()
      state.halted, state.stopping = true, true
      return json_response { halted = true }
    end, control)
  end
end

-- Flatten: cancel every working order and close every position with a market order
-- (it fills at the next bar's open, by the fill model).  The strategy keeps running
-- and may open positions again: pause or halt it as well if it must not.
function M.flatten(eng, log)
  local ffi = require("ffi")
  eng:cancel_all("flatten")
  local n = 0
  for _, a in ipairs(eng.accounts) do
    local ptr = a.ptr
    for j = 0, ptr.npositions - 1 do
      local p = ptr.positions[j]
      if p.qty ~= 0 and a.status == "active" then
        local sym = ffi.string(p.symbol)
        local id, why = eng:submit(a, sym, p.qty > 0 and "sell" or "buy", math.abs(p.qty), "market")
        if id then n = n + 1 else log("flatten: an order was refused", { account = a.name, symbol = sym, reason = why }, "warn") end
      end
    end
  end
  eng:flush()
  log("flatten: closing orders sent", { orders = n })
  return n
end

-- The commands that change orders, done by the live runner and again by a resume.
function M.do_command(eng, name, log)
  if name == "flatten" then
    M.flatten(eng, log)
  elseif name == "cancel_all" then
    eng:cancel_all("drain")
    eng:flush()
    log("open orders canceled")
  else
    error("live: unknown command '" .. tostring(name) .. "'", 0)
  end
end

-- The equity history the API and the dashboard show: the total per day, the last
-- EQUITY_KEEP days (a long replay must not grow the process; the store keeps all).
local EQUITY_KEEP = 5000
function M.note_equity(state, eng, date)
  local total = 0
  for _, a in ipairs(eng.accounts) do total = total + eng:equity(a) end
  local eq = state.equity
  eq[#eq + 1] = { date = date, equity = total }
  if #eq >= 2 * EQUITY_KEEP then -- drop the older half at once: amortized O(1) a day
    local kept = {}
    for i = #eq - EQUITY_KEEP + 1, #eq do kept[#kept + 1] = eq[i] end
    state.equity = kept
  end
end

-- The store and the session (docs/live.md, Recovery): a new run, or the session's
-- run resumed.  Returns the recorder (nil without --db) and the recorded commands by
-- position.
function M.open_session(state, opts, log)
  if not opts.db then return nil, {} end
  local db, derr = require("alluse.store").open(opts.db)
  if not db then error(derr, 0) end
  state.db = db
  local runs = require("alluse.store.runs")
  local name = opts.session or M.default_session(opts)
  local claim, cerr = require("alluse.store.sessions").claim(db, { session = name, strategy = opts.strategy,
    params = opts.params or {}, clear_halt = opts.clear_halt })
  if not claim then error(cerr, 0) end
  local recorder, rerr
  local replay = {}
  if claim.new then
    recorder, rerr = runs.start(db, { kind = "paper", session = name, durable = true, strategy = opts.strategy,
      strategy_file = opts.strategy, params = opts.params or {} })
    if not recorder then error(rerr, 0) end
    log("session started", { session = name, run_id = recorder.id })
  else
    recorder = runs.recorder(db, claim.run_id, { durable = true, resume = claim.checkpoint })
    for _, c in ipairs(claim.commands) do
      local list = replay[c.pos] or {}
      list[#list + 1] = c.command
      replay[c.pos] = list
    end
    state.recovering, state.resumed_from = claim.checkpoint ~= nil, claim.was
    log("resuming session: re-running to its last commit", { session = name, run_id = claim.run_id, was = claim.was,
      date = claim.checkpoint and claim.checkpoint.date or json.null, commands = #claim.commands })
  end
  state.run_id, state.session = recorder.id, name
  return recorder, replay
end

-- Without --session: the strategy and the feed name the session.
function M.default_session(opts)
  return tostring(opts.strategy) .. " " .. tostring(opts.feed)
end

-- The registry of the runner (alluse.metrics.alluse_defaults), and the hooks that feed it.
function M.new_metrics(state)
  local metrics = require("alluse.metrics")
  local reg = metrics.registry()
  state.registry, state.m = reg, metrics.alluse_defaults(reg)
  local m = state.m
  local oms = require("alluse.oms")
  local ffi = require("ffi")
  state.observer = {
    order = function(eng, k)
      local o = eng:order_at(k)
      local status = oms.name("status", o.status)
      m.orders:inc({ status = status })
      if status == "rejected" then
        local reason = ffi.string(o.reason):match("^[^:(]*") or "other"
        m.rejects:inc({ reason = reason ~= "" and reason or "other" })
      end
    end,
    fill = function(_, f) m.fills:inc({ account = f.account }) end,
  }
  return reg
end

-- Values read at scrape time: equity and cash per account, and the protocol's level
-- per account and ticker, from the "level" rows of its events journal (ALL-USE records
-- each change of an ATR level there: { kind = "level", account, ticker, to }).
function M.refresh_metrics(state)
  local eng, m = state.eng, state.m
  if not (eng and m) then return end
  m.halted:set({ strategy = tostring(state.strategy) }, (state.halted or state.strategy_error) and 1 or 0)
  local new = {}
  for _, a in ipairs(eng.accounts) do
    m.equity:set({ account = a.name }, eng:equity(a))
    m.cash:set({ account = a.name }, eng:cash(a))
    new[a.name] = 0
  end
  -- in flight: sent, not yet acknowledged (the deploy's guard rail waits for none);
  -- the paper broker acknowledges at once, so only the last orders can be new
  local oms = require("alluse.oms")
  local ffi = require("ffi")
  for k = eng:norders(), math.max(1, eng:norders() - 200), -1 do
    local o = eng:order_at(k)
    if oms.name("status", o.status) == "new" then
      local acct = ffi.string(o.account)
      new[acct] = (new[acct] or 0) + 1
    end
  end
  for name, n in pairs(new) do m.in_flight:set({ account = name }, n) end
  local rows = eng.journal.events
  if rows then
    -- level_seen counts rows of the whole stream; the recorder may have dropped the
    -- oldest from memory (journal_base)
    local base = eng.journal_base.events or 0
    for i = math.max((state.level_seen or 0) - base, 0) + 1, #rows do
      local r = rows[i]
      if r.kind == "level" and type(r.to) == "number" then
        m.protocol_level:set({ account = tostring(r.account), ticker = tostring(r.ticker) }, r.to)
      end
    end
    state.level_seen = base + #rows
  end
end

-- The feed's metrics, once a day is delivered: the lag is how late the day came
-- against the --speed schedule (0 at max speed, which has none; a pause restarts the
-- schedule), and the wall-clock time of the delivery.
function M.note_delivery(state, speed_ms)
  local now = time.monotonic()
  local due = state.next_due
  local lag = (speed_ms > 0 and due and now > due) and (now - due) / 1e6 or 0
  state.m.feed_lag:set({ feed = state.feed_label }, lag)
  state.m.feed_last:set({ feed = state.feed_label }, time.now() / 1e6)
  state.next_due = speed_ms > 0 and math.max(due or now, now - 1e6) + speed_ms * 1000 or nil
end

-- The grace period of a drain: a process still draining when it is over (a store
-- that does not answer) leaves at once with status 1; what it committed is kept and a
-- restart resumes from there, as after kill -9.
function M.arm_grace(ms, log)
  local t = require("alluse.core.loop").timer()
  t:start(ms, function()
    log("grace period over before the drain finished: exiting; a restart resumes from the last commit", nil, "error")
    io.stdout:flush()
    local ffi = require("ffi")
    pcall(ffi.cdef, "void _exit(int status);")
    ffi.C._exit(1)
  end)
  t:unref()
end

-- opts: strategy (path), data (as backtest.run takes it), params, cash, speed_ms,
-- listen ("host:port"), control (socket path), token, public_read, db (url), session,
-- clear_halt, on_drain ("keep" | "cancel"), grace_ms, watch, on_listen(port),
-- log(msg, fields, level).  Returns the result, the engine and the state.
function M.run(opts)
  -- A long-lived process in a pod with a memory limit: collect when the heap has grown
  -- by 20% rather than doubled (LuaJIT's default), which keeps RSS about a third lower
  -- on the ALL-USE replay at no measurable cost in speed (bench/live_rss.sh).
  collectgarbage("setpause", 120)
  local backtest = require("alluse.backtest")
  -- log(msg, fields, level): the runner's structured log (alluse.log from alluse run)
  local log = opts.log or function(msg, fields)
    io.stderr:write(msg, fields and (" " .. json.encode(fields, { sorted = true })) or "", "\n")
  end
  local state = { strategy = opts.strategy, feed = opts.feed, feed_label = tostring(opts.feed):match("^[^:]+") or "feed", speed = opts.speed_text or "max", days = 0,
    paused = false, halted = false, stopping = false, started = false, equity = {} }
  local result, eng, err, code
  M.new_metrics(state)
  -- A failure to start (a port in use, a session running elsewhere) or of the store is
  -- returned as the error, for a one-line message: no traceback.
  local body = function()
    local srv, ctl
    if opts.listen then
      local host, port = opts.listen:match("^(.*):(%d+)$")
      if not host then error(format("--listen must be HOST:PORT, got '%s'", opts.listen), 0) end
      srv = require("alluse.http_server").new { host = host == "" and "0.0.0.0" or host, port = tonumber(port),
        on_error = function(m) log("http handler failed", { error = m }, "error") end,
        on_request = function(req, status)
          -- a route's path, or "other": unknown paths must not grow the label set
          local path = srv.routes[req.path] and req.path or "other"
          state.m.http_requests:inc({ path = path, code = tostring(status) })
        end }
      M.routes(srv, state, opts)
      local ok, lerr = srv:start()
      if not ok then error(lerr, 0) end
      log("listening", { host = srv.host, port = srv.port })
      if opts.on_listen then opts.on_listen(srv.port) end
    end
    if opts.control then
      local c, cerr = require("alluse.control").serve(opts.control, { commands = {
        status = function() return state.paused and "paused" or state.stopping and "stopping" or "running" end,
        reload = function() state.reload_requested = true return "reloading at the end of the day" end,
        flatten = function() state.flatten_requested = "control" return "flattening at the end of the day" end,
        reloads = function() return state.reloads or 0, state.reloads_failed or 0 end,
        pause = function() state.paused = true return "paused" end,
        resume = function() state.paused = false return "resumed" end,
        date = function() return state.date end,
        accounts = function() return accounts_of(state) end,
        positions = function() return positions_of(state) end,
        orders = function(n) return orders_of(state, n) end,
      }, banner = format("attached to alluse run %s (Ctrl-D detaches)", tostring(opts.strategy)) })
      if not c then error(cerr, 0) end
      ctl = c
    end
    -- SIGTERM / SIGINT: stop at the next day boundary (the strategy's on_stop runs),
    -- then close the services; the process exits 0.
    local loop = require("alluse.core.loop")
    local sigs = {}
    -- SIGHUP (or reload() on the control socket): load the strategy file again at the
    -- next day boundary; if it does not load, the old code goes on.
    local hup = loop.signal()
    hup:start("SIGHUP", function() state.reload_requested = true end)
    hup:unref()
    -- --watch: a change to the strategy's file (or a .lua file in its folder) asks for
    -- the same reload.  Editors often replace the file: watching the folder sees that.
    local watcher
    if opts.watch then
      local path = opts.strategy:gsub("/+$", "")
      local f = io.open(path .. "/.")
      local dir = f and path or (path:match("^(.*)/[^/]*$") or ".")
      local base = not f and path:match("([^/]*)$") or nil
      if f then f:close() end
      watcher = loop.fs_event()
      local ok, werr = watcher:start(dir, function(name)
        if name and (base == nil and name:match("%.lua$") or name == base) then
          if not state.reload_requested then log("changed: reloading at the end of the day", { file = name }) end
          state.reload_requested = true
        end
      end)
      if not ok then error(werr, 0) end
      watcher:unref()
    end
    for _, name in ipairs({ "SIGTERM", "SIGINT" }) do
      local sg = loop.signal()
      sg:start(name, function()
        if state.stopping then return end
        log("draining: stopping at the end of the day", { signal = name, grace_s = (opts.grace_ms or 30000) / 1000 })
        state.stopping = true
        M.arm_grace(opts.grace_ms or 30000, log)
      end)
      sg:unref()
      sigs[#sigs + 1] = sg
    end
    local speed_ms = opts.speed_ms or 0
    -- Event-loop lag: how late a 100 ms timer fires.  During a replay at full speed
    -- the loop turns only between days, and this shows it.
    local lag_running = true
    task.spawn(function()
      local clock = time.monotonic
      while lag_running do
        local t0 = clock()
        task.sleep(100)
        local late = (clock() - t0) / 1e6 - 0.1
        state.m.loop_lag:observe(late > 0 and late or 0)
      end
    end)
    -- The session: what fails in it (the store, a resume that does not match) still
    -- closes the services below, so the process ends with the error.
    local session_ok, session_err = pcall(function()
    local recorder, replay = M.open_session(state, opts, log)
    if recorder then recorder.on_commit = function(s) state.m.store_write:observe(s) end end
    -- An operator's command that changes the orders: recorded first when the run is
    -- stored (a resume does it again at the same place), then done.
    local function command(e, name, source, pos)
      if recorder then
        local ok, cerr = require("alluse.store.sessions").command(state.db, recorder.id, pos, name, source)
        if not ok then
          log("command not recorded, so not done", { command = name, error = tostring(cerr) }, "error")
          return
        end
      end
      M.do_command(e, name, log)
    end
    local function flatten_if_asked(e, pos)
      if state.flatten_requested and e then
        command(e, "flatten", state.flatten_requested, pos)
        state.flatten_requested = false
      end
    end
    -- The drain: open orders kept (default; the resumed session works them) or
    -- canceled (--on-drain cancel, and always on halt), then the run ends without the
    -- strategy's on_stop: the session is paused, not over.
    local function drain(e, pos)
      if e and (state.halted or opts.on_drain == "cancel") then command(e, "cancel_all", "signal", pos) end
      if recorder then recorder:at(e, pos) end
      return "drain"
    end
    result, eng, code = backtest.run {
      strategy = opts.strategy, data = opts.data, params = opts.params, cash = opts.cash, records = false,
      from = opts.from, to = opts.to, keep_days = M.KEEP_DAYS,
      recorder = recorder, observer = state.observer,
      -- a resume's re-run says again what the first process said: not logged twice
      log = function(m) if not (recorder and recorder.shadow) then log("strategy", { text = m }) end end,
      pace = function(date, pos)
        state.started = true
        state.date, state.days = date, state.days + 1
        M.note_delivery(state, recorder and recorder.shadow and 0 or speed_ms)
        local e = state.eng
        if e then M.note_equity(state, e, date) end
        -- Between days is position pos + 1: the commands a resumed run recorded there
        -- first, then (re-running to the checkpoint) nothing else.
        local between = pos + 1
        for _, name in ipairs(replay[between] or {}) do M.do_command(e, name, log) end
        if recorder and recorder.shadow then
          local ok, rerr = recorder:at(e, between)
          if not ok then error(rerr, 0) end
          if state.days % 64 == 0 then task.sleep(0) end -- the endpoints answer meanwhile
          return
        end
        if state.recovering then
          state.recovering = false
          log("resumed: the re-run matches the store, trading from here", { date = date, run_id = state.run_id })
        end
        if state.stopping then return drain(e, between) end
        flatten_if_asked(e, between)
        if recorder then recorder:at(e, between) end
        -- Keep --speed in short sleeps, so a signal is seen at once; 0: one turn of the
        -- loop (serve requests), then go on.
        local left = speed_ms
        repeat
          local slice = math.min(left, 50)
          task.sleep(slice)
          left = left - slice
        until left <= 0 or state.stopping
        while state.paused and not state.stopping do
          task.sleep(50)
          flatten_if_asked(e, between) -- flatten works while paused, too
          state.next_due = nil -- the schedule starts again after the pause
        end
        if state.stopping then return drain(e, between) end
        if state.reload_requested then
          state.reload_requested = false
          local new, lerr = require("alluse.backtest").load_strategy(opts, function(text)
            log("strategy", { text = text })
          end)
          if not new then
            state.reloads_failed = (state.reloads_failed or 0) + 1
            log("reload failed: the old code goes on", { error = tostring(lerr) }, "error")
            return
          end
          state.reloads = (state.reloads or 0) + 1
          log("reloaded", { strategy = opts.strategy, date = date })
          return "reload", new
        end
      end,
      on_engine = function(e) state.eng = e end,
    }
    if not result then err = eng end
    if result and not state.eng then state.eng = eng end
    if recorder and result then
      -- A resume that never reached its checkpoint leaves the session as it found it.
      local status = recorder.shadow and state.resumed_from or state.halted and "halted"
        or state.stopping and "stopped" or result.status
      state.status = status
      local counts = eng.run_counts or {}
      local fok, ferr = recorder:finish(eng, result, { events = counts.events, exposed = counts.exposed, status = status })
      if fok then fok, ferr = recorder:close() end
      if not fok then log("store failed", { error = tostring(ferr) }, "error") end
      state.db:close()
    end
    end)
    if result and result.status == "error" then
      state.strategy_error = true
      state.m.strategy_errors:inc({ strategy = tostring(opts.strategy) })
    end
    -- --stay (a pod): the feed is over or the strategy halted, but the process keeps
    -- serving its state, /readyz 503 and the metrics, until SIGTERM; exiting would
    -- only have it restarted.
    if opts.stay and session_ok and not state.stopping then
      state.finished = true
      log(state.strategy_error and "halted: serving until SIGTERM" or "feed ended: serving until SIGTERM")
      while not state.stopping do task.sleep(100) end
    end
    for _, sg in ipairs(sigs) do sg:close() end
    hup:close()
    if watcher then watcher:close() end
    lag_running = false
    if ctl then ctl:close() end
    if srv then
      -- The last answers (a final /api/v1/status) may still be in flight: a moment.
      task.sleep(opts.linger_ms or 0)
      srv:close()
    end
    if not session_ok then error(session_err, 0) end
  end
  task.run(function()
    local ok, berr = pcall(body)
    if not ok then result, err = nil, berr end
  end)
  return result, err or eng, state, code
end

return M
