#!/bin/bash
# alluse run --db: every order event is committed before a bar can fill it, and a
# restart continues the same session (docs/live.md, Recovery).  The process is killed
# at several points — inside a commit's transaction, just after a commit, at random
# moments with kill -9, by SIGTERM, after an operator's flatten, after a halt — and
# restarted; the finished session must be the uninterrupted run, byte for byte in
# its report, with no order written twice and no fill lost.  A restart that does not
# match the store (other params, changed code) is refused and leaves the session
# resumable.  On PostgreSQL too, when it is installed, with its advisory lock.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
. "$here/pg.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
if ! command -v curl >/dev/null 2>&1; then echo "1..0 # SKIP needs curl"; exit 0; fi
tmp=$(mktemp -d)
cleanup() { [ -n "${rpid:-}" ] && kill -9 "$rpid" 2>/dev/null; pg_stop; rm -rf "$tmp"; }
trap cleanup EXIT
cd "$root"
S=strategies/examples/sma_cross.lua
D=data/SPY-daily.csv
TOKEN=t0ken-t0ken-t0ken-42

# What a run left in the store, as one line: row counts, distinct order ids, status.
cat > "$tmp/counts.lua" <<'LUA'
local db = assert(require("alluse.store").open(arg[1]))
local run = tonumber(arg[2] or 1)
local function n(sql) return tonumber(assert(db:one(sql, run)).n) end
print(string.format("orders=%d distinct=%d events=%d fills=%d ledger=%d protocol=%d commands=%d status=%s",
  n("SELECT COUNT(*) AS n FROM orders WHERE run_id = ?"),
  n("SELECT COUNT(DISTINCT client_order_id) AS n FROM orders WHERE run_id = ?"),
  n("SELECT COUNT(*) AS n FROM order_events WHERE run_id = ?"),
  n("SELECT COUNT(*) AS n FROM fills WHERE run_id = ?"),
  n("SELECT COUNT(*) AS n FROM ledger WHERE run_id = ?"),
  n("SELECT COUNT(*) AS n FROM protocol_events WHERE run_id = ?"),
  n("SELECT COUNT(*) AS n FROM run_commands WHERE run_id = ?"),
  assert(db:one("SELECT status FROM runs WHERE id = ?", run)).status))
