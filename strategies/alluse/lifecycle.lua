-- Account lifecycle (PROTOCOL §1, §3, §5): main accounts and their 40/30/30 split,
-- Gen forks into a Gen and a Com child (or, in the constitution profile, into a mini
-- main account), Rev forks into a new main account, merges of fork families into the
-- root Com-Acc, quarterly reinvestment into shares and LEAPS, LEAPS sold before they
-- expire, and the daily circuit breaker and drawdown alarms.
local book = require("book")
local strikes = require("strikes")
local events = require("events")
local dates = require("dates")
local statement = require("statement")
local opt = require("alluse.options")

local M = {}

local floor, max, min = math.floor, math.max, math.min
local format = string.format

local cents = book.cents

-- Move amount from account `from` (a record, or nil for the run's "main") to `to`.
local function note_flow(st, from, to, amount)
  if from then
    from.flows, from.day_flows = from.flows - amount, from.day_flows - amount
    statement.flow(from, -amount)
  end
  if to then
    to.flows, to.day_flows = to.flows + amount, to.day_flows + amount
    statement.flow(to, amount)
  end
end

-- Open main account number #st.mains + 1 with `amount` from engine account `from`
-- (a name), split Gen/Rev/Com.  parent: the protocol account it came from, or nil.
function M.open_main(ctx, p, st, from, amount, date, parent, mini)
  local id = #st.mains + 1
  local prefix = id == 1 and "" or format("M%d-", id)
  local main = { id = id, opened = date, initial = amount, mini = mini or false, parent = parent and parent.name,
    status = "active" }
  local splits = { gen = p.split_gen, rev = p.split_rev, com = p.split_com }
  for _, kind in ipairs(book.KINDS) do
    local name = prefix .. kind:upper()
    local cash = cents(amount * splits[kind])
    local h, err = ctx:open_account(name, { from = from, cash = cash })
    if not h then error(format("alluse: cannot open %s: %s", name, tostring(err))) end
    local a = book.add(st, name, kind, { base = cash, main = id, parent = from ~= "main" and from or nil,
      opened = date })
    a.day_flows, a.flows = 0, 0
    statement.flow(a, cash)
    note_flow(st, parent, nil, cash)
    main[kind] = name
  end
  st.mains[id] = main
  -- Mini mains merge into the Com-Acc of the main their parent belongs to; others' own.
  main.root_com = parent and st.mains[parent.main].root_com or main.com
  return main
end

-- ---- forks ----

local function free_for_transfer(ctx, p, a)
  local h = ctx:account(a.name)
  return book.free_cash(ctx, a) - h:equity() * p.buffer
end

local function gen_fork(ctx, p, st, a, surplus, date)
  local amount = p.fork_surplus
  local equity = ctx:account(a.name):equity() -- before the fork moves money out
  if free_for_transfer(ctx, p, a) < amount then
    if not a.fork_waiting then
      a.fork_waiting = true
      events.record(ctx, "fork_wait", a, nil, { surplus = cents(surplus), free_cash = cents(book.free_cash(ctx, a)),
        reason = "the surplus is in open positions" })
    end
    return
  end
  a.fork_waiting = nil
  local reserve = book.tax_reserve(ctx, p, a)
  if p.fork == "main" then
    local m = M.open_main(ctx, p, st, a.name, amount, date, a, true)
    events.record(ctx, "fork", a, nil, { into = "main", main = m.id, amount = amount, surplus = cents(surplus),
      tax_reserve = cents(reserve), equity = cents(equity) })
    return
  end
  a.children = a.children + 1
  local k = a.children
  local gname, cname = format("%s-GEN-%d", a.name, k), format("%s-COM-%d", a.name, k)
  if #gname > 31 then
    st.nfamilies_named = (st.nfamilies_named or 0) + 1
    gname, cname = format("F%d-GEN", st.nfamilies_named), format("F%d-COM", st.nfamilies_named)
  end
  local fam = #st.families + 1
  for _, c in ipairs({ { gname, "gen", p.fork_child_gen }, { cname, "com", p.fork_child_com } }) do
    local h, err = ctx:open_account(c[1], { from = a.name, cash = c[3] })
    if not h then error(format("alluse: fork of %s: %s", a.name, tostring(err))) end
    local child = book.add(st, c[1], c[2], { base = c[3], main = a.main, parent = a.name, family = fam, opened = date })
    child.day_flows, child.flows = 0, 0
    statement.flow(child, c[3])
    note_flow(st, a, nil, c[3])
  end
  st.families[fam] = { gen = gname, com = cname, parent = a.name, opened = date, status = "active" }
  events.record(ctx, "fork", a, nil, { into = "children", gen_child = gname, com_child = cname,
    amount = p.fork_child_gen + p.fork_child_com, surplus = cents(surplus), tax_reserve = cents(reserve),
    equity = cents(equity) })
end

local function rev_fork(ctx, p, st, a, surplus, date)
  local amount = p.rev_fork_surplus
  if free_for_transfer(ctx, p, a) < amount then return end
  local m = M.open_main(ctx, p, st, a.name, amount, date, a, false)
  events.record(ctx, "fork", a, nil, { into = "main", main = m.id, amount = amount, surplus = cents(surplus),
    tax_reserve = cents(book.tax_reserve(ctx, p, a)) })
end

function M.forks(ctx, p, st, date)
  for _, a in book.each(st, "gen") do
    if not a.merging then
      local s = book.surplus(ctx, p, a)
      if s >= p.fork_surplus - 1e-6 then gen_fork(ctx, p, st, a, s, date) end
    end
  end
  for _, a in book.each(st, "rev") do
    if not a.merging then
      local s = book.surplus(ctx, p, a)
      if s >= p.rev_fork_surplus - 1e-6 then rev_fork(ctx, p, st, a, s, date) end
    end
  end
end

-- ---- merges ----

-- Close every position of account a (orders at the next open).  true when flat.
local function flatten(ctx, a)
  local h = ctx:account(a.name)
  local flat = true
  local held = h:positions()
  for _, symbol in ipairs(book.keys(held)) do
    local q = held[symbol]
    flat = false
    if not a.flatten_sent then
      if q > 0 then h:sell(symbol, q) else h:buy(symbol, -q) end
    end
  end
  a.flatten_sent = not flat
  return flat
end

-- The accounts a merge closes, and where their cash goes.
local function merge_set(st, f)
  if f.main then
    local m = st.mains[f.main]
    return { st.accts[m.gen], st.accts[m.rev], st.accts[m.com] }
  end
  return { st.accts[f.gen], st.accts[f.com] }
end

local function family_value(ctx, set)
  local v = 0
  for _, a in ipairs(set) do v = v + ctx:account(a.name):equity() end
  return v
end

-- Finish a merge once every account of the set is flat: each child's cash back to its
-- parent (ctx:merge), then on to the root Com-Acc.
local function complete(ctx, p, st, f, set, date)
  for _, a in ipairs(set) do
    a.merging = true
    if not flatten(ctx, a) then return false end
  end
  local root = st.accts[f.root_com]
  local total = 0
  for _, a in ipairs(set) do
    local cash = ctx:account(a.name):cash()
    local ok, err = ctx:merge(a.name)
    if not ok then return false, err end
    a.status = "merged"
    statement.flow(a, -cash)
    st.nclosed = (st.nclosed or 0) + 1
    total = total + cash
    local parent = st.accts[a.parent]
    if parent and parent ~= root and cash > 0 then
      local ok2, terr = ctx:transfer(parent.name, root.name, cash)
      if not ok2 then error("alluse: merge transfer: " .. tostring(terr)) end
      note_flow(st, nil, root, cash)
    elseif parent == root then
      note_flow(st, nil, root, cash)
    end
  end
  f.status = "merged"
  events.record(ctx, "merge", st.accts[f.gen or st.mains[f.main].gen], nil, { into = root.name,
    amount = cents(total), accounts = #set })
  return true
end

function M.merges(ctx, p, st, date)
  -- Fork families (a Gen child and its Com sibling).
  for _, f in ipairs(st.families) do
    if f.status == "active" or f.status == "merging" then
      f.root_com = f.root_com or st.mains[st.accts[f.parent].main].root_com
      local set = merge_set(st, f)
      if f.status == "active" then
        local v = family_value(ctx, set)
        if v >= p.merge_at - 1e-6 then
          f.status = "merging"
          events.record(ctx, "merge_start", set[1], nil, { value = cents(v), threshold = p.merge_at,
            into = f.root_com })
        end
      end
      if f.status == "merging" then complete(ctx, p, st, f, set, date) end
    end
  end
  -- Mini main accounts (constitution): after merge_years or at merge_multiple x.
  for _, m in ipairs(st.mains) do
    if m.mini and (m.status == "active" or m.status == "merging") then
      local f = m.family or { main = m.id, root_com = m.root_com, status = m.status }
      m.family = f
      local set = merge_set(st, f)
      if f.status == "active" then
        local v = family_value(ctx, set)
        local age = dates.days(m.opened, date) / 365.25
        if (p.merge_years > 0 and age >= p.merge_years) or (p.merge_multiple > 0 and v >= p.merge_multiple * m.initial) then
          f.status = "merging"
          events.record(ctx, "merge_start", set[1], nil, { value = cents(v), years = age, into = f.root_com })
        end
      end
      if f.status == "merging" and complete(ctx, p, st, f, set, date) then m.status = "merged" end
    end
  end
end

-- ---- quarterly reinvestment ----

local function reinvest_account(ctx, p, st, a, date)
  local h = ctx:account(a.name)
  local value = h:equity()
  local reserve = book.tax_reserve(ctx, p, a)
  local amount = book.free_cash(ctx, a) - value * p.buffer - reserve
  if a.kind == "rev" then amount = min(amount, book.surplus(ctx, p, a)) end
  if amount < 1000 then return end -- decided: not worth the commissions below $1,000
  local tickers = book.tickers(p, a)
  local bought_shares, bought_leaps = 0, 0
  for _, t in ipairs(tickers) do
    local price = st.close[t]
    if price then
      local q = floor(amount * p.reinvest_shares / #tickers * 0.98 / price)
      if q > 0 and h:buy(t, q) then bought_shares = bought_shares + q * price end
      local c = strikes.pick(ctx, t, { right = "call", dte = p.leaps_dte, dte_min = p.leaps_dte_min,
        dte_max = p.leaps_dte_max, delta_min = p.leaps_delta_min, delta_max = p.leaps_delta_max })
      if c and c.ask and c.ask > 0 then
        local n = floor(amount * p.reinvest_leaps / #tickers / (c.ask * 100))
        if n > 0 and h:buy(c.symbol, n) then
          bought_leaps = bought_leaps + n * c.ask * 100
          local expiry_time = opt.occ.parse(c.symbol).expiry_time
          a.leaps[c.symbol] = { ticker = t, expiry_time = expiry_time }
          a.symbols[t] = a.symbols[t] or {}
          a.symbols[t][c.symbol] = expiry_time
        end
      end
    end
  end
  events.record(ctx, "reinvest", a, nil, { reinvestable = cents(amount), shares = cents(bought_shares),
    leaps = cents(bought_leaps), tax_reserve = cents(reserve) })
end

function M.reinvest(ctx, p, st, date)
  for _, a in book.each(st) do
    if (a.kind == "rev" or a.kind == "com") and not a.merging then reinvest_account(ctx, p, st, a, date) end
  end
end

-- LEAPS are sold 60 days before they expire (decided: an exercise would need cash
-- the account does not keep).
function M.leaps(ctx, p, st)
  local now = ctx:now()
  for _, a in book.each(st) do
    for _, symbol in ipairs(book.keys(a.leaps)) do
      local l = a.leaps[symbol]
      if l.expiry_time - now < 60 * 86400e6 then
        local q = ctx:account(a.name):position(symbol)
        if q > 0 then ctx:account(a.name):sell(symbol, q) end
        a.leaps[symbol] = nil
      end
    end
  end
end

-- ---- daily checks: circuit breaker (daily drawdown) and drawdown alarms ----

function M.daily(ctx, p, st, date)
  for _, a in book.each(st) do
    local v = ctx:account(a.name):equity()
    local last = a.last_value
    if last and last > 0 then
      local r = (v - a.day_flows - last) / last
      a.index = a.index * (1 + r)
      if a.index > a.peak then a.peak = a.index end
      if r <= -p.breaker_daily_dd + 1e-12 and not (a.paused_until and a.paused_until > date) then
        a.paused_until = dates.monday_in(date, 1)
        events.record(ctx, "breaker", a, nil, { reason = "daily drawdown", day_return = r,
          until_date = a.paused_until })
      end
      local dd = 1 - a.index / a.peak
      local limit = p["alarm_" .. a.kind]
      if dd >= limit and not a.alarm then
        a.alarm = true
        events.record(ctx, "alarm", a, nil, { drawdown = dd, limit = limit })
      elseif dd < limit and a.alarm then
        a.alarm = false
      end
    end
    a.last_value, a.day_flows = v, 0
  end
end

return M
