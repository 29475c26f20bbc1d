-- alluse.backtest: the backtest driver.  It turns bar series into one time-ordered
-- stream of events, moves the engine's clock, and calls the strategy — the hot loop
-- of the whole product, written to stay inside JIT traces: no table per bar, no FFI
-- callback, one reused bar struct per feed.
--
--   local result = backtest.run{
--     strategy = "strategies/examples/sma_cross.lua", params = { fast = "5" },
--     data = { { series = s, source = "data/SPY-daily.csv" } },
--     cash = 1e6, from = us_or_nil, to = us_or_nil,
--     commission = {...}, fill = {...}, risk = {...},
--   }
--   -- or nil, message when the strategy does not load or the inputs are unusable.
--   -- records = false leaves out result.orders and result.ledger (the largest parts):
--   -- for callers that do not write them, to keep memory down on long runs.
--
-- When bars happen: a bar is an event at its close — the bar's time plus its length
-- for intraday bars, the session close (early closes included) for daily bars, the
-- last session's close of the week or month for weekly and monthly bars.  Events are
-- merged across feeds by that time; ties go in the order the feeds were given.  The
-- strategy's clock (ctx:now()) is the event time, so an order placed on a daily bar
-- works in the next session and fills at the next bar's open (docs/backtest.md).
local ffi = require("ffi")
local bit = require("bit")
local calendar = require("alluse.calendar")
local time = require("alluse.time")
local json = require("alluse.json")
local engine = require("alluse.engine")
local strategy = require("alluse.strategy")
local stats = require("alluse.report.stats")
local oms = require("alluse.oms")

local type, tostring, tonumber, pairs, ipairs, error, select = type, tostring, tonumber, pairs, ipairs,
  error, select
local format, floor = string.format, math.floor
local band = bit.band

local M = {}

local TF_DAILY, TF_WEEKLY, TF_MONTHLY = 86400, 604800, 2592000

-- ---- dates ----

local function dn_of(us) return calendar.day_number(calendar.ny_date(us)) end

local function ny_midnight(dn)
  local y, m, d = calendar.date(dn):match("^(%d+)-(%d+)-(%d+)$")
  return (time.from_ny(tonumber(y), tonumber(m), tonumber(d)))
end

