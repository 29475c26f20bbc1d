-- alluse: the ALL-USE options-income protocol (../../docs/protocol.md; the rules:
-- PROTOCOL.md).  A main account is split into Gen, Rev and Com accounts that sell
-- options at target deltas on their tickers, adjust by ATR levels, classify every
-- week, and grow by forking and merging.  This file composes the parts:
--
--   profiles/     the numbers: iai (default) and constitution (--param profile=)
--   book          the accounts and what each holds, capital base, tax reserve
--   entries       the weekly entry, the wheel, ATR checks, profit take, expiries
--   strikes       expiry and strike choice by delta band
--   weeks         week mode and week type
--   atr           ATR levels
--   lifecycle     main accounts, forks, merges, reinvestment, breakers, alarms
--   events        the protocol's event log (result.journal.events)
--
--   alluse backtest strategies/alluse --data data --from 2015-01-01 --cash 500000
local calendar = require("alluse.calendar")
local ind = require("alluse.indicators")
local opt = require("alluse.options")
local iai = require("profiles.iai")
local constitution = require("profiles.constitution")
local book = require("book")
local entries = require("entries")
local lifecycle = require("lifecycle")
local weeks = require("weeks")
local dates = require("dates")
local statement = require("statement")

local format = string.format

local params = { profile = "iai" }
for k, v in pairs(iai) do params[k] = v end

local atrs -- ticker -> its ATR indicator (rebuilt by on_start)

