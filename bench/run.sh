#!/bin/sh
# make bench: every benchmark, figures on stdout.  Never run by make test.
#   bench/run.sh BUILD   (BUILD holds alluse and bench/{startup,csv_import,gen_ohlcv,sma_ref})
set -e
build=$1
bin=$build/alluse
echo "startup: alluse version, start to exit (goal: median < 20 ms); /bin/true for scale"
printf '  alluse version  '; "$build/bench/startup" 200 "$bin" version
printf '  /bin/true       '; "$build/bench/startup" 200 /bin/true
ALLUSE_LUA_PATH= "$bin" exec bench/sandbox.lua

# The reference workload: gen_ohlcv's 1M- and 10M-row files, made once and kept in BUILD.
data=$build/bench/data
mkdir -p "$data"
[ -s "$data/X-1m.csv" ] || "$build/bench/gen_ohlcv" 1000000 42 "$data/X-1m.csv" "$data/X-1m.bin"
[ -s "$data/X10M-1m.csv" ] || "$build/bench/gen_ohlcv" 10000000 42 "$data/X10M-1m.csv"
echo "csv import, 1M rows (goal >= 2M rows/s):"
"$build/bench/csv_import" "$data/X-1m.csv" --repeat 3 --verify "$data/X-1m.bin" | sed 's/^/  /'
echo "csv import, 10M rows (goal: peak memory < 2x the columns):"
"$build/bench/csv_import" "$data/X10M-1m.csv" | sed 's/^/  /'
ALLUSE_LUA_PATH= "$bin" exec bench/store.lua
ALLUSE_LUA_PATH= "$bin" exec bench/indicators.lua
ALLUSE_LUA_PATH= "$bin" exec bench/options.lua
ALLUSE_LUA_PATH= "$bin" exec bench/metrics.lua
[ -s "$data/store/X.1m.bars" ] || "$bin" data import "$data/X-1m.csv" --store "$data/store" --symbol X > /dev/null
ALLUSE_LUA_PATH= "$bin" exec bench/backtest.lua "$data/store" "$build/bench/sma_ref" "$data/X-1m.bin" "$bin"
ALLUSE_LUA_PATH= "$bin" exec bench/backtest.lua "$data/store" mem
ALLUSE_LUA_PATH= "$bin" exec bench/backtest.lua "$data/store" mem json
ALLUSE_LUA_PATH= "$bin" exec bench/alluse.lua data "$bin"

# The database store (issue #7): order events persisted and make run's backtest with
# --db, on temporary SQLite files and on a private PostgreSQL server (fsync on) when
# PostgreSQL is installed.
. bench/pg_server.sh
pg_url=
if bench_pg_start; then pg_url=$PGBENCH_URL; else echo "db: PostgreSQL figures skipped: $PGBENCH_REASON"; fi
ALLUSE_LUA_PATH= "$bin" exec bench/db.lua --bin "$bin" sqlite: 'sqlite:?synchronous=normal' ${pg_url:+"$pg_url"}
bench_pg_stop
ALLUSE_LUA_PATH= "$bin" exec bench/http_server.lua 5

# The live runner (issue #8): bar-to-fill latency at 10,000 bars/s, /metrics of a real
# alluse run under wrk, and its memory (idle, and over a replay: 10 minutes by default,
# ALLUSE_BENCH_RSS_SECONDS to change it).
ALLUSE_LUA_PATH= "$bin" exec bench/live_latency.lua
sh bench/live_metrics.sh "$build"
sh bench/live_rss.sh "$build"
