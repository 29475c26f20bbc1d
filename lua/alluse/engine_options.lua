-- alluse.engine_options: options in the engine — contracts as instruments, their
-- quotes, the cash-secured and covered checks, fills against quotes, expiry with
-- assignment and exercise, and model marks.  Installed into alluse.engine's Engine
-- (M.install); docs/options.md is the user's page.
--
-- A contract becomes an instrument the first time something names its OCC symbol
-- (an order, ctx:chain).  It has no bars: its orders are matched on each bar of its
-- underlying against the contract's quote at that bar's open (bid for sells, ask for
-- buys), from the quoter the driver installs (a model or a real chain), and it is
-- marked at its mid whenever equity is computed.
local oms = require("alluse.oms")

local C = oms.C
local errbuf, ERRLEN, errmsg = oms.errbuf, oms.ERRLEN, oms.errmsg
local format, min, max, huge = string.format, math.min, math.max, math.huge
local ipairs, pcall, require = ipairs, pcall, require

local BUY = oms.BUY
local LIMIT, STOP_LIMIT = 2, 4
local CALL, PUT = 1, 2

local M = {}

M.defaults = {
  -- Commission of option fills: per contract (PROTOCOL §8: $0.65).
  commission = { model = "per_contract", rate = 0.65, min = 0, max_percent = 0 },
  -- allow_naked: short calls without the shares and short puts without the cash.
  allow_naked = false,
}

local occ_mod
local function occ()
  if occ_mod == nil then
    local ok, m = pcall(require, "alluse.occ")
    occ_mod = ok and m or false
  end
  return occ_mod
end

-- ---- instruments ----

