-- alluse.chain: the option chains a backtest sees — a Black-Scholes model of the
-- listed contracts built from the underlying's bars (PROTOCOL §8), replaced by a real
-- chain (alluse.chain_csv) on the dates one is supplied.  docs/options.md.
--
--   local model = chain.new{ rate = 0.04, vol_window = 20, vol_factor = 1.15, ... }
--   model:add_real(real_chain)                      -- from chain_csv.read
--   model:set_iv_series("SPY", { dates = {...}, ivs = {...} })
--   local bid, ask, mid = model:quote(inst, spot, now, vol)
--   local list = model:list("SPY", spot, now, vol, { right = "put", max_dte = 9 })
--   local c = model:pick("SPY", spot, now, vol, { right = "put", delta = 0.45, dte = 1 })
--
-- The model lists what an exchange lists: strikes on the price-band grid ($0.50 below
-- $25, $1 below $200, $2.50 below $500, $5 above) within strike_range of the spot;
-- daily expiries for today and the next trading day (0 and 1 DTE) and the weekly
-- expiries (Fridays, or the trading day before a Friday holiday) of this week and
-- `weeks` more.  A contract's mid is its Black-Scholes price at the model's vol; bid
-- and ask are mid -/+ the half-spread, max(half_spread_min, half_spread_pct x mid),
-- rounded out to whole cents (bid down, ask up; a bid never below 0).
local ffi = require("ffi")
local calendar = require("alluse.calendar")
local options = require("alluse.options")
local occ = require("alluse.occ")
local json = require("alluse.json")

local C = options.C
local format, floor, ceil, abs, max, min, sqrt, log = string.format, math.floor, math.ceil, math.abs,
  math.max, math.min, math.sqrt, math.log
local type, pairs, ipairs, tostring, tonumber, error, pcall = type, pairs, ipairs, tostring, tonumber, error,
  pcall
local sort = table.sort

local M = {}

local YEAR_US = 365 * 86400e6 -- ACT/365

M.defaults = {
  rate = 0.04,            -- risk-free rate, continuously compounded
  div = 0,                -- dividend yield
  vol_window = 20,        -- realized volatility over this many daily returns
  vol_factor = 1.15,      -- x this factor
  weeks = 8,              -- weekly expiries listed beyond this week's
  months = 3,             -- monthly expiries (third Fridays) listed beyond the weeklies
  leaps = 3,              -- January LEAPS expiries listed, from next year's on
  strike_range = 0.25,    -- strikes within +-25% of the spot
  half_spread_min = 0.01, -- dollars
  half_spread_pct = 0.02, -- of the mid
}

local Model = {}
Model.__index = Model

function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("chain.new: opts must be a table", 2) end
  local self = setmetatable({ real = {}, iv_series = {}, greeks = ffi.new("opt_greeks"),
    symbol_prefix = {}, strikes_cache = {}, strikes_cached = 0 }, Model)
  for k, v in pairs(M.defaults) do self[k] = v end
  for k, v in pairs(opts) do
    if M.defaults[k] == nil then error(format("chain.new: unknown option '%s'", tostring(k)), 2) end
    if type(v) ~= "number" or v ~= v then error(format("chain.new: %s must be a number", k), 2) end
    self[k] = v
  end
  if self.vol_window < 2 or self.vol_window ~= floor(self.vol_window) then
    error("chain.new: vol_window must be a whole number of days >= 2", 2)
  end
  if self.vol_factor <= 0 then error("chain.new: vol_factor must be > 0", 2) end
  if self.half_spread_min < 0 or self.half_spread_pct < 0 then error("chain.new: half-spreads must be >= 0", 2) end
  return self
end

