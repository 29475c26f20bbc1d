-- alluse.options: the table API over core/options/bsm.c — values equal the C
-- functions', defaults, argument errors (raised, naming the field, at the caller's
-- line), nil/err/code from iv, crr's steps, the unit helpers, opt.C for hot loops,
-- and a hot loop over opt.C compiling.  The numbers themselves are checked in
-- tests/c/test_bsm.c and against QuantLib in tests/integration/test_options_quantlib.sh.
local t = require("alluse.test")
local opt = require("alluse.options")
local ffi = require("ffi")

local abs, format = math.abs, string.format
local C = opt.C

-- The file:line an error must point at: this file (the caller), not options.lua.
local HERE = "test_options.lua:%d+: "

local function raises_here(fn, pattern, name)
  return t.raises(fn, HERE .. "options%." .. pattern, name)
end

-- ---- bs ----

do
  local g = opt.bs { spot = 100, strike = 105, t = 30 / 365, rate = 0.04, div = 0.01, vol = 0.2,
    right = "call" }
  local want = opt.greeks_t()
  t.is(C.opt_bs(opt.RIGHT.call, 100, 105, 30 / 365, 0.04, 0.01, 0.2, want), 0, "opt.C.opt_bs: 0")
  local same = true
  for _, k in ipairs({ "price", "delta", "gamma", "vega", "theta", "rho" }) do
    same = same and type(g[k]) == "number" and g[k] == want[k]
  end
  t.ok(same, "bs: {price, delta, gamma, vega, theta, rho}, exactly the C numbers")
  local n = 0
  for _ in pairs(g) do n = n + 1 end
  t.is(n, 6, "bs: six fields, nothing else")
  t.ok(abs(g.price - 0.69487019238633) < 1e-12, "bs: a 30-day 105 call at 20 % is 0.6949")

  local d = opt.bs { spot = 100, strike = 100, t = 0.5, vol = 0.3, right = "put" }
  local e = opt.bs { spot = 100, strike = 100, t = 0.5, vol = 0.3, right = "put", rate = 0, div = 0 }
  t.is_deeply(d, e, "bs: rate and div default to 0")
  t.is_deeply(opt.bs { spot = 100, strike = 100, t = 0.5, vol = 0.3, right = 2 }, d,
    "bs: right may be opt.RIGHT.put (2)")
  local x = opt.bs { spot = 100, strike = 90, t = 0, vol = 0.3, right = "call" }
  t.is_deeply(x, { price = 10, delta = 1, gamma = 0, vega = 0, theta = 0, rho = 0 },
    "bs: t == 0 is the intrinsic value, delta 1 in the money")
  t.is(opt.bs { spot = 100, strike = 100, t = 0, vol = 0.3, right = "put" }.delta, -0.5,
    "bs: t == 0 at the money: put delta -0.5")
  t.ok(opt.bs { spot = 100, strike = 100, t = 1, vol = 0.3, right = "call", rate = -0.01,
    div = -0.02 }.price > 0, "bs: negative rate and yield are accepted")
end

-- argument errors name the field and point at the caller
local base = { spot = 100, strike = 100, t = 0.5, vol = 0.3, right = "call" }
local function with(k, v)
  local a = {}
  for key, val in pairs(base) do a[key] = val end
  a[k] = v
  return a
end

raises_here(function() opt.bs(5) end, "bs: expects a table of named arguments", "bs(5) raises")
raises_here(function() opt.bs() end, "bs: expects a table", "bs() raises")
raises_here(function() opt.bs(with("volatility", 0.2)) end,
  'bs: unknown field "volatility" %(the fields are spot, strike, t, rate, div, vol, right%)',
  "bs: an unknown field raises (a typo cannot default to 0)")
raises_here(function() opt.bs(with("right", "c")) end, 'bs: right must be "call" or "put"',
  'bs: right "c" raises')
raises_here(function() opt.bs(with("right", nil)) end, "bs: right must be", "bs: right missing raises")
raises_here(function() opt.bs(with("right", 3)) end, "bs: right must be", "bs: right 3 raises")
for _, c in ipairs({
  { "spot", 0, "spot must be a finite number > 0, got 0" },
  { "spot", -5, "spot must be a finite number > 0, got %-5" },
  { "spot", "100", 'spot must be a finite number > 0, got "100"' },
  { "spot", nil, "spot must be a finite number > 0, got nil" },
  { "strike", 0 / 0, "strike must be a finite number > 0, got nan" },
  { "strike", math.huge, "strike must be a finite number > 0, got inf" },
  { "t", -1, "t must be a finite number >= 0, got %-1" },
  { "t", {}, "t must be a finite number >= 0, got table" },
  { "vol", 0, "vol must be a finite number > 0, got 0" },
  { "vol", nil, "vol must be a finite number > 0, got nil" },
  { "rate", 0 / 0, "rate must be a finite number, got nan" },
  { "div", -math.huge, "div must be a finite number, got %-inf" },
  { "div", true, "div must be a finite number, got boolean" },
}) do
  raises_here(function() opt.bs(with(c[1], c[2])) end, "bs: " .. c[3],
    format("bs: %s = %s raises, naming the field", c[1], tostring(c[2])))
