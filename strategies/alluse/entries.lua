-- What each account does with one ticker (PROTOCOL §2-§3): the weekly entry (a
-- cash-secured put, or covered calls on shares it holds: the wheel), the ATR
-- protocol's checks on what it holds (level changes, the roll, the stop-loss), the
-- profit take, and the bookkeeping when an option expires or is assigned.
--
-- The option an account holds on a ticker is a.opts[ticker]:
--   { symbol, right ("put"|"call"), strike, expiry_time, contracts, entry_price (the
--     underlying when sold), premium (per share, the fill's), filled, closing, done }
local book = require("book")
local strikes = require("strikes")
local weeks = require("weeks")
local atr = require("atr")
local events = require("events")
local dates = require("dates")
local opt = require("alluse.options")

local M = {}

local floor, max, min = math.floor, math.max, math.min
local format = string.format

-- This week's facts of account a on ticker, for the week type.
local function week_of(a, ticker)
  local w = a.week[ticker]
  if not w then
    w = { premium = 0 }
    a.week[ticker] = w
  end
  return w
end
M.week_of = week_of

-- The week is skipped on ticker, and why: the week's row carries the reason (W-IDL);
-- the skips the protocol alerts on (premium floor, breaker, ATR level, preservation)
-- are events too, with their numbers.
local function skip(ctx, a, ticker, why, fields, alert)
  local w = week_of(a, ticker)
  if not w.skipped then
    w.skipped = why
    if alert then
      local f = fields or {}
      f.reason = why
      events.record(ctx, "skip", a, ticker, f)
    end
  end
end

-- Why account a may not open a position on ticker now, or nil.
local function blocked(p, st, a, ticker, date)
  if a.status ~= "active" then return "account " .. a.status end
  if a.paused_until and date < a.paused_until then return "circuit breaker" end
  local lv = st.level[a.name .. "|" .. ticker]
  if lv and lv >= 1 then return format("ATR level %d", lv) end
  if st.block[a.name .. "|" .. ticker] then return "preservation (level 3) until the move is back under 1 ATR" end
  return nil
end

-- The week's delta band of a's kind on ticker (shifted by Monday's mode guess; no
-- shift before there is a week to guess from).
local function band(p, st, a, ticker)
  local mode = st.mode_guess[ticker]
  return strikes.band(p, a.kind, weeks.delta_shift(mode, p))
end

local function sell(ctx, st, a, ticker, c, n, price, date)
  local id, err = ctx:account(a.name):sell(c.symbol, n)
  if not id then return nil, err end
  a.opts[ticker] = {
    symbol = c.symbol, right = c.right, strike = c.strike, contracts = n, entry_price = price,
    premium = c.bid, filled = false, opened = date, expiry_time = opt.occ.parse(c.symbol).expiry_time,
  }
  a.symbols[ticker] = a.symbols[ticker] or {}
  a.symbols[ticker][c.symbol] = a.opts[ticker].expiry_time
  return id
end

-- The entry decision of account a on ticker at this close (its kind's entry day).
function M.enter(ctx, p, st, a, ticker, price, date)
  local o = a.opts[ticker]
  if o and not o.done then return end -- still running (a 30-45 DTE option)
  local why = blocked(p, st, a, ticker, date)
  if why then return skip(ctx, a, ticker, why, nil, true) end
  local kind = a.kind
  local h = ctx:account(a.name)
  local lo, hi = band(p, st, a, ticker)
  local want = { dte = p[kind .. "_dte"], dte_min = p[kind .. "_dte_min"], dte_max = p[kind .. "_dte_max"],
    delta_min = lo, delta_max = hi }
  local shares, covered = book.shares(ctx, a, ticker)
  local n, right
  if shares - covered >= 100 then
    -- The wheel: covered calls on the shares, not below their cost unless the shares
    -- are at ATR level 2 or more.
    right, n = "call", floor((shares - covered) / 100)
    local _, cost = h:position(ticker)
    if (st.level[a.name .. "|" .. ticker] or 0) < 2 then want.min_strike = cost end
  elseif kind ~= "com" or p.com_puts then
    right = "put"
  else
    return skip(ctx, a, ticker, "no shares to cover")
  end
  want.right = right
  local c, err = strikes.pick(ctx, ticker, want)
  if not c then return skip(ctx, a, ticker, err) end
  if right == "put" then
    local value = h:equity()
    local deployable = value * (1 - p.buffer)
    local budget = deployable * p[kind .. "_size"] / #book.tickers(p, a)
    if kind == "com" then budget = min(budget, book.free_cash(ctx, a) - value * p.buffer - book.tax_reserve(ctx, p, a)) end
    budget = min(budget, book.free_cash(ctx, a) - value * p.buffer)
    if p.max_symbol_pct < 1 then budget = min(budget, value * p.max_symbol_pct - shares * price) end
    n = book.contracts(budget, c.strike)
    if n < 1 then
      return skip(ctx, a, ticker, "cash secures no contract", { budget = book.cents(budget), strike = c.strike })
    end
  end
  -- The premium floor: bid over the cash it secures (for calls, over the strike).
  local floor_pct = p[kind .. "_floor"]
  local yield = c.bid / c.strike
  if yield < floor_pct - 1e-12 then
    return skip(ctx, a, ticker, "premium below the floor", { premium_pct = yield, floor_pct = floor_pct,
      contract = c.symbol, bid = c.bid, delta = c.delta }, true)
  end
  local id, serr = sell(ctx, st, a, ticker, c, n, price, date)
  if not id then return skip(ctx, a, ticker, "order refused: " .. tostring(serr)) end
end

-- The next expiry's contract to roll a short option into, for a net credit over the
-- cost of buying the current one back; nil and why when none gives a credit.
local function roll_target(ctx, p, a, ticker, o)
  local _, ask = ctx:quote(o.symbol)
  if not ask then return nil, "no quote" end
  -- The next weekly expiry after the current one, in the kind's delta band.
  local cur = math.floor((o.expiry_time - ctx:now()) / 86400e6)
  local c = strikes.pick(ctx, ticker, { right = o.right, dte = cur + 7, dte_min = cur + 1, dte_max = cur + 14,
    delta_min = p[a.kind .. "_delta_min"], delta_max = p[a.kind .. "_delta_max"] })
  if not c then return nil, "no strike in the band at the next expiry" end
  -- Down (puts) or up (calls): never toward more risk.
  if (o.right == "put" and c.strike > o.strike) or (o.right == "call" and c.strike < o.strike) then
    return nil, "the band's strike is not further out"
  end
  local credit = c.bid - ask
  if credit <= 0 then return nil, format("no credit (%.2f)", credit), credit end
  return c, nil, credit, ask
end

-- Buy back a's short option on ticker (stop-loss, profit take, first leg of a roll).
local function buy_back(ctx, a, o, why)
  local id = ctx:account(a.name):buy(o.symbol, o.contracts)
  if id then
    o.closing = why
  end
  return id
end

-- The ATR protocol for a's exposure on ticker at this close: a short option's adverse
-- move, or for shares held without one, the move below their cost.
function M.monitor(ctx, p, st, a, ticker, price, atr_value, date)
  local key = a.name .. "|" .. ticker
  local o = a.opts[ticker]
  local m, what
  -- An order in flight (sold and not filled yet, or being bought back): the level
  -- stays where it was until the books settle.
  if o and not o.done and (not o.filled or o.closing) then return end
  if o and not o.done and o.filled and not o.closing then
    m = atr.adverse(o.right, price, o.entry_price, o.strike, atr_value, p.atr_from)
    what = o.right
  else
    local q, cost = ctx:account(a.name):position(ticker)
    if q > 0 and atr_value and atr_value > 0 then
      m = max(0, cost - price) / atr_value
      what = "stock"
    end
  end
  -- A ticker in preservation stays blocked until the move is back under 1 ATR.
  local blk = st.block[key]
  if blk and atr_value and atr_value > 0 then
    local bm = atr.adverse(blk.right, price, blk.ref, blk.ref, atr_value, "entry")
    if bm < 1 then
      st.block[key] = nil
      events.record(ctx, "preservation_clear", a, ticker, { m = bm, price = price })
    end
  end
  local old = st.level[key] or 0
  local new = m and atr.level(m) or 0
  if new ~= old and (what == "stock" or (what == nil and st.level_of[key] == "stock")) then
    -- Shares' levels only gate covered calls below cost: kept, not events.
    st.level[key], st.level_of[key] = new, what
  elseif new ~= old then
    st.level[key], st.level_of[key] = new, what
    events.record(ctx, "level", a, ticker, { from = old, to = new, m = m or 0, atr = atr_value or 0, price = price,
      entry = o and o.entry_price or 0, strike = o and o.strike or 0, position = what or "none",
      severity = atr.SEVERITY[new] })
  end
  if not m then return end
  -- Shares are not stopped out by ATR (the table is about short options); their level
  -- only lets covered calls go below cost (level 2+).  A P-DD week stops them out.
  if new >= 3 and new > old and what ~= "stock" then
    -- Preservation: close what is at risk and stay out until the move is under 1 ATR.
    do
      buy_back(ctx, a, o, "stop_loss")
      st.block[key] = { right = o.right, ref = o.right == "put" and price + 3 * atr_value or price - 3 * atr_value }
      events.record(ctx, "stop_loss", a, ticker, { contract = o.symbol, contracts = o.contracts, m = m, price = price,
        premium = o.premium })
    end
    week_of(a, ticker).stopped = true
  elseif new == 2 and old < 2 and what ~= "stock" then
    local target, why, credit, ask = roll_target(ctx, p, a, ticker, o)
    if target then
      buy_back(ctx, a, o, "roll")
      o.roll_to = { symbol = target.symbol, right = target.right, strike = target.strike, bid = target.bid }
      week_of(a, ticker).rolled = true
      events.record(ctx, "roll", a, ticker, { from_contract = o.symbol, to_contract = target.symbol,
        credit = credit, buy_back = ask, new_bid = target.bid, m = m })
    else
      events.record(ctx, "hold", a, ticker, { contract = o.symbol, reason = why, m = m })
    end
  end
end

-- A P-DD week on shares (down more than 15%): preservation — the shares are sold
-- at the next open (and a short call on them bought back first), and the ticker is
-- blocked until it is back within 1 ATR.
function M.preserve_shares(ctx, p, st, a, ticker, price, atr_value, move)
  local h = ctx:account(a.name)
  local q = h:position(ticker)
  if q <= 0 then return end
  local o = a.opts[ticker]
  if o and not o.done and o.filled and not o.closing then
    -- Shares under a short call cannot be sold: buy it back, sell them at its fill.
    buy_back(ctx, a, o, "stop_loss")
    o.sell_shares_after = true
  else
    h:sell(ticker, q)
  end
  st.block[a.name .. "|" .. ticker] = { right = "put", ref = price + (atr_value or 0) }
  events.record(ctx, "stop_loss", a, ticker, { shares = q, price = price, move = move or 0, reason = "P-DD" })
end

-- The profit take (Rev, Com): buy back once `profit_take` of the premium has decayed.
function M.profit_take(ctx, p, st, a, ticker)
  local o = a.opts[ticker]
  if not (o and o.filled and not o.done and not o.closing) or not p[a.kind .. "_profit_take"] then return end
  local _, ask = ctx:quote(o.symbol)
  if ask and ask <= o.premium * (1 - p.profit_take) + 1e-9 then
    buy_back(ctx, a, o, "profit_take")
    events.record(ctx, "profit_take", a, ticker, { contract = o.symbol, premium = o.premium, ask = ask,
      decayed = 1 - ask / o.premium })
  end
end

-- A cycle (one short option, sold to gone) ended with P&L pnl: the breaker's count.
local function cycle_done(ctx, p, st, a, ticker, pnl, date)
  if pnl < 0 then a.losses = a.losses + 1 else a.losses = 0 end
  if a.losses >= p.breaker_losses then
    -- Decided: pause new entries for the rest of this week and all of the next.
    a.paused_until = dates.monday_in(date, 2)
    events.record(ctx, "breaker", a, ticker, { reason = format("%d losing cycles in a row", a.losses),
      losses = a.losses, until_date = a.paused_until })
    a.losses = 0
  end
end

-- After this close: options of a on ticker that have expired (the engine settled
-- them: worthless, or assigned into shares at the strike).
function M.settle(ctx, p, st, a, ticker, price, date)
  local o = a.opts[ticker]
  if not o or o.done or ctx:now() < o.expiry_time then return end
  o.done = true
  if not o.filled then return end
  local itm = o.right == "put" and o.strike - price or price - o.strike
  local n = o.contracts
  local pnl = o.premium * 100 * n
  if itm >= 0.01 - 1e-9 then
    if o.right == "put" then
      pnl = pnl - itm * 100 * n
      events.record(ctx, "assigned", a, ticker, { contract = o.symbol, shares = 100 * n, strike = o.strike,
        price = price, premium = o.premium })
    else
      events.record(ctx, "called_away", a, ticker, { contract = o.symbol, shares = 100 * n, strike = o.strike,
        price = price, premium = o.premium })
    end
  end
  cycle_done(ctx, p, st, a, ticker, pnl, date)
end

-- A fill of a's option on ticker.
function M.on_fill(ctx, p, st, a, ticker, fill, date)
  local o = a.opts[ticker]
  if not o or o.symbol ~= fill.symbol then return end
  local w = week_of(a, ticker)
  if fill.side == "sell" then
    o.premium, o.filled = fill.price, true
    w.premium = w.premium + fill.price * fill.qty * 100
    w.position = o.right == "put" and "put" or (w.position or "stock")
    w.strike = o.strike
    return
  end
  -- Bought back (a cost in the week's P&L, not negative premium).
  o.done = true
  local why = o.closing
  cycle_done(ctx, p, st, a, ticker, (o.premium - fill.price) * 100 * fill.qty, date)
  if o.sell_shares_after then
    local q = ctx:account(a.name):position(ticker)
    if q > 0 then ctx:account(a.name):sell(ticker, q) end
  end
  if why == "roll" and o.roll_to then
    local r = o.roll_to
    local c = { symbol = r.symbol, right = r.right, strike = r.strike, bid = r.bid }
    sell(ctx, st, a, ticker, c, o.contracts, o.entry_price, date)
  end
end

return M
