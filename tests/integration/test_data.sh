#!/bin/bash
# alluse data import|info end to end on the shipped real data and the CSV fixtures:
# what lands in the store is exactly what the CSV says; bad input is named by file
# and line and writes nothing; damaged store files are reported.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root" || exit 1
fx=tests/fixtures/csv

out=$("$ALLUSE" data import data/*-daily.csv data/SPY-1min-2025-07-08.csv --store "$tmp/st" 2>&1); rc=$?
is "$rc" 0 "import of every shipped daily file and a minute file"
like "$out" "data/SPY-daily.csv -> $tmp/st/SPY.1d.bars: 6642 bars 1999-12-31 \.\. 2026-05-29 \(1d\)" "import reports bars, range and timeframe"
like "$out" "SPY.1m.bars: 942 bars 2025-07-08T04:00:00-04:00" "minute file: timeframe inferred as 1m, New York times shown"
info=$("$ALLUSE" data info --store "$tmp/st"); rc=$?
is "$rc" 0 "info exits 0"
is "$(printf '%s\n' "$info" | tail -n +2 | wc -l)" 12 "info lists 12 files"
like "$info" "^TSLA +1d +4004  2010-06-29 +2026-05-29" "info shows symbol, timeframe, bars, first and last"
"$ALLUSE" data info --store "$tmp/st" --json > "$tmp/info.json"; rc=$?
is "$rc" 0 "info --json exits 0"
like "$(cat "$tmp/info.json")" '"first_text": "1999-12-31"' "info --json carries readable dates"

# Exactness: every value in the store equals the CSV text read with tonumber().
cat > "$tmp/same.lua" <<'LUA'
local data = require("alluse.data")
local time = require("alluse.time")
local s = assert(data.load(arg[1], "AAPL", "1d"))
local f = assert(io.open("data/AAPL-daily.csv"))
f:read("*l")
local i, bad = 0, nil
for line in f:lines() do
  local d, o, h, l, c, v = line:match("^([^,]+),([^,]+),([^,]+),([^,]+),([^,]+),([^,]+)")
  local y, m, dd = d:match("(%d+)-(%d+)-(%d+)")
  local t = time.from_ny(tonumber(y), tonumber(m), tonumber(dd), 9, 30, 0)
  if s.time[i] ~= t or s.open[i] ~= tonumber(o) or s.high[i] ~= tonumber(h) or s.low[i] ~= tonumber(l)
    or s.close[i] ~= tonumber(c) or s.volume[i] ~= tonumber(v) then bad = bad or (i + 2) end
  i = i + 1
end
print(i == s.n and not bad and "same" or ("differs at line " .. tostring(bad)))
LUA
is "$("$ALLUSE" exec "$tmp/same.lua" "$tmp/st")" "same" "AAPL in the store equals its CSV, value for value, stamped 09:30 ET"

# Symbol and timeframe flags.
"$ALLUSE" data import "$fx/intraday_5m.csv" --store "$tmp/s2" --symbol XYZ >/dev/null; rc=$?
is "$rc" 0 "--symbol names the symbol"
[ -f "$tmp/s2/XYZ.5m.bars" ]; ok $? "5-minute spacing inferred: XYZ.5m.bars"
err=$("$ALLUSE" data import data/SPY-daily.csv data/QQQ-daily.csv --store "$tmp/s2" --symbol X 2>&1); rc=$?
is "$rc" 2 "--symbol with two files is a usage error"
"$ALLUSE" data import "$fx/float_noise.csv" --store "$tmp/s3" --tick 0.01 >/dev/null
is "$("$ALLUSE" exec /dev/stdin "$tmp/s3" <<'LUA'
local s = assert(require("alluse.data").load(arg[1], "float_noise", "1d"))
print(s.open[0] == 145.36 and "cents" or string.format("%.17g", s.open[0]))
LUA
)" "cents" "--tick 0.01 turns float32 noise into exact cents"

# Bad input: FILE:LINE: reason, exit 1, nothing written.
err=$("$ALLUSE" data import "$fx/bad_high_low.csv" --store "$tmp/s4" 2>&1); rc=$?
is "$rc" 1 "a bad row exits 1"
is "$err" "$fx/bad_high_low.csv:2: high 9 < low 11" "the error is FILE:LINE: reason"
[ ! -e "$tmp/s4/bad_high_low.1d.bars" ]; ok $? "nothing is written for a bad file"
out=$("$ALLUSE" data import "$fx/skip_bad.csv" --store "$tmp/s4" --skip-bad 2>&1); rc=$?
is "$rc" 0 "--skip-bad imports the good rows"
like "$out" "skipped [0-9]+ bad rows; the first:" "--skip-bad says how many rows were skipped"
like "$out" "skip_bad\.csv:[0-9]+: " "--skip-bad shows the first reasons with their lines"
err=$("$ALLUSE" data import "$tmp/missing.csv" --store "$tmp/s4" 2>&1); rc=$?
is "$rc" 1 "a missing file exits 1"
like "$err" "missing\.csv: No such file" "and is named"

# Usage errors.
"$ALLUSE" data frob --store "$tmp/st" >/dev/null 2>&1; is "$?" 2 "unknown action exits 2"
"$ALLUSE" data import data/SPY-daily.csv >/dev/null 2>&1; is "$?" 2 "import without --store exits 2"
"$ALLUSE" data info >/dev/null 2>&1; is "$?" 2 "info without --store exits 2"
"$ALLUSE" data import data/SPY-daily.csv --store "$tmp/x" --tick -1 >/dev/null 2>&1; is "$?" 2 "a negative --tick exits 2"
"$ALLUSE" data import data/SPY-daily.csv --store "$tmp/x" --timeframe 7q >/dev/null 2>&1; is "$?" 2 "an unknown --timeframe exits 2"
"$ALLUSE" data --help | grep -q '^usage: alluse data import'; ok $? "data --help"

# A damaged store file is reported by name; the others still list.
printf 'x' >> "$tmp/st/MSFT.1d.bars"
err=$("$ALLUSE" data info --store "$tmp/st" 2>&1 >/dev/null); rc=$?
is "$rc" 1 "info exits 1 when a file fails its checks"
like "$err" "MSFT\.1d\.bars: truncated or padded" "the damaged file is named with the reason"
done_testing
