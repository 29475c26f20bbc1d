#!/bin/bash
# The store from the command line, on SQLite and on a real PostgreSQL (pg.sh):
#   alluse db migrate / status; backtest --db; report --db rebuilding the run's own
#   JSON, HTML and CSV byte for byte (a small strategy and the ALL-USE protocol);
#   report --list; a backtest killed with SIGKILL midway leaves a consistent database
#   and is marked incomplete on the next open; PostgreSQL restarted in the middle of a
#   write loop loses no acknowledged write.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
. "$here/pg.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
tmp=$(mktemp -d)
trap 'pg_stop; rm -rf "$tmp"' EXIT
cd "$root"
TICKERS="AAPL AMZN GOOG IWM META MSFT NVDA QQQ SPY TSLA"
ALLUSE_DATA=""
for s in $TICKERS; do ALLUSE_DATA="$ALLUSE_DATA --data data/$s-daily.csv"; done

urls="sqlite:$tmp/runs.db"
pg_start >/dev/null 2>&1; pgrc=$?
if [ $pgrc -eq 0 ]; then urls="$urls $PGTEST_URL"; else echo "# PostgreSQL part skipped: ${PGTEST_REASON:-not started}"; fi

# ---- migrate ----
out=$("$ALLUSE" db status --db "sqlite:$tmp/fresh.db" 2>&1); rc=$?
is "$rc" 1 "db status on an empty database exits 1"
like "$out" "schema version 0 of [0-9]+ \(behind: run alluse db migrate\)" "... and says to migrate"
out=$("$ALLUSE" db migrate --db "sqlite:$tmp/fresh.db" 2>&1); rc=$?
is "$rc" 0 "db migrate exits 0"
like "$out" "applied migrations 1, 2, 3; schema is at version" "... and lists what it applied"
out=$("$ALLUSE" db migrate --db "sqlite:$tmp/fresh.db" 2>&1)
like "$out" "schema is current" "a second migrate changes nothing"
audit=$("$ALLUSE" exec /dev/stdin "sqlite:$tmp/fresh.db" <<'LUA'
local db = assert(require("alluse.store").open(arg[1]))
for _, r in ipairs(db:query("SELECT who, what, outcome, detail FROM audit ORDER BY id")) do print(r.what, r.outcome, r.detail, r.who:find("@") and "who ok" or r.who) end
LUA
)
is "$audit" $'db migrate\tapplied\tversions 1, 2, 3\twho ok\ndb migrate\tcurrent\tversion 3\twho ok' "each migrate is in the audit table: who, what, outcome"
out=$(ALLUSE_DB="sqlite:$tmp/fresh.db" "$ALLUSE" db status 2>&1); rc=$?
is "$rc:$(echo "$out" | grep -c current)" "0:1" "ALLUSE_DB names the database when --db is not given"
out=$("$ALLUSE" db migrate --db "mysql://x/y" 2>&1); rc=$?
is "$rc" 1 "an unknown URL scheme fails"
like "$out" "unknown storage URL 'mysql://x/y'" "... naming it"
out=$("$ALLUSE" db frobnicate 2>&1); rc=$?
is "$rc" 2 "an unknown db subcommand is a usage error"
"$ALLUSE" exec /dev/stdin "sqlite:$tmp/fresh.db" <<'LUA' >/dev/null 2>&1
local db = assert(require("alluse.store").open(arg[1]))
assert(db:exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)"))
LUA
out=$("$ALLUSE" db migrate --db "sqlite:$tmp/fresh.db" 2>&1); rc=$?
is "$rc" 1 "migrate refuses a schema newer than the binary"
like "$out" "schema is version 999, newer than this alluse knows" "... with a clear message"
out=$("$ALLUSE" backtest strategies/examples/sma_cross.lua --data data/SPY-daily.csv --db "sqlite:$tmp/fresh.db" --quiet 2>&1); rc=$?
is "$rc" 1 "a backtest will not write into a newer schema"

out=$(cd "$tmp" && "$ALLUSE" report --db "sqlite:missing.db" --list 2>&1); rc=$?
is "$rc" 1 "report on a SQLite file that does not exist fails"
like "$out" "sqlite:missing.db: no such database file" "... saying so"
ok "$([ ! -e "$tmp/missing.db" ]; echo $?)" "... and creates no file"

