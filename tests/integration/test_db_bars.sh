#!/bin/bash
# Bars in the database, on SQLite and on a real PostgreSQL (pg.sh): alluse data import
# --db (COPY on PostgreSQL), data info --db, a re-import that changes nothing, and a
# backtest reading --data SYMBOL from the bars table whose results are byte for byte
# the CSV run's but for the feed's source.  Hostile and missing symbols.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
. "$here/pg.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
tmp=$(mktemp -d)
trap 'pg_stop; rm -rf "$tmp"' EXIT
cd "$root" || exit 1
SMA=strategies/examples/sma_cross.lua

urls="sqlite:$tmp/bars.db"
pg_start >/dev/null 2>&1; pgrc=$?
if [ $pgrc -eq 0 ]; then
  urls="$urls $PGTEST_URL"
  # Every statement goes to the server log: the import must COPY, not INSERT.
  pg_psql "ALTER DATABASE alluse_test SET log_statement = 'all'"
else
  # pg_start returns 2 when PostgreSQL is not installed: the SQLite half still runs.
  echo "# PostgreSQL part skipped: ${PGTEST_REASON:-not started}"
fi

out=$("$ALLUSE" data import data/SPY-daily.csv 2>&1); rc=$?
is "$rc" 2 "data import without --store or --db is a usage error"
like "$out" "needs --store DIR or --db URL" "... saying what it needs"

# The CSV run every database run is compared with.
"$ALLUSE" backtest "$SMA" --data data/SPY-daily.csv --json "$tmp/csv.json" --trades "$tmp/csv.trades" --quiet
is "$?" 0 "the backtest from the CSV file"

