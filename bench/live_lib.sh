# bench/live_lib.sh: starting and stopping a real `alluse run` for the live runner's
# benchmarks (bench/live_metrics.sh, bench/live_rss.sh).  POSIX sh, sourced:
#   . bench/live_lib.sh
#   live_start BIN LOG SPEED [ARG...]   ALL-USE on the shipped daily bars of its ten tickers
#                                       (what make run backtests), in the background:
#                                       LIVE_PID; the EXIT/INT/TERM traps stop it
#   port=$(live_port LOG)               the port of its --listen 127.0.0.1:0 (waits for the log line)
#   live_days PORT                      days replayed so far (/api/v1/status)
#   live_wait_days PORT N               until N days have run (fails if the run ends first)
#   live_kib PID FIELD                  a /proc/PID/status field in KiB (VmRSS, VmHWM, RssAnon)
#   live_stop                           SIGTERM, then wait for it
LIVE_PID=
LIVE_TICKERS="AAPL AMZN GOOG IWM META MSFT NVDA QQQ SPY TSLA"

live_stop() {
  if [ -n "$LIVE_PID" ]; then
    kill "$LIVE_PID" 2>/dev/null || true # it may have ended by itself
    wait "$LIVE_PID" 2>/dev/null || true
    LIVE_PID=
  fi
}

live_start() {
  _bin=$1 _log=$2 _speed=$3
  shift 3
  _feed=
  for _t in $LIVE_TICKERS; do _feed="$_feed${_feed:+,}data/$_t-daily.csv"; done
  trap live_stop EXIT
  trap 'live_stop; exit 130' INT TERM
  # ALLUSE_LOG_FORMAT=json: the log lines are read below, whatever stdout is.
  ALLUSE_LOG_FORMAT=json "$_bin" run strategies/alluse --feed "replay:$_feed" --speed "$_speed" \
    --param profile=iai --cash 500000 "$@" > "$_log" 2>&1 &
  LIVE_PID=$!
}

live_port() {
  for _ in $(seq 1 200); do
    _port=$(sed -n 's/.*"msg":"listening",.*"port":\([0-9]*\).*/\1/p' "$1")
    [ -n "$_port" ] && { echo "$_port"; return 0; }
    sleep 0.05
  done
  echo "live bench: alluse run did not log its port:" >&2
  cat "$1" >&2
  return 1
}

live_days() {
  curl -s "http://127.0.0.1:$1/api/v1/status" | sed -n 's/.*"days": *\([0-9]*\).*/\1/p'
}

live_wait_days() {
  until [ "$(live_days "$1")" -ge "$2" ] 2>/dev/null; do
    kill -0 "$LIVE_PID" 2>/dev/null || { echo "live bench: alluse run ended before day $2" >&2; return 1; }
    sleep 0.1
  done
}

live_kib() {
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}
