-- Options in a backtest (docs/options.md): fills against the model's quote at the
-- underlying's next open, commission per contract, cash-secured puts and covered
-- calls, expiry worthless / assignment / exercise with the IRS basis rule, the $0.01
-- threshold, marks in equity, and a real chain on its date.  The volatility is fixed
-- by an IV series so every expected number is computed here from Black-Scholes and
-- the spread rule; the pricing itself is checked against QuantLib elsewhere
-- (tests/integration/test_options_quantlib.sh).
local t = require("alluse.test")
local series = require("alluse.series")
local time = require("alluse.time")
local options = require("alluse.options")
local backtest = require("alluse.backtest")
local data = require("alluse.data")
local chain_csv = require("alluse.chain_csv")

local floor, ceil, max = math.floor, math.ceil, math.max
local YEAR = 365 * 86400e6
local RATE, VOL = 0.04, 0.4

local fx = dofile((debug.getinfo(1, "S").source:sub(2):gsub("[^/]*$", "")) .. "backtest_fixtures.lua")
local strategy_file = fx.strategy_file

-- Monday 2024-03-04 .. Friday 2024-03-08, then Monday 2024-03-11.
local DAYS = { 4, 5, 6, 7, 8, 11 }
local function open_us(i) return (time.from_ny(2024, 3, DAYS[i], 9, 30)) end
local function close_us(i) return (time.from_ny(2024, 3, DAYS[i], 16, 0)) end
local EXPIRY = close_us(5) -- the weekly expiry, Friday 2024-03-08 16:00

-- Bars of XYZ: opens, closes given; high/low around them.
local function bars(opens, closes)
  local s = series.new("XYZ", "1d")
  for i = 1, #opens do
    local o, c = opens[i], closes[i]
    s:append(open_us(i), o, max(o, c) + 1, math.min(o, c) - 1, c, 1e6)
  end
  return s
end

local IV = { XYZ = { dates = { "2024-01-01" }, ivs = { VOL }, source = "test" } }

local function run(src, s, extra)
  local opts = {
    strategy = strategy_file(src), data = { { series = s, source = "t" } }, cash = 100000,
    iv_series = IV, options = { rate = RATE }, check_invariants = true, state = {},
  }
  for k, v in pairs(extra or {}) do opts[k] = v end
  local r, eng = backtest.run(opts)
  return r, opts.state, eng
end

-- The model's quote: Black-Scholes mid, half-spread max(0.01, 2% of mid), bid down
-- and ask up to cents.
local function quote(right, spot, strike, now)
  local mid = options.bs { spot = spot, strike = strike, t = (EXPIRY - now) / YEAR, rate = RATE, vol = VOL,
    right = right }.price
  local hs = max(0.01, 0.02 * mid)
  local bid = floor((mid - hs) * 100 + 1e-9) / 100
  if bid < 0 then bid = 0 end
  return bid, ceil((mid + hs) * 100 - 1e-9) / 100, mid
end