end

-- ---- iv ----

do
  local args = { spot = 100, strike = 95, t = 45 / 365, rate = 0.04, div = 0.015, right = "put" }
  local p = opt.bs { spot = 100, strike = 95, t = 45 / 365, rate = 0.04, div = 0.015, vol = 0.37,
    right = "put" }.price
  args.price = p
  local v = opt.iv(args)
  t.ok(type(v) == "number" and abs(v - 0.37) < 1e-12, format("iv: round trip 0.37 -> %.17g", v))
  local vol, err, code = opt.iv { price = 200, spot = 100, strike = 105, t = 0.5, right = "call" }
  t.is(vol, nil, "iv: a price above the bounds: nil")
  t.is(err, "call price 200 is above the no-arbitrage bounds [0, 100]", "... the message names the bounds")
  t.is(code, "ERANGE", "... code ERANGE")
  vol, err, code = opt.iv { price = 4.999, spot = 105, strike = 100, t = 0.5, right = "call" }
  t.ok(vol == nil and err:find("below the no%-arbitrage bounds %[5, 105%]") and code == "ERANGE",
    "iv: a call under its intrinsic value: nil, ERANGE")
  vol, err, code = opt.iv { price = 5, spot = 100, strike = 105, t = 0, right = "put" }
  t.ok(vol == nil and err:find("t is 0") and code == "EINVAL", "iv: t == 0: nil, message, EINVAL")
  vol, err, code = opt.iv { price = 0 / 0, spot = 100, strike = 105, t = 1, right = "put" }
  t.ok(vol == nil and err == "price is not a finite number (nan)" and code == "EINVAL",
    "iv: a NaN price (a missing quote): nil, message, EINVAL")
  vol, err, code = opt.iv { price = -1, spot = 100, strike = 105, t = 1, right = "put" }
  t.ok(vol == nil and code == "ERANGE", "iv: a negative price: nil, ERANGE")
  raises_here(function() opt.iv { price = "1.5", spot = 100, strike = 105, t = 1, right = "put" } end,
    'iv: price must be a number, got "1.5"', "iv: a price that is not a number raises")
  raises_here(function() opt.iv { price = 1.5, strike = 105, t = 1, right = "put" } end,
    "iv: spot must be a finite number > 0, got nil", "iv: a missing spot raises")
  raises_here(function() opt.iv { price = 1.5, spot = 100, strike = 105, t = 1, right = "put",
    vol = 0.2 } end, 'iv: unknown field "vol"', "iv: vol is not one of its fields")
  raises_here(function() opt.iv("x") end, "iv: expects a table", "iv('x') raises")
end

-- ---- crr ----

do
  local a = opt.crr { spot = 100, strike = 105, t = 1, rate = 0.05, div = 0.01, vol = 0.3, right = "put" }
  local b = opt.crr { spot = 100, strike = 105, t = 1, rate = 0.05, div = 0.01, vol = 0.3, right = "put",
    steps = 200 }
  t.is_deeply(a, b, "crr: steps default to 200")
  local n = 0
  for _ in pairs(a) do n = n + 1 end
  t.ok(n == 2 and a.price > 0 and a.delta < 0 and a.delta > -1, "crr: {price, delta} of a put")
  local p, d = ffi.new("double[1]"), ffi.new("double[1]")
  t.is(C.opt_crr(2, 100, 105, 1, 0.05, 0.01, 0.3, 200, p, d), 0, "opt.C.opt_crr: 0")
  t.ok(p[0] == a.price and d[0] == a.delta, "crr: exactly the C numbers")
  local eu = opt.bs { spot = 100, strike = 105, t = 1, rate = 0.05, div = 0.01, vol = 0.3, right = "put" }
  t.ok(a.price > eu.price, format("crr: the American put (%.4f) is worth more than the European (%.4f)",
    a.price, eu.price))
  t.is(opt.crr { spot = 100, strike = 105, t = 0, vol = 0.3, right = "put" }.price, 5,
    "crr: t == 0 is the intrinsic value")
  for _, s in ipairs({ 0, 1.5, 100001, "200", -1 }) do
    raises_here(function() opt.crr { spot = 100, strike = 105, t = 1, vol = 0.3, right = "put", steps = s } end,
      "crr: steps must be an integer in 1%.%.100000", "crr: steps = " .. tostring(s) .. " raises")
  end
  raises_here(function() opt.crr { spot = 100, strike = 105, t = 1, vol = 0.01, rate = 0.5, right = "call",
    steps = 2 } end, "crr: 2 steps are too few for vol 0.01 against rate %- div = 0.5",
    "crr: too few steps for the carry raises, saying why")
  raises_here(function() opt.crr { spot = 100, strike = 105, t = 1, vol = 0.3, right = "put", step = 50 } end,
    'crr: unknown field "step"', "crr: an unknown field raises")
  t.is(opt.CRR_STEPS_MAX, 100000, "opt.CRR_STEPS_MAX")