for url in $urls; do
  kind=${url%%:*}
  d=$tmp/$kind; mkdir -p "$d"
  [ "$kind" = postgres ] && "$ALLUSE" db migrate --db "$url" --quiet

  # ---- import ----
  out=$("$ALLUSE" data import data/SPY-daily.csv data/QQQ-daily.csv --db "$url" 2>&1); rc=$?
  is "$rc" 0 "$kind: data import --db of two files"
  like "$out" "data/SPY-daily.csv -> $kind:.* SPY: 6642 bars 1999-12-31 \.\. 2026-05-29 \(1d\)$" \
    "$kind: ... says symbol, bars, first and last bar, timeframe"
  like "$out" "QQQ: 6642 bars" "$kind: ... for each file"
  info=$("$ALLUSE" data info --db "$url"); rc=$?
  is "$rc" 0 "$kind: data info --db"
  is "$(printf '%s\n' "$info" | tail -n +2 | awk '{print $1, $2, $3, $4, $5}' | tr '\n' ';')" \
    "QQQ 1d 6642 1999-12-31 2026-05-29;SPY 1d 6642 1999-12-31 2026-05-29;" "$kind: ... lists both with their counts"
  "$ALLUSE" data info --db "$url" --json > "$d/info.json"
  like "$(cat "$d/info.json")" '"rows": 6642' "$kind: data info --db --json"

  # ---- the series read back is the one read_csv makes (columns, values, adj_close) ----
  "$ALLUSE" data import tests/fixtures/csv/yahoo.csv --symbol YHO --db "$url" > /dev/null; rc=$?
  is "$rc" 0 "$kind: a Yahoo CSV with Adj Close imports"
  same=$("$ALLUSE" exec /dev/stdin "$url" <<'LUA'
local ffi = require("ffi")
pcall(ffi.cdef, "int memcmp(const void *a, const void *b, size_t n);")
local db = assert(require("alluse.store").open(arg[1]))
local bars = require("alluse.store.bars")
local data = require("alluse.data")
for _, c in ipairs({ { "data/SPY-daily.csv", "SPY" }, { "tests/fixtures/csv/yahoo.csv", "YHO" } }) do
  local want = assert(data.read_csv(c[1], { symbol = c[2] }))
  local got = assert(bars.read(db, c[2], want.timeframe))
  if got.symbol ~= want.symbol or got.timeframe ~= want.timeframe or got.n ~= want.n then print("header " .. c[2]) end
  if (got.adj_close == nil) ~= (want.adj_close == nil) then print("adj_close column " .. c[2]) end
  for _, col in ipairs({ "time", "open", "high", "low", "close", "volume", "adj_close" }) do
    local a, b = want._cs[col], got._cs[col]
    if a ~= nil and ffi.C.memcmp(a, b, want.n * 8) ~= 0 then print(col .. " differs " .. c[2]) end
  end
end
print("same")
LUA
)
  is "$same" "same" "$kind: bars read back equal read_csv's series bit for bit (SPY; Yahoo with adj_close)"

  # ---- a backtest on bars from the database ----
  out=$("$ALLUSE" backtest "$SMA" --data SPY --db "$url" --json "$d/db.json" --trades "$d/db.trades" 2>&1); rc=$?
  is "$rc" 0 "$kind: backtest --data SPY --db"
  like "$out" "stored +run [0-9]+ in $kind" "$kind: ... which still stores the run in that database"
  like "$(grep '"source"' "$d/db.json")" '"source": "db:SPY:1d",$' "$kind: ... its feed's source is db:SPY:1d"
  sed 's|"source": "db:SPY:1d",$|"source": "data/SPY-daily.csv",|' "$d/db.json" > "$d/db-norm.json"
  cmp -s "$d/db-norm.json" "$tmp/csv.json"; ok $? "$kind: ... its JSON is the CSV run's byte for byte, but for the source"
  cmp -s "$d/db.trades" "$tmp/csv.trades"; ok $? "$kind: ... and its trades CSV is the same"
  "$ALLUSE" backtest "$SMA" --data SPY:1d --db "$url" --json "$d/db1d.json" --quiet
  cmp -s "$d/db1d.json" "$d/db.json"; ok $? "$kind: --data SPY:1d is the same feed"
  hash=$("$ALLUSE" exec /dev/stdin "$url" <<'LUA'
local db = assert(require("alluse.store").open(arg[1]))
local r = db:one("SELECT data_hash FROM runs ORDER BY id DESC LIMIT 1")
print(type(r.data_hash) == "string" and #r.data_hash == 64 and "hashed" or tostring(r.data_hash))
LUA
)
  is "$hash" "hashed" "$kind: the run's data_hash covers the bars read from the database"

  # ---- re-import: the same rows, nothing added ----
  info=$("$ALLUSE" data info --db "$url")
  out=$("$ALLUSE" data import data/SPY-daily.csv data/QQQ-daily.csv --db "$url" 2>&1); rc=$?
  is "$rc" 0 "$kind: importing the same files again"
  like "$out" "SPY: 6642 bars .*, replacing 6642$" "$kind: ... replaces the rows of their range"
  is "$("$ALLUSE" data info --db "$url")" "$info" "$kind: ... and data info is unchanged"
  "$ALLUSE" backtest "$SMA" --data SPY --db "$url" --json "$d/db2.json" --quiet
  cmp -s "$d/db2.json" "$d/db.json"; ok $? "$kind: ... and so is the backtest"

  # ---- a file wins over the database ----
  mkdir -p "$d/w" && cp data/SPY-daily.csv "$d/w/QQQ"
  (cd "$d/w" && "$ALLUSE" backtest "$root/$SMA" --data QQQ --db "$url" --json q.json --quiet)
  like "$(grep '"source"' "$d/w/q.json")" '"source": "QQQ",$' "$kind: --data QQQ names a file in the folder: the file wins"

  # ---- hostile and missing symbols ----
  out=$("$ALLUSE" data import data/SPY-daily.csv --symbol "x'); DROP TABLE bars; --" --db "$url" 2>&1); rc=$?
  is "$rc" 1 "$kind: a hostile --symbol is refused"
  like "$out" "must be 1-31 characters of letters, digits" "$kind: ... by the symbol rule"
  is "$("$ALLUSE" data info --db "$url" | tail -n +2 | wc -l)" 3 "$kind: ... and the bars table is intact"
  out=$("$ALLUSE" backtest "$SMA" --data "x'); DROP TABLE bars; --" --db "$url" 2>&1); rc=$?
  is "$rc" 1 "$kind: a hostile --data symbol finds nothing"
  is "$("$ALLUSE" data info --db "$url" | tail -n +2 | wc -l)" 3 "$kind: ... and the bars table is intact"
  out=$("$ALLUSE" backtest "$SMA" --data NOPE --db "$url" 2>&1); rc=$?
  is "$rc" 1 "$kind: a symbol the database does not hold fails"
  is "$(printf '%s\n' "$out" | wc -l)" 1 "$kind: ... with one line"
  like "$out" "^backtest: --data NOPE: not a file or folder, and $kind:.* has no bars for NOPE$" "$kind: ... naming it"
  out=$("$ALLUSE" backtest "$SMA" --data SPY:5m --db "$url" 2>&1); rc=$?
  like "$out:$rc" "has no 5m bars for SPY:1$" "$kind: a timeframe the database does not hold for the symbol is named"

  # ---- --store and --db together ----
  out=$("$ALLUSE" data import data/IWM-daily.csv --store "$d/st" --db "$url" 2>&1); rc=$?
  is "$rc" 0 "$kind: --store and --db together"
  like "$out" "IWM.1d.bars: " "$kind: ... write the store file"
  like "$out" "$kind:.* IWM: " "$kind: ... and the database rows"
  [ -f "$d/st/IWM.1d.bars" ]; ok $? "$kind: ... the store file exists"
done

if [ $pgrc -eq 0 ]; then
  copies=$(grep -c 'COPY bars (symbol, timeframe, time, open, high, low, close, volume, adj_close) FROM STDIN' "$PGTEST_LOG")
  inserts=$(grep -c 'INSERT INTO bars' "$PGTEST_LOG")
  ok "$([ "$copies" -ge 5 ] && [ "$inserts" -eq 0 ]; echo $?)" \
    "postgres: data import --db wrote the bars with COPY ($copies COPY, $inserts INSERT)"
fi
done_testing
