#!/bin/bash
# alluse backtest from the command line: usage errors (one line, exit 2), bad inputs
# named (exit 1), outputs written, a halted strategy still writes its results (exit
# 1), --quiet, and the progress bar: on stderr only when stderr is a terminal (a
# pseudo-terminal from util-linux's script(1)) and the run is long.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
build=${ALLUSE_BUILD:-$(dirname "$ALLUSE")}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root" || exit 1
sma=strategies/examples/sma_cross.lua

out=$("$ALLUSE" backtest --help); ok $? "--help exits 0"
like "$out" "--data SRC" "--help lists --data"
like "$out" "--commission MODEL" "--help lists --commission"

out=$("$ALLUSE" backtest $sma --data data/SPY-daily.csv --bogus 2>&1); rc=$?
is "$rc" 2 "unknown flag: exit 2"
is "$(printf '%s\n' "$out" | wc -l)" 1 "unknown flag: one line"
like "$out" "bogus" "unknown flag: named"
out=$("$ALLUSE" backtest $sma 2>&1); is "$?" 2 "no data: exit 2"
like "$out" "no data" "no data: said"
out=$("$ALLUSE" backtest $sma --data data/SPY-daily.csv --from 2020-13-01 2>&1); is "$?" 2 "bad --from: exit 2"
like "$out" "--from must be a date" "bad --from: named"
out=$("$ALLUSE" backtest $sma --data data/SPY-daily.csv --commission per_share=x 2>&1); is "$?" 2 "bad --commission: exit 2"
like "$out" "per_share=x" "bad --commission: the part named"
out=$("$ALLUSE" backtest $sma --data data/SPY-daily.csv --param nope=1 2>&1); is "$?" 2 "unknown param: a usage error, exit 2"
like "$out" "unknown param 'nope'.*fast, qty, slow, symbol" "unknown param: named, with the known ones"
out=$("$ALLUSE" backtest $sma --data data/SPY-daily.csv --param fast=ten 2>&1); is "$?" 2 "mistyped param: a usage error, exit 2"
like "$out" "param fast must be a number" "mistyped param: named"
out=$("$ALLUSE" backtest $sma --data "$tmp/missing.csv" 2>&1); is "$?" 1 "missing data file: exit 1"
like "$out" "missing.csv" "missing data file: named"
printf 'date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,100\n2024-01-03,1,2,zero,1.5,100\n' > "$tmp/BAD.csv"
out=$("$ALLUSE" backtest $sma --data "$tmp/BAD.csv" 2>&1); is "$?" 1 "bad CSV: exit 1"
like "$out" "BAD.csv:3" "bad CSV: file and line named"
out=$("$ALLUSE" backtest "$tmp/none.lua" --data data/SPY-daily.csv 2>&1); is "$?" 1 "missing strategy: exit 1"
like "$out" "none.lua" "missing strategy: named"

# A normal run: the summary on stdout, every output file written.
out=$("$ALLUSE" backtest $sma --data data/SPY-daily.csv --param fast=20 --param slow=50 \
  --commission per_share=0.005,min=1 --from 2010-01-01 --to 2019-12-31 \
  --json "$tmp/r.json" --report "$tmp/r.html" --trades "$tmp/t.csv" 2>"$tmp/err"); rc=$?
is "$rc" 0 "a run exits 0"
like "$out" "^sma_cross on SPY 1d, 2010-01-04 \.\. 2019-12-31: ok" "summary: strategy, data, dates, status"
like "$out" "round trips [0-9]+" "summary: round trips"
is "$(cat "$tmp/err")" "" "nothing on stderr (not a terminal)"
ok "$([ -s "$tmp/r.json" ] && [ -s "$tmp/r.html" ] && [ -s "$tmp/t.csv" ]; echo $?)" "JSON, report and trades written"
like "$(head -1 "$tmp/t.csv")" "^id,account,symbol,side,qty,entry_time" "trades CSV header"
like "$(cat "$tmp/r.json")" '"commissions": [1-9]' "commissions charged and reported"
out=$("$ALLUSE" backtest $sma --data data/SPY-daily.csv --quiet); rc=$?
is "$rc:$out" "0:" "--quiet prints nothing"

# ctx:log and print: on stderr with the simulated time; --quiet silences them.
cat > "$tmp/talk.lua" <<'LUA'
return { on_bar = function(ctx, bar)
  if bar.index == 1 then ctx:log("hello", 42, true); print("via print", bar.index) end
end }
LUA
err=$("$ALLUSE" backtest "$tmp/talk.lua" --data data/SPY-daily.csv 2>&1 >/dev/null)
like "$err" "^2000-01-03T21:00:00Z hello 42 true" "ctx:log: the simulated time, then the values"
like "$err" "via print	1" "print goes to the same log"
err=$("$ALLUSE" backtest "$tmp/talk.lua" --data data/SPY-daily.csv --quiet 2>&1 >/dev/null)
is "$err" "" "--quiet silences the strategy's log"

# A strategy that raises on its 100th bar: status error, exit 1, results still written.
cat > "$tmp/boom.lua" <<'LUA'
return {
  name = "boom",
  on_bar = function(ctx, bar)
    if bar.index == 20 then ctx:buy(bar.symbol, 10) end
    if bar.index == 99 then error("boom at bar " .. bar.index) end
  end,
}
LUA
out=$("$ALLUSE" backtest "$tmp/boom.lua" --data data/SPY-daily.csv --json "$tmp/boom.json" 2>&1); rc=$?
is "$rc" 1 "a strategy error: exit 1"
like "$out" "boom.lua:5: boom at bar 99" "the error names the strategy's file and line"
like "$out" "stack traceback" "with a traceback"
cat > "$tmp/check.lua" <<'LUA'
local json = require("alluse.json")
local f = assert(io.open(arg[1])); local r = json.decode(f:read("*a")); f:close()
print(r.status, #r.equity, #r.orders, r.positions[1] and r.positions[1].qty)
LUA
is "$("$ALLUSE" exec "$tmp/check.lua" "$tmp/boom.json")" "$(printf 'error\t100\t1\t10')" \
  "the JSON holds the 100 days run, the order and the position"

# The progress bar: only on a terminal, and only for long runs.
"$build/tests/tools/gen_walk" 300000 7 "$tmp/LONG.csv"
if command -v script >/dev/null; then
  script -qfec "$ALLUSE backtest $sma --data $tmp/LONG.csv" /dev/null > "$tmp/tty.out" 2>&1
  like "$(cat "$tmp/tty.out")" "\[#+\.*\] +[0-9]+%" "a long run on a terminal shows the progress bar"
  script -qfec "$ALLUSE backtest $sma --data data/SPY-daily.csv" /dev/null > "$tmp/tty2.out" 2>&1
  ok "$(grep -Eq '\[[#.]+\]' "$tmp/tty2.out"; [ $? -ne 0 ]; echo $?)" "a short run on a terminal shows none"
else
  ok 1 "script(1) is needed for the terminal tests (util-linux)"
fi
"$ALLUSE" backtest $sma --data "$tmp/LONG.csv" > /dev/null 2> "$tmp/notty.err"
is "$(cat "$tmp/notty.err")" "" "a long run without a terminal prints no progress"
done_testing
