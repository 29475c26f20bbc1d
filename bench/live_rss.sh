#!/bin/sh
# bench/live_rss: issue #8's memory goals for the live runner: idle RSS under 30 MB, and
# RSS flat over a 10-minute replay at max speed (no growth).
#   sh bench/live_rss.sh BUILD      (ALLUSE_BENCH_RSS_SECONDS: the long run's length, 600 s)
#
# Every figure is of a real `alluse run` of the ALL-USE strategy on the shipped daily bars
# of its ten tickers (6,641 New York days), read from /proc/PID/status:
#   idle    at --speed 1d/s with --listen and --control, after 3 s: VmRSS and VmHWM.
#   max     the whole replay at --speed max, VmRSS every 0.2 s from its start (the
#           listening log line): it lasts ~4 s.
#   long    the same replay spread over the run's length (--speed DAYS/SECONDS d/s):
#           VmRSS every second, /metrics scraped every 5 s.  Flat means: the least-
#           squares slope over the second half, times that half's length, under 1 MB.
# Why not 10 minutes at max speed: a replay holds its bars in memory, and at max speed
# the shipped data lasts ~4 s; gen_ohlcv's 1-minute bars (sma_cross) go at ~2M bars/s,
# so 10 minutes would need over 1G bars (~50 GB).  `long` runs the same days, slower.
set -e
build=$1
bin=$build/alluse
seconds=${ALLUSE_BENCH_RSS_SECONDS:-600}
. bench/live_lib.sh
tmp=$(mktemp -d)
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo "live RSS: a real alluse run strategies/alluse (ALL-USE, 10 tickers)"
live_start "$bin" "$tmp/idle.log" 1d/s --listen 127.0.0.1:0 --control "$tmp/ctl.sock"
trap 'live_stop; rm -rf "$tmp"' EXIT
live_port "$tmp/idle.log" > /dev/null
sleep 3
rss=$(live_kib "$LIVE_PID" VmRSS)
hwm=$(live_kib "$LIVE_PID" VmHWM)
live_stop
echo "  idle (--speed 1d/s, --listen, --control, after 3 s): VmRSS $(mib "$rss") MiB, VmHWM $(mib "$hwm") MiB" \
  "(goal < 30 MB: $([ "$rss" -lt 29297 ] && echo PASS || echo FAIL))"

# max: sample from the moment it listens (the bars are loaded: the replay starts) until
# the replay ends; its last log line says how many days it ran.
live_start "$bin" "$tmp/max.log" max --listen 127.0.0.1:0 --db "sqlite:$tmp/max.db"
live_port "$tmp/max.log" > /dev/null
: > "$tmp/max.rss"
while kill -0 "$LIVE_PID" 2>/dev/null; do
  live_kib "$LIVE_PID" VmRSS >> "$tmp/max.rss" || true
  sleep 0.2
done
live_stop
days=$(sed -n 's/.*"msg":"finished".*"days":\([0-9]*\).*/\1/p' "$tmp/max.log")
awk -v days="$days" '$1 > 0 { n++; if (n == 1) first = $1; last = $1; if ($1 > max) max = $1 }
  END { printf "  max speed, the whole replay (%d days, %.1f s): VmRSS %.1f MiB at its start -> %.1f MiB at the end" \
          " (max %.1f): +%.1f KiB per day replayed  (goal flat: %s)\n", days, n * 0.2, first / 1024, last / 1024,
          max / 1024, (last - first) / days, (last - first < 1024 ? "PASS" : "FAIL") }' "$tmp/max.rss"

# long: the same days over `seconds`, and a little more so that the replay outlasts the
# sampling (the runner sleeps whole milliseconds between days: at a high speed it runs
# faster than asked).
speed=$(awk -v d="$days" -v s="$seconds" 'BEGIN { printf "%.3f", 0.97 * d / s }')
live_start "$bin" "$tmp/long.log" "${speed}d/s" --listen 127.0.0.1:0 --db "sqlite:$tmp/long.db"
port=$(live_port "$tmp/long.log")
: > "$tmp/long.rss"
start=$(date +%s.%N)
i=0 ran=0
while [ "$i" -lt "$seconds" ] && kill -0 "$LIVE_PID" 2>/dev/null; do
  i=$((i + 1))
  if [ $((i % 5)) -eq 0 ]; then
    curl -s -o /dev/null "http://127.0.0.1:$port/metrics"
    ran=$(live_days "$port")
  fi
  echo "$(date +%s.%N) $(live_kib "$LIVE_PID" VmRSS)" >> "$tmp/long.rss"
  sleep 1
done
live_stop
awk -v start="$start" -v secs="$seconds" -v ran="$ran" -v speed="$speed" '
  $2 > 0 { n++; t[n] = $1 - start; r[n] = $2 / 1024; if (r[n] > max) max = r[n] }
  END {
    warm = int(n / 10) + 1
    half = int(n / 2) + 1
    for (i = half; i <= n; i++) { k++; st += t[i]; sr += r[i]; stt += t[i] * t[i]; str += t[i] * r[i] }
    slope = (k * str - st * sr) / (k * stt - st * st) # MiB per second
    grow = slope * (t[n] - t[half])
    printf "  long, %s d/s for %d s (%d days): VmRSS %.1f MiB at %.0f s, %.1f MiB at %.0f s (after warm-up),\n",
      speed, t[n], ran, r[1], t[1], r[warm], t[warm]
    printf "    %.1f MiB at the end, max %.1f; second half: %+.2f MiB/min, %+.1f MiB over %.0f s" \
      " (goal flat, taken as < 1 MB: %s)\n", r[n], max, slope * 60, grow, t[n] - t[half],
      (grow < 0.954 ? "PASS" : "FAIL")
  }' "$tmp/long.rss"