end

-- ---- helpers and constants ----

t.is(opt.theta_per_day(-36.5), -0.1, "theta_per_day: theta / 365")
t.is(opt.vega_per_pct(12.5), 0.125, "vega_per_pct: vega / 100")
raises_here(function() opt.theta_per_day("1") end, 'theta_per_day: theta must be a number, got "1"',
  "theta_per_day of a string raises")
raises_here(function() opt.vega_per_pct(nil) end, "vega_per_pct: vega must be a number, got nil",
  "vega_per_pct of nil raises")
t.is_deeply(opt.RIGHT, { call = 1, put = 2 }, "opt.RIGHT")
t.ok(opt.EINVAL == -1 and opt.ERANGE == -2 and opt.ENOMEM == -3, "status constants")

do
  local ok_occ, occ = pcall(require, "alluse.occ")
  if ok_occ then
    t.is(opt.occ, occ, "opt.occ is alluse.occ")
  else
    t.is(opt.occ, nil, "no alluse.occ yet: opt.occ is nil")
  end
end

-- ---- opt.C for hot loops ----

do
  local n = 5
  local rights = ffi.new("int[?]", n, { 1, 2, 1, 2, 1 })
  local strikes = ffi.new("double[?]", n, { 90, 95, 100, 105, 110 })
  local ts = ffi.new("double[?]", n, { 0.1, 0.1, 0.2, 0.2, 0.3 })
  local vols = ffi.new("double[?]", n, { 0.25, 0.24, 0.23, 0.22, 0.21 })
  local out = opt.greeks_array_t(n)
  t.is(C.opt_bs_batch(n, rights, strikes, ts, vols, 100, 0.04, 0.01, out), n, "opt_bs_batch: all 5 priced")
  local g = opt.bs { spot = 100, strike = 105, t = 0.2, rate = 0.04, div = 0.01, vol = 0.22, right = "put" }
  t.ok(out[3].price == g.price and out[3].theta == g.theta, "opt_bs_batch: contract 3 as bs prices it")
  vols[2] = 0
  t.is(C.opt_bs_batch(n, rights, strikes, ts, vols, 100, 0.04, 0.01, out), 2, "opt_bs_batch: the first bad index")
  t.is(C.opt_bs_price(1, 100, 105, 0.2, 0.04, 0.01, 0.22), opt.bs { spot = 100, strike = 105, t = 0.2,
    rate = 0.04, div = 0.01, vol = 0.22, right = "call" }.price, "opt_bs_price: the same number as bs")
  t.ok(C.opt_bs_price(1, -100, 105, 0.2, 0.04, 0.01, 0.22) ~= C.opt_bs_price(1, -100, 105, 0.2, 0.04, 0.01, 0.22),
    "opt_bs_price: NaN for a bad input")
  t.is(C.opt_bs(1, 100, 105, 0.2, 0.04, 0.01, 0.22, nil), opt.EINVAL, "opt_bs with a NULL out: EINVAL, no crash")
  local err = ffi.new("char[64]")
  local v = ffi.new("double[1]")
  t.is(C.opt_iv(1, 500, 100, 105, 0.2, 0, 0, v, err, 64), opt.ERANGE, "opt_iv: ERANGE")
  t.like(ffi.string(err), "above the no%-arbitrage bounds", "... with the message in err")
end

-- A chain revalued in a loop over opt.C compiles to a looping trace with no NYI abort.
if jit and jit.status() then
  local jutil = require("jit.util")
  local vmdef_ok, vmdef = pcall(require, "jit.vmdef")
  local loop = assert(loadstring([[
    local C, g, n = ...
    local acc = 0
    for i = 1, n do
      local k = 80 + (i % 40)
      if C.opt_bs(1 + i % 2, 100, k, 0.25, 0.04, 0.01, 0.2 + (i % 7) * 0.01, g) == 0 then
        acc = acc + g.price + g.delta + g.theta
      end
      acc = acc + C.opt_bs_price(1, 100, k, 0.25, 0.04, 0.01, 0.2)
    end
    return acc
  ]], "=options loop"))
  local looped, nyi = false, {}
  local started = {}
  local function on_trace(what, tr, func, pc, otr, oex)
    if what == "start" then
      started[tr] = func == loop
    elseif what == "stop" then
      if started[tr] and jutil.traceinfo(tr).linktype == "loop" then looped = true end
    elseif what == "abort" then
      local why = vmdef_ok and format(vmdef.traceerr[otr] or "?", oex) or tostring(otr)
      if why:find("NYI") then nyi[#nyi + 1] = why end
    end
  end
  jit.flush()
  jit.attach(on_trace, "trace")
  local acc = loop(C, opt.greeks_t(), 20000)
  jit.attach(on_trace)
  t.ok(acc == acc and acc > 0, "the opt.C loop ran")
  t.ok(looped, "the opt.C loop compiles to a looping trace")
  if not t.is(#nyi, 0, "no NYI trace aborts") then t.diag(table.concat(nyi, "\n")) end
else
  t.skip("JIT disabled", 3)
end