-- What the model is, for the results (docs/results.md config.options).
function Model:describe()
  local real = {}
  for u, by_date in pairs(self.real) do
    for date, ch in pairs(by_date) do
      real[#real + 1] = { underlying = u, date = date, source = ch.source, contracts = #ch.contracts }
    end
  end
  sort(real, function(a, b) return a.underlying .. a.date < b.underlying .. b.date end)
  local ivs = {}
  for u, s in pairs(self.iv_series) do ivs[#ivs + 1] = { underlying = u, source = s.source, days = #s.dates } end
  sort(ivs, function(a, b) return a.underlying < b.underlying end)
  return {
    model = "black-scholes", rate = self.rate, div = self.div,
    vol = { window = self.vol_window, factor = self.vol_factor, iv_series = json.array(ivs) },
    strikes = { range = self.strike_range, grid = "0.50 below 25, 1 below 200, 2.50 below 500, 5 above" },
    expiries = { daily = "0 and 1 DTE", weekly = self.weeks + 1, monthly = self.months, leaps = self.leaps },
    half_spread = { min = self.half_spread_min, pct = self.half_spread_pct },
    real_chains = json.array(real),
  }
end

-- ---- real chains and IV series ----

-- A chain from alluse.chain_csv: used for its underlying on its quote date.  Missing
-- implied vols are solved from the mid.
function Model:add_real(ch)
  local by_date = self.real[ch.underlying] or {}
  self.real[ch.underlying] = by_date
  local index = {}
  for _, c in ipairs(ch.contracts) do index[c.symbol] = c end
  ch.index = index
  by_date[ch.quote_date] = ch
end

-- series: { dates = {"YYYY-MM-DD", ...} increasing, ivs = {...}, source = path }
function Model:set_iv_series(underlying, series)
  self.iv_series[underlying] = series
end

-- The supplied IV of underlying on date (the latest at or before it), or nil.
local function iv_on(series, date)
  local dates = series.dates
  local lo, hi = 1, #dates
  local found
  while lo <= hi do
    local mid = floor((lo + hi) / 2)
    if dates[mid] <= date then
      found = mid
      lo = mid + 1
    else
      hi = mid - 1
    end
  end
  return found and series.ivs[found] or nil
end

-- The model's volatility of underlying on date: the supplied IV series when there is
-- one, else realized(closes) x factor.  closes: fn(window) -> array of the last
-- window+1 closes (oldest first) or nil; ppy: bars per year of those closes (252 for
-- daily bars).
function Model:vol(underlying, date, closes, ppy)
  local series = self.iv_series[underlying]
  if series then
    local v = iv_on(series, date)
    if v then return v end
    return nil, format("the IV series of %s starts after %s", underlying, date)
  end
  local c = closes(self.vol_window)
  if not c then return nil, format("fewer than %d daily returns of %s so far", self.vol_window, underlying) end
  local n = #c - 1
  local sum, sum2 = 0, 0
  for i = 1, n do
    local r = log(c[i + 1] / c[i])
    sum, sum2 = sum + r, sum2 + r * r
  end
  local mean = sum / n
  local var = (sum2 - n * mean * mean) / (n - 1)
  if var < 0 then var = 0 end
  return sqrt(var * (ppy or 252)) * self.vol_factor
end

-- ---- pricing ----

local function years(expiry_time, now)
  local t = (expiry_time - now) / YEAR_US
  return t > 0 and t or 0
end

-- bid, ask from a mid by the spread model.
function Model:spread(mid)
  local hs = max(self.half_spread_min, self.half_spread_pct * mid)
  local bid = floor((mid - hs) * 100 + 1e-9) / 100
  if bid < 0 then bid = 0 end
  local ask = ceil((mid + hs) * 100 - 1e-9) / 100
  return bid, ask
end

-- The real quote of inst on the NY date of now, when a real chain has it.
local function real_quote(self, inst, now)
  local by_date = self.real[inst.underlying_symbol or ""]
  if not by_date then return nil end
  local ch = by_date[calendar.ny_date(now)]
  local c = ch and ch.index[inst.symbol]
  if not c or not (c.ask and c.ask > 0) then return nil end
  local bid = c.bid or 0
  return bid, c.ask, (bid + c.ask) / 2
end

-- inst: { symbol, strike, right (1 call, 2 put), expiry_time, underlying_symbol }.
-- bid, ask, mid at spot and now with volatility vol (nil vol: no model quote).
function Model:quote(inst, spot, now, vol)
  local bid, ask, mid = real_quote(self, inst, now)
  if bid then return bid, ask, mid end
  if not vol then return nil end
  local t = years(inst.expiry_time, now)
  mid = C.opt_bs_price(inst.right, spot, inst.strike, t, self.rate, self.div, vol)
  if mid ~= mid then return nil end
  bid, ask = self:spread(mid)
  return bid, ask, mid
end

-- ---- listing ----

-- The listed strike grid: (from, to, step) bands.
local BANDS = { { 0, 25, 0.5 }, { 25, 200, 1 }, { 200, 500, 2.5 }, { 500, math.huge, 5 } }

-- Listed strikes within strike_range of spot, ascending.  Each strike is i x step,
-- exact in binary for these steps.
function Model:strikes(spot)
  -- Asked for each pick and listing, often at the same spot (every account trading
  -- a ticker at one close): the lists of recent spots are kept (do not modify one).
  local cache = self.strikes_cache
  local hit = cache[spot]
  if hit then return hit end
  if self.strikes_cached >= 256 then
    cache = {}
    self.strikes_cache, self.strikes_cached = cache, 0
  end
  local lo, hi = spot * (1 - self.strike_range), spot * (1 + self.strike_range)
  local out = {}
  cache[spot], self.strikes_cached = out, self.strikes_cached + 1
  for _, b in ipairs(BANDS) do
    local step = b[3]
    local i = ceil(max(b[1], lo) / step - 1e-9)
    while true do
      local k = i * step
      if k >= b[2] or k > hi + 1e-9 then break end
      if k > 0 then out[#out + 1] = k end
      i = i + 1
    end
  end
  return out
end

-- Expiry dates listed on date: today and the next trading day (dailies), the weekly
-- expiries from this week's on, the monthly (third-Friday) expiries of the `months`
-- months after the last weekly, and the January expiries of the next `leaps` years;
-- ascending, no repeats.
function Model:expiries(date)
  -- Asked for every listing; the last date's answer is kept (do not modify it).
  if self.expiries_date == date then return self.expiries_list end
  local seen, out = {}, {}
  local function add(d)
    if d and d >= date and not seen[d] then
      seen[d] = true
      out[#out + 1] = d
    end
  end
  if calendar.is_trading_day(date) then add(date) end
  add(calendar.next_trading_day(date))
  local dn = calendar.day_number(date)
  for w = 0, self.weeks do
    local e = calendar.weekly_expiry(dn + 7 * w)
    add(e)
  end
  local y, m = date:match("^(%d+)-(%d+)")
  y, m = tonumber(y), tonumber(m)
  local last_weekly = calendar.date(dn + 7 * self.weeks)
  local added = 0
  for k = 0, self.months + 3 do -- months from this one; those within the weeklies add nothing
    if added >= self.months then break end
    local my, mm = y + floor((m - 1 + k) / 12), (m - 1 + k) % 12 + 1
    local e = calendar.monthly_expiry(my, mm)
    if e and e > last_weekly then
      add(e)
      added = added + 1
    end
  end
  for k = 1, self.leaps do add(calendar.monthly_expiry(y + k, 1)) end
  sort(out)
  self.expiries_date, self.expiries_list = date, out
  return out
end

local function dte_of(date, expiry)
  return calendar.day_number(expiry) - calendar.day_number(date)
end

-- The OCC symbol of a contract.  The first 13 characters (root padded to 6, YYMMDD,
-- C/P) are occ.format's, memoised per underlying, expiry and right; the strike's 8
-- digits are added here (grid strikes are whole thousandths, as occ.format checks
-- on the first one): a backtest lists thousands of contracts a day.
local function symbol_of(self, underlying, expiry, right, strike)
  local key = underlying .. expiry .. right
  local prefix = self.symbol_prefix[key]
  if not prefix then
    prefix = occ.format { underlying = underlying, expiry = expiry, right = right, strike = strike }:sub(1, 13)
    self.symbol_prefix[key] = prefix
  end
  return prefix .. format("%08d", floor(strike * 1000 + 0.5))
end

-- One contract table with its quote and greeks.
local function contract(self, underlying, expiry, right, strike, spot, now, vol, real)
  local symbol = symbol_of(self, underlying, expiry, right, strike)
  local expiry_time = occ.expiry_time(expiry)
  local r = right == "call" and options.RIGHT.call or options.RIGHT.put
  local t = years(expiry_time, now)
  local bid, ask, mid, iv
  local rc = real and real.index[symbol]
  if rc and rc.ask and rc.ask > 0 then
    bid, ask = rc.bid or 0, rc.ask
    mid = (bid + ask) / 2
    iv = rc.iv
    if not iv and t > 0 then iv = options.iv { price = mid, spot = spot, strike = strike, t = t, rate = self.rate,
        div = self.div, right = right } end
  elseif real then
    return nil -- a real chain lists what it lists
  else
    iv = vol
  end
  local g = self.greeks
  if iv then
    C.opt_bs(r, spot, strike, t, self.rate, self.div, iv, g)
    if not mid then
      mid = g.price
      bid, ask = self:spread(mid)
    end
  end
  if not mid then return nil end
  return {
    symbol = symbol, underlying = underlying, expiry = expiry, expiry_time = expiry_time,
    right = right, strike = strike, multiplier = 100, dte = nil,
    bid = bid, ask = ask, mid = mid, iv = iv,
    delta = iv and g.delta or nil, gamma = iv and g.gamma or nil, vega = iv and g.vega or nil,
    theta = iv and g.theta or nil, rho = iv and g.rho or nil,
    source = real and "real" or "model",
  }
end

-- The distinct values of field over a real chain's contracts, ascending.
local function distinct(contracts, field)
  local out, seen = {}, {}
  for _, c in ipairs(contracts) do
    local v = c[field]
    if not seen[v] then
      seen[v] = true
      out[#out + 1] = v
    end
  end
  sort(out)
  return out
end

-- The expiries and strikes listed on date: a real chain's own, else the model's.
local function listed(self, real, date, spot)
  if real then return distinct(real.contracts, "expiry"), distinct(real.contracts, "strike") end
  return self:expiries(date), self:strikes(spot)
end

-- The contracts of underlying at spot and now: filter = { right = "call"|"put"|nil,
-- expiry = "YYYY-MM-DD", min_dte, max_dte, min_strike, max_strike }.  Sorted by expiry,
-- right (calls first), strike.
function Model:list(underlying, spot, now, vol, filter)
  filter = filter or {}
  local date = calendar.ny_date(now)
  local real = self.real[underlying] and self.real[underlying][date]
  local out = {}
  local rights = filter.right and { filter.right } or { "call", "put" }
  local expiries, strikes = listed(self, real, date, spot)
  for _, e in ipairs(expiries) do
    local dte = dte_of(date, e)
    if (not filter.expiry or filter.expiry == e) and (not filter.min_dte or dte >= filter.min_dte)
        and (not filter.max_dte or dte <= filter.max_dte) and dte >= 0 then
      for _, right in ipairs(rights) do
        for _, k in ipairs(strikes) do
          if (not filter.min_strike or k >= filter.min_strike) and (not filter.max_strike or k <= filter.max_strike) then
            local c = contract(self, underlying, e, right, k, spot, now, vol, real)
            if c and c.expiry_time > now then
              c.dte = dte
              out[#out + 1] = c
            end
          end
        end
      end
    end
  end
  return out
end

-- pick on the model's own chain: |delta| is monotone in the strike (a call's falls as
-- the strike rises, a put's grows), so a bisection over the strike grid finds the
-- closest one pricing a handful of contracts instead of the whole expiry.  The
-- answer is the linear scan's: the closest |delta|, ties to the lower strike.
local function pick_model(self, underlying, spot, now, vol, want, expiry, dte)
  local strikes = self:strikes(spot)
  local n = #strikes
  if n == 0 then return nil, format("no strikes listed for %s", underlying) end
  -- Only deltas during the search (no contract tables): the same C call contract()
  -- makes, so the same numbers.
  local r = want.right == "call" and options.RIGHT.call or options.RIGHT.put
  local t = years(occ.expiry_time(expiry), now)
  local g = self.greeks
  local function delta(i)
    if C.opt_bs(r, spot, strikes[i], t, self.rate, self.div, vol, g) ~= 0 then return nil end
    return abs(g.delta)
  end
  local target = want.delta
  local call = want.right == "call"
  -- The first index whose |delta| is on the far side of the target: <= for calls,
  -- >= for puts (1..n+1).
  local lo, hi = 1, n + 1
  while lo < hi do
    local mid = floor((lo + hi) / 2)
    local d = delta(mid) or 0
    if (call and d <= target) or (not call and d >= target) then hi = mid else lo = mid + 1 end
  end
  local best_i, gap
  for i = lo - 1, lo do
    local d = i >= 1 and i <= n and delta(i)
    if d then
      local gi = abs(d - target)
      if not best_i or gi < gap - 1e-12 then best_i, gap = i, gi end
    end
  end
  local best = best_i and contract(self, underlying, expiry, want.right, strikes[best_i], spot, now, vol, nil)
  if not best then return nil, format("no %s of %s expiring %s has a delta", want.right, underlying, expiry) end
  best.dte = dte
  return best
end

-- The contract of the expiry whose DTE is closest to want.dte (ties: the later) with
-- |delta| closest to want.delta (ties: the lower strike), among want.right's.
function Model:pick(underlying, spot, now, vol, want)
  local date = calendar.ny_date(now)
  local real = self.real[underlying] and self.real[underlying][date]
  local expiries = listed(self, real, date, spot)
  local best_e, best_d
  for _, e in ipairs(expiries) do
    local d = dte_of(date, e)
    if d >= 0 and (best_d == nil or abs(d - want.dte) < abs(best_d - want.dte)
        or (abs(d - want.dte) == abs(best_d - want.dte) and d > best_d)) then
      local _, close = calendar.session(e)
      if not (d == 0 and close and close <= now) then best_e, best_d = e, d end
    end
  end
  if not best_e then return nil, format("no expiry of %s on or after %s", underlying, date) end
  if not real and vol then return pick_model(self, underlying, spot, now, vol, want, best_e, best_d) end
  local list = self:list(underlying, spot, now, vol, { right = want.right, expiry = best_e })
  local best, gap
  for _, c in ipairs(list) do
    if c.delta then
      local g = abs(abs(c.delta) - want.delta)
      if not best or g < gap - 1e-12 then best, gap = c, g end
    end
  end
  if not best then return nil, format("no %s of %s expiring %s has a delta", want.right, underlying, best_e) end
  return best
end

-- An implied volatility series: a CSV of date,iv (iv a decimal, 0.18 = 18%) with a
-- header line.  { dates, ivs, source } or nil, "FILE:LINE: reason".
function M.read_iv_series(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local dates, ivs = {}, {}
  local n = 0
  for line in f:lines() do
    n = n + 1
    line = line:gsub("\r$", "")
    if n == 1 then
      if not line:lower():match("^%s*date%s*,%s*iv%s*$") then
        f:close()
        return nil, format("%s:1: the header must be date,iv, got '%s'", path, line)
      end
    elseif line ~= "" then
      local d, v = line:match("^(%d%d%d%d%-%d%d%-%d%d),%s*([^,]+)$")
      local iv = tonumber(v or "")
      if not d or not pcall(calendar.day_number, d) then
        f:close()
        return nil, format("%s:%d: expected YYYY-MM-DD,iv, got '%s'", path, n, line)
      end
      if not iv or iv ~= iv or iv <= 0 or iv > 10 then
        f:close()
        return nil, format("%s:%d: iv must be a decimal in (0, 10], got '%s'", path, n, tostring(v))
      end
      if #dates > 0 and d <= dates[#dates] then
        f:close()
        return nil, format("%s:%d: dates must increase (%s after %s)", path, n, d, dates[#dates])
      end
      dates[#dates + 1], ivs[#ivs + 1] = d, iv
    end
  end
  f:close()
  if #dates == 0 then return nil, path .. ": no rows" end
  return { dates = dates, ivs = ivs, source = path }
end

return M
