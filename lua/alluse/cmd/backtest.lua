-- alluse backtest: run a strategy over bar data and write its results.
local flags = require("alluse.flags")

local format = string.format

local USAGE = "alluse backtest STRATEGY.lua --data FILE|DIR|SYMBOL=FILE|SYMBOL[:TF] ... [--store DIR] [--from D] [--to D]\n"
  .. "       [--cash N] [--param k=v ...] [--commission MODEL] [--slippage BPS] [--participation F]\n"
  .. "       [--json FILE] [--report FILE.html] [--trades FILE.csv] [--db URL] [--quiet]"

-- ---- loading data ----

local fs = require("alluse.fs")
local is_dir = fs.is_dir

local function list_dir(dir)
  return fs.files(dir, { maxdepth = 1, names = { "*.csv", "*.bars" } })
end

-- SYMBOL[:TF] from the database's bars table: every timeframe it holds for the symbol
-- unless TF names one.  src.db is opened on first use (and closed by the caller).
local function load_from_db(spec, src)
  local store_bars = require("alluse.store.bars")
  if not src.db then
    local db, err = require("alluse.store").open(src.url)
    if not db then return nil, format("--data %s: --db %s", spec, tostring(err)) end
    src.db = db
  end
  local db = src.db
  local sym, tf = spec:match("^([^:]+):?(.*)$")
  if not sym then return nil, format("--data %s: not a file or folder, nor SYMBOL[:TF]", spec) end
  local tfs
  if tf ~= "" then
    local canon, why = store_bars.canonical_timeframe(tf)
    if not canon then return nil, format("--data %s: %s", spec, why) end
    tfs = { canon }
  else
    local err
    tfs, err = store_bars.timeframes(db, sym)
    if not tfs then return nil, format("--data %s: %s", spec, tostring(err)) end
    if #tfs == 0 then
      return nil, format("--data %s: not a file or folder, and %s has no bars for %s", spec, db.url, sym)
    end
  end
  local out = {}
  for _, t in ipairs(tfs) do
    local s, err, code = store_bars.read(db, sym, t)
    if not s then
      if code == "ENOENT" then
        return nil, format("--data %s: not a file or folder, and %s has no %s bars for %s", spec, db.url, t, sym)
      end
      return nil, format("--data %s: %s", spec, tostring(err))
    end
    out[#out + 1] = { series = s, source = format("db:%s:%s", s.symbol, s.timeframe), from_db = true }
  end
  return out
end

-- One --data value to a list of { series, source }; nil, message on failure.  A
-- file or folder wins; then SYMBOL[:TF] from --store DIR, then from --db's bars table.
local function load_data(spec, store, src)
  local data = require("alluse.data")
  local symbol, path = spec:match("^([%w%.%-_^]+)=(.+)$")
  if not symbol then path = spec end
  local function one(file, sym)
    local s, res
    if file:match("%.bars$") then
      s, res = data.open(file)
      if s and sym and s.symbol ~= sym then
        return nil, format("%s holds %s, not %s", file, s.symbol, sym)
      end
    else
      s, res = data.read_csv(file, { symbol = sym })
    end
    if not s then return nil, res end
    return { series = s, source = file }
  end
  if is_dir(path) then
    if symbol then return nil, format("--data %s: SYMBOL=DIR is not supported; name a file", spec) end
    local files = list_dir(path)
    if #files == 0 then return nil, format("--data %s: no .csv or .bars files in the folder", spec) end
    local out = {}
    for _, f in ipairs(files) do
      local d, err = one(f)
      if not d then return nil, err end
      out[#out + 1] = d
    end
    return out
  end
  local f = io.open(path, "rb")
  if f then
    f:close()
    local d, err = one(path, symbol)
    if not d then return nil, err end
    return { d }
  end
  -- SYMBOL or SYMBOL:TF from the store.
  if store then
    local sym, tf = spec:match("^([^:]+):?(.*)$")
    local files = {}
    for _, e in ipairs(data.info(store) or {}) do
      if e.symbol == sym and (tf == "" or e.timeframe == tf) and not e.error then files[#files + 1] = e.path end
    end
    if #files == 0 and src then return load_from_db(spec, src) end
    if #files == 0 then return nil, format("--data %s: not a file, and %s has no bars for it", spec, store) end
    local out = {}
    for _, p in ipairs(files) do
      local d, err = one(p)
      if not d then return nil, err end
      out[#out + 1] = d
    end
    return out
  end
  if src then return load_from_db(spec, src) end
  return nil, format("--data %s: no such file or folder", spec)
end

-- ---- flag values ----

local function date_us(flag, text, next_day)
  local calendar = require("alluse.calendar")
  local time = require("alluse.time")
  local ok, dn = pcall(calendar.day_number, text or "")
  if not ok or not text:match("^%d%d%d%d%-%d%d%-%d%d$") then
    flags.usage_error("--%s must be a date YYYY-MM-DD, got '%s'", flag, tostring(text))
  end
  local y, m, d = calendar.date(dn + (next_day and 1 or 0)):match("^(%d+)-(%d+)-(%d+)$")
  return (time.from_ny(tonumber(y), tonumber(m), tonumber(d)))
end

local function number_flag(flag, text, lo, hi)
  local n = tonumber(text)
  if not n or n ~= n or (lo and n < lo) or (hi and n > hi) then
    flags.usage_error("--%s must be a number%s, got '%s'", flag,
      lo and hi and format(" in %g..%g", lo, hi) or (lo and format(" >= %g", lo) or ""), tostring(text))
  end
  return n
end

-- "none" | "per_share=0.005[,min=1][,max_percent=0.5]" | "per_contract=0.65[,min=..]" | "percent=0.1[,min=..]"
local function parse_commission(text)
  if text == "none" then return { model = "none" } end
  local out = {}
  for part in text:gmatch("[^,]+") do
    local k, v = part:match("^([%w_]+)=(.+)$")
    local n = tonumber(v or "")
    if not k or not n or n < 0 then
      flags.usage_error("--commission: '%s' is not NAME=NUMBER (e.g. per_share=0.005,min=1)", part)
    end
    if k == "per_share" or k == "per_contract" or k == "percent" then
      if out.model then flags.usage_error("--commission: two models (%s and %s)", out.model, k) end
      out.model, out.rate = k, n
    elseif k == "min" then
      out.min = n
    elseif k == "max_percent" then
      out.max_percent = n
    else
      flags.usage_error("--commission: unknown part '%s' (per_share, per_contract, percent, min, max_percent)", k)
    end
  end
  if not out.model then flags.usage_error("--commission: name a model: per_share=, per_contract= or percent=") end
  return out
end

local function parse_params(list)
  local out = {}
  for _, kv in ipairs(list or {}) do
    local k, v = kv:match("^([%a_][%w_]*)=(.*)$")
    if not k then flags.usage_error("--param must be NAME=VALUE, got '%s'", kv) end
    out[k] = v
  end
  return out
end

-- ---- output ----

local function write_file(path, text)
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  f:close()
  if not ok then return nil, werr end
  return true
end

local function csv_field(v)
  local s = tostring(v)
  if s:find('[,"\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local TRADE_COLUMNS = { "id", "account", "symbol", "side", "qty", "entry_time", "entry_price", "exit_time",
  "exit_price", "bars", "gross", "commission", "pnl" }

local function trades_csv(result)
  local json = require("alluse.json")
  local lines = { table.concat(TRADE_COLUMNS, ",") }
  for _, tr in ipairs(result.trades) do
    local row = {}
    for i, c in ipairs(TRADE_COLUMNS) do
      local v = tr[c]
      row[i] = type(v) == "number" and json.encode(v) or csv_field(v)
    end
    lines[#lines + 1] = table.concat(row, ",")
  end
  return table.concat(lines, "\n") .. "\n"
end

local function pct(v)
  if type(v) ~= "number" then return "-" end
  return format("%.2f%%", v * 100)
end
local function num(v, fmt)
  if type(v) ~= "number" then return "-" end
  return format(fmt or "%.3f", v)
end

local function summary_text(result)
  local money = require("alluse.engine").money
  local s = result.summary
  local lines = {}
  local data = {}
  for _, d in ipairs(result.config.data) do data[#data + 1] = d.symbol .. " " .. d.timeframe end
  lines[1] = format("%s on %s, %s .. %s: %s", result.strategy.name, table.concat(data, ", "),
    tostring(s.start), tostring(s["end"]), result.status)
  local final = type(s.final_equity) == "number" and money(s.final_equity) or "-"
  lines[2] = format("  equity      %s -> %s   return %s   CAGR %s", money(s.initial_cash), final,
    pct(s.total_return), pct(s.cagr))
  lines[3] = format("  risk        volatility %s   Sharpe %s   Sortino %s   max drawdown %s over %s days   Calmar %s",
    pct(s.volatility), num(s.sharpe), num(s.sortino), pct(s.max_drawdown), tostring(s.max_drawdown_days),
    num(s.calmar))
  lines[4] = format("  trading     bars %d   round trips %d   win rate %s   profit factor %s   exposure %s   commissions %s",
    s.bars, s.round_trips, pct(s.win_rate), num(s.profit_factor), pct(s.exposure), money(s.commissions))
  if #result.accounts > 1 then
    for _, a in ipairs(result.accounts) do
      local fe = a.summary.final_equity
      lines[#lines + 1] = format("  account %-12s %s  return %s", a.name,
        type(fe) == "number" and money(fe) or "-", pct(a.summary.total_return))
    end
  end
  return table.concat(lines, "\n") .. "\n"
end

-- A one-line progress bar, redrawn in place on a terminal.
local function progress_bar()
  local last = -1
  return function(done, total)
    local p = total > 0 and math.floor(done * 100 / total) or 100
    if p == last then return end
    last = p
    local width = 30
    local fill = math.floor(p * width / 100)
    io.stderr:write(format("\r  [%s%s] %3d%%  %d/%d bars", string.rep("#", fill), string.rep(".", width - fill),
      p, done, total))
    if done >= total then io.stderr:write("\r", string.rep(" ", 70), "\r") end
  end
end

local LONG_RUN = 200000 -- bars: show a progress bar above this on a terminal

-- sha256 over a series' columns, for a feed read from the database (no file to hash).
local function series_hash(s)
  local ffi = require("ffi")
  local crypto = require("alluse.crypto")
  local cs, parts = s._cs, {}
  for i, col in ipairs({ "time", "open", "high", "low", "close", "volume", "adj_close" }) do
    parts[i] = cs[col] ~= nil and crypto.sha256_hex(ffi.string(cs[col], s.n * 8)) or "-"
  end
  return crypto.sha256_hex(table.concat(parts, "\n"))
end

-- sha256 over files' bytes, in the order given (a folder: its .lua files, sorted);
-- an entry { source = ..., series = ... } (a feed from the database) by its bars.
local function hash_files(paths)
  local crypto = require("alluse.crypto")
  local parts = {}
  for _, p in ipairs(paths) do
    local list = { p }
    if type(p) == "table" then
      list = {}
      parts[#parts + 1] = p.source .. "\0" .. series_hash(p.series)
    elseif is_dir(p) then
      list = fs.files(p, { names = { "*.lua" } })
    end
    for _, f in ipairs(list) do
      local fh = io.open(f, "rb")
      if fh then
        parts[#parts + 1] = f .. "\0" .. crypto.sha256_hex(fh:read("*a"))
        fh:close()
      end
    end
  end
  return crypto.sha256_hex(table.concat(parts, "\n"))
end

-- --db: the store opened and a run row started before the backtest, so a run killed
-- midway is found and marked incomplete by the next open (docs/storage.md).
local function start_recording(url, strategy_path, data, params)
  local store = require("alluse.store")
  local db, err = store.open(url)
  if not db then return nil, "backtest: --db " .. tostring(err) end
  local runs = require("alluse.store.runs")
  local reaped, rerr = runs.reap(db)
  if not reaped then return nil, "backtest: --db " .. tostring(rerr) end
  local sources = {}
  for _, d in ipairs(data) do sources[#sources + 1] = d.from_db and d or d.source end
  local name = strategy_path:gsub("/+$", ""):match("([^/]+)$"):gsub("%.lua$", "")
  local rec, serr = runs.start(db, {
    kind = "backtest", strategy = name, strategy_file = strategy_path, params = params, behind = true,
    data_hash = hash_files(sources), code_hash = hash_files({ strategy_path }),
  })
  if not rec then return nil, "backtest: --db " .. tostring(serr) end
  return rec, db
end

local function run(opts, args)
  local strategy_path = args[1]
  if not strategy_path then flags.usage_error("missing STRATEGY.lua") end
  if args[2] then flags.usage_error("unexpected argument '%s' (one strategy per run)", args[2]) end
  if not opts.data and not opts.store then flags.usage_error("no data: give --data FILE|DIR|SYMBOL=FILE or --store DIR") end

  local data = {}
  local specs = opts.data
  if not specs then
    specs = {}
    for _, e in ipairs(require("alluse.data").info(opts.store) or {}) do
      if not e.error then specs[#specs + 1] = e.path end
    end
    if #specs == 0 then
      io.stderr:write(format("backtest: %s holds no bar files\n", opts.store))
      return 1
    end
  end
  -- --db also serves SYMBOL[:TF] bars from its bars table; opened on first use.
  local bar_src = opts.db and { url = opts.db } or nil
  for _, spec in ipairs(specs) do
    local list, err = load_data(spec, opts.store, bar_src)
    if not list then
      if bar_src and bar_src.db then bar_src.db:close() end
      io.stderr:write("backtest: ", err, "\n")
      return 1
    end
    for _, d in ipairs(list) do data[#data + 1] = d end
  end
  if bar_src and bar_src.db then bar_src.db:close() end

  local from = opts.from and date_us("from", opts.from)
  local to = opts.to and date_us("to", opts.to, true)
  if from and to and to <= from then flags.usage_error("--to %s is before --from %s", opts.to, opts.from) end
  local risk = {}
  if opts.allow_short then risk.allow_short = true end
  if opts.max_position then risk.max_position = number_flag("max-position", opts.max_position, 0) end
  if opts.max_notional then risk.max_notional = number_flag("max-notional", opts.max_notional, 0) end
  if opts.max_orders_per_day then
    risk.max_orders_per_day = number_flag("max-orders-per-day", opts.max_orders_per_day, 0)
  end
  local fill = {}
  if opts.slippage then fill.slippage_bps = number_flag("slippage", opts.slippage, 0, 9999) end
  if opts.participation then fill.participation = number_flag("participation", opts.participation, 0, 1) end
  local check = opts.check_invariants or os.getenv("ALLUSE_CHECK_INVARIANTS") == "1"
  -- Options: the chain model's parameters, real chains, IV series.
  local model = {}
  if opts.option_rate then model.rate = number_flag("option-rate", opts.option_rate, -0.5, 1) end
  if opts.vol_window then model.vol_window = number_flag("vol-window", opts.vol_window, 2, 10000) end
  if opts.vol_factor then model.vol_factor = number_flag("vol-factor", opts.vol_factor, 0.01, 100) end
  if opts.half_spread then model.half_spread_min = number_flag("half-spread", opts.half_spread, 0, 100) end
  if opts.half_spread_pct then model.half_spread_pct = number_flag("half-spread-pct", opts.half_spread_pct, 0, 1) end
  local option_commission
  if opts.option_commission then
    option_commission = { model = "per_contract", rate = number_flag("option-commission", opts.option_commission, 0) }
  end
  local chains = {}
  for _, path in ipairs(opts.chain or {}) do
    local ch, cerr = require("alluse.chain_csv").read(path)
    if not ch then
      io.stderr:write("backtest: ", cerr, "\n")
      return 1
    end
    chains[#chains + 1] = ch
  end
  local iv_series = {}
  for _, spec in ipairs(opts.iv_series or {}) do
    local sym, path = spec:match("^([%w%.%-_^]+)=(.+)$")
    if not sym then flags.usage_error("--iv-series must be SYMBOL=FILE, got '%s'", spec) end
    local series, ierr = require("alluse.chain").read_iv_series(path)
    if not series then
      io.stderr:write("backtest: ", ierr, "\n")
      return 1
    end
    iv_series[sym] = series
  end

  local params = parse_params(opts.param)
  local recorder, db
  if opts.db then
    local r, dberr = start_recording(opts.db, strategy_path, data, params)
    if not r then
      io.stderr:write(dberr, "\n")
      return 1
    end
    recorder, db = r, dberr
  end

  local backtest = require("alluse.backtest")
  local tty = not opts.quiet and require("alluse.core.host").isatty(2)
  local total = 0
  for _, d in ipairs(data) do total = total + d.series.n end
  local result, eng_or_err, code = backtest.run {
    strategy = strategy_path, data = data, from = from, to = to,
    cash = opts.cash and number_flag("cash", opts.cash, 0.01) or nil,
    params = params, recorder = recorder,
    commission = opts.commission and parse_commission(opts.commission) or nil,
    fill = fill, risk = risk, check_invariants = check,
    options = model, chains = chains, iv_series = iv_series, option_commission = option_commission,
    allow_naked = opts.allow_naked,
    records = false, -- orders and ledger are streamed into the JSON (write_json)
    seed = opts.seed and number_flag("seed", opts.seed) or nil,
    budget_ms = opts.budget_ms and number_flag("budget-ms", opts.budget_ms, 1) or nil,
    progress = tty and total > LONG_RUN and progress_bar() or nil,
    log = function(msg) if not opts.quiet then io.stderr:write(msg, "\n") end end,
  }
  local eng, err = eng_or_err, eng_or_err
  if not result and recorder then
    db:exec("UPDATE runs SET status = 'error', error = ?, ended_at = ? WHERE id = ?", tostring(eng_or_err),
      require("alluse.time").now(), recorder.id)
  end
  if not result then
    -- A --param the strategy does not take, or of the wrong type, is a usage error.
    if code == "EPARAM" then flags.usage_error("%s", (err:gsub("\n.*", ""))) end
    io.stderr:write(err, "\n")
    return 1
  end
  -- The run's closing rows go to the store first, so a writer thread can commit them
  -- while the files below are written.
  local finished, finish_err = true, nil
  if recorder then finished, finish_err = recorder:finish(eng, result, eng.run_counts) end
  local json = require("alluse.json")
  local failed = false
  local function out(path, what, text_fn)
    if not path then return end
    local ok, werr = write_file(path, text_fn())
    if not ok then
      io.stderr:write(format("backtest: cannot write %s %s: %s\n", what, path, tostring(werr)))
      failed = true
    end
  end
  if opts.json then
    -- Streamed: the orders and ledger rows go to the file one at a time.
    local f, ferr = io.open(opts.json, "wb")
    local ok, werr = f ~= nil, ferr
    if f then
      ok, werr = pcall(backtest.write_json, f, result, eng)
      local closed, cerr = f:close()
      if ok and not closed then ok, werr = false, cerr end
    end
    if not ok then
      io.stderr:write(format("backtest: cannot write JSON %s: %s\n", opts.json, tostring(werr)))
      failed = true
    end
  end
  out(opts.report, "report", function() return require("alluse.report.html").render(result) end)
  out(opts.trades, "trades", function() return trades_csv(result) end)
  local stored
  if recorder then
    -- Written behind: the store may still be catching up while the files were written.
    local id, serr = nil, finish_err
    if finished then id, serr = recorder:close() else recorder:close() end
    if not id then
      io.stderr:write(format("backtest: --db %s: %s\n", db.url, tostring(serr)))
      failed = true
    else
      stored = format("  stored      run %d in %s\n", id, db.url)
    end
    db:close()
  end
  if result.status == "error" then io.stderr:write("backtest: strategy halted: ", result.error, "\n") end
  if not opts.quiet then io.stdout:write(summary_text(result), stored or "") end
  if result.status ~= "ok" or failed then return 1 end
  return 0
end

return {
  usage = USAGE,
  trades_csv = trades_csv,
  load_data = load_data, -- alluse run's replay feed reads bars the same way
  date_us = date_us, -- and its --from / --to
  parse_params = parse_params,
  description = "Run STRATEGY.lua (or a folder with init.lua) over bars, in time order, with the fill model of\n"
    .. "docs/fills.md, and print a summary.  --data takes a CSV file, a .bars store file, a folder of\n"
    .. "them, SYMBOL=FILE to name the symbol, or SYMBOL[:TF] to read from --store DIR or else from\n"
    .. "the bars table of --db URL (a file or folder of that name wins); repeat it for several\n"
    .. "symbols and timeframes.  --from/--to are New York dates, both included.\n"
    .. "--commission: none (default), per_share=R, per_contract=R or percent=R, with ,min=DOLLARS\n"
    .. "and ,max_percent=P (e.g. per_share=0.005,min=1).  A strategy that raises is halted: the\n"
    .. "results up to that point are still written and the exit status is 1.\n"
    .. "ALLUSE_CHECK_INVARIANTS=1 checks the ledger and equity invariants after every bar.\n"
    .. "Options (OCC symbols) are priced by a Black-Scholes chain model from the underlying's bars\n"
    .. "unless --chain supplies a real chain; see docs/options.md.\n"
    .. "See docs/backtest.md, docs/strategy-api.md and docs/results.md.",
  flags = {
    { name = "data", arg = "SRC", many = true, help = "bars: FILE.csv, FILE.bars, DIR, SYMBOL=FILE or SYMBOL[:TF] (with --store or --db)" },
    { name = "store", arg = "DIR", help = "the bar store to read SYMBOL[:TF] from (all of it without --data)" },
    { name = "from", arg = "DATE", help = "first New York date to run (YYYY-MM-DD)" },
    { name = "to", arg = "DATE", help = "last New York date to run, included" },
    { name = "cash", arg = "N", help = "starting cash of the main account (default 100000)" },
    { name = "param", arg = "K=V", many = true, help = "override a strategy param (typed by its default)" },
    { name = "commission", arg = "MODEL", help = "none | per_share=R | per_contract=R | percent=R [,min=D][,max_percent=P]" },
    { name = "slippage", arg = "BPS", help = "slippage in basis points against the trader on every fill, never past a limit (default 0)" },
    { name = "participation", arg = "F", help = "max fraction of a bar's volume one order takes, 0..1 (0: no cap)" },
    { name = "allow-short", help = "let sells open short positions (default: refused)" },
    { name = "max-position", arg = "N", help = "max |position| per symbol in units (0: none)" },
    { name = "max-notional", arg = "N", help = "max |position| x price per symbol in dollars (0: none)" },
    { name = "max-orders-per-day", arg = "N", help = "max orders per account per day (0: none)" },
    { name = "chain", arg = "FILE", many = true, help = "a real option chain (CSV) for its underlying and date" },
    { name = "iv-series", arg = "SYM=FILE", many = true, help = "implied vol series (CSV date,iv) for SYM's option model" },
    { name = "option-rate", arg = "R", help = "the option model's risk-free rate (default 0.04)" },
    { name = "vol-window", arg = "N", help = "realized-vol window in bars of the underlying (default 20)" },
    { name = "vol-factor", arg = "F", help = "x realized vol for the option model (default 1.15)" },
    { name = "half-spread", arg = "D", help = "an option's minimum half-spread in dollars (default 0.01)" },
    { name = "half-spread-pct", arg = "P", help = "an option's half-spread as a fraction of its mid (default 0.02)" },
    { name = "option-commission", arg = "R", help = "dollars per option contract (default 0.65)" },
    { name = "allow-naked", help = "allow uncovered short calls and unsecured short puts" },
    { name = "seed", arg = "N", help = "seed of the strategy's math.random (default 1)" },
    { name = "budget-ms", arg = "MS", help = "watchdog budget of one callback (default 100)" },
    { name = "json", arg = "FILE", help = "write the full result as JSON (docs/results.md)" },
    { name = "report", arg = "FILE", help = "write the HTML report" },
    { name = "trades", arg = "FILE", help = "write the round trips as CSV" },
    { name = "db", arg = "URL", help = "also store the run, and read --data SYMBOL[:TF] from its bars table: sqlite:PATH or postgres://..." },
    { name = "check-invariants", help = "check cash = sum of the ledger and equity after every bar (slow)" },
    { name = "quiet", short = "q", help = "print nothing but errors" },
  },
  run = run,
}
