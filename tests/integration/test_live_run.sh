#!/bin/bash
# alluse run with the replay feed and the paper broker (issue #8, the parts built so
# far): the replay gives the backtest's results; at a set speed the endpoints answer
# while it runs (/healthz, /readyz, /api/v1/*, the bearer token, pause/resume over
# HTTP), the control socket shows the live state, SIGTERM stops at a day boundary
# and exits 0, and --db records the run for alluse report.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
if ! command -v curl >/dev/null 2>&1; then echo "1..0 # SKIP needs curl"; exit 0; fi
tmp=$(mktemp -d)
cleanup() { [ -n "${rpid:-}" ] && kill "$rpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cd "$root"
S=strategies/examples/sma_cross.lua
D=data/SPY-daily.csv

# ---- at full speed: the same trades as the backtest ----
"$ALLUSE" run $S --feed replay:$D --speed max --db "sqlite:$tmp/runs.db" > "$tmp/max.log" 2>&1; rc=$?
is "$rc" 0 "replay at max speed exits 0"
like "$(tail -1 "$tmp/max.log")" '^\{"ts":"[^"]+","level":"info","msg":"finished",.*"days":[0-9]+,"run_id":1,"status":"ok"\}$' \
  "... and logs (a JSON line) that it finished, and the run's id in the store"
"$ALLUSE" backtest $S --data $D --trades "$tmp/bt.csv" --quiet
"$ALLUSE" report --db "sqlite:$tmp/runs.db" --run 1 --format csv > "$tmp/run.csv"
cmp -s "$tmp/bt.csv" "$tmp/run.csv"; ok $? "the replay's round trips, from the store, are the backtest's"
like "$("$ALLUSE" report --db "sqlite:$tmp/runs.db" --list)" "^1 +paper +" "the store lists it as a paper run"

# ---- at 100 days/s, with the endpoints and the control socket ----
ALLUSE_API_TOKEN=t0ken-t0ken-t0ken-42 "$ALLUSE" run $S --feed replay:$D --speed 100d/s --listen 127.0.0.1:0 \
  --control "$tmp/ctl.sock" > "$tmp/run.err" 2>&1 &
rpid=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*"msg":"listening",.*"port":\([0-9]*\).*/\1/p' "$tmp/run.err")
  [ -n "$port" ] && [ -S "$tmp/ctl.sock" ] && break
  sleep 0.05
done
ok "$([ -n "$port" ]; echo $?)" "--listen 127.0.0.1:0 logs the port it got"
like "$(head -1 "$tmp/run.err")" '^\{"ts":"[^"]+","level":"info","msg":"listening","host":"127.0.0.1","port":[0-9]+\}$' "logs are JSON lines on stdout"
b=http://127.0.0.1:$port
A="Authorization: Bearer t0ken-t0ken-t0ken-42"
is "$(curl -s $b/healthz)" "ok" "/healthz"
sleep 0.2
is "$(curl -s -o /dev/null -w '%{http_code}' $b/readyz)" 200 "/readyz once the feed runs"
is "$(curl -s -o /dev/null -w '%{http_code}' $b/api/v1/status)" 401 "/api/v1/status without the token: 401"
# /metrics: Prometheus text, valid by promtool, scraped by a real Prometheus server
curl -s $b/metrics > "$tmp/metrics.txt"
like "$(cat "$tmp/metrics.txt")" 'alluse_build_info\{version="[^"]+",commit="[^"]+"\} 1' "/metrics: build info"
like "$(cat "$tmp/metrics.txt")" 'alluse_account_equity_dollars\{account="main"\} [0-9.]+' "/metrics: equity per account"
like "$(cat "$tmp/metrics.txt")" 'alluse_http_requests_total\{path="/healthz",code="200"\} 1' "/metrics: HTTP requests by path and code"
like "$(cat "$tmp/metrics.txt")" 'alluse_event_loop_lag_seconds_count [1-9]' "/metrics: the event-loop lag histogram"
promtool_ok "$tmp/metrics.txt" "promtool check metrics accepts /metrics"
if command -v prometheus >/dev/null 2>&1; then
  pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  printf 'global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: alluse\n    static_configs:\n      - targets: ["127.0.0.1:%s"]\n' "$port" > "$tmp/prom.yml"
  prometheus --config.file="$tmp/prom.yml" --storage.tsdb.path="$tmp/tsdb" --web.listen-address="127.0.0.1:$pport" \
    > "$tmp/prom.log" 2>&1 &
  ppid_=$!
  got=""
  for _ in $(seq 1 100); do
    got=$(curl -s "http://127.0.0.1:$pport/api/v1/query?query=alluse_build_info" 2>/dev/null)
    echo "$got" | grep -q '"alluse_build_info"' && break
    sleep 0.1
  done
  kill $ppid_ 2>/dev/null; wait $ppid_ 2>/dev/null
  like "$got" '"__name__":"alluse_build_info"' "a real Prometheus server scrapes /metrics (its query API returns alluse_build_info)"
else
  echo "# SKIP prometheus is not installed"
fi
st=$(curl -s -H "$A" $b/api/v1/status)
like "$st" '"date": "[0-9]{4}-[0-9]{2}-[0-9]{2}"' "/api/v1/status with the token: the replay's date"
like "$(curl -s -H "$A" $b/api/v1/accounts)" '"name": "main"' "/api/v1/accounts"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "$A" $b/api/v1/positions)" 200 "/api/v1/positions"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "$A" $b/api/v1/orders)" 200 "/api/v1/orders"
is "$(curl -s -H "$A" "$b/api/v1/events?limit=5")" "[]" "/api/v1/events (this strategy records none)"
is "$(curl -s -o /dev/null -w '%{http_code}' -H "$A" $b/api/v1/weeks)" 200 "/api/v1/weeks"
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST $b/api/v1/control/pause)" 401 "pause without the token: 401"
like "$(curl -s -X POST -H "$A" $b/api/v1/control/pause)" '"paused": true' "pause with the token"
sleep 0.2
d1=$(printf 'date()\n' | "$ALLUSE" repl --attach "$tmp/ctl.sock" 2>&1)
sleep 0.4
d2=$(printf 'date()\n' | "$ALLUSE" repl --attach "$tmp/ctl.sock" 2>&1)
is "$d2" "$d1" "paused: the replay's date stands still (seen through the control socket)"
is "$(printf 'status()\n' | "$ALLUSE" repl --attach "$tmp/ctl.sock" 2>&1)" '"paused"' "the control socket sees the pause"
printf 'resume()\n' | "$ALLUSE" repl --attach "$tmp/ctl.sock" > /dev/null 2>&1
# flatten: while paused with a position open (so nothing else moves), the closing
# orders go out at once; try a few pauses until one finds a position
held=""
for _ in $(seq 1 20); do
  curl -s -X POST -H "$A" $b/api/v1/control/pause > /dev/null
  sleep 0.15
  if curl -s -H "$A" $b/api/v1/positions | grep -q '"qty"'; then held=1; break; fi
  curl -s -X POST -H "$A" $b/api/v1/control/resume > /dev/null
  sleep 0.3
