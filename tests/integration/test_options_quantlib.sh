#!/bin/bash
# alluse.options against QuantLib (quantlib-python, installed by `make deps`, seen by
# Debian's /usr/bin/python3 only).  quantlib_ref.py prints QuantLib's answers; the Lua
# below computes alluse's for the same inputs and counts disagreements:
#   - European price, delta, gamma, vega, theta, rho (AnalyticEuropeanEngine) on a grid
#     of strike/spot 0.5..1.5, 1 day..2 years (t = days/365 exactly), vols 5%..200%,
#     rates 0..8%, yields 0..3%, calls and puts: every value within 1e-10 of QuantLib's,
#     relative to max(1, |value|);
#   - QuantLib's units, checked on its own numbers: vega and rho per 1.00, theta per
#     year (central differences of its NPV);
#   - implied vol of QuantLib's prices against QuantLib's impliedVolatility and the vol
#     that made the price (tolerance: 1e-9 of the vol plus the price agreement bound
#     divided by vega, which is what a price carries about its vol), repricing to
#     1e-10; prices QuantLib gives with no time value left (at or past a no-arbitrage
#     bound by rounding; QuantLib still returns a vol, its minVol) must be refused;
#   - American puts and calls with dividends: opt.crr at 200 steps within 0.2 % (or
#     $0.002 below $1) of BinomialVanillaEngine("crr", 2000).
# Without QuantLib the test fails: run make deps.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root" || exit 1

py=/usr/bin/python3
if ! ver=$("$py" -c 'import QuantLib; print(QuantLib.__version__)' 2>/dev/null); then
  ok 1 "QuantLib importable by $py: it is not; run make deps (installs quantlib-python)"
  done_testing
fi
ok 0 "QuantLib $ver importable by $py"

"$py" "$here/quantlib_ref.py" > "$tmp/ref.tsv" 2> "$tmp/ref.err"
rc=$?
ok $rc "quantlib_ref.py wrote $(wc -l < "$tmp/ref.tsv") reference records"
[ $rc -eq 0 ] || sed 's/^/#   /' "$tmp/ref.err"

cat > "$tmp/check.lua" <<'LUA'
-- Prints one line per check: "check NAME FAILS COUNT WORST WHERE".
local opt = require("alluse.options")
local C = opt.C
local abs, max, exp, format = math.abs, math.max, math.exp, string.format