-- The close (µs) of the last trading day on or before day number dn; nil if none
-- within a week (the calendar's ends).
local function close_on_or_before(dn)
  for d = dn, dn - 7, -1 do
    local open, close = calendar.session(d) -- nil, message on a closed day
    if open then return close end
  end
  return nil
end

-- Event times (double µs) of every bar of series s: when each bar is complete.
local function event_times(s)
  local cs = s._cs
  local n = tonumber(cs.n)
  local tf = cs.timeframe
  local ev = ffi.new("double[?]", n > 0 and n or 1)
  local t = cs.time
  if tf > 0 and tf < TF_DAILY then
    local len = tf * 1e6
    for i = 0, n - 1 do ev[i] = tonumber(t[i]) + len end
    return ev
  end
  for i = 0, n - 1 do
    local us = tonumber(t[i])
    local dn = calendar.day_number(calendar.ny_date(us))
    local close
    if tf == TF_WEEKLY then
      local monday = dn - (dn + 3) % 7
      close = close_on_or_before(monday + 6)
    elseif tf == TF_MONTHLY then
      local y, m = calendar.date(dn):match("^(%d+)-(%d+)")
      y, m = tonumber(y), tonumber(m)
      if m == 12 then y, m = y + 1, 1 else m = m + 1 end
      close = close_on_or_before(calendar.day_number(format("%04d-%02d-01", y, m)) - 1)
    else
      close = close_on_or_before(dn)
      if close and close < us then close = nil end -- a bar on a closed day: not that session
    end
    -- A bar on a day the calendar calls closed still happens: at 16:00 New York.
    ev[i] = (close and close >= us) and close or ny_midnight(dn) + 16 * 3600e6
  end
  return ev
end

-- ---- feeds and the merged event order ----

-- The bar a strategy sees: one struct per feed, rewritten for every bar.  symbol and
-- timeframe come from the run's feed table, found through `run` in a weak table:
-- one type for every run (LuaJIT never frees a metatype), and nothing here keeps a
-- finished run's feeds alive.
ffi.cdef [[
typedef struct au_bt_bar {
  double time, open, high, low, close, volume;
  int32_t index; /* the bar's index in its series; -1 before the first */
  const int32_t feed, run;
} au_bt_bar;
]]
local run_feeds = setmetatable({}, { __mode = "v" })
local next_run = 0
local function feed_of(b)
  local feeds = run_feeds[b.run]
  if not feeds then error("this bar belongs to a backtest that has ended", 3) end
  return feeds[b.feed]
end
local bar_t = ffi.metatype("au_bt_bar", {
  __index = function(b, k)
    if k == "symbol" then return feed_of(b).symbol end
    if k == "timeframe" then return feed_of(b).timeframe end
    error(format("bar has no field '%s' (time, open, high, low, close, volume, index, symbol, timeframe)",
      tostring(k)), 2)
  end,
  __tostring = function(b)
    local fd = feed_of(b)
    return format("bar %s %s %s o=%s h=%s l=%s c=%s v=%s", fd.symbol, fd.timeframe,
      time.format(b.time), b.open, b.high, b.low, b.close, b.volume)
  end,
})

-- Merge feeds by event time (ties: feed order) into two arrays: feed number and index.
local function merge(feeds)
  local total = 0
  for _, fd in ipairs(feeds) do total = total + fd.n end
  local efeed = ffi.new("int32_t[?]", total > 0 and total or 1)
  local eidx = ffi.new("int32_t[?]", total > 0 and total or 1)
  local pos = {}
  for f = 1, #feeds do pos[f] = 0 end
  for e = 0, total - 1 do
    local best, bt = nil, math.huge
    for f = 1, #feeds do
      local fd = feeds[f]
      local i = pos[f]
      if i < fd.n and fd.ev[i] < bt then best, bt = f, fd.ev[i] end
    end
    efeed[e], eidx[e] = best, pos[best]
    pos[best] = pos[best] + 1
  end
  return efeed, eidx, total
end

-- ---- the run ----

local function iso(us) return time.format(us) end

local function check_number(opts, k, default, positive)
  local v = opts[k]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v == math.huge or (positive and v <= 0) then
    error(format("backtest: %s must be a %snumber, got %s", k, positive and "positive " or "", tostring(v)), 3)
  end
  return v
end

-- Build the feeds: slice each series to [from, to), compute event times, pick the
-- feed each symbol trades on (its shortest timeframe; the first given on a tie).
local function make_feeds(data, from, to)
  local feeds, symbols, trade_feed = {}, {}, {}
  for i, d in ipairs(data) do
    if type(d) ~= "table" or type(d.series) ~= "table" or not d.series._cs then
      error(format("backtest: data[%d] must be { series = <alluse.series>, source = text }", i), 3)
    end
    local s = d.series
    if from or to then s = s:slice(from, to) end
    local fd = {
      series = s, symbol = s.symbol, timeframe = s.timeframe, tf = tonumber(s._cs.timeframe),
      source = d.source or "", n = s.n, t = s._cs.time, o = s._cs.open, h = s._cs.high,
      l = s._cs.low, c = s._cs.close, v = s._cs.volume,
    }
    fd.ev = event_times(s)
    for j = 1, fd.n - 1 do
      if fd.ev[j] < fd.ev[j - 1] then
        error(format("backtest: %s (%s): bar %d ends before bar %d", fd.symbol, fd.source, j, j - 1), 3)
      end
    end
    feeds[i] = fd
    if not trade_feed[fd.symbol] then
      symbols[#symbols + 1] = fd.symbol
      trade_feed[fd.symbol] = i
    elseif fd.tf < feeds[trade_feed[fd.symbol]].tf then
      trade_feed[fd.symbol] = i
    end
  end
  for i, fd in ipairs(feeds) do fd.trades = trade_feed[fd.symbol] == i end
  return feeds, symbols
end

local function error_handler(e)
  return debug.traceback(tostring(e), 2)
end

-- The strategy of opts (path, params, budget_ms, seed) loaded into its sandbox, its
-- print going to log(text): for a run, and again for the live runner's reloads.
function M.load_strategy(opts, log)
  return strategy.load(opts.strategy, {
    params = opts.params, budget_ms = opts.budget_ms, seed = opts.seed,
    print = function(...)
      local parts = {}
      for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
      log(table.concat(parts, "\t"))
    end,
  })
end

function M.run(opts)
  if type(opts) ~= "table" then error("backtest.run: opts must be a table", 2) end
  if type(opts.strategy) ~= "string" then error("backtest.run: opts.strategy must be a path", 2) end
  if type(opts.data) ~= "table" or #opts.data == 0 then error("backtest.run: opts.data must list at least one series", 2) end
  local cash = check_number(opts, "cash", 100000, true)
  local from, to = opts.from, opts.to
  local log = opts.log or function() end

  local strat, serr, scode = M.load_strategy(opts, log)
  if not strat then return nil, serr, scode end

  local feeds, symbols = make_feeds(opts.data, from, to)
  local eng = engine.new { symbols = symbols, commission = opts.commission, fill = opts.fill, risk = opts.risk,
    option_commission = opts.option_commission, allow_naked = opts.allow_naked }
  for i, fd in ipairs(feeds) do fd.sid = eng.sid_of[fd.symbol]; fd.index = i end
  if opts.on_engine then opts.on_engine(eng) end -- the live runner's endpoints read it as it runs
  local model, vol_of = M.option_model(eng, feeds, opts)
  local first_t
  for _, fd in ipairs(feeds) do
    if fd.n > 0 and (not first_t or tonumber(fd.t[0]) < first_t) then first_t = tonumber(fd.t[0]) end
  end
  eng:set_time(first_t or 0)
  local main = assert(eng:open_account("main", cash))

  next_run = next_run + 1
  run_feeds[next_run] = feeds
  for _, fd in ipairs(feeds) do
    fd.bar = bar_t(0, 0, 0, 0, 0, 0, -1, fd.index, next_run)
    fd.run = next_run
  end

  -- model:list or model:pick for underlying symbol at its last price, now.
  local function with_underlying(symbol, fn, arg)
    local u = eng.sid_of[symbol]
    if not u or eng.inst[u].kind ~= "equity" then return nil, format("no bars for %s in this run", symbol) end
    local spot = eng.mark[u]
    if spot == 0 then return nil, format("no price for %s yet", symbol) end
    return fn(model, symbol, spot, eng.now, (vol_of(u)), arg)
  end

  -- What ctx needs from the driver.
  local host = {
    params = strat.params, state = opts.state or {}, symbols = symbols,
    -- the sandbox's read-only calendar: the engine's own table must stay out of reach
    calendar = strat.box.env.require("alluse.calendar"),
    default_account = main,
    chain = function(symbol, filter) return with_underlying(symbol, model.list, filter) end,
    pick = function(symbol, want) return with_underlying(symbol, model.pick, want) end,
    quote = function(symbol)
      local sid, err = eng:instrument(symbol)
      if not sid then return nil, format("%s: %s", symbol, err) end
      local inst = eng.inst[sid]
      if inst.kind ~= "option" then
        local m = eng.mark[sid]
        if m == 0 then return nil, format("no price for %s yet", symbol) end
        return m, m, m
      end
      local spot = eng.mark[inst.underlying]
      if spot == 0 then return nil, format("no price for %s yet", inst.underlying_symbol) end
      local bid, ask, mid = eng:option_quote(sid, spot, eng.now)
      if not bid then return nil, format("no quote for %s", symbol) end
      return bid, ask, mid
    end,
    now = function() return eng.now end,
    log = function(msg) log(format("%s %s", iso(eng.now), msg)) end,
    bars = function(symbol, tf)
      for _, fd in ipairs(feeds) do
        if fd.symbol == symbol and (tf == nil or fd.timeframe == tf) then
          if not fd.window then
            -- Created mid-run: it already holds the bars delivered so far.
            fd.window = { n = fd.bar.index + 1 }
            fd.history = strategy.history(fd.series, fd.window, fd)
          end
          return fd.history
        end
      end
      return nil, format("no bars for %s%s in this run", symbol, tf and (" " .. tf) or "")
    end,
  }
  local ctx = strategy.new_ctx(eng, host)
  local on_start, on_bar, on_fill, on_order, on_day, on_week, on_stop = strat.on_start, strat.on_bar,
    strat.on_fill, strat.on_order, strat.on_day, strat.on_week, strat.on_stop
  local wd = strat.box.wd
  local recorder = opts.recorder -- alluse.store.runs: the run persisted as it goes (--db)
  -- opts.observer: { order = fn(eng, k), fill = fn(eng, fill) } sees every order event
  -- and fill too (the live runner's metrics); like the recorder, nothing when absent.
  local observer = opts.observer
  eng:set_sink({
    order = function(e, k)
      if recorder then recorder:order_event(e, k) end
      if observer then observer.order(e, k) end
      if not on_order then return end
      wd.epoch = wd.epoch + 1
      on_order(ctx, e:order_view(k))
    end,
    fill = function(e, fill)
      if recorder then recorder:fill(e, fill) end
      if observer then observer.fill(e, fill) end
      if not on_fill then return end
      wd.epoch = wd.epoch + 1
      on_fill(ctx, fill)
    end,
  }, on_order ~= nil or recorder ~= nil or observer ~= nil, on_fill ~= nil or recorder ~= nil or observer ~= nil)

  local efeed, eidx, nev
  if #feeds == 1 then nev = feeds[1].n else efeed, eidx, nev = merge(feeds) end
  -- Tests run every backtest with the invariants checked (make test sets this).
  -- An explicit check_invariants = false wins (the JIT test measures the bare loop).
  local check = opts.check_invariants
  if check == nil then check = os.getenv("ALLUSE_CHECK_INVARIANTS") == "1" end
  local progress = opts.progress

  -- Day bookkeeping (the slow path, once per New York date).
  local rows, cur_date, cur_week = {}, nil, nil
  local keep_days = opts.keep_days
  local next_day = -math.huge
  -- Positions in the run, for the live runner's store (runs.lua: commits and resume
  -- points): 4e + 1 where a day closes before event e (0-based) is taken, 4e + 2 for
  -- what the runner does between days (pace: operator commands), 4e + 3 just before
  -- event e's bar meets the working orders.  A re-run of the same code on the same bars
  -- passes the same positions in the same order.
  local function close_day(pos)
    if not cur_date then return end
    local date = cur_date
    cur_date = nil -- closed once, even when what follows raises (the halt path closes again)
    local total, flow = eng:end_of_day(date)
    local accts, flows = {}, { total = flow }
    for _, a in ipairs(eng.accounts) do
      local n = #a.eq_dates
      if a.eq_dates[n] == date then accts[a.name], flows[a.name] = a.eq_values[n], a.eq_flows[n] end
    end
    local row = { date = date, total = total, accounts = accts, flows = flows }
    rows[#rows + 1] = row
    -- opts.keep_days (a live run): only the recent days stay in memory, for the
    -- result's curve; the store has them all.  Dropped in bulk: O(1) a day.
    if keep_days and #rows >= 2 * keep_days then
      local kept = {}
      for i = #rows - keep_days + 1, #rows do kept[#kept + 1] = rows[i] end
      rows = kept
    end
    if check then eng:check_invariants(true) end
    if recorder then
      local ok, err = recorder:day(eng, row, pos)
      if not ok then
        recorder = nil -- no second attempt from the halt path below
        error("store: " .. tostring(err), 0)
      end
    end
  end
  -- et: the event time of the new day's first bar, bar_time: when that bar opened (a
  -- weekly or monthly bar opened days before: the clock then starts at the date's
  -- midnight, never before it).
  -- opts.pace(date, pos) runs after each day is closed (the live runner's replay: wait to
  -- keep a speed, serve its endpoints, stop, reload); "stop" ends the run there,
  -- "drain" too but without on_stop (a live session that a restart resumes), and
  -- "reload", new_strategy hands the next events to the new code with the same ctx
  -- (so ctx.state carries over).  The new box's watchdog is armed as box:run arms
  -- the first one's.
  local pace, stop_requested, reloaded = opts.pace, false, false
  local function take(new)
    strat = new
    on_start, on_bar, on_fill, on_order, on_day, on_week, on_stop = new.on_start, new.on_bar, new.on_fill,
      new.on_order, new.on_day, new.on_week, new.on_stop
    wd = new.box.wd
    wd.armed, wd.expired, wd.message, wd.seen = true, false, nil, wd.epoch - 1
    eng:set_sink(eng.sink, on_order ~= nil or recorder ~= nil or observer ~= nil,
      on_fill ~= nil or recorder ~= nil or observer ~= nil)
    reloaded = true
  end
  local function roll(et, bar_time, e)
    local closed = cur_date
    local pos = 4 * e + 1
    close_day(pos)
    if pace and closed then
      local verdict, new = pace(closed, pos)
      if verdict == "stop" or verdict == "drain" then
        stop_requested = verdict
        return math.huge
      elseif verdict == "reload" and new then
        take(new)
      end
    end
    -- The new day's callbacks run before its first bar, at the moment that bar opens:
    -- they have not seen it, and an order they place can fill on it (at its open, for
    -- a market order) and works in that day's session.
    eng.now = math.max(bar_time, ny_midnight(dn_of(et)))
    local date = calendar.ny_date(et)
    local dn = calendar.day_number(date)
    next_day = ny_midnight(dn + 1)
    cur_date = date
    eng:new_day(date, ny_midnight(dn), next_day)
    local wk, y, w = stats.iso_week(date)
    if wk ~= cur_week then
      cur_week = wk
      if on_week then
        wd.epoch = wd.epoch + 1
        on_week(ctx, { id = wk, year = y, week = w, start = date })
        eng:flush()
      end
    end
    if on_day then
      wd.epoch = wd.epoch + 1
      on_day(ctx, date)
      eng:flush()
    end
    return next_day
  end

  local done = 0
  local book, mark, barcount, nwork = eng.book, eng.mark, eng.barcount, eng.nwork
  local function loop()
    if on_start then
      wd.epoch = wd.epoch + 1
      on_start(ctx)
      eng:flush()
    end
    -- The current feed's columns live in locals, reloaded only when the feed changes:
    -- with one feed that is once, and the JIT keeps them in registers (table fields
    -- would be reloaded every bar, as the stores to eng could alias them).
    local cur, fd, ev, tcol, ocol, hcol, lcol, ccol, vcol, b, sid, trades = 0
    -- What the loop reads, as locals rather than upvalues of run(): a trace entered
    -- from its head (after every side trace, i.e. every order, every bar where the
    -- strategy takes its rarer branch) reloads each upvalue with a guard, a local in
    -- one load.
    local eng_, book_, mark_, barcount_, nwork_, wd_, ctx_, on_bar_ = eng, book, mark, barcount, nwork, wd, ctx, on_bar
    local efeed_, eidx_, feeds_, check_, progress_, nday = efeed, eidx, feeds, check, progress, next_day
    -- The live runner's store commits the order events not yet written before a bar
    -- can fill them (DESIGN §6: written before acted on); nil in a backtest.
    local gate_ = recorder and (recorder.durable or recorder.shadow) and recorder
    for e = 0, nev - 1 do -- the hot loop (tests/lua/test_backtest_jit.lua finds it by this comment)
      local f, i = 1, e
      if efeed_ then f, i = efeed_[e], eidx_[e] end
      if f ~= cur then
        cur, fd = f, feeds_[f]
        ev, tcol, ocol, hcol, lcol, ccol, vcol = fd.ev, fd.t, fd.o, fd.h, fd.l, fd.c, fd.v
        b, sid, trades = fd.bar, fd.sid, fd.trades
      end
      local et = ev[i]
      if et >= nday then
        nday = roll(et, tonumber(tcol[i]), e)
        if stop_requested then break end
        if reloaded then wd_, on_bar_, reloaded = wd, on_bar, false end
      end
      eng_.now = et
      local close = ccol[i]
      b.time = tonumber(tcol[i])
      b.open, b.high, b.low, b.close, b.volume = ocol[i], hcol[i], lcol[i], close, vcol[i]
      b.index = i
      local w = fd.window -- ctx:bars may create it mid-run
      if w then w.n = i + 1 end
      if trades then -- the engine's per-bar work, inline: match working orders, then mark
        -- book.event (the exposure count's clock) only matters where positions change:
        -- fills in match, settlements at expiry.
        if nwork_[sid] > 0 then
          if gate_ then gate_:gate(eng_, 4 * e + 3) end
          book_.event = e
          eng_:match(sid, b)
        end
        mark_[sid] = close
        barcount_[sid] = barcount_[sid] + 1
        -- Options settle at their expiry time, on their underlying's bar that closes
        -- then (or later), at its close.
        if et >= eng_.next_expiry then
          book_.event = e
          eng_:expire_options(et, sid)
          eng_:flush()
        end
      end
      if on_bar_ then
        wd_.epoch = wd_.epoch + 1
        on_bar_(ctx_, b)
      end
      done = e + 1
      if check_ then eng_:check_invariants() end
      if progress_ and band(e, 0xFFFF) == 0 then progress_(e, nev) end
    end
    close_day(4 * nev + 1)
    cur_date = nil
    if on_stop and stop_requested ~= "drain" then
      wd.epoch = wd.epoch + 1
      on_stop(ctx)
      eng:flush()
    end
  end

  local clock = time.monotonic
  local t_loop = clock()
  local ok, err = strat.box:run(loop, error_handler)
  t_loop = clock() - t_loop
  if not ok then
    -- The strategy is halted: its working orders are canceled (DESIGN §3's default
    -- policy), without telling it, and the results so far are kept.
    eng:set_sink(nil, false, false)
    eng:cancel_all("strategy halted")
    close_day(4 * done + 1)
  end
  if progress then progress(nev, nev) end

  local t_result = clock()
  -- The results are built from the engine's structs into tables: collect the loop's
  -- garbage first and keep the collector close behind, so peak memory stays near
  -- what the result itself needs (bench: peak RSS of a 1M-bar run).
  collectgarbage()
  local pause = collectgarbage("setpause", 110)
  eng.run_counts = { events = done, exposed = eng:exposure(done) } -- for the store (runs.finish)
  local result = M.result(eng, {
    strat = strat, feeds = feeds, rows = rows, cash = cash, from = from, to = to,
    events = done, exposed = eng.run_counts.exposed, status = ok and "ok" or "error", error = not ok and err or nil,
    records = opts.records ~= false,
    options_config = M.options_config(eng, model), assignments = M.assignment_rows(eng),
  })
  collectgarbage("setpause", pause)
  -- Timings for the bench and --verbose; never part of the result (it must be
  -- byte-identical across runs).
  eng.timing = { loop_us = t_loop, result_us = clock() - t_result, events = done }
  return result, eng
end

-- ---- options ----

-- Bars per year of a feed's timeframe: 252 trading days; intraday bars per 6.5-hour
-- session.
local function bars_per_year(tf)
  if tf == TF_DAILY then return 252 elseif tf == TF_WEEKLY then return 52 elseif tf == TF_MONTHLY then return 12 end
  return 252 * 23400 / tf
end

-- The option chain model of a run and the volatility it prices with: the underlying's
-- trading feed's last vol_window bars (realized, x factor), or the supplied IV series.
-- Installs the engine's quoter.  Returns model, vol_of(u_sid) -> vol or nil, why.
function M.option_model(eng, feeds, opts)
  local chain = require("alluse.chain")
  local model = chain.new(opts.options)
  for _, ch in ipairs(opts.chains or {}) do model:add_real(ch) end
  for u, series in pairs(opts.iv_series or {}) do model:set_iv_series(u, series) end
  local feed_of = {}
  for _, fd in ipairs(feeds) do if fd.trades then feed_of[fd.sid] = fd end end
  -- One answer per underlying per bar: marking every live contract asks for each
  -- underlying's vol in turn.
  local cache = {}
  -- The closes the model asks for, of the feed and bar vol_of is answering for: one
  -- function made here, not a closure per call (which the JIT cannot compile).
  local cur_fd, cur_idx
  local function closes(window)
    if cur_idx < window then return nil end
    local out, c = {}, cur_fd.c
    for i = cur_idx - window, cur_idx do out[#out + 1] = c[i] end
    return out
  end
  local function vol_of(u)
    local fd = feed_of[u]
    if not fd then return nil, "no bars" end
    local idx = fd.bar.index
    local c = cache[u]
    if c and c.i == idx then return c.v, c.err end
    cur_fd, cur_idx = fd, idx
    local v, err = model:vol(fd.symbol, calendar.ny_date(eng.now), closes, bars_per_year(fd.tf))
    if not c then
      c = {}
      cache[u] = c
    end
    c.i, c.v, c.err = idx, v, err
    return v, err
  end
  eng:set_quoter(function(inst, spot, now)
    return model:quote(inst, spot, now, (vol_of(inst.underlying)))
  end)
  return model, vol_of
end

function M.options_config(eng, model)
  local c = model:describe()
  local oc = eng.option_commission
  c.commission = { model = oc.model, rate = oc.rate, min = oc.min, max_percent = oc.max_percent }
  c.allow_naked = eng.allow_naked
  return c
end

function M.assignment_rows(eng)
  local out = {}
  for i, e in ipairs(eng.assignments) do
    out[i] = {
      account = e.account, contract = e.contract, kind = e.kind, contracts = e.contracts, shares = e.shares,
      strike = e.strike, underlying_price = e.underlying_price, time = iso(e.time),
    }
  end
  return out
end

-- ---- results ----

local function or_null(v) if v == nil then return json.null end return v end

function M.order_row(eng, k)
  local v = eng:order_view(k)
  v.created, v.updated = iso(v.created), iso(v.updated)
  return v
end

local function order_rows(eng)
  local out = json.array()
  for k = 1, eng:norders() do out[k] = M.order_row(eng, k) end
  return out
end

local function posting_row(eng, a, p)
  local kind = oms.name("ledger", p.kind)
  local ref = tonumber(p.ref)
  local order_ref = (kind == "fill" or kind == "commission") and ref > 0 and ref <= eng:norders()
  return {
    seq = tonumber(p.seq), account = a.name, time = iso(tonumber(p.time)), kind = kind,
    symbol = ffi.string(p.symbol), amount = tonumber(p.amount_cents) / 100,
    balance = tonumber(p.balance_cents) / 100,
    ref = order_ref and ffi.string(eng:order_at(ref).id) or (ref ~= 0 and ref or json.null),
  }
end

-- Every posting of every account in seq order (each account's ledger is in seq order:
-- a merge), as rows passed to fn one at a time.
local function each_posting(eng, fn)
  local accts, pos = eng.accounts, {}
  for j = 1, #accts do pos[j] = 0 end
  while true do
    local best, best_seq
    for j = 1, #accts do
      local ptr = accts[j].ptr
      if pos[j] < ptr.nledger then
        local seq = tonumber(ptr.ledger[pos[j]].seq)
        if not best_seq or seq < best_seq then best, best_seq = j, seq end
      end
    end
    if not best then return end
    fn(posting_row(eng, accts[best], accts[best].ptr.ledger[pos[best]]))
    pos[best] = pos[best] + 1
  end
end

local function ledger_rows(eng)
  local out = json.array()
  each_posting(eng, function(row) out[#out + 1] = row end)
  return out
end

-- Write the result as JSON to the open file out: byte for byte what
-- json.encode(result, { sorted = true, indent = 2 }) .. "\n" gives for a result with
-- its orders and ledger, but those rows are made and written one at a time from the
-- engine (and the trades encoded one at a time), so a long run's --json holds neither
-- all the rows as tables nor the encoder's pieces for all of them (docs/results.md).
local INDENT = 2
function M.write_json(out, result, eng)
  -- Rows are garbage as soon as they are written: keep the collector right behind.
  local pause = collectgarbage("setpause", 100)
  local marks = { ledger = "\1ledger\1", orders = "\1orders\1", trades = "\1trades\1" }
  local saved_o, saved_l, saved_t = result.orders, result.ledger, result.trades
  result.orders, result.ledger, result.trades = marks.orders, marks.ledger, marks.trades
  local ok, text = pcall(json.encode, result, { sorted = true, indent = INDENT })
  result.orders, result.ledger, result.trades = saved_o, saved_l, saved_t
  if not ok then error(text, 2) end
  local item_indent = "\n" .. (" "):rep(2 * INDENT)
  local function array(each)
    local n = 0
    each(function(row)
      n = n + 1
      local enc = json.encode(row, { sorted = true, indent = INDENT }):gsub("\n", item_indent)
      out:write(n == 1 and "[" or ",", item_indent, enc)
    end)
    out:write(n == 0 and "[]" or ("\n" .. (" "):rep(INDENT) .. "]"))
  end
  local function each_order(fn) for k = 1, eng:norders() do fn(M.order_row(eng, k)) end end
  local rest = text
  local function each_trade(fn) for _, tr in ipairs(saved_t) do fn(tr) end end
  -- In the document's (sorted) key order.
  for _, part in ipairs({ { "ledger", function(fn) each_posting(eng, fn) end }, { "orders", each_order },
                          { "trades", each_trade } }) do
    local placeholder = json.encode(marks[part[1]])
    local i, j = rest:find(placeholder, 1, true)
    out:write(rest:sub(1, i - 1))
    array(part[2])
    rest = rest:sub(j + 1)
  end
  out:write(rest, "\n")
  collectgarbage("setpause", pause)
end

-- Open positions at the end: account, symbol, qty, average cost, the last mark and
-- the value at it (qty x mark x multiplier).
function M.position_rows(eng)
  local out = json.array()
  for _, a in ipairs(eng.accounts) do
    local ptr = a.ptr
    for j = 0, ptr.npositions - 1 do
      local p = ptr.positions[j]
      if p.qty ~= 0 then
        local sym = ffi.string(p.symbol)
        local sid = eng.sid_of[sym]
        local mark = sid and eng.mark[sid] ~= 0 and eng.mark[sid] or json.null
        out[#out + 1] = {
          account = a.name, symbol = sym, qty = p.qty, avg_cost = p.avg_cost, mark = mark,
          value = mark ~= json.null and oms.round_cents(p.qty * mark * p.multiplier) or json.null,
        }
      end
    end
  end
  return out
end

local function trades_of(eng, account)
  local out = json.array(eng:trade_rows(account))
  for _, tr in ipairs(out) do
    tr.entry_time, tr.exit_time = iso(tr.entry_time), iso(tr.exit_time)
  end
  return out
end

-- The trades of one account: the same row tables, not copies.
local function account_trades(trades, name)
  local out = {}
  for _, tr in ipairs(trades) do
    if tr.account == name then out[#out + 1] = tr end
  end
  return out
end

-- The strategy's journal (ctx:record): stream name -> its rows in order, each
-- stamped with the New York time it was recorded at.
-- Rows first .. #rows of one journal stream, copied, with their times as ISO text.
function M.journal_rows(rows, first)
  local list = json.array()
  for i = first or 1, #rows do
    local row, r = rows[i], {}
    for k, v in pairs(row) do r[k] = v end
    r.time = iso(row.time)
    list[#list + 1] = r
  end
  return list
end

local function journal_of(eng)
  local out = {}
  for name, rows in pairs(eng.journal) do out[name] = M.journal_rows(rows) end
  return out
end

function M.result(eng, r)
  local dates, totals, tflows = {}, {}, {}
  for i, row in ipairs(r.rows) do
    dates[i], totals[i], tflows[i] = row.date, row.total, row.flows.total
    row.accounts = row.accounts
  end
  local trades = trades_of(eng)
  local summary = stats.summary {
    dates = dates, equity = totals, flows = tflows, initial = r.cash, trades = trades,
    bars = r.events, exposed_bars = r.exposed, commissions = eng:commissions(),
  }
  local accounts = json.array()
  for _, a in ipairs(eng.accounts) do
    local s = stats.summary {
      dates = a.eq_dates, equity = a.eq_values, flows = a.eq_flows, initial = a.initial > 0 and a.initial or 1,
      trades = account_trades(trades, a.name), bars = r.events, exposed_bars = eng:exposure(r.events, a),
      commissions = eng:commissions(a),
    }
    accounts[#accounts + 1] = { name = a.name, parent = or_null(a.parent), status = a.status, summary = s }
  end
  local data = json.array()
  for i, fd in ipairs(r.feeds) do
    data[i] = {
      symbol = fd.symbol, timeframe = fd.timeframe, source = fd.source, bars = fd.n,
      first = fd.n > 0 and iso(tonumber(fd.t[0])) or json.null,
      last = fd.n > 0 and iso(tonumber(fd.t[fd.n - 1])) or json.null,
    }
  end
  local risk = {}
  for k, v in pairs(eng.risk) do risk[k] = v end
  local nledger = 0
  for _, a in ipairs(eng.accounts) do nledger = nledger + tonumber(a.ptr.nledger) end
  local result = {
    version = 1,
    status = r.status,
    error = r.error,
    strategy = { name = r.strat.name, file = r.strat.file, params = r.strat.params,
                 description = r.strat.description, version = r.strat.version },
    config = {
      initial_cash = r.cash,
      from = r.from and calendar.ny_date(r.from) or json.null,
      to = r.to and calendar.ny_date(r.to - 1) or json.null, -- the last date included
      fill = { slippage_bps = eng.fill.slippage_bps, participation = eng.fill.participation },
      commission = { model = eng.commission.model, rate = eng.commission.rate, min = eng.commission.min,
                     max_percent = eng.commission.max_percent },
      risk = risk,
      data = data,
      options = r.options_config,
    },
    assignments = json.array(r.assignments),
    summary = summary,
    accounts = accounts,
    equity = json.array(r.rows),
    weekly_returns = json.array(stats.weekly_returns(dates, totals, tflows, r.cash)),
    trades = trades,
    positions = M.position_rows(eng),
    journal = journal_of(eng),
    counts = { orders = eng:norders(), fills = eng:nfills(), ledger = nledger, trades = eng:ntrades() },
    orders = r.records and order_rows(eng) or nil,
    ledger = r.records and ledger_rows(eng) or nil,
  }
  return result
end

return M