-- The sid of symbol, making an option instrument of an OCC symbol whose underlying
-- is in the run.  nil, reason when it is neither.
local function instrument(self, symbol)
  local sid = self.sid_of[symbol]
  if sid then return sid end
  local o = occ()
  if not o or type(symbol) ~= "string" or not o.is_occ(symbol) then return nil, "not in this run's data" end
  local c, err = o.parse(symbol)
  if not c then return nil, err end
  local u = self.sid_of[c.underlying]
  if not u or self.inst[u].kind ~= "equity" then
    return nil, format("its underlying %s is not in this run's data", c.underlying)
  end
  local n = #self.symbols + 1
  if n > self.max_instruments then
    return nil, format("more than %d instruments in one run", self.max_instruments)
  end
  self.symbols[n], self.sid_of[symbol] = symbol, n
  self.inst[n] = {
    kind = "option", symbol = symbol, multiplier = c.multiplier or 100, underlying = u,
    underlying_symbol = c.underlying,
    strike = c.strike, right = c.right == "call" and CALL or PUT, right_name = c.right,
    expiry = c.expiry, expiry_time = c.expiry_time, expired = false,
  }
  if C.oms_book_add_instrument(self.book, n, symbol, u, c.right == "call" and CALL or PUT, c.strike,
      c.multiplier or 100, errbuf, ERRLEN) ~= 0 then
    return nil, errmsg()
  end
  local list = self.options_of[u]
  if not list then
    list = {}
    self.options_of[u] = list
  end
  list[#list + 1] = n
  self.option_sids[#self.option_sids + 1] = n
  self.has_options = true
  if c.expiry_time < self.next_expiry then self.next_expiry = c.expiry_time end
  return n
end

-- The quote of option sid at the underlying's price spot and time now: bid, ask, mid
-- (nil when the quoter has none).
local function quote(self, sid, spot, now)
  local q = self.quoter
  if not q then return nil end
  return q(self.inst[sid], spot, now)
end

-- ---- what an account holds against its short options ----

-- Cash held against a's short puts (strike x multiplier x contracts).
local function secured_cash(self, a)
  return C.oms_book_secured(self.book, a.index)
end

-- Cash free for new commitments: cash - reserved for working orders - held against
-- short puts.
local function free_cash(self, a)
  return oms.dollars(a.ptr.cash_cents) - self.book.acct[a.index].reserved - secured_cash(self, a)
end

-- Shares of underlying u that a could still sell or commit: held - being sold -
-- covering short calls - reserved for working call sells.
local function free_shares(self, a, u)
  local book, i = self.book, a.index
  local p = a.pos[u]
  local held = p and p.qty or 0
  return held - C.oms_book_pending(book, i, u, oms.SELL) - C.oms_book_covered(book, i, u)
    - C.oms_book_cover_reserved(book, i, u)
end
M.free_shares = free_shares

-- The reason to reject an option order, or nil and the cash to reserve for it.
local function option_risk(self, a, o, sid, inst)
  local now = self.now
  if inst.expired or now >= inst.expiry_time then
    return format("%s has expired", inst.symbol)
  end
  local spot = self.mark[inst.underlying]
  if spot == 0 then return format("no price for %s yet: wait for its first bar", self.symbols[inst.underlying]) end
  local bid, ask = quote(self, sid, spot, now)
  if not bid then return format("no quote for %s", inst.symbol) end
  local qty = o.qty
  local mult = inst.multiplier
  local p = a.pos[sid]
  local held = p and p.qty or 0
  local risk = self.risk
  if o.side == BUY then
    local px = (o.type == LIMIT or o.type == STOP_LIMIT) and o.limit_price or ask
    local comm = 0
    if C.oms_commission_order(self.opt_comm, qty, qty * px * mult, self.dbl, errbuf, ERRLEN) == 0 then
      comm = self.dbl[0]
    end
    local need = qty * px * mult + comm
    if not risk.allow_margin then
      local avail = free_cash(self, a)
      if need > avail then
        return format("insufficient buying power: %d %s need %s, %s free in account %s", qty, inst.symbol,
          self.money(need), self.money(avail), a.name)
      end
    end
    return nil, need, 0
  end
  -- A sell: what it does not close of a long position opens a short.
  local long_left = max(0, held - C.oms_book_pending(self.book, a.index, sid, oms.SELL))
  local opening = qty - min(qty, long_left)
  if opening <= 0 or self.allow_naked then return nil, 0, 0 end
  if inst.right == PUT then
    local need = inst.strike * mult * opening
    local avail = free_cash(self, a)
    if need > avail then
      return format("a short put must be cash-secured: %d %s need %s, %s free in account %s", opening,
        inst.symbol, self.money(need), self.money(avail), a.name)
    end
    return nil, need, 0
  end
  local shares = mult * opening
  local avail = free_shares(self, a, inst.underlying)
  if shares > avail then
    return format("a short call must be covered: %d %s need %d shares of %s, %d free in account %s", opening,
      inst.symbol, shares, self.symbols[inst.underlying], avail, a.name)
  end
  return nil, 0, shares
end

-- ---- fills ----

-- Match the working orders of option sid on a bar of its underlying: each order meets
-- a one-price bar at the contract's quote at the bar's open (ask for a buy, bid for
-- a sell; engine's match_list).  Returns the orders still working.
local function match_option(self, sid, b, match_list)
  local bid, ask = quote(self, sid, b.open, b.time)
  return match_list(self, sid, b.time, true, bid, ask)
end

-- ---- marks ----

-- Mark every option instrument at its quote's mid for the underlying's last price
-- and the current time (once per clock value).
local function mark_options(self)
  if self.options_marked_at == self.now then return end
  self.options_marked_at = self.now
  local mark = self.mark
  for _, sid in ipairs(self.option_sids) do -- in creation order: deterministic
    local inst = self.inst[sid]
    local spot = mark[inst.underlying]
    if spot ~= 0 and not inst.expired then
      local _, _, mid = quote(self, sid, spot, self.now)
      if mid then mark[sid] = mid end
    end
  end
end

-- ---- expiry ----

-- Settle every contract whose expiry time has come, at its underlying's last price:
-- in the money by $0.01 or more, long positions are exercised and short ones
-- assigned into shares at the strike; otherwise they expire worthless.  The option
-- leaves at its average premium (so it realizes nothing: the premium moves into the
-- shares, the IRS way — a put's lowers their cost, a call's raises it or the sale
-- proceeds) and the shares trade at strike + premium (calls) or strike - premium
-- (puts), so the cash moved is strike x shares.  Working orders on the contract are
-- canceled.
-- u: the underlying whose bar closes now (only its contracts settle: another
-- symbol's bar at the same time must not settle them at a stale price); nil: all.
local function expire_options(self, now, u)
  local nxt = huge
  for _, sid in ipairs(self.option_sids) do -- in creation order: deterministic
    local inst = self.inst[sid]
    if not inst.expired then
      if inst.expiry_time <= now and (u == nil or inst.underlying == u) then
        self:settle_option(sid, inst, inst.underlying)
      elseif inst.expiry_time < nxt then
        nxt = inst.expiry_time
      end
    end
  end
  self.next_expiry = nxt
end

local function settle_option(self, sid, inst, u, hooks)
  inst.expired = true
  local spot = self.mark[u]
  local t = inst.expiry_time
  -- Orders on the contract end with it.
  local w = self.book.inst[sid]
  while w.nlist > 0 do
    hooks.cancel_order(self, w.work[w.nlist - 1], "contract expired")
  end
  local itm = inst.right == CALL and spot - inst.strike or inst.strike - spot
  local exercised = itm >= 0.01 - 1e-9
  local f = self.cfill
  local mult = inst.multiplier
  for _, a in ipairs(self.accounts) do
    local p = a.pos[sid]
    local q = p and p.qty or 0
    if q ~= 0 and a.status == "active" then
      local prem = p.avg_cost
      local kind
      if exercised then
        kind = q > 0 and oms.ledger.exercise or oms.ledger.assignment
      else
        kind = oms.ledger.expiry
      end
      local close_px = exercised and prem or 0
      -- The option leaves.
      f.symbol, f.qty, f.price, f.multiplier, f.commission = inst.symbol, -q, close_px, mult, 0
      f.time, f.ref, f.kind = t, 0, kind
      if C.oms_apply_fill(a.ptr, f, errbuf, ERRLEN) ~= 0 then error("engine: expiry: " .. errmsg()) end
      C.oms_book_trip(self.book, a.index, sid, q, 0, -q, close_px, oms.round_cents(q * close_px * mult), 0, t)
      if exercised then
        -- The shares: a call delivers +q x mult (long call buys, short call sells),
        -- a put -q x mult.
        local shares = (inst.right == CALL and q or -q) * mult
        local px = inst.right == CALL and inst.strike + prem or inst.strike - prem
        local up = a.pos[u]
        local before = up and up.qty or 0
        f.symbol, f.qty, f.price, f.multiplier, f.commission = self.symbols[u], shares, px, 1, 0
        f.time, f.ref, f.kind = t, 0, kind
        if C.oms_apply_fill(a.ptr, f, errbuf, ERRLEN) ~= 0 then error("engine: " .. inst.symbol .. ": " .. errmsg()) end
        C.oms_book_trip(self.book, a.index, u, before, a.pos[u].qty, shares, px, oms.round_cents(-shares * px), 0, t)
        self.assignments[#self.assignments + 1] = {
          account = a.name, contract = inst.symbol, kind = q > 0 and "exercise" or "assignment",
          contracts = q, shares = shares, strike = inst.strike, underlying_price = spot, time = t,
        }
      end
    end
  end
  self.mark[sid] = exercised and itm or 0
end

function M.install(Engine, hooks)
  Engine.instrument = instrument
  Engine.option_quote = quote
  Engine.option_risk = option_risk
  Engine.free_cash = free_cash
  Engine.free_shares = free_shares
  Engine.secured_cash = secured_cash
  Engine.match_option = function(self, sid, b) return match_option(self, sid, b, hooks.match_list) end
  Engine.mark_options = mark_options
  Engine.expire_options = expire_options
  Engine.settle_option = function(self, sid, inst, u) return settle_option(self, sid, inst, u, hooks) end
  -- The driver's pricing: fn(inst, spot, now) -> bid, ask, mid.
  function Engine:set_quoter(fn) self.quoter = fn; self.options_marked_at = nil end
end

return M