done
ok "$([ -n "$held" ]; echo $?)" "paused with a position open (to flatten)"
like "$(curl -s -X POST -H "$A" $b/api/v1/control/flatten)" '"flatten"' "POST /api/v1/control/flatten"
for _ in $(seq 1 100); do grep -q '"msg":"flatten: closing orders sent"' "$tmp/run.err" && break; sleep 0.05; done
like "$(cat "$tmp/run.err")" '"msg":"flatten: closing orders sent","orders":[1-9]' "... sends the closing orders, even while paused"
curl -s -X POST -H "$A" $b/api/v1/control/resume > /dev/null
sleep 0.4
d3=$(printf 'date()\n' | "$ALLUSE" repl --attach "$tmp/ctl.sock" 2>&1)
ok "$([ "$d3" \> "$d1" ]; echo $?)" "resume() over the control socket: the replay goes on ($d1 -> $d3)"
kill -TERM $rpid
for _ in $(seq 1 100); do kill -0 $rpid 2>/dev/null || break; sleep 0.05; done
wait $rpid; rc=$?
rpid=""
is "$rc" 0 "SIGTERM: stops at a day boundary and exits 0"
like "$(cat "$tmp/run.err")" '"msg":"draining: stopping at the end of the day","grace_s":30,"signal":"SIGTERM"' "... logging that it drains"
like "$(cat "$tmp/run.err")" '"msg":"stopped","date":"[0-9-]+"' "... and the day it stopped at"
ok "$(grep -c t0ken "$tmp/run.err" | grep -qx 0; echo $?)" "the API token never appears in the log"
out=$(ALLUSE_API_TOKEN=short "$ALLUSE" run $S --feed replay:$D 2>&1); rc=$?
is "$rc" 2 "a token under 16 characters is refused (exit 2)"
like "$out" "ALLUSE_API_TOKEN is too short" "... saying so"
ok "$([ ! -e "$tmp/ctl.sock" ]; echo $?)" "the control socket is removed"

