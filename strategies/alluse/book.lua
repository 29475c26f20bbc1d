-- The protocol's books, kept in ctx.state: which accounts exist and what kind each is
-- (gen, rev, com), the main accounts they belong to, the short option each holds per
-- ticker, and the numbers the rules need (capital base, tax reserve, deployable cash).
-- The engine's account (ctx:account(name)) holds the money; this holds the meaning.
local dates = require("dates")

local M = {}

local max, floor = math.max, math.floor

M.KINDS = { "gen", "rev", "com" }

-- A new account record (the engine account must exist already).
function M.add(st, name, kind, fields)
  local a = {
    name = name, kind = kind, status = "active",
    base = fields.base,          -- capital base: what the account started with, after forks
    main = fields.main,          -- the main account it belongs to (index into st.mains)
    parent = fields.parent,      -- the account it was forked from, or nil
    family = fields.family,      -- fork family number (a Gen child and its Com sibling)
    opened = fields.opened,      -- date
    flows = 0,                   -- transfers in (+) and out (-) since the week began
    day_flows = 0,               -- the same since the last daily check
    week = {},                   -- ticker -> this week's facts (entries.week_of)
    opts = {},                   -- ticker -> the short option held (see entries.lua)
    symbols = {},                -- ticker -> { [OCC symbol] = true }: every option traded
    leaps = {},                  -- OCC symbol -> contracts held long
    losses = 0,                  -- losing cycles in a row
    paused_until = nil,          -- date: no new entries before it (circuit breaker)
    alarm = false,               -- the drawdown alarm is raised
    index = 1, peak = 1,         -- flow-free value index and its peak (drawdown alarms)
    last_value = fields.base,    -- value at the last daily check
    children = 0,
  }
  st.accts[name] = a
  st.names[#st.names + 1] = name
  return a
end

-- Active accounts, in creation order (deterministic):
--   for _, a in book.each(st[, kind]) do ... end
-- Stateless iterators made once per kind (the loop variable is the position in
-- st.names): a closure made per call is a bytecode the JIT cannot compile, and these
-- loops run several times a day.
local each_of = {}
for _, kind in ipairs({ "gen", "rev", "com", "any" }) do
  each_of[kind] = function(st, i)
    local names, accts = st.names, st.accts
    while true do
      i = i + 1
      local name = names[i]
      if not name then return nil end
      local a = accts[name]
      if a.status == "active" and (kind == "any" or a.kind == kind) then return i, a end
    end
  end
end
function M.each(st, kind)
  return each_of[kind or "any"], st, 0
end

-- The account's tickers (its kind's list from the params).
function M.tickers(p, a)
  return dates.list(p[a.kind .. "_tickers"])
end

-- Estimated tax on the account's realized gains so far (FIFO lots, short and long
-- term): held back from reinvestment and fork surplus.
function M.tax_reserve(ctx, p, a)
  local st, lt = ctx:account(a.name):realized()
  return p.tax_rate_st * max(0, st) + p.tax_rate_lt * max(0, lt)
end

-- The keys of t, sorted: every loop whose order reaches an order id, a sum or the
-- journal goes through this (pairs order differs between processes).
function M.keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- Cash held against the account's short puts.
function M.secured(a)
  local s = 0
  for _, t in ipairs(M.keys(a.opts)) do
    local o = a.opts[t]
    if o.right == "put" and not o.done then s = s + o.strike * 100 * o.contracts end
  end
  return s
end

-- Free cash: cash not securing a short put.
function M.free_cash(ctx, a)
  return ctx:account(a.name):cash() - M.secured(a)
end

-- Shares of ticker held, and how many of them a short call covers.
function M.shares(ctx, a, ticker)
  local q = ctx:account(a.name):position(ticker)
  local o = a.opts[ticker]
  local covered = (o and o.right == "call" and not o.done) and o.contracts * 100 or 0
  return q, covered
end

-- Surplus over the capital base, after the tax reserve.
function M.surplus(ctx, p, a)
  return ctx:account(a.name):equity() - a.base - M.tax_reserve(ctx, p, a)
end

-- Dollars rounded to cents (the ledger's unit), for what the journal records.
function M.cents(x)
  return floor(x * 100 + 0.5) / 100
end

-- Whole contracts a budget secures at strike.
function M.contracts(budget, strike)
  if budget <= 0 then return 0 end
  return floor(budget / (strike * 100) + 1e-9)
end

return M
