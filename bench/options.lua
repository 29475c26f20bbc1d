-- bench/options: option pricing through the FFI from JIT-compiled Lua loops
-- (core/options/bsm.c).  Goals: price + all greeks >= 20 M/s on one core, implied vol
-- >= 2 M solves/s, a 200-contract chain through opt_bs_batch < 20 us.  CRR 200 steps
-- is timed for information.
local opt = require("alluse.options")
local clock = require("alluse.time")
local ffi = require("ffi")
local bit = require("bit")

local C = opt.C
local band = bit.band
local format = string.format

local function best_of(runs, fn)
  local best, result = math.huge, nil
  for _ = 1, runs do
    local t0 = clock.monotonic()
    result = fn()
    best = math.min(best, clock.monotonic() - t0)
  end
  return best, result -- microseconds
end

-- A chain-like mix: strikes 70..130 around spot 100, expiries 1 week .. 1 year, vols
-- 15 %..50 %, calls and puts (read with i & 1023: no division, no memory traffic).
local M = 1024
local RIGHT = ffi.new("int[?]", M)
local STRIKE, T, VOL, PRICE = ffi.new("double[?]", M), ffi.new("double[?]", M),
  ffi.new("double[?]", M), ffi.new("double[?]", M)
local DAYS = { 7, 14, 30, 45, 60, 91, 182, 365 }
for i = 0, M - 1 do
  RIGHT[i] = 1 + i % 2
  STRIKE[i] = 70 + (i * 37 % 61)
  T[i] = DAYS[1 + i % 8] / 365
  VOL[i] = 0.15 + (i * 13 % 36) / 100
  PRICE[i] = C.opt_bs_price(RIGHT[i], 100, STRIKE[i], T[i], 0.04, 0.015, VOL[i])
end

print("options: pricing through the FFI from a JIT-compiled loop (best of 5)")

local N = 2e7
local g = opt.greeks_t()
local bs_t = best_of(5, function()
  local acc = 0
  for i = 1, N do
    local j = band(i, M - 1)
    C.opt_bs(RIGHT[j], 100, STRIKE[j], T[j], 0.04, 0.015, VOL[j], g)
    acc = acc + g.price + g.delta + g.gamma + g.vega + g.theta + g.rho
  end
  return acc
end)
print(format("  %-28s %7.1f M/s  %6.1f ns   goal >= 20 M/s", "opt_bs (price + 5 greeks)",
  N / bs_t, bs_t * 1000 / N))

local price_t = best_of(5, function()
  local acc = 0
  for i = 1, N do
    local j = band(i, M - 1)
    acc = acc + C.opt_bs_price(RIGHT[j], 100, STRIKE[j], T[j], 0.04, 0.015, VOL[j])
  end
  return acc
end)
print(format("  %-28s %7.1f M/s  %6.1f ns", "opt_bs_price", N / price_t, price_t * 1000 / N))

local NI = 4e6
local vol = ffi.new("double[1]")
local iv_t = best_of(5, function()
  local acc = 0
  for i = 1, NI do
    local j = band(i, M - 1)
    if C.opt_iv(RIGHT[j], PRICE[j], 100, STRIKE[j], T[j], 0.04, 0.015, vol, nil, 0) == 0 then
      acc = acc + vol[0]
    end
  end
  return acc
end)
print(format("  %-28s %7.2f M/s  %6.1f ns   goal >= 2 M/s", "opt_iv (implied vol)", NI / iv_t,
  iv_t * 1000 / NI))

-- The table API, for scale: argument checks and a result table per call.
local NT = 2e6
local args = { spot = 100, strike = 105, t = 30 / 365, rate = 0.04, div = 0.015, vol = 0.25,
  right = "call" }
local tbl_t = best_of(3, function()
  local acc = 0
  for i = 1, NT do
    args.strike = STRIKE[band(i, M - 1)]
    acc = acc + opt.bs(args).price
  end
  return acc
end)
print(format("  %-28s %7.1f M/s  %6.1f ns   (argument checks + a table per call)",
  "opt.bs{...}", NT / tbl_t, tbl_t * 1000 / NT))

-- A chain of 200 contracts in one C call: 4 expiries x 25 strikes x call/put, sorted by
-- expiry as chains are (the discount factors are computed once per expiry).
local NC = 200
local c_right, c_strike = ffi.new("int[?]", NC), ffi.new("double[?]", NC)
local c_t, c_vol = ffi.new("double[?]", NC), ffi.new("double[?]", NC)
for i = 0, NC - 1 do
  c_right[i] = 1 + i % 2
  c_strike[i] = 76 + math.floor((i % 50) / 2) * 2
  c_t[i] = ({ 7, 30, 91, 182 })[1 + math.floor(i / 50)] / 365
  c_vol[i] = 0.18 + math.abs(c_strike[i] - 100) * 0.003
end
local out = opt.greeks_array_t(NC)
local reps = 20000
local chain_t = best_of(5, function()
  local n = 0
  for _ = 1, reps do
    n = n + C.opt_bs_batch(NC, c_right, c_strike, c_t, c_vol, 100, 0.04, 0.015, out)
  end
  return n
end)
print(format("  %-28s %7.2f us per chain (%.1f M contracts/s)   goal < 20 us",
  "opt_bs_batch, 200 contracts", chain_t / reps, NC * reps / chain_t))

local price, delta = ffi.new("double[1]"), ffi.new("double[1]")
local NR = 4000
local crr_t = best_of(3, function()
  local acc = 0
  for i = 1, NR do
    local j = band(i, M - 1)
    C.opt_crr(2, 100, STRIKE[j], T[j], 0.04, 0.015, VOL[j], 200, price, delta)
    acc = acc + price[0]
  end
  return acc
end)
print(format("  %-28s %7.2f us per option (%.0f options/s)", "opt_crr, 200 steps", crr_t / NR,
  NR / crr_t * 1e6))
local NR2 = 40
local crr2_t = best_of(3, function()
  local acc = 0
  for i = 1, NR2 do
    C.opt_crr(2, 100, STRIKE[i], T[i], 0.04, 0.015, VOL[i], 2000, price, delta)
    acc = acc + price[0]
  end
  return acc
end)
print(format("  %-28s %7.2f ms per option", "opt_crr, 2000 steps", crr2_t / NR2 / 1000))
