#!/bin/sh
# bench/live_metrics: issue #8's goal for the live runner's /metrics: >= 20,000
# requests/s under wrk on loopback with keep-alive, and an event-loop lag p99 < 1 ms
# under that load.
#   sh bench/live_metrics.sh BUILD      (ALLUSE_BENCH_WRK_SECONDS: each load's length, 10 s)
#
# The server is a real `alluse run` of the ALL-USE strategy on the shipped daily bars of
# its ten tickers, measured twice:
#   early  at --speed 1d/s once 3 days have run (so /metrics has all its series), a
#          day's trading running on the loop during the load;
#   late   run to day 6,000 at 500d/s, then paused (control socket): by then the
#          strategy has forked dozens of accounts, and /metrics shows each of them.
# wrk runs -t2 -c32 on the same two-core machine as the server.
#
# The lag is the runner's own alluse_event_loop_lag_seconds histogram (lua/alluse/live.lua:
# the lateness of a 100 ms timer; buckets 0.1, 0.25, 0.5, 1, 2.5 ms ...), read before
# and after the load: the p99 is the bucket bound under which 99% of the samples taken
# during the load fall.  The timer gives at most 10 samples a second, so over 10 s the
# p99 is all but the largest one.
set -e
build=$1
bin=$build/alluse
seconds=${ALLUSE_BENCH_WRK_SECONDS:-10}
if ! command -v wrk >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
  echo "live /metrics: skipped (needs wrk and curl)"
  exit 0
fi
. bench/live_lib.sh
tmp=$(mktemp -d)

# measure WHAT: load the running server's /metrics with wrk; print the figures.
measure() {
  url=http://127.0.0.1:$port/metrics
  curl -s "$url" > "$tmp/before"
  wrk -t2 -c32 -d"${seconds}s" --latency "$url" > "$tmp/wrk"
  curl -s "$url" > "$tmp/after"
  accounts=$(grep -c '^alluse_account_equity_dollars{' "$tmp/after" || true)
  echo "  $1, day $(live_days "$port"), $accounts accounts; GET /metrics ($(wc -c < "$tmp/after") bytes):"
  rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/wrk")
  p50=$(awk '$1 == "50%" { print $2 }' "$tmp/wrk")
  p99=$(awk '$1 == "99%" { print $2 }' "$tmp/wrk")
  errors=$(grep -E 'Non-2xx|Socket errors' "$tmp/wrk" | tr -s ' ' | tr '\n' ';' || true)
  awk -v r="$rps" -v a="$p50" -v b="$p99" -v e="$errors" 'BEGIN {
    printf "    %.0f requests/s (goal >= 20,000: %s); wrk latency p50 %s, p99 %s%s\n", r,
      (r >= 20000 ? "PASS" : "FAIL"), a, b, (e == "" ? "" : "; " e) }'
  # The lag samples taken during the load: the histogram's buckets after minus before.
  awk '
    /^alluse_event_loop_lag_seconds_bucket/ {
      if (FILENAME == ARGV[1]) { before[$1] = $2; next }
      le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le)
      n++; bound[n] = le; cum[n] = $2 - before[$1]
    }
    END {
      total = cum[n]
      for (i = 1; i <= n; i++) if (cum[i] >= 0.99 * total) { p = bound[i]; break }
      for (i = 1; i <= n; i++) if (bound[i] == "0.001") over = total - cum[i]
      printf "    event-loop lag p99 <= %s ms (%d samples during the load, %d over 1 ms)  (goal < 1 ms: %s)\n",
        (p == "+Inf" ? p : p * 1000), total, over, ((p != "+Inf" && p + 0 <= 0.001) ? "PASS" : "FAIL")
    }' "$tmp/before" "$tmp/after"
}

echo "live /metrics: a real alluse run strategies/alluse (ALL-USE, 10 tickers), wrk -t2 -c32 -d${seconds}s, loopback, keep-alive"
live_start "$bin" "$tmp/run.log" 1d/s --listen 127.0.0.1:0
trap 'live_stop; rm -rf "$tmp"' EXIT
port=$(live_port "$tmp/run.log")
live_wait_days "$port" 3
measure "early: --speed 1d/s"
live_stop

live_start "$bin" "$tmp/run.log" 500d/s --listen 127.0.0.1:0 --control "$tmp/ctl.sock"
trap 'live_stop; rm -rf "$tmp"' EXIT
port=$(live_port "$tmp/run.log")
live_wait_days "$port" 6000
echo 'pause()' | "$bin" repl --attach "$tmp/ctl.sock" > /dev/null
measure "late: paused"
live_stop
