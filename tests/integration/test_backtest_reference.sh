#!/bin/bash
# The reference answers of issue #4: strategies/examples/sma_cross.lua (fast 10, slow
# 30, qty 100, cash 1,000,000, no commission) on the team's reference walk
# (tests/tools/gen_walk.c, 1,000,000 one-minute bars, seed 42) must give exactly what
# backtrader and the plain-C reference give on the same bars:
#   first 100,000 bars: final equity 1,001,913.00, 1,934 round trips, flat;
#   all 1,000,000 bars: 995,001.14, 19,548 round trips, 100 shares open.
# Run through `alluse backtest` from the bar store, with the ledger and equity
# invariants checked after every bar (make test sets ALLUSE_CHECK_INVARIANTS=1), and
# twice to check the JSON is byte-identical.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
build=${ALLUSE_BUILD:-$(dirname "$ALLUSE")}
gen=$build/tests/tools/gen_walk
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root" || exit 1

"$gen" 1000000 42 "$tmp/walk.csv"; ok $? "gen_walk writes the 1M-bar reference walk"
# When the shared bench tree is next to the checkout, the walk must be its generator's.
shared=$root/../shared/bench/gen_ohlcv.c
if [ -f "$shared" ] && cc -O2 -ffp-contract=off -o "$tmp/gen_ohlcv" "$shared" 2>/dev/null; then
  "$tmp/gen_ohlcv" 1000000 42 "$tmp/ref.csv" 2>/dev/null
  cmp -s "$tmp/walk.csv" "$tmp/ref.csv"; ok $? "gen_walk's bars are byte-identical to the shared gen_ohlcv's"
  rm -f "$tmp/ref.csv"
else
  echo "ok $((_tap_n + 1)) # skip the shared bench generator is not next to the checkout"; _tap_n=$((_tap_n + 1))
fi
head -100001 "$tmp/walk.csv" > "$tmp/walk100k.csv"
"$ALLUSE" data import "$tmp/walk.csv" --store "$tmp/store" --symbol WALK > /dev/null; ok $? "import the walk into the store"
"$ALLUSE" data import "$tmp/walk100k.csv" --store "$tmp/store100k" --symbol WALK > /dev/null; ok $? "import the first 100k bars"

# Print the answers from a result JSON: final equity, round trips, open quantity.
cat > "$tmp/answers.lua" <<'LUA'
local json = require("alluse.json")
local f = assert(io.open(arg[1], "rb"))
local r = assert(json.decode(f:read("*a")))
f:close()
local open = 0
for _, p in ipairs(r.positions) do open = open + p.qty end
-- cash from the ledger alone, and equity rebuilt from it and the open positions
local cash = 0
for _, e in ipairs(r.ledger) do cash = cash + e.amount * 100 end
local rebuilt = cash / 100
for _, p in ipairs(r.positions) do rebuilt = rebuilt + p.qty * p.mark end
print(string.format("%.2f %d %d %s %.2f", r.summary.final_equity, r.summary.round_trips, open, r.status, rebuilt))
LUA

run() { # run STORE OUT.json
  "$ALLUSE" backtest strategies/examples/sma_cross.lua --store "$1" --data WALK --cash 1000000 \
    --param fast=10 --param slow=30 --param qty=100 --json "$2" --quiet
}
run "$tmp/store100k" "$tmp/r100k.json"; ok $? "100k-bar backtest exits 0"
is "$("$ALLUSE" exec "$tmp/answers.lua" "$tmp/r100k.json")" "1001913.00 1934 0 ok 1001913.00" \
  "100k bars: final equity 1,001,913.00, 1,934 round trips, flat; the ledger rebuilds it"
run "$tmp/store100k" "$tmp/r100k-again.json"
cmp -s "$tmp/r100k.json" "$tmp/r100k-again.json"; ok $? "the same inputs give byte-identical JSON"

run "$tmp/store" "$tmp/r1m.json"; ok $? "1M-bar backtest exits 0"
is "$("$ALLUSE" exec "$tmp/answers.lua" "$tmp/r1m.json")" "995001.14 19548 100 ok 995001.14" \
  "1M bars: final equity 995,001.14, 19,548 round trips, 100 shares open; the ledger rebuilds it"

# The same answer straight from the CSV, and the trades CSV has one line per round trip.
"$ALLUSE" backtest strategies/examples/sma_cross.lua --data "WALK=$tmp/walk100k.csv" --cash 1000000 \
  --trades "$tmp/trades.csv" --quiet; ok $? "from CSV with --trades"
is "$(($(wc -l < "$tmp/trades.csv") - 1))" 1934 "trades CSV: a header and 1,934 round trips"
done_testing
