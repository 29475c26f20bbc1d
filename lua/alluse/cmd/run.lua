-- alluse run: a strategy on a feed with a broker, and the service around it (issue #8).
-- Today: --feed replay (files) with --broker paper.  See docs/live.md.
local flags = require("alluse.flags")

local function run(opts, args)
  local strategy = args[1]
  if not strategy then flags.usage_error("missing STRATEGY (a .lua file or a folder with init.lua)") end
  if args[2] then flags.usage_error("unexpected argument '%s'", args[2]) end
  local broker = opts.broker or "paper"
  if broker ~= "paper" then flags.usage_error("--broker %s: only paper is available yet (docs/live.md)", broker) end
  local feed = opts.feed
  if not feed then flags.usage_error("missing --feed replay:FILE|DIR|SYMBOL[:TF] (the bars to replay)") end
  local src = feed:match("^replay:(.+)$")
  if not src then flags.usage_error("--feed must be replay:FILE|DIR|SYMBOL[:TF], got '%s'", feed) end
  local live = require("alluse.live")
  local speed_ms, serr = live.parse_speed(opts.speed)
  if not speed_ms then flags.usage_error("%s", serr) end
  -- --db, else ALLUSE_DB (a pod gets it from a Secret: the URL stays out of its args)
  if not opts.db and (os.getenv("ALLUSE_DB") or "") ~= "" then opts.db = os.getenv("ALLUSE_DB") end
  local params = require("alluse.cmd.backtest").parse_params(opts.param)
  -- The bars: the same loader as alluse backtest: files and folders, or SYMBOL[:TF]
  -- from --store DIR or from the bars table of --db.
  local data = {}
  local bar_src = opts.db and { url = opts.db } or nil
  for spec in src:gmatch("[^,]+") do
    local list, err = require("alluse.cmd.backtest").load_data(spec, opts.store, bar_src)
    if not list then
      if bar_src and bar_src.db then bar_src.db:close() end
      io.stderr:write("run: ", err, "\n")
      return 1
    end
    for _, d in ipairs(list) do data[#data + 1] = d end
  end
  if bar_src and bar_src.db then bar_src.db:close() end
  local bt = require("alluse.cmd.backtest")
  local from = opts.from and bt.date_us("from", opts.from)
  local to = opts.to and bt.date_us("to", opts.to, true)
  if from and to and to <= from then flags.usage_error("--to %s is before --from %s", opts.to, opts.from) end
  local on_drain = opts.on_drain or "keep"
  if on_drain ~= "keep" and on_drain ~= "cancel" then flags.usage_error("--on-drain must be keep or cancel, got '%s'", on_drain) end
  local grace = opts.grace and tonumber(opts.grace)
  if opts.grace and not (grace and grace > 0) then flags.usage_error("--grace must be a number of seconds > 0, got '%s'", opts.grace) end
  if (opts.session or opts.clear_halt) and not opts.db then flags.usage_error("--session and --clear-halt need --db (sessions live in the store)") end
  local token = os.getenv("ALLUSE_API_TOKEN")
  if token == "" then token = nil end
  if token and #token < 16 then
    flags.usage_error("ALLUSE_API_TOKEN is too short: use at least 16 characters (e.g. openssl rand -hex 24)")
  end
  -- Logs: JSON lines on stdout (text on a terminal), the token never in them.
  local logmod = require("alluse.log")
  local logger = logmod.new { out = io.stdout, level = opts.quiet and "warn" or nil }
  if token then logmod.secret(token) end
  local result, err, state = live.run {
    strategy = strategy, feed = feed, data = data, params = params, speed_ms = speed_ms, speed_text = opts.speed,
    cash = opts.cash and tonumber(opts.cash) or nil, listen = opts.listen, control = opts.control, db = opts.db,
    from = from, to = to, watch = opts.watch, stay = opts.stay, session = opts.session, clear_halt = opts.clear_halt, on_drain = on_drain,
    grace_ms = grace and grace * 1000 or nil,
    token = token, public_read = opts.public_read, linger_ms = 50,
    log = function(msg, fields, level) logger[level or "info"](logger, msg, fields) end,
  }
  if not result then
    logger:error("run failed", { error = tostring(err) })
    io.stderr:write("run: ", tostring(err), "\n")
    return 1
  end
  if result.status == "error" then
    logger:error("strategy halted", { error = tostring(result.error) })
    io.stderr:write("run: strategy halted: ", tostring(result.error), "\n")
  end
  logger:info(state.stopping and "stopped" or "finished", { status = state.status or result.status, days = state.days,
    date = state.date, run_id = state.run_id })
  return result.status == "ok" and 0 or 1
end

return {
  usage = "alluse run STRATEGY --feed replay:FILE|DIR|SYMBOL[:TF][,...] [--store DIR] [--broker paper] [--speed max|Nd/s] [--from D] [--to D]\n"
    .. "       [--db URL [--session NAME] [--clear-halt]] [--on-drain keep|cancel] [--grace SECONDS] [--stay]\n"
    .. "       [--listen HOST:PORT] [--control SOCKET] [--public-read] [--watch] [--param k=v ...] [--cash N]",
  description = "Run a strategy live on a feed.  Today the feed is a replay of bars (files, or SYMBOL[:TF]\n"
    .. "from --store DIR or the bars table of --db), through the same loader, callbacks, calendar\n"
    .. "and fill model as alluse backtest, so a strategy runs unchanged, with the paper broker, at\n"
    .. "--speed days per second (max: as fast as it goes).\n"
    .. "--listen serves /healthz, /readyz, /metrics (Prometheus),\n"
    .. "/api/v1/{status,accounts,positions,orders,equity,weeks,events} and a dashboard page at /;\n"
    .. "with ALLUSE_API_TOKEN set, /api/v1 needs Authorization: Bearer TOKEN (reads: unless --public-read)\n"
    .. "and POST /api/v1/control/{pause,resume,flatten,halt} are enabled.  --control opens a 0600 unix\n"
    .. "socket for alluse repl --attach.  SIGTERM/SIGINT stop at the end of the day and exit 0\n"
    .. "(within --grace seconds, default 30, or exit 1), keeping open orders (--on-drain cancel cancels them);\n"
    .. "with --db the run belongs to a session (--session, default: the strategy and the feed): every\n"
    .. "order event is committed before a bar can fill it, and a restart after a drain, a crash or kill -9\n"
    .. "re-runs the session to its last commit, checks it against the store and continues the same run;\n"
    .. "a halt (POST .../halt) cancels open orders and leaves the session halted until --clear-halt.\n"
    .. "SIGHUP, reload() on the control socket, or a change with --watch reloads the strategy\n"
    .. "there, keeping ctx.state.\n"
    .. "Logs are JSON lines on stdout (text on a terminal; ALLUSE_LOG_FORMAT, ALLUSE_LOG_LEVEL).\n"
    .. "Not yet: live brokers and feeds (docs/live.md).",
  flags = {
    { name = "feed", arg = "SRC", help = "replay:FILE|DIR|SYMBOL[:TF][,...]: the bars to replay" },
    { name = "store", arg = "DIR", help = "the bar store that replay:SYMBOL[:TF] reads (else --db's bars table)" },
    { name = "broker", arg = "NAME", help = "paper (the only one yet)" },
    { name = "speed", arg = "S", help = "max (default) or N d/s, e.g. 5d/s" },
    { name = "db", arg = "URL", help = "record the run in this database (sqlite:PATH or postgres://...; default $ALLUSE_DB)" },
    { name = "from", arg = "DATE", help = "replay from this New York date (YYYY-MM-DD)" },
    { name = "to", arg = "DATE", help = "replay up to this date, included" },
    { name = "session", arg = "NAME", help = "the session this run continues or starts (with --db)" },
    { name = "clear-halt", help = "resume a session that was halted" },
    { name = "on-drain", arg = "POLICY", help = "keep (default) or cancel the open orders when draining" },
    { name = "grace", arg = "SECONDS", help = "the longest a drain may take before exiting 1 (default 30)" },
    { name = "stay", help = "keep serving (state, metrics, /readyz 503) after the feed ends or the strategy halts, until SIGTERM" },
    { name = "listen", arg = "HOST:PORT", help = "serve the HTTP endpoints (port 0: any free port, logged)" },
    { name = "control", arg = "SOCKET", help = "open the control socket for alluse repl --attach" },
    { name = "public-read", help = "the read endpoints need no token" },
    { name = "watch", help = "reload the strategy when its file (or a .lua file in its folder) changes" },
    { name = "param", arg = "K=V", many = true, help = "override a strategy param" },
    { name = "cash", arg = "N", help = "starting cash (default 100000)" },
    { name = "quiet", short = "q", help = "print nothing but errors" },
  },
  run = run,
}