# ---- hot reload: SIGHUP and reload(), ctx.state carried over, a broken file ignored ----
cat > "$tmp/strat.lua" <<'LUA'
return { name = "reloadable", params = {},
  on_day = function(ctx, date)
    ctx.state.days = (ctx.state.days or 0) + 1
    if ctx.state.days % 10 == 0 then print("v1 days=" .. ctx.state.days) end
  end }
LUA
"$ALLUSE" run "$tmp/strat.lua" --feed replay:$D --speed 200d/s --control "$tmp/r.sock" > "$tmp/r.log" 2>&1 &
rpid=$!
for _ in $(seq 1 100); do grep -q '"text":"v1 days=' "$tmp/r.log" && break; sleep 0.05; done
sed -i 's/v1 days=/v2 days=/' "$tmp/strat.lua"
kill -HUP $rpid
for _ in $(seq 1 100); do grep -q '"text":"v2 days=' "$tmp/r.log" && break; sleep 0.05; done
like "$(cat "$tmp/r.log")" '"msg":"reloaded"' "SIGHUP: the strategy is reloaded"
last_v1=$(grep -o '"text":"v1 days=[0-9]*' "$tmp/r.log" | tail -1 | grep -o '[0-9]*$')
first_v2=$(grep -o '"text":"v2 days=[0-9]*' "$tmp/r.log" | head -1 | grep -o '[0-9]*$')
ok "$([ -n "$first_v2" ] && [ "$first_v2" -gt "${last_v1:-0}" ]; echo $?)" "the new code runs on, with ctx.state carried over (v1 at $last_v1 days, then v2 at $first_v2)"
printf 'return { name = "broken", on_day = function( }\n' > "$tmp/strat.lua"
is "$(printf 'reload()\n' | "$ALLUSE" repl --attach "$tmp/r.sock" 2>&1)" '"reloading at the end of the day"' "reload() over the control socket"
for _ in $(seq 1 100); do grep -q '"msg":"reload failed' "$tmp/r.log" && break; sleep 0.05; done
like "$(cat "$tmp/r.log")" '"msg":"reload failed: the old code goes on"' "a file that does not load is reported"
n1=$(grep -c '"text":"v2 days=' "$tmp/r.log"); sleep 0.4; n2=$(grep -c '"text":"v2 days=' "$tmp/r.log")
ok "$([ "$n2" -gt "$n1" ]; echo $?)" "... and the old code keeps running ($n1 -> $n2 lines)"
kill -TERM $rpid; wait $rpid; rc=$?; rpid=""
is "$rc" 0 "and it still drains and exits 0"

# ---- --watch: saving the file reloads it ----
cat > "$tmp/w.lua" <<'LUA'
return { name = "watched", params = {},
  on_day = function(ctx) ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n % 10 == 0 then print("w1 n=" .. ctx.state.n) end end }
LUA
"$ALLUSE" run "$tmp/w.lua" --feed replay:$D --speed 200d/s --watch > "$tmp/w.log" 2>&1 &
rpid=$!
for _ in $(seq 1 100); do grep -q '"text":"w1 n=' "$tmp/w.log" && break; sleep 0.05; done
sed 's/w1 n=/w2 n=/' "$tmp/w.lua" > "$tmp/w.lua.new" && mv "$tmp/w.lua.new" "$tmp/w.lua"   # as editors save
for _ in $(seq 1 100); do grep -q '"text":"w2 n=' "$tmp/w.log" && break; sleep 0.05; done
like "$(cat "$tmp/w.log")" '"msg":"changed: reloading at the end of the day","file":"w.lua"' "--watch: the saved file is noticed"
like "$(cat "$tmp/w.log")" '"text":"w2 n=[0-9]+' "... and the new code runs, with ctx.state carried over"
kill -TERM $rpid; wait $rpid; rpid=""

# ---- the protocol's metrics: ATR levels, the feed, the store's commits ----
F=$(for t in AAPL AMZN GOOG IWM META MSFT NVDA QQQ SPY TSLA; do printf 'data/%s-daily.csv,' $t; done)
"$ALLUSE" run strategies/alluse --feed "replay:${F%,}" --from 2020-01-02 --to 2020-12-31 --cash 500000 \
  --param profile=iai --db "sqlite:$tmp/proto.db" --speed 100d/s --listen 127.0.0.1:0 > "$tmp/p.log" 2>&1 &
rpid=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*"msg":"listening",.*"port":\([0-9]*\).*/\1/p' "$tmp/p.log"); [ -n "$port" ] && break; sleep 0.05
done
# the COVID crash (February to April 2020) puts short options at ATR levels 1 to 3
for _ in $(seq 1 100); do
  curl -s "http://127.0.0.1:$port/metrics" > "$tmp/pm.txt"
  grep -q '^alluse_protocol_level{account="[^"]*",ticker="[A-Z]*"} [123]$' "$tmp/pm.txt" && break
  sleep 0.1