for url in $urls; do
  kind=${url%%:*}
  if [ "$kind" = postgres ]; then
    out=$("$ALLUSE" report --db "$url" --list 2>&1); rc=$?
    is "$rc" 1 "$kind: an unmigrated PostgreSQL is refused"
    like "$out" "run \`alluse db migrate --db postgres://" "$kind: ... saying what to run"
    "$ALLUSE" db migrate --db "$url" --quiet; is "$?" 0 "$kind: db migrate"
  fi

  # ---- a small backtest, stored and rebuilt ----
  d=$tmp/$kind; mkdir -p "$d"
  out=$("$ALLUSE" backtest strategies/examples/sma_cross.lua --data data/SPY-daily.csv --db "$url" \
        --json "$d/run.json" --report "$d/run.html" --trades "$d/run.csv" 2>&1); rc=$?
  is "$rc" 0 "$kind: backtest --db exits 0"
  like "$out" "stored +run [0-9]+ in $kind" "$kind: ... and says which run it stored"
  id=$(echo "$out" | sed -n 's/.*stored *run \([0-9]*\) in.*/\1/p')
  "$ALLUSE" report --db "$url" --run "$id" --format json --out "$d/rep.json"
  cmp -s "$d/run.json" "$d/rep.json"; ok $? "$kind: report --format json is the run's --json, byte for byte"
  "$ALLUSE" report --db "$url" --run "$id" --format html > "$d/rep.html"
  cmp -s "$d/run.html" "$d/rep.html"; ok $? "$kind: report --format html is the run's --report"
  "$ALLUSE" report --db "$url" --run "$id" --format csv > "$d/rep.csv"
  cmp -s "$d/run.csv" "$d/rep.csv"; ok $? "$kind: report --format csv is the run's --trades"
  "$ALLUSE" report --db "$url" --run "$id" --format json --account main --from 2010-01-01 --to 2010-12-31 > "$d/part.json"; rc=$?
  is "$rc" 0 "$kind: report --account --from --to"
  like "$(grep -o '"date": "[0-9-]*"' "$d/part.json" | sort -u | sed -n '1p;$p' | tr '\n' ' ')" \
    '"date": "2010-01-0[0-9]" "date": "2010-12-3[01]"' "$kind: ... holds exactly the range's days"
  out=$("$ALLUSE" report --db "$url" --run 9999 2>&1); rc=$?
  is "$rc" 1 "$kind: an unknown run fails"
  like "$out" "no run 9999" "$kind: ... naming it"
  "$ALLUSE" report --db "$url" --format pdf >/dev/null 2>&1; is "$?" 2 "$kind: a bad --format is a usage error"

  # ---- the ALL-USE protocol: many accounts, options, forks, the journal ----
  # shellcheck disable=SC2086
  out=$("$ALLUSE" backtest strategies/alluse $ALLUSE_DATA --from 2022-01-01 --cash 500000 --param profile=iai \
        --db "$url" --json "$d/alluse.json" --report "$d/alluse.html" 2>&1); rc=$?
  is "$rc" 0 "$kind: the ALL-USE backtest with --db"
  aid=$(echo "$out" | sed -n 's/.*stored *run \([0-9]*\) in.*/\1/p')
  "$ALLUSE" report --db "$url" --run "$aid" --format json > "$d/alluse-rep.json"
  cmp -s "$d/alluse.json" "$d/alluse-rep.json"; ok $? "$kind: ALL-USE: report json is the run's own, byte for byte"
  "$ALLUSE" report --db "$url" --run "$aid" > "$d/alluse-rep.html"
  cmp -s "$d/alluse.html" "$d/alluse-rep.html"; ok $? "$kind: ALL-USE: report html is the run's own"
  weeks=$("$ALLUSE" exec /dev/stdin "$url" "$aid" <<'LUA'
local db = assert(require("alluse.store").open(arg[1]))
local r = db:one("SELECT COUNT(*) AS n, COUNT(DISTINCT account) AS a FROM weeks WHERE run_id = ? AND mode IS NOT NULL", tonumber(arg[2]))
print(r.n > 0 and r.a > 1 and "weeks ok" or ("weeks " .. r.n .. " " .. r.a))
LUA
)
  is "$weeks" "weeks ok" "$kind: ALL-USE: the week classification per account and ticker is in weeks"
  lots=$("$ALLUSE" exec /dev/stdin "$url" "$aid" <<'LUA'
local db = assert(require("alluse.store").open(arg[1]))
local id = tonumber(arg[2])
local pos = db:query("SELECT account, symbol, qty FROM positions WHERE run_id = ?", id)
local bad = 0
for _, p in ipairs(pos) do
  local s = db:one("SELECT SUM(qty) AS q, COUNT(*) AS n FROM tax_lots WHERE run_id = ? AND account = ? AND symbol = ?", id, p.account, p.symbol)
  if s.n == 0 or math.abs(s.q - p.qty) > 1e-9 then bad = bad + 1 end
end
print(#pos > 0 and bad == 0 and "lots ok" or ("positions " .. #pos .. " bad " .. bad))
LUA
)
  is "$lots" "lots ok" "$kind: ALL-USE: every open position's tax lots add up to it"

  # ---- kill -9 midway ----
  # shellcheck disable=SC2086
  "$ALLUSE" backtest strategies/alluse $ALLUSE_DATA --from 2008-01-01 --cash 500000 --param profile=iai \
    --db "$url" --quiet > /dev/null 2>&1 &
  pid=$!
  committed=""
  for _ in $(seq 1 400); do
    committed=$("$ALLUSE" exec /dev/stdin "$url" <<'LUA' 2>/dev/null
local db = assert(require("alluse.store").open(arg[1]))
local r = db:one("SELECT MAX(r.id) AS id FROM runs r WHERE r.status = 'running' AND EXISTS (SELECT 1 FROM equity e WHERE e.run_id = r.id)")
print(type(r.id) == "number" and r.id or "")
LUA
)
    [ -n "$committed" ] && break
    sleep 0.05
  done
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  ok "$([ -n "$committed" ]; echo $?)" "$kind: the killed run had committed some days before SIGKILL"
  list=$("$ALLUSE" report --db "$url" --list 2>&1)
  like "$(echo "$list" | awk -v id="$committed" '$1 == id')" "^$committed +backtest +alluse +incomplete" \
    "$kind: the next open marks the killed run incomplete"
  out=$("$ALLUSE" report --db "$url" --run "$committed" 2>&1); rc=$?
  like "$out:$rc" "has no results to report:1" "$kind: report on the incomplete run says so"
  # shellcheck disable=SC2086
  out=$("$ALLUSE" backtest strategies/alluse $ALLUSE_DATA --from 2008-01-01 --cash 500000 --param profile=iai \
        --db "$url" 2>&1)
  fid=$(echo "$out" | sed -n 's/.*stored *run \([0-9]*\) in.*/\1/p')
  out=$("$ALLUSE" exec tests/integration/db/check_prefix.lua "$url" "$committed" "$fid" 2>&1); rc=$?
  is "$rc" 0 "$kind: what the killed run left is a consistent prefix of the full run"
  echo "$out" | sed 's/^/#   /'
done

# ---- PostgreSQL restarted under a write loop ----
if [ $pgrc -eq 0 ]; then
  acked=$tmp/acked
  : > "$acked"
  "$ALLUSE" exec tests/integration/db/restart_writer.lua "$PGTEST_URL" 3000 "$acked" > "$tmp/writer.out" 2> "$tmp/writer.err" &
  wpid=$!
  for _ in $(seq 1 200); do [ "$(wc -l < "$acked")" -ge 300 ] && break; sleep 0.05; done
  at=$(wc -l < "$acked")
  pg_restart > /dev/null 2>&1; ok $? "PostgreSQL restarted after $at acknowledged writes"
  wait $wpid; rc=$?
  is "$rc" 0 "the writer finished all 3000 writes across the restart"
  like "$(cat "$tmp/writer.out")" "^reconnects [1-9]" "... after reconnecting"
  n_acked=$(wc -l < "$acked")
  stored=$(pg_psql "SELECT COUNT(*) FROM kv WHERE scope = 'restart'")
  is "$n_acked:$stored" "3000:3000" "every acknowledged write is in the database"
  missing=$(pg_psql "SELECT COUNT(*) FROM generate_series(1, 3000) g WHERE NOT EXISTS (SELECT 1 FROM kv WHERE scope = 'restart' AND key = g::text AND value = (g * 7)::text)")
  is "$missing" 0 "... each with its own value"
  [ -s "$tmp/writer.err" ] && sed 's/^/#   writer: /' "$tmp/writer.err"
fi
done_testing
