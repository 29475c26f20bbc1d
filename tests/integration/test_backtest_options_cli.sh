#!/bin/bash
# alluse backtest with options from the command line: a put-selling strategy on the
# shipped SPY bars with an IV series and the shipped real chain; the option flags land
# in the JSON's config.options; bad option inputs are named (file and line, or flag).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root" || exit 1

cat > "$tmp/puts.lua" <<'LUA'
-- Every Monday, sell one put near 0.3 delta expiring that week, if flat.
return {
  name = "weekly_puts",
  on_bar = function(ctx, bar)
    local dn = ctx.calendar.day_number(ctx.calendar.ny_date(ctx:now()))
    if (dn + 3) % 7 ~= 0 then return end
    local c = ctx:pick("SPY", { right = "put", delta = 0.3, dte = 4 })
    if c and ctx:position("SPY") == 0 then ctx:sell(c.symbol, 1) end
  end,
}
LUA
printf 'date,iv\n2014-06-02,0.15\n2015-01-02,0.18\n' > "$tmp/iv.csv"
out=$("$ALLUSE" backtest "$tmp/puts.lua" --data data/SPY-daily.csv --from 2014-09-01 --to 2015-03-31 \
  --iv-series "SPY=$tmp/iv.csv" --chain data/SPY-chain-2015-01-05.csv --option-rate 0.03 \
  --half-spread 0.02 --half-spread-pct 0.03 --option-commission 0.5 --json "$tmp/r.json" 2>&1); rc=$?
is "$rc" 0 "a put-selling run with an IV series and a real chain exits 0"
cat > "$tmp/show.lua" <<'LUA'
local json = require("alluse.json")
local f = assert(io.open(arg[1])); local r = json.decode(f:read("*a")); f:close()
local o = r.config.options
local puts, expiries, comm = 0, 0, 0
for _, e in ipairs(r.ledger) do
  if e.kind == "fill" and e.symbol:match("^SPY   %d+P") then puts = puts + 1 end
  if e.kind == "expiry" or e.kind == "assignment" then expiries = expiries + 1 end
  if e.kind == "commission" then comm = comm + e.amount end
end
print(o.rate, o.half_spread.min, o.half_spread.pct, o.commission.rate, o.vol.iv_series[1].source:match("iv.csv$"),
  o.real_chains[1].date, puts >= 3 and "puts" or puts, expiries >= 3 and "settled" or expiries,
  string.format("%.2f", -comm / puts))
LUA
is "$("$ALLUSE" exec "$tmp/show.lua" "$tmp/r.json")" "$(printf '0.03\t0.02\t0.03\t0.5\tiv.csv\t2015-01-05\tputs\tsettled\t0.50')" \
  "config.options records the flags; puts were sold and settled, at 0.50 a contract"

printf 'date,iv\n2015-01-02,0.18\n2015-01-01,0.2\n' > "$tmp/bad.csv"
out=$("$ALLUSE" backtest "$tmp/puts.lua" --data data/SPY-daily.csv --iv-series "SPY=$tmp/bad.csv" 2>&1); rc=$?
is "$rc" 1 "a bad IV series: exit 1"
like "$out" "bad.csv:3: dates must increase" "a bad IV series: file and line"
out=$("$ALLUSE" backtest "$tmp/puts.lua" --data data/SPY-daily.csv --iv-series nonsense 2>&1); rc=$?
is "$rc" 2 "--iv-series without SYMBOL=: a usage error"
printf 'quote_date,underlying\n2015-01-05,SPY\n' > "$tmp/chain.csv"
out=$("$ALLUSE" backtest "$tmp/puts.lua" --data data/SPY-daily.csv --chain "$tmp/chain.csv" 2>&1); rc=$?
is "$rc" 1 "a bad chain file: exit 1"
like "$out" "chain.csv" "a bad chain file: named"
out=$("$ALLUSE" backtest "$tmp/puts.lua" --data data/SPY-daily.csv --vol-factor zero 2>&1); rc=$?
is "$rc" 2 "a bad --vol-factor: a usage error"
done_testing