local function postings(r, kind, symbol)
  local out = {}
  for _, e in ipairs(r.ledger) do
    if e.kind == kind and (symbol == nil or e.symbol == symbol) then out[#out + 1] = e end
  end
  return out
end

local function cash_of(r)
  local c = 0
  for _, e in ipairs(r.ledger) do c = c + floor(e.amount * 100 + 0.5) end
  return c / 100
end

local PUT97 = "XYZ   240308P00097000"
local CALL105 = "XYZ   240308C00105000"

-- ---- a cash-secured put that expires worthless ----
do
  local src = [[
return {
  on_bar = function(ctx, bar)
    if bar.index == 0 then
      ctx.state.sell = { ctx:sell("XYZ   240308P00097000", 2) }
      -- 2 x 97 x 100 = 19,400 is held for the put: a buy needing more than the rest fails
      ctx.state.big = { ctx:buy("XYZ", 820) }
      ctx.state.ok = { ctx:buy("XYZ", 10, { limit = 100 }) }
    end
    if bar.index == 1 then ctx.state.withdraw = { ctx:withdraw("main", 80000) } end
    if bar.index == 2 then ctx.state.equity = ctx:equity(); ctx.state.now = ctx:now() end
  end,
}]]
  local s = bars({ 100, 100, 100, 100, 100, 100 }, { 100, 100, 100, 100, 100, 100 })
  local r, st = run(src, s)
  t.is(r.status, "ok", "put: the run is ok")
  t.is(st.sell[1], "o1", "put: a short put with the cash to secure it is accepted")
  t.is(st.big[1], nil, "put: a buy that would use the secured cash is rejected")
  t.like(st.big[2], "insufficient buying power", "put: with the buying-power reason")
  t.is(st.ok[1], "o3", "put: a buy that fits in the rest is accepted")
  t.is(st.withdraw[1], nil, "put: a withdrawal into the secured cash is refused")
  local bid = quote("put", 100, 97, open_us(2))
  local fills = postings(r, "fill", PUT97)
  t.is(#fills, 1, "put: one fill posting")
  t.is(fills[1].amount, bid * 200, "put: sold at the model bid at Tuesday's open (2 x 100 x bid)")
  t.is(fills[1].time, time.format(open_us(2)), "put: at Tuesday's open")
  local comm = postings(r, "commission", PUT97)
  t.is(comm[1] and comm[1].amount, -1.3, "put: $0.65 per contract")
  local exp = postings(r, "expiry", PUT97)
  t.is(#exp, 1, "put: expires at Friday's close")
  t.is(exp[1].amount, 0, "put: worthless: a 0.00 posting")
  t.is(exp[1].time, time.format(EXPIRY), "put: at the expiry time")
  t.is(#r.assignments, 0, "put: no assignment")
  local trip
  for _, tr in ipairs(r.trades) do if tr.symbol == PUT97 then trip = tr end end
  t.is(trip and trip.pnl, bid * 200 - 1.3, "put: the writer keeps the premium less commission")
  t.is(trip and trip.side, "short", "put: a short round trip")
  -- Wednesday's close: equity = cash + shares x close - 2 x 100 x model mid
  local _, _, mid = quote("put", 100, 97, st.now)
  local cash_wed = 100000 + bid * 200 - 1.3 - 10 * 100
  t.near(st.equity, cash_wed + 10 * 100 - 200 * mid, 1e-6, "put: ctx:equity marks the put at its model mid")
  t.is(cash_of(r), r.positions[1] and (r.summary.final_equity - r.positions[1].value) or nil,
    "put: the ledger sums to the final cash")
  t.is(r.config.options.model, "black-scholes", "the run records its option model")
  t.is(r.config.options.vol.iv_series[1].underlying, "XYZ", "and the IV series it used")
  t.is(r.config.options.commission.rate, 0.65, "and the option commission")
end

-- ---- assignment, and the $0.01 threshold ----
local function put_at(close_fri)
  local src = [[
return { on_bar = function(ctx, bar) if bar.index == 0 then ctx:sell("XYZ   240308P00097000", 1) end end }]]
  return run(src, bars({ 100, 100, 100, 100, 96, 96 }, { 100, 100, 100, 100, close_fri, 96 }))
end
do
  local r = put_at(96)
  local bid = quote("put", 100, 97, open_us(2))
  t.is(#r.assignments, 1, "assigned: one assignment")
  local a = r.assignments[1]
  t.is_deeply({ a.kind, a.contracts, a.shares, a.strike, a.underlying_price },
    { "assignment", -1, 100, 97, 96 }, "assigned: 1 contract into 100 shares at 97, underlying at 96")
  local ps = postings(r, "assignment")
  t.is(#ps, 2, "assigned: two postings")
  t.is(ps[1].symbol, PUT97, "assigned: the put leaves first")
  t.is(ps[1].amount, -bid * 100, "assigned: at its premium (it realizes nothing)")
  t.is(ps[2].symbol, "XYZ", "assigned: then the shares")
  t.is(ps[2].amount, -(97 - bid) * 100, "assigned: bought at strike - premium")
  t.is(ps[1].amount + ps[2].amount, -9700, "assigned: the cash moved is strike x shares")
  local pos
  for _, p in ipairs(r.positions) do if p.symbol == "XYZ" then pos = p end end
  t.is(pos and pos.qty, 100, "assigned: 100 shares held")
  t.near(pos and pos.avg_cost, 97 - bid, 1e-12, "assigned: cost basis lowered by the premium (IRS)")
end
do
  local r1 = put_at(96.995)
  t.is(#r1.assignments, 0, "threshold: in the money by half a cent expires")
  t.is(#postings(r1, "expiry", PUT97), 1, "threshold: with an expiry posting")
  local r2 = put_at(96.99)
  t.is(#r2.assignments, 1, "threshold: in the money by a cent is assigned")
end

-- ---- covered calls ----
do
  local src = [[
return {
  on_bar = function(ctx, bar)
    if bar.index == 0 then
      ctx:buy("XYZ", 100)
      ctx.state.early = { ctx:sell("XYZ   240308C00105000", 1) } -- the shares are not there yet
    end
    if bar.index == 1 then ctx.state.call = { ctx:sell("XYZ   240308C00105000", 1) } end
    if bar.index == 2 then
      ctx.state.sell_shares = { ctx:sell("XYZ", 50) }
      ctx.state.second = { ctx:sell("XYZ   240308C00105000", 1) }
    end
    if bar.index == 5 then ctx.state.after = ctx:position("XYZ") end
  end,
}]]
  local r, st = run(src, bars({ 100, 100, 101, 102, 104, 106 }, { 100, 100, 101, 103, 106, 106 }))
  t.like(st.early[2], "a short call must be covered: 1 XYZ   240308C00105000 need 100 shares of XYZ, 0 free",
    "covered: a call without the shares is rejected")
  t.is(st.call[1], "o3", "covered: with 100 shares held, one call is accepted")
  t.like(st.sell_shares[2], "would uncover short calls", "covered: the shares under the call cannot be sold")
  t.like(st.second[2], "must be covered", "covered: a second call has no shares left")
  local bid = quote("call", 101, 105, open_us(3))
  t.is(postings(r, "fill", CALL105)[1].amount, bid * 100, "covered: sold at Wednesday's open bid")
  t.is(#r.assignments, 1, "covered: called away at 106 > 105")
  local ps = postings(r, "assignment", "XYZ")
  t.is(ps[1].amount, (105 + bid) * 100, "covered: shares sold at strike + premium (IRS: amount realized)")
  t.is(st.after, 0, "covered: no shares left")
  local share_trip
  for _, tr in ipairs(r.trades) do if tr.symbol == "XYZ" then share_trip = tr end end
  t.near(share_trip and share_trip.gross, (105 + bid - 100) * 100, 1e-9, "covered: the share trip's gain includes the premium")
end

-- ---- naked calls when allowed; a long call exercised ----
do
  local src = [[
return { on_bar = function(ctx, bar) if bar.index == 0 then ctx.state.r = { ctx:sell("XYZ   240308C00105000", 1) } end end }]]
  local _, st = run(src, bars({ 100, 100, 100, 100, 100, 100 }, { 100, 100, 100, 100, 100, 100 }), { allow_naked = true })
  t.is(st.r[1], "o1", "naked: allowed with allow_naked")
end
do
  local src = [[
return { on_bar = function(ctx, bar) if bar.index == 0 then ctx:buy("XYZ   240308C00095000", 1) end end }]]
  local r = run(src, bars({ 100, 100, 100, 100, 100, 100 }, { 100, 100, 100, 100, 100, 100 }))
  local _, ask = quote("call", 100, 95, open_us(2))
  t.is(postings(r, "fill", "XYZ   240308C00095000")[1].amount, -ask * 100, "long call: bought at the ask")
  t.is(r.assignments[1] and r.assignments[1].kind, "exercise", "long call: exercised in the money")
  local ps = postings(r, "exercise", "XYZ")
  t.is(ps[1] and ps[1].amount, -(95 + ask) * 100, "long call: shares at strike + premium (basis)")
end

-- ---- expired contracts and bad symbols ----
do
  local src = [[
return { on_bar = function(ctx, bar)
  if bar.index == 5 then ctx.state.late = { ctx:sell("XYZ   240308P00097000", 1) } end
  if bar.index == 0 then ctx.state.other = { ctx:buy("ABC   240308P00097000", 1) } end
end }]]
  local _, st = run(src, bars({ 100, 100, 100, 100, 100, 100 }, { 100, 100, 100, 100, 100, 100 }))
  t.like(st.late[2], "has expired", "a contract past its expiry is rejected")
  t.like(st.other[2], "underlying ABC is not in this run's data", "a contract on another underlying is rejected")
end

-- ---- ctx:chain and ctx:pick on the model ----
do
  local src = [[
return { on_bar = function(ctx, bar)
  if bar.index == 0 then
    ctx.state.list = ctx:chain("XYZ", { right = "put", max_dte = 4 })
    ctx.state.pick = ctx:pick("XYZ", { right = "put", delta = 0.3, dte = 4 })
    ctx.state.bad = { pcall(ctx.pick, ctx, "XYZ", { right = "put", delta = 2, dte = 1 }) }
  end
end }]]
  local _, st = run(src, bars({ 100, 100, 100, 100, 100, 100 }, { 100, 100, 100, 100, 100, 100 }))
  local expiries, strikes = {}, {}
  for _, c in ipairs(st.list) do
    expiries[c.expiry] = true
    strikes[c.strike] = true
    if c.right ~= "put" then t.fail("chain: only puts") end
  end
  -- at Monday's close Monday's 0-DTE has expired: the 1-DTE daily and the weekly remain
  t.ok(not expiries["2024-03-04"] and expiries["2024-03-05"] and expiries["2024-03-08"],
    "chain: the 1-DTE daily and the weekly; the expired 0-DTE is gone")
  t.ok(strikes[75] and strikes[125] and not strikes[74] and strikes[99.5] == nil,
    "chain: $1 strikes from 75 to 125 (+-25%) at a $100 spot")
  local c = st.pick
  t.is(c.expiry, "2024-03-08", "pick: the expiry 4 days out")
  local best
  for _, x in ipairs(st.list) do
    if x.expiry == "2024-03-08" and (not best or math.abs(math.abs(x.delta) - 0.3) < math.abs(math.abs(best.delta) - 0.3)) then best = x end
  end
  t.is(c.symbol, best.symbol, "pick: the put whose |delta| is closest to 0.3")
  local g = options.bs { spot = 100, strike = c.strike, t = (EXPIRY - close_us(1)) / YEAR, rate = RATE, vol = VOL,
    right = "put" }
  t.near(c.delta, g.delta, 1e-12, "pick: its delta is Black-Scholes at the model vol")
  t.is(c.source, "model", "pick: from the model")
  t.like(st.bad[2], "delta is |delta|, in %(0, 1%)", "pick: a bad delta raises")
end

-- ---- a real chain on its date ----
do
  local spy = assert(data.read_csv("data/SPY-daily.csv"))
  local ch = assert(chain_csv.read("data/SPY-chain-2015-01-05.csv"))
  local src = [[
return { on_bar = function(ctx, bar)
  local d = ctx.calendar.ny_date(ctx:now())
  if d == "2015-01-05" then
    ctx.state.list = ctx:chain("SPY", { right = "put", expiry = "2015-01-09" })
    ctx.state.q = { ctx:quote("SPY   150109P00200000") }
  elseif d == "2015-01-06" then
    ctx.state.model = ctx:chain("SPY", { right = "put", max_dte = 3 })
  end
end }]]
  local r, st = run(src, spy, { iv_series = {}, chains = { ch }, from = (time.from_ny(2014, 12, 1)),
    to = (time.from_ny(2015, 1, 8)) })
  t.is(r.status, "ok", "real chain: the run is ok")
  local row
  for _, c in ipairs(st.list or {}) do if c.symbol == "SPY   150109P00200000" then row = c end end
  t.is(row and row.source, "real", "real chain: on 2015-01-05 the chain is the file's")
  t.is_deeply(row and { row.bid, row.ask }, { 0.97, 1 }, "real chain: with its bid and ask")
  t.is_deeply(st.q, { 0.97, 1, 0.985 }, "real chain: ctx:quote too")
  t.is(st.model and st.model[1] and st.model[1].source, "model", "real chain: the next day is the model's")
  t.is(r.config.options.real_chains[1].date, "2015-01-05", "real chain: recorded in the results")
  local page = require("alluse.report.html").render(r)
  t.like(page, "Options model</th><td>black%-scholes, rate 0%.04", "report: states the option model")
  t.like(page, "real chains: SPY 2015%-01%-05 %(data/SPY%-chain%-2015%-01%-05%.csv, 3452 contracts%)",
    "report: and the real chain it used")
end

-- ---- alluse.options inside the sandbox: the checked API, no raw FFI ----
do
  local src = [[
local opt = require("alluse.options")
return { on_bar = function(ctx, bar)
  if bar.index == 0 then
    ctx.state.price = opt.bs { spot = 100, strike = 100, t = 0.25, rate = 0.04, vol = 0.2, right = "call" }.price
    ctx.state.c = opt.C
    ctx.state.sym = opt.occ.format { underlying = "XYZ", expiry = "2024-03-08", right = "put", strike = 97 }
    ctx.state.iv = opt.iv { price = ctx.state.price, spot = 100, strike = 100, t = 0.25, rate = 0.04, right = "call" }
  end
end }]]
  local _, st = run(src, bars({ 100, 100 }, { 100, 100 }))
  local want = options.bs { spot = 100, strike = 100, t = 0.25, rate = 0.04, vol = 0.2, right = "call" }.price
  t.is(st.price, want, "sandbox: opt.bs works in a strategy")
  t.near(st.iv, 0.2, 1e-9, "sandbox: opt.iv too")
  t.is(st.sym, PUT97, "sandbox: opt.occ.format too")
  t.is(st.c, nil, "sandbox: opt.C (the raw FFI) is not there")
end

-- ---- the model's pick (bisection) agrees with a scan of the whole expiry ----

do
  local chain = require("alluse.chain")
  local model = chain.new()
  local now = (time.from_ny(2024, 3, 5, 16, 0))
  local mismatches, checked = 0, 0
  for _, spot in ipairs({ 7.3, 24.9, 101.37, 187.5, 450.2, 1234.5 }) do
    for _, vol in ipairs({ 0.12, 0.45, 1.3 }) do
      for _, right in ipairs({ "call", "put" }) do
        for _, delta in ipairs({ 0.02, 0.2, 0.35, 0.5, 0.75, 0.97 }) do
          for _, dte in ipairs({ 1, 7, 37, 400 }) do
            local got = model:pick("XYZ", spot, now, vol, { right = right, delta = delta, dte = dte })
            local want_e = got and got.expiry
            local best, gap
            for _, c in ipairs(model:list("XYZ", spot, now, vol, { right = right, expiry = want_e })) do
              local g = math.abs(math.abs(c.delta) - delta)
              if not best or g < gap - 1e-12 then best, gap = c, g end
            end
            checked = checked + 1
            if not (got and best and got.symbol == best.symbol and got.dte == best.dte) then
              mismatches = mismatches + 1
              t.diag(string.format("pick %s %s delta %g dte %d vol %g: %s vs %s", right, spot, delta, dte, vol,
                got and got.symbol or "nil", best and best.symbol or "nil"))
            end
          end
        end
      end
    end
  end
  t.is(mismatches, 0, string.format("model pick: the bisection's contract is the full scan's (%d cases)", checked))
end

fx.cleanup()