db:close()
return 0
LUA
counts() { "$ALLUSE" exec "$tmp/counts.lua" "$@"; }
status_of() { counts "$@" | sed 's/.*status=//'; }
report() { "$ALLUSE" report --db "$1" --run "${2:-1}" --format json; }
# wait_for FILE REGEX: until a line of FILE matches (10 s at most)
wait_for() { for _ in $(seq 1 200); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
# run DB [args...]: the replay at max speed, log in $tmp/run.log
run() { local db=$1; shift; "$ALLUSE" run $S --feed replay:$D --db "$db" "$@" > "$tmp/run.log" 2>&1; }

# ---- the reference: one uninterrupted session ----
run "sqlite:$tmp/ref.db"; is $? 0 "an uninterrupted session at max speed exits 0"
report "sqlite:$tmp/ref.db" > "$tmp/ref.json"
ref_counts=$(counts "sqlite:$tmp/ref.db")
like "$ref_counts" "^orders=[1-9][0-9]+ distinct=[1-9][0-9]+ events=.* status=ok$" "... and stores its orders, events and fills ($ref_counts)"

# ---- killed at chosen points, then restarted ----
for fault in before_commit:1 before_commit:60 after_commit:1 after_commit:150; do
  db="sqlite:$tmp/f-${fault/:/-}.db"
  { ALLUSE_FAULT=$fault run "$db"; } 2>/dev/null; rc=$? # (no "Killed" notice from bash)
  is "$rc" 137 "$fault: the process is killed (SIGKILL)"
  is "$(status_of "$db")" running "$fault: the store shows the session still running"
  run "$db"; rc=$?
  is "$rc" 0 "$fault: the restart exits 0"
  grep -q '"msg":"resuming session: re-running to its last commit"' "$tmp/run.log"; ok $? "$fault: the restart resumes the session"
  if [ "$fault" != before_commit:1 ]; then
    grep -q '"msg":"resumed: the re-run matches the store, trading from here"' "$tmp/run.log"
    ok $? "$fault: the re-run matched the store at its last commit"
  fi
  report "$db" > "$tmp/got.json"
  cmp -s "$tmp/ref.json" "$tmp/got.json"; ok $? "$fault: the session's report is the uninterrupted one, byte for byte"
  is "$(counts "$db")" "$ref_counts" "$fault: the same orders, events, fills and ledger rows: none twice, none lost"
done

# ---- kill -9 from outside at random moments, three times, then to the end ----
db="sqlite:$tmp/k9.db"
for delay in 0.3 0.7 1.1; do
  "$ALLUSE" run $S --feed replay:$D --db "$db" --speed 1000d/s > "$tmp/k9.log" 2>&1 &
  rpid=$!
  wait_for "$tmp/k9.log" '"msg":"(session started|resumed)'
  sleep $delay
  kill -9 $rpid; wait $rpid 2>/dev/null
  rpid=
  is "$(status_of "$db")" running "kill -9 after ${delay}s of trading: the session is left running"
done
run "$db"; is $? 0 "after three kill -9 at random moments, the fourth start finishes the session"
report "$db" > "$tmp/got.json"
cmp -s "$tmp/ref.json" "$tmp/got.json"; ok $? "... with the uninterrupted session's report, byte for byte"
is "$(counts "$db")" "$ref_counts" "... and its rows, none twice, none lost"

# ---- the ALL-USE protocol (options, forks, its journal), killed mid-way ----
F=$(for t in AAPL AMZN GOOG IWM META MSFT NVDA QQQ SPY TSLA; do printf 'data/%s-daily.csv,' $t; done)
F=${F%,}
allarg=(strategies/alluse --feed "replay:$F" --from 2019-01-01 --to 2020-06-30 --cash 500000 --param profile=iai -q)
"$ALLUSE" run "${allarg[@]}" --db "sqlite:$tmp/aref.db" > /dev/null 2>&1; is $? 0 "ALL-USE, 2019 to mid-2020: an uninterrupted session"
{ ALLUSE_FAULT=after_commit:40 "$ALLUSE" run "${allarg[@]}" --db "sqlite:$tmp/akill.db" > /dev/null 2>&1; } 2>/dev/null
is $? 137 "ALL-USE: killed after its 40th commit"
"$ALLUSE" run "${allarg[@]}" --db "sqlite:$tmp/akill.db" > /dev/null 2>&1; is $? 0 "ALL-USE: the restart finishes the session"
report "sqlite:$tmp/aref.db" > "$tmp/aref.json"
report "sqlite:$tmp/akill.db" > "$tmp/akill.json"
cmp -s "$tmp/aref.json" "$tmp/akill.json"; ok $? "ALL-USE: the report is the uninterrupted one, byte for byte"
is "$(counts "sqlite:$tmp/akill.db")" "$(counts "sqlite:$tmp/aref.db")" "ALL-USE: the same rows (protocol events included)"

# ---- SIGTERM drains; the next start resumes ----
start_paced() { # DB [args...]: at 400 days/s with the endpoints; sets rpid and port
  local db=$1; shift
  ALLUSE_API_TOKEN=$TOKEN "$ALLUSE" run $S --feed replay:$D --db "$db" --speed 400d/s --listen 127.0.0.1:0 "$@" \
    > "$tmp/paced.log" 2>&1 &
  rpid=$!
  port=
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*"msg":"listening",.*"port":\([0-9]*\).*/\1/p' "$tmp/paced.log")
    [ -n "$port" ] && break
    sleep 0.05
  done
}
post() { curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/api/v1/control/$1"; }
db="sqlite:$tmp/drain.db"
start_paced "$db"
sleep 1
kill -TERM $rpid; wait $rpid; rc=$?; rpid=
is "$rc" 0 "SIGTERM drains and exits 0"
is "$(status_of "$db")" stopped "... leaving the session stopped"
like "$(tail -1 "$tmp/paced.log")" '"msg":"stopped",.*"status":"stopped"' "... and says so in its last log line"
run "$db"; is $? 0 "the next start resumes the drained session and finishes it"
report "$db" > "$tmp/got.json"
cmp -s "$tmp/ref.json" "$tmp/got.json"; ok $? "... with the uninterrupted session's report"

# ---- a flatten, then kill -9: the resume does the flatten again at the same place ----
db="sqlite:$tmp/flat.db"
start_paced "$db"
sleep 0.8
is "$(post flatten)" 200 "POST flatten"
wait_for "$tmp/paced.log" '"msg":"flatten: closing orders sent"'
sleep 0.2
kill -9 $rpid; wait $rpid 2>/dev/null; rpid=
like "$(counts "$db")" "commands=1 status=running" "the flatten is recorded in run_commands before it is done"
run "$db"; is $? 0 "the restart after kill -9 finishes the session"
grep -q '"msg":"resumed: the re-run matches the store' "$tmp/run.log"; ok $? "... its re-run, flatten included, matched the store"
like "$(counts "$db")" "commands=1 status=ok" "... and the flatten was not recorded twice"
like "$(counts "$db")" "^orders=([0-9]+) distinct=\\1 " "... no client order id twice"
# a finished session's name is free again: the next start is a new run
run "$db"; is $? 0 "a finished session starts over as a new run"
like "$(grep '"msg":"session started"' "$tmp/run.log")" '"run_id":2' "... run 2"

# ---- halt: the session stays halted until --clear-halt ----
db="sqlite:$tmp/halt.db"
start_paced "$db"
sleep 0.8
is "$(post halt)" 200 "POST halt"
wait $rpid; rc=$?; rpid=
is "$rc" 0 "a halted run exits 0"
is "$(status_of "$db")" halted "... the session is halted"
run "$db"; is $? 1 "starting a halted session is refused"
like "$(cat "$tmp/run.log")" "was halted \\(run 1\\): start it with --clear-halt" "... saying how to clear it"
run "$db" --clear-halt; is $? 0 "--clear-halt resumes it (its open orders were canceled at the halt, and again in the re-run)"
is "$(status_of "$db")" ok "... to the end"

# ---- a restart that does not match is refused; the session stays resumable ----
db="sqlite:$tmp/mismatch.db"
cp $S "$tmp/strat.lua"
{ ALLUSE_FAULT=after_commit:100 "$ALLUSE" run "$tmp/strat.lua" --feed replay:$D --db "$db" --session s1 > /dev/null 2>&1; } 2>/dev/null
"$ALLUSE" run "$tmp/strat.lua" --feed replay:$D --db "$db" --session s1 --param fast=7 > "$tmp/mm.log" 2>&1
is $? 1 "other params: refused"
like "$(cat "$tmp/mm.log")" "session 's1' \\(run 1\\) ran .* with params \\{\\}, not .* with \\{\"fast\":\"7\"\\}" "... naming both"
sed -i 's/fast = 10,/fast = 11,/' "$tmp/strat.lua"
grep -q 'fast = 11' "$tmp/strat.lua"; ok $? "the strategy file is changed"
"$ALLUSE" run "$tmp/strat.lua" --feed replay:$D --db "$db" --session s1 > "$tmp/mm.log" 2>&1
is $? 1 "changed code: the resume is refused"
like "$(grep -v '"level":"info"' "$tmp/mm.log" | head -1)" "resume: .*(the strategy, its params or the bars)" "... saying the re-run differs from the store"
is "$(status_of "$db")" incomplete "... and the session is still resumable"
cp $S "$tmp/strat.lua"
"$ALLUSE" run "$tmp/strat.lua" --feed replay:$D --db "$db" --session s1 > /dev/null 2>&1
is $? 0 "with the code it ran, the session resumes and finishes"
is "$(counts "$db")" "$ref_counts" "... with the uninterrupted session's rows"

# ---- one process per session ----
db="sqlite:$tmp/busy.db"
start_paced "$db"
wait_for "$tmp/paced.log" '"msg":"session started"'
run "$db"; is $? 1 "a second process for a running session is refused"
like "$(cat "$tmp/run.log")" "is running \\(run 1, pid $rpid on " "... naming the process"
kill -TERM $rpid; wait $rpid; rpid=

# ---- PostgreSQL ----
pg_start; prc=$?
if [ $prc = 2 ]; then
  echo "# SKIP the PostgreSQL part: $PGTEST_REASON"
elif [ $prc != 0 ]; then
  ok 1 "PostgreSQL started: $PGTEST_REASON"
else
  "$ALLUSE" db migrate --db "$PGTEST_URL" > /dev/null
  { ALLUSE_FAULT=after_commit:120 run "$PGTEST_URL"; } 2>/dev/null; is $? 137 "PostgreSQL: killed after a commit"
  "$ALLUSE" run $S --feed replay:$D --db "$PGTEST_URL" --speed 2000d/s > "$tmp/pg1.log" 2>&1 &
  rpid=$!
  wait_for "$tmp/pg1.log" '"msg":"resuming session'
  run "$PGTEST_URL"; is $? 1 "PostgreSQL: a second process is refused while the first holds the session"
  like "$(cat "$tmp/run.log")" "advisory lock" "... by the session's advisory lock"
  wait $rpid; is $? 0 "PostgreSQL: the first resumes and finishes the session"; rpid=
  report "$PGTEST_URL" > "$tmp/got.json"
  cmp -s "$tmp/ref.json" "$tmp/got.json"; ok $? "PostgreSQL: the report is the uninterrupted one, byte for byte"
  is "$(counts "$PGTEST_URL")" "$ref_counts" "PostgreSQL: the same rows"

  # The server restarts under a running session: /readyz says the store is unreachable
  # while it reconnects, the session's lock is taken again on the new connection, and
  # the session finishes as if nothing happened.
  "$ALLUSE" db migrate --db "$PGTEST_URL" > /dev/null
  "$ALLUSE" run $S --feed replay:$D --db "$PGTEST_URL" --session restart --speed 400d/s --listen 127.0.0.1:0 \
    > "$tmp/pgr.log" 2>&1 &
  rpid=$!
  wait_for "$tmp/pgr.log" '"msg":"session started"'
  port=$(sed -n 's/.*"msg":"listening",.*"port":\([0-9]*\).*/\1/p' "$tmp/pgr.log")
  sleep 0.5
  ( while kill -0 $rpid 2>/dev/null; do curl -s "http://127.0.0.1:$port/readyz"; sleep 0.02; done ) > "$tmp/readyz.txt" 2>&1 &
  poller=$!
  pg_restart
  sleep 0.5
  "$ALLUSE" run $S --feed replay:$D --db "$PGTEST_URL" --session restart > "$tmp/run.log" 2>&1
  is $? 1 "PostgreSQL restarted: a second process is still refused (the lock was taken again)"
  wait $rpid; is $? 0 "the session runs through the server's restart and finishes"; rpid=
  kill $poller 2>/dev/null; wait $poller 2>/dev/null
  like "$(cat "$tmp/readyz.txt")" "not ready: store unreachable \(reconnecting\)" "/readyz said the store was unreachable meanwhile"
  like "$(tail -1 "$tmp/readyz.txt")$(grep -c '^ready' "$tmp/readyz.txt")" "[1-9]" "... and ready before and after"
  id=$(sed -n 's/.*"msg":"session started","run_id":\([0-9]*\).*/\1/p' "$tmp/pgr.log")
  report "$PGTEST_URL" "$id" > "$tmp/got.json"
  cmp -s "$tmp/ref.json" "$tmp/got.json"; ok $? "... with the uninterrupted session's report"
fi

# ---- bad input ----
"$ALLUSE" run $S --feed replay:$D --session x > "$tmp/bad.log" 2>&1; is $? 2 "--session without --db is a usage error"
ALLUSE_FAULT=nonsense run "sqlite:$tmp/bad.db"; is $? 1 "a malformed ALLUSE_FAULT is an error, not ignored"
like "$(cat "$tmp/run.log")" "ALLUSE_FAULT must be POINT:N" "... saying the form"
done_testing