done
like "$(cat "$tmp/pm.txt")" 'alluse_protocol_level\{account="[A-Z-]+",ticker="[A-Z]+"\} [123]' \
  "/metrics: the protocol level per account and ticker, from the strategy's level events"
like "$(cat "$tmp/pm.txt")" 'alluse_store_write_duration_seconds_count [1-9]' "/metrics: the store's commit latency"
like "$(cat "$tmp/pm.txt")" 'alluse_feed_lag_seconds\{feed="replay"\} [0-9.e-]+' "/metrics: the feed's lag against --speed"
like "$(cat "$tmp/pm.txt")" 'alluse_feed_last_delivery_timestamp_seconds\{feed="replay"\} 1[0-9]{9}' \
  "/metrics: when the feed last delivered"
promtool_ok "$tmp/pm.txt" "promtool accepts them"
kill -TERM $rpid; wait $rpid; rpid=""

# ---- --stay: a pod keeps serving after the feed ends, or after its strategy halts ----
cat > "$tmp/raises.lua" <<'LUA'
return { name = "raises", params = {}, on_day = function(ctx, date) if date >= "2001-01-02" then error("boom") end end }
LUA
for case in ended halted; do
  strat=$S; [ $case = halted ] && strat="$tmp/raises.lua"
  "$ALLUSE" run "$strat" --feed replay:$D --stay --listen 127.0.0.1:0 > "$tmp/stay.log" 2>&1 &
  rpid=$!
  for _ in $(seq 1 200); do grep -q 'serving until SIGTERM' "$tmp/stay.log" && break; sleep 0.05; done
  port=$(sed -n 's/.*"msg":"listening",.*"port":\([0-9]*\).*/\1/p' "$tmp/stay.log")
  want="the feed ended"; [ $case = halted ] && want=halted
  is "$(curl -s "http://127.0.0.1:$port/readyz")" "not ready: $want" "--stay ($case): still serving, /readyz says $want"
  like "$(curl -s "http://127.0.0.1:$port/metrics")" "alluse_strategy_halted\\{strategy=\"[^\"]+\"\\} $([ $case = halted ] && echo 1 || echo 0)" \
    "... alluse_strategy_halted is $([ $case = halted ] && echo 1 || echo 0)"
  kill -TERM $rpid; wait $rpid; rc=$?; rpid=""
  is "$rc" "$([ $case = halted ] && echo 1 || echo 0)" "... and SIGTERM ends it (exit 0, or 1 for a halted strategy)"
done

# ---- replay from the store: the bar store (--store) and the database's bars table (--db) ----
"$ALLUSE" data import $D --store "$tmp/bars" --symbol SPY > /dev/null
"$ALLUSE" data import $D --db "sqlite:$tmp/bars.db" --symbol SPY > /dev/null
"$ALLUSE" run $S --feed replay:SPY --store "$tmp/bars" --db "sqlite:$tmp/fromstore.db" -q; is "$?" 0 "replay:SPY from --store DIR"
"$ALLUSE" report --db "sqlite:$tmp/fromstore.db" --run 1 --format csv > "$tmp/fromstore.csv"
cmp -s "$tmp/bt.csv" "$tmp/fromstore.csv"; ok $? "... the backtest's round trips"
"$ALLUSE" run $S --feed replay:SPY:1d --db "sqlite:$tmp/bars.db" -q; is "$?" 0 "replay:SPY:1d from the bars table of --db"
"$ALLUSE" report --db "sqlite:$tmp/bars.db" --run 1 --format csv > "$tmp/fromdb.csv"
cmp -s "$tmp/bt.csv" "$tmp/fromdb.csv"; ok $? "... the backtest's round trips"
"$ALLUSE" run $S --feed replay:NOPE --store "$tmp/bars" > "$tmp/nope.log" 2>&1; is "$?" 1 "replay of a symbol the store lacks fails"
like "$(cat "$tmp/nope.log")" "NOPE: not a file, and .* has no bars for it" "... saying so in one line"

"$ALLUSE" run $S --feed replay:$D --speed fast >/dev/null 2>&1; is "$?" 2 "a bad --speed is a usage error"
"$ALLUSE" run $S --feed $D >/dev/null 2>&1; is "$?" 2 "a --feed without replay: is a usage error"
"$ALLUSE" run $S --feed replay:$D --broker alpaca >/dev/null 2>&1; is "$?" 2 "a broker other than paper: usage error"
done_testing