local checks, order = {}, {}
local function check(name, err, where)
  local c = checks[name]
  if not c then
    c = { fails = 0, count = 0, worst = 0, where = "-" }
    checks[name] = c
    order[#order + 1] = name
  end
  c.count = c.count + 1
  if not (err <= 1) then c.fails = c.fails + 1 end
  if not (err <= c.worst) then c.worst, c.where = err, where end
end

local function fields(line)
  local f = {}
  for x in line:gmatch("[^\t]+") do f[#f + 1] = tonumber(x) or x end
  return f
end

local g = opt.greeks_t()
local GREEKS = { "price", "delta", "gamma", "vega", "theta", "rho" }
-- The price agreement bound the IV tolerance builds on (see the header).
local PRICE_TOL = 1e-12

for line in io.lines(arg[1]) do
  local f = fields(line)
  local where = line:gsub("\t", " ")
  if f[1] == "units" then
    -- QuantLib's greek against the central difference of its own NPV.
    local tol = f[2] == "theta_per_day_x365" and 1e-12 or 1e-5
    check("quantlib units: " .. f[2], abs(f[3] - f[4]) / max(1, abs(f[3])) / tol, where)
  elseif f[1] == "bs" then
    local right, spot, strike, days, rate, div, vol = f[2], f[3], f[4], f[5], f[6], f[7], f[8]
    local rc = C.opt_bs(right, spot, strike, days / 365, rate, div, vol, g)
    for i, k in ipairs(GREEKS) do
      local want = f[8 + i]
      local err = rc == 0 and abs(g[k] - want) / max(1, abs(want)) or math.huge
      -- err is in units of the 1e-10 tolerance
      check("european " .. k, err / 1e-10, where .. format(" -> %.17g", g[k]))
    end
  elseif f[1] == "iv" then
    local right, spot, strike, days, rate, div, vol, price, qliv =
      f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10]
    local t = days / 365
    local sq, kr = spot * exp(-div * t), strike * exp(-rate * t)
    local lower = right == 1 and max(sq - kr, 0) or max(kr - sq, 0)
    local upper = right == 1 and sq or kr
    local iv, err, code = opt.iv { right = right == 1 and "call" or "put", price = price,
      spot = spot, strike = strike, t = t, rate = rate, div = div }
    local room = PRICE_TOL * max(1, abs(price))
    if price - lower <= room or upper - price <= room then
      -- No time value left: refused, or (a rounding's worth inside the bounds) repriced.
      local good = (iv == nil and code == "ERANGE" and err:find("no-arbitrage bound", 1, true))
        or (iv ~= nil and abs(C.opt_bs_price(right, spot, strike, t, rate, div, iv) - price) <= room)
      check("implied vol: no time value, refused or repriced", good and 0 or 2, where)
    elseif not iv then
      check("implied vol: solved", 2, where .. " -> " .. tostring(err))
    else
      check("implied vol: solved", 0, where)
      C.opt_bs(right, spot, strike, t, rate, div, vol, g)
      local tol = 1e-9 * vol + PRICE_TOL * max(1, price) / g.vega
      local w = where .. format(" -> %.17g", iv)
      check("implied vol: matches the vol that made the price", abs(iv - vol) / tol, w)
      check("implied vol: matches QuantLib's impliedVolatility", abs(iv - qliv) / (tol + 1e-10), w)
      local back = C.opt_bs_price(right, spot, strike, t, rate, div, iv)
      check("implied vol: reprices to 1e-10", abs(back - price) / max(1, price) / 1e-10, w)
    end
  elseif f[1] == "american" then
    local right, spot, strike, days, rate, div, vol, want = f[2], f[3], f[4], f[5], f[6], f[7],
      f[8], f[9]
    local a = opt.crr { right = right == 1 and "call" or "put", spot = spot, strike = strike,
      t = days / 365, rate = rate, div = div, vol = vol, steps = 200 }
    local tol = want < 1 and 0.002 or 0.002 * want
    check(right == 1 and "american calls: crr 200 vs QuantLib crr 2000"
      or "american puts: crr 200 vs QuantLib crr 2000", abs(a.price - want) / tol,
      where .. format(" -> %.10g", a.price))
  end
end

for _, name in ipairs(order) do
  local c = checks[name]
  print(format("check\t%s\t%d\t%d\t%.3g\t%s", name, c.fails, c.count, c.worst, c.where))
end
LUA

out=$("$ALLUSE" exec "$tmp/check.lua" "$tmp/ref.tsv" 2>&1)
ok $? "alluse exec ran the comparison"
printf '%s\n' "$out" | grep -v '^check' | head -5 | sed 's/^/#   /'

# Every check present, with no failures.  WORST is in units of the check's tolerance.
for name in "quantlib units: vega" "quantlib units: rho" "quantlib units: theta" \
  "quantlib units: theta_per_day_x365" \
  "european price" "european delta" "european gamma" "european vega" "european theta" \
  "european rho" "implied vol: solved" "implied vol: matches the vol that made the price" \
  "implied vol: matches QuantLib's impliedVolatility" "implied vol: reprices to 1e-10" \
  "implied vol: no time value, refused or repriced" \
  "american calls: crr 200 vs QuantLib crr 2000" "american puts: crr 200 vs QuantLib crr 2000"; do
  line=$(printf '%s\n' "$out" | awk -F'\t' -v n="$name" '$1 == "check" && $2 == n')
  if [ -z "$line" ]; then
    ok 1 "$name: no cases ran"
    continue
  fi
  fails=$(printf '%s' "$line" | cut -f3)
  count=$(printf '%s' "$line" | cut -f4)
  worst=$(printf '%s' "$line" | cut -f5)
  is "$fails" 0 "$name: $count cases, worst at $worst of the tolerance"
  [ "$fails" = 0 ] || printf '#   worst case: %s\n' "$(printf '%s' "$line" | cut -f6)"
done
done_testing
