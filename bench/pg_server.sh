# bench/pg_server.sh — a private, throwaway PostgreSQL server for the benchmarks (POSIX sh).
#
# Sourced (bench/run.sh):
#   . bench/pg_server.sh
#   if bench_pg_start; then ... "$PGBENCH_URL" ...; else echo "skipped: $PGBENCH_REASON"; fi
#   bench_pg_stop               # also run by the EXIT/INT/TERM traps bench_pg_start sets
# Run (by hand): sh bench/pg_server.sh CMD [ARG...]   runs CMD with $PGBENCH_URL exported.
#
# bench_pg_start: initdb (trust auth, superuser `alluse`, UTF8, locale C, --no-sync) into
# a fresh mktemp -d, a server on a free 127.0.0.1 port with its socket in that directory,
# database alluse_bench; as root the server runs as the `postgres` system user.  fsync
# and synchronous_commit stay on: the figures are durable commits.  Returns 0 with
# PGBENCH_URL=postgres://alluse@127.0.0.1:PORT/alluse_bench?sslmode=disable (and
# PGBENCH_DIR, PGBENCH_PORT), 2 when PostgreSQL is not installed, 1 when it would not
# start; PGBENCH_REASON says why.  bench_pg_stop stops it and removes the directory.
# PGBENCH_PG_BIN=DIR picks the PostgreSQL bin directory (default: the newest
# /usr/lib/postgresql/*/bin, else pg_ctl on PATH).
# (tests/integration/pg.sh, on another branch, is the fuller version for the tests.)

PGBENCH_URL= PGBENCH_DIR= PGBENCH_PORT= PGBENCH_REASON=
_pgb_bin= _pgb_user=

_pgb_as() { # run a command as the server's user, from a directory it can enter
  if [ -n "$_pgb_user" ]; then
    (cd / && runuser -u "$_pgb_user" -- env LC_ALL=C "$@")
  else
    (cd / && env LC_ALL=C "$@")
  fi
}

_pgb_find_bin() {
  if [ -n "${PGBENCH_PG_BIN:-}" ]; then
    [ -x "$PGBENCH_PG_BIN/initdb" ] && [ -x "$PGBENCH_PG_BIN/pg_ctl" ] && echo "$PGBENCH_PG_BIN"
    return
  fi
  _b=
  for _d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n); do
    [ -x "$_d/initdb" ] && [ -x "$_d/pg_ctl" ] && _b=$_d
  done
  if [ -z "$_b" ] && _p=$(command -v pg_ctl 2>/dev/null); then
    _d=$(dirname "$_p")
    [ -x "$_d/initdb" ] && _b=$_d
  fi
  [ -n "$_b" ] && echo "$_b"
}

_pgb_free_port() { # the kernel's pick when python3 is there, else a pseudo-random one
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
      2>/dev/null && return
  fi
  echo $((20000 + ($$ * 7919 + $(date +%N | sed 's/^0*//;s/^$/0/')) % 30000))
}

bench_pg_start() {
  PGBENCH_REASON=
  _pgb_bin=$(_pgb_find_bin) || { PGBENCH_REASON="PostgreSQL is not installed (no initdb/pg_ctl)"; return 2; }
  command -v psql >/dev/null 2>&1 || [ -x "$_pgb_bin/psql" ] || { PGBENCH_REASON="psql is not installed"; return 2; }
  _pgb_user=
  if [ "$(id -u)" = 0 ]; then
    id -u postgres >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1 ||
      { PGBENCH_REASON="running as root with no postgres user (or no runuser) to run the server as"; return 2; }
    _pgb_user=postgres
  fi
  PGBENCH_DIR=$(mktemp -d /tmp/alluse-pgbench.XXXXXX) || { PGBENCH_REASON="mktemp -d failed"; return 1; }
  trap 'bench_pg_stop' EXIT
  trap 'bench_pg_stop; exit 130' INT TERM
  chmod 0711 "$PGBENCH_DIR"
  [ -z "$_pgb_user" ] || chown "$_pgb_user:" "$PGBENCH_DIR"
  if ! _pgb_as "$_pgb_bin/initdb" -D "$PGBENCH_DIR/data" -U alluse -A trust --no-sync -E UTF8 --locale=C \
      > "$PGBENCH_DIR/initdb.log" 2>&1; then
    PGBENCH_REASON="initdb failed: $(tail -n 1 "$PGBENCH_DIR/initdb.log")"
    bench_pg_stop; return 1
  fi
  for _try in 1 2 3 4 5; do
    PGBENCH_PORT=$(_pgb_free_port)
    if _pgb_as "$_pgb_bin/pg_ctl" -D "$PGBENCH_DIR/data" -l "$PGBENCH_DIR/server.log" -w -t 60 -s \
        -o "-p $PGBENCH_PORT -k $PGBENCH_DIR -c listen_addresses=127.0.0.1" start > /dev/null 2>&1; then
      PGBENCH_URL="postgres://alluse@127.0.0.1:$PGBENCH_PORT/alluse_bench?sslmode=disable"
      break
    fi
    grep -q 'could not bind\|already in use' "$PGBENCH_DIR/server.log" 2>/dev/null || break
  done
  if [ -z "$PGBENCH_URL" ]; then
    PGBENCH_REASON="the server did not start: $(tail -n 1 "$PGBENCH_DIR/server.log" 2>/dev/null)"
    bench_pg_stop; return 1
  fi
  _psql=psql
  [ -x "$_pgb_bin/psql" ] && _psql=$_pgb_bin/psql
  if ! "$_psql" -X -q -v ON_ERROR_STOP=1 -d "postgresql://alluse@/postgres?host=$PGBENCH_DIR&port=$PGBENCH_PORT" \
      -c 'CREATE DATABASE alluse_bench' > /dev/null 2> "$PGBENCH_DIR/createdb.err"; then
    PGBENCH_REASON="CREATE DATABASE failed: $(head -n 1 "$PGBENCH_DIR/createdb.err")"
    bench_pg_stop; return 1
  fi
  export PGBENCH_URL PGBENCH_DIR PGBENCH_PORT
  return 0
}

bench_pg_stop() {
  if [ -n "$PGBENCH_DIR" ] && [ -d "$PGBENCH_DIR" ]; then
    if [ -f "$PGBENCH_DIR/data/postmaster.pid" ]; then
      _pgb_as "$_pgb_bin/pg_ctl" -D "$PGBENCH_DIR/data" -m fast -w -t 30 -s stop > /dev/null 2>&1 ||
        _pgb_as "$_pgb_bin/pg_ctl" -D "$PGBENCH_DIR/data" -m immediate -w -t 10 -s stop > /dev/null 2>&1
    fi
    rm -rf "$PGBENCH_DIR"
  fi
  PGBENCH_URL= PGBENCH_DIR= PGBENCH_PORT=
  return 0
}

# Run, not sourced: start, run the command, stop.
case $0 in
*pg_server.sh)
  [ $# -gt 0 ] || { echo "usage: sh bench/pg_server.sh CMD [ARG...]" >&2; exit 2; }
  bench_pg_start || { echo "pg_server.sh: $PGBENCH_REASON" >&2; exit 1; }
  "$@"
  ;;
esac