-- Every ticker of the three kinds, sorted.
local function all_tickers(p)
  local seen, out = {}, {}
  for _, kind in ipairs(book.KINDS) do
    for _, t in ipairs(dates.list(p[kind .. "_tickers"])) do
      if not seen[t] then
        seen[t] = true
        out[#out + 1] = t
      end
    end
  end
  table.sort(out)
  return out
end

-- Refuse params that make no sense, naming the param.
local function check(p, symbols)
  local have = {}
  for _, s in ipairs(symbols) do have[s] = true end
  for _, kind in ipairs(book.KINDS) do
    local list = dates.list(p[kind .. "_tickers"])
    if #list == 0 then error(format("alluse: param %s_tickers lists no ticker", kind), 0) end
    for _, t in ipairs(list) do
      if not have[t] then
        error(format("alluse: ticker %s of param %s_tickers has no bars in this run (give its file with --data)",
          t, kind), 0)
      end
    end
    local day = p[kind .. "_entry_day"]
    if day ~= math.floor(day) or day < 1 or day > 5 then
      error(format("alluse: param %s_entry_day must be 1 (Monday) .. 5 (Friday), got %s", kind, tostring(day)), 0)
    end
    if not (p[kind .. "_delta_min"] > 0 and p[kind .. "_delta_min"] <= p[kind .. "_delta_max"]
        and p[kind .. "_delta_max"] < 1) then
      error(format("alluse: params %s_delta_min..%s_delta_max must be a band inside (0, 1)", kind, kind), 0)
    end
  end
  if math.abs(p.split_gen + p.split_rev + p.split_com - 1) > 1e-9 then
    error("alluse: params split_gen + split_rev + split_com must add up to 1", 0)
  end
  if p.fork ~= "children" and p.fork ~= "main" then
    error("alluse: param fork must be \"children\" or \"main\", got " .. format("%q", p.fork), 0)
  end
  if p.atr_from ~= "entry" and p.atr_from ~= "strike" then
    error("alluse: param atr_from must be \"entry\" or \"strike\", got " .. format("%q", p.atr_from), 0)
  end
end

-- The active accounts that trade ticker (it is in their kind's list: they only ever
-- hold their own tickers), in creation order; rebuilt when accounts open or merge.
local function followers(p, st, ticker)
  local key = #st.names .. ":" .. (st.nclosed or 0)
  if st.followers_key ~= key then
    st.followers_key, st.followers = key, {}
  end
  local list = st.followers[ticker]
  if not list then
    list = {}
    for _, a in book.each(st) do
      for _, t in ipairs(book.tickers(p, a)) do
        if t == ticker then list[#list + 1] = a end
      end
    end
    st.followers[ticker] = list
  end
  return list
end

-- The week's row of account a on ticker, at the week's last close: mode (guessed
-- Monday, confirmed now), type, premium, P&L.
local function close_week(ctx, p, st, a, ticker, price, date)
  local w = entries.week_of(a, ticker)
  local h = ctx:account(a.name)
  local q = h:position(ticker)
  local o = a.opts[ticker]
  local position = w.position
  local strike = w.strike
  -- Shares held, or a call this week whose shares were called away (C-WAP): "stock".
  if position ~= "put" and q > 0 then
    position = "stock"
    if o and o.right == "call" and not o.done then strike = o.strike end
  end
  local wc = st.wclose[ticker]
  local move = wc and wc.last and price / wc.last - 1 or nil
  local wtype = weeks.type { position = position, strike = strike, price = price, move = move, rolled = w.rolled }
  -- P&L: the change in realized + unrealized - commissions of the ticker's shares and
  -- every option on it this account has traded.
  -- An option past its expiry never trades again: its P&L is final and moves into
  -- a.closed_pnl, so this sum does not grow with the years.
  local live = a.symbols[ticker] or {}
  a.closed_pnl = a.closed_pnl or {}
  local total = h:pnl(ticker)
  local now = ctx:now()
  for _, s in ipairs(book.keys(live)) do
    local x = h:pnl(s)
    if live[s] <= now then
      a.closed_pnl[ticker] = (a.closed_pnl[ticker] or 0) + x
      live[s] = nil
    else
      total = total + x
    end
  end
  total = total + (a.closed_pnl[ticker] or 0)
  a.pnl_mark = a.pnl_mark or {}
  local pnl = total - (a.pnl_mark[ticker] or 0)
  a.pnl_mark[ticker] = total
  if wtype == "P-DD" and position == "stock" then
    entries.preserve_shares(ctx, p, st, a, ticker, price, atrs[ticker]:value(), move)
  end
  local mode = weeks.mode(move, p.mode_threshold)
  ctx:record("weeks", {
    week = st.week_id or "", account = a.name, kind = a.kind, ticker = ticker,
    mode_guess = st.mode_guess[ticker] or "", mode = mode or "", type = wtype,
    premium = book.cents(w.premium), pnl = book.cents(pnl),
    price = price, strike = strike or 0, move = move or 0, reason = w.skipped or "",
  })
  a.week[ticker] = nil
end

return {
  name = "alluse",
  description = "The ALL-USE options-income protocol: Gen/Rev/Com accounts selling options at target deltas",
  version = "1",
  params = params,
  profiles = { iai = {}, constitution = constitution },

  on_start = function(ctx)
    local p = ctx.params
    check(p, ctx.symbols)
    local st = ctx.state
    st.accts, st.names, st.mains, st.families = {}, {}, {}, {}
    st.level, st.level_of, st.block, st.mode_guess, st.close, st.wclose = {}, {}, {}, {}, {}, {}
    st.tickers = all_tickers(p)
    atrs = {}
    for _, t in ipairs(st.tickers) do atrs[t] = ind.atr(p.atr_period) end
    local date = calendar.ny_date(ctx:now())
    lifecycle.open_main(ctx, p, st, "main", ctx:cash(), date, nil, false)
  end,

  on_week = function(ctx, week)
    local p, st = ctx.params, ctx.state
    -- The week that ended, per account: return against the kind's target.
    for _, a in book.each(st) do
      local v = ctx:account(a.name):equity()
      if a.wk_start and a.wk_start > 0 then
        local r = (v - a.flows - a.wk_start) / a.wk_start
        ctx:record("account_weeks", { week = st.week_id, account = a.name, kind = a.kind, value = v,
          ["return"] = r, target_min = p[a.kind .. "_target_min"], target_max = p[a.kind .. "_target_max"],
          premium = book.cents(a.wk_premium or 0) })
      end
      a.wk_start, a.flows, a.wk_premium = v, 0, 0
    end
    st.week_id = format("%04d-W%02d", week.year, week.week)
    -- Monday's guess of each ticker's mode: last week's move.
    for _, t in ipairs(st.tickers) do
      local wc = st.wclose[t]
      st.mode_guess[t] = weeks.mode(wc and wc.prev and wc.last / wc.prev - 1 or nil, p.mode_threshold)
    end
  end,

  on_day = function(ctx, date)
    local p, st = ctx.params, ctx.state
    statement.day(ctx, p, st, date)
    lifecycle.daily(ctx, p, st, date)
    local q = dates.quarter(date)
    local prev = calendar.previous_trading_day(date)
    local quarter_start = st.quarter ~= q and prev and dates.quarter(prev) ~= q
    st.quarter = q
    lifecycle.leaps(ctx, p, st)
    lifecycle.merges(ctx, p, st, date)
    lifecycle.forks(ctx, p, st, date)
    if quarter_start then lifecycle.reinvest(ctx, p, st, date) end
  end,

  on_bar = function(ctx, bar)
    local p, st = ctx.params, ctx.state
    local t = bar.symbol
    local a_t = atrs[t]
    if not a_t then return end
    local atr_value = a_t:update(bar.high, bar.low, bar.close)
    local price = bar.close
    st.close[t] = price
    -- Every ticker's bar of a day closes at the same time: the date facts once a day.
    local now = ctx:now()
    if st.day_at ~= now then
      st.day_at = now
      st.day_date = calendar.ny_date(now)
      st.day_weekday, st.day_last = dates.weekday(st.day_date), dates.last_of_week(st.day_date)
    end
    local date, day, last = st.day_date, st.day_weekday, st.day_last
    for _, a in ipairs(followers(p, st, t)) do
      if a.status == "active" then
        entries.settle(ctx, p, st, a, t, price, date)
        entries.monitor(ctx, p, st, a, t, price, atr_value, date)
        entries.profit_take(ctx, p, st, a, t)
        if last then close_week(ctx, p, st, a, t, price, date) end
        if day == p[a.kind .. "_entry_day"] and not a.merging then entries.enter(ctx, p, st, a, t, price, date) end
      end
    end
    if last then
      local wc = st.wclose[t] or {}
      wc.prev, wc.last = wc.last, price
      st.wclose[t] = wc
    end
  end,

  -- The tax summary: each account's realized P&L and the reserve held back.
  on_stop = function(ctx)
    local p, st = ctx.params, ctx.state
    statement.close(ctx, p, st)
    for _, name in ipairs(st.names) do
      local a = st.accts[name]
      local rst, rlt = ctx:account(name):realized()
      ctx:record("tax", { account = name, kind = a.kind, status = a.status, realized_st = rst, realized_lt = rlt,
        reserve = book.cents(book.tax_reserve(ctx, p, a)) })
    end
  end,

  on_fill = function(ctx, fill)
    local p, st = ctx.params, ctx.state
    local a = st.accts[fill.account]
    if not a then return end
    local c = opt.occ.is_occ(fill.symbol) and opt.occ.parse(fill.symbol)
    if not c then return end
    if fill.side == "sell" and a.opts[c.underlying] and a.opts[c.underlying].symbol == fill.symbol then
      a.wk_premium = (a.wk_premium or 0) + fill.price * fill.qty * 100
      statement.premium(a, fill.price * fill.qty * 100)
    end
    entries.on_fill(ctx, p, st, a, c.underlying, fill, calendar.ny_date(ctx:now()))
  end,
}
