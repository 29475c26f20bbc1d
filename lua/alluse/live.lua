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

-- The endpoints (docs/live.md).  Reads need the token too unless public_read.
function M.routes(srv, state, opts)
  local token = opts.token
  -- /metrics: Prometheus scrapes it without a token, like /healthz (no account data
  -- beyond equity and cash figures; put the port behind the NetworkPolicy).
  srv:route("GET", "/metrics", function()
    M.refresh_metrics(state)
    return 200, { ["Content-Type"] = require("alluse.metrics").CONTENT_TYPE }, state.registry:render()
  end)
  local read = token and not opts.public_read and { token = token } or nil
  srv:route("GET", "/healthz", function() return 200, { ["Content-Type"] = "text/plain" }, "ok\n" end)
  require("alluse.dashboard").route(srv) -- the page at /: no data in it, so no token
  srv:route("GET", "/readyz", function()
    local ready = state.started and not state.halted and not state.stopping
    local why = not state.started and "feed not started" or state.halted and "halted" or state.stopping and "stopping"
    return ready and 200 or 503, { ["Content-Type"] = "text/plain" }, ready and "ready\n" or ("not ready: " .. why .. "\n")
  end)
  srv:route("GET", "/api/v1/status", function()
    return json_response {
      strategy = state.strategy, feed = state.feed, speed = state.speed, date = state.date or json.null,
      days = state.days, paused = state.paused, halted = state.halted, stopping = state.stopping,
      run_id = state.run_id or json.null,
    }
  end, read)
  srv:route("GET", "/api/v1/accounts", function() return json_response(accounts_of(state)) end, read)
  srv:route("GET", "/api/v1/positions", function() return json_response(positions_of(state)) end, read)
  srv:route("GET", "/api/v1/orders", function() return json_response(orders_of(state)) end, read)
  srv:route("GET", "/api/v1/equity", function() return json_response(json.array(state.equity)) end, read)
  srv:route("GET", "/api/v1/weeks", function(req) return json_response(journal_of(state, "weeks", limit_of(req))) end,
    read)
  srv:route("GET", "/api/v1/events", function(req) return json_response(journal_of(state, "events", limit_of(req))) end,
    read)
  if token then
    local control = { token = token }
    srv:route("POST", "/api/v1/control/pause", function() state.paused = true return json_response { paused = true } end, control)
    srv:route("POST", "/api/v1/control/resume", function() state.paused = false return json_response { paused = false } end, control)
    srv:route("POST", "/api/v1/control/flatten", function()
      state.flatten_requested = true
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

-- Values read at scrape time: equity and cash per account, the feed's lag.
function M.refresh_metrics(state)
  local eng, m = state.eng, state.m
  if not (eng and m) then return end
  for _, a in ipairs(eng.accounts) do
    m.equity:set({ account = a.name }, eng:equity(a))
    m.cash:set({ account = a.name }, eng:cash(a))
  end
end

-- opts: strategy (path), data (as backtest.run takes it), params, cash, speed_ms,
-- listen ("host:port"), control (socket path), token, public_read, db (url),
-- on_listen(port), log(msg).  Returns the result, the engine and the state.
function M.run(opts)
  local backtest = require("alluse.backtest")
  -- log(msg, fields, level): the runner's structured log (alluse.log from alluse run)
  local log = opts.log or function(msg, fields)
    io.stderr:write(msg, fields and (" " .. json.encode(fields, { sorted = true })) or "", "\n")
  end
  local state = { strategy = opts.strategy, feed = opts.feed, speed = opts.speed_text or "max", days = 0,
    paused = false, halted = false, stopping = false, started = false, equity = {} }
  local result, eng, err, code
  M.new_metrics(state)
  task.run(function()
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
        flatten = function() state.flatten_requested = true return "flattening at the end of the day" end,
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
        log("draining: stopping at the end of the day", { signal = name })
        state.stopping = true
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
    local recorder
    if opts.db then
      local store = require("alluse.store")
      local db, derr = store.open(opts.db)
      if not db then error(derr, 0) end
      require("alluse.store.runs").reap(db)
      local rerr
      recorder, rerr = require("alluse.store.runs").start(db, { kind = "paper", strategy = opts.strategy,
        strategy_file = opts.strategy, params = opts.params or {} })
      if not recorder then error(rerr, 0) end
      state.run_id, state.db = recorder.id, db
    end
    result, eng, code = backtest.run {
      strategy = opts.strategy, data = opts.data, params = opts.params, cash = opts.cash, records = false,
      recorder = recorder, observer = state.observer,
      log = function(m) log("strategy", { text = m }) end,
      pace = function(date)
        state.started = true
        state.date, state.days = date, state.days + 1
        local e = state.eng
        if e then
          local total = 0
          for _, a in ipairs(e.accounts) do total = total + e:equity(a) end
          state.equity[#state.equity + 1] = { date = date, equity = total }
        end
        if state.stopping then return "stop" end
        if state.flatten_requested and e then
          state.flatten_requested = false
          M.flatten(e, log)
        end
        task.sleep(speed_ms) -- 0: a turn of the loop (serve requests), then go on
        while state.paused and not state.stopping do
          task.sleep(50)
          if state.flatten_requested and e then -- flatten works while paused, too
            state.flatten_requested = false
            M.flatten(e, log)
          end
        end
        if state.stopping then return "stop" end
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
      local fok, ferr = recorder:finish(eng, result, eng.run_counts)
      if fok then fok, ferr = recorder:close() end
      if not fok then log("store failed", { error = tostring(ferr) }, "error") end
      state.db:close()
    end
    for _, sg in ipairs(sigs) do sg:close() end
    hup:close()
    if watcher then watcher:close() end
    lag_running = false
    if result and result.status == "error" then state.m.strategy_errors:inc({ strategy = tostring(opts.strategy) }) end
    if ctl then ctl:close() end
    if srv then
      -- The last answers (a final /api/v1/status) may still be in flight: a moment.
      task.sleep(opts.linger_ms or 0)
      srv:close()
    end
  end)
  return result, err or eng, state, code
end

return M
