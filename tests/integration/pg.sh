# pg.sh — a throwaway PostgreSQL server for integration tests.  Source it (bash), then:
#
#   trap pg_stop EXIT                 # first: pg_stop is safe before, during and after pg_start
#   pg_start; rc=$?
#   [ $rc = 2 ] && { echo "1..0 # SKIP $PGTEST_REASON"; exit 0; }   # PostgreSQL not installed
#   [ $rc = 0 ] || { echo "Bail out! $PGTEST_REASON"; exit 1; }       # installed, did not start
#   (or just: pg_start_or_skip, which does those lines; call it before any TAP line)
#   pg_psql "select 1"                # -> 1
#   "$ALLUSE" ... "$PGTEST_URL"
#
# pg_start   initdb (trust auth for local and 127.0.0.1, superuser role `alluse`, UTF8,
#            locale C, --no-sync) in a fresh mktemp -d, a server on a free 127.0.0.1 port
#            and a unix socket in that directory, fsync on (the restart tests rely on
#            durability), log in $PGTEST_LOG; creates database alluse_test.  ~1 s.
#            As root the server runs as the `postgres` system user (PGTEST_RUN_AS=USER
#            to pick another); otherwise as the current user.  Returns 0, or 2 when
#            PostgreSQL (or a user to run it as) is missing, or 1 when the server would
#            not start; either way one line `pg.sh: REASON` goes to stderr (after it, on
#            a failed start, the tail of the server log) and $PGTEST_REASON holds REASON.
#            A failed pg_start leaves nothing behind and no PGTEST_ variable set.
#            Call it in the test's own shell, not in $(...) or a pipeline: it sets
#            variables.  One server per shell; a child process may start its own.
# pg_stop    stop the server (fast) and remove $PGTEST_DIR; idempotent; for traps.  It
#            only ever stops the server this shell started (a child that inherited the
#            PGTEST_ variables and calls pg_stop leaves its parent's server alone).
# pg_stop_server [MODE]  stop the server, keep the data (MODE: fast, the default, smart
#            or immediate — immediate is a crash: the next start replays the WAL).
# pg_start_server        start it again on the same port, socket and data directory.
# pg_restart pg_stop_server fast, then pg_start_server.
# pg_psql [SQL]          psql -X -A -t -q -v ON_ERROR_STOP=1 on $PGTEST_URL: SQL, or
#            stdin without one; prints the result, returns psql's status.
# pg_enable_ssl CERT KEY  copy a server certificate and its key into the data directory
#            (owned by the server's user, the key mode 0600), turn ssl on with them and
#            restart.  pg_hba.conf is unchanged: TCP takes TLS and plain connections
#            alike, so the client's sslmode decides.  pg_disable_ssl: ssl off, restart.
#            Both return pg_restart's status.
#
# Exported by pg_start (unset again by pg_stop):
#   PGTEST_DIR         the temporary directory: data/, sock/, server.log
#   PGTEST_PORT        the TCP port on 127.0.0.1 (also the socket's port number)
#   PGTEST_SOCKDIR     the unix socket directory ($PGTEST_DIR/sock)
#   PGTEST_URL         postgres://alluse@127.0.0.1:PORT/alluse_test?sslmode=disable
#   PGTEST_SOCKET_URL  postgresql://alluse@/alluse_test?host=SOCKDIR&port=PORT
#   PGTEST_BIN         the PostgreSQL bin directory used (initdb, pg_ctl, postgres, psql)
#   PGTEST_DATA, PGTEST_LOG   the data directory and the server log
# Input: PGTEST_PG_BIN=DIR uses that bin directory instead of the newest
# /usr/lib/postgresql/*/bin (or initdb and pg_ctl on PATH).

PGTEST_REASON=""
# This shell's own server.  The functions work from these, not from the exported
# PGTEST_ variables: a child process inherits those, and neither its pg_stop nor its
# pg_start may touch the parent's server.
_pgtest_dir="" _pgtest_data="" _pgtest_log="" _pgtest_bin="" _pgtest_port=""
_pgtest_user=""   # the user the server runs as when that is not us (we are root)

# _pgtest_as CMD...: run CMD as the server's user, in our directory (a cwd it can
# enter), with LC_ALL=C (no locale warnings, the same messages everywhere).
_pgtest_as() {
  (
    cd "${_pgtest_dir:-/}" 2>/dev/null || cd /
    if [ -z "$_pgtest_user" ]; then
      exec env LC_ALL=C "$@"
    elif command -v runuser >/dev/null 2>&1; then
      exec runuser -u "$_pgtest_user" -- env LC_ALL=C "$@"
    else
      exec setpriv --reuid="$_pgtest_user" --regid="$(id -g "$_pgtest_user")" --init-groups \
        env LC_ALL=C HOME=/ "$@"
    fi
  )
}

_pgtest_fail() { # _pgtest_fail STATUS REASON: say why, return STATUS
  PGTEST_REASON=$2
  echo "pg.sh: $2" >&2
  return "$1"
}

_pgtest_log_tail() {
  [ -n "$_pgtest_log" ] && [ -f "$_pgtest_log" ] && tail -n 15 "$_pgtest_log" | sed 's/^/pg.sh: | /' >&2
  return 0
}

_pgtest_psql() {
  if [ -x "${PGTEST_BIN:-}/psql" ]; then "$PGTEST_BIN/psql" "$@"; else psql "$@"; fi
}

# A TCP port nobody listens on now.  The kernel picks it (bind to port 0), so two runs
# at once get different ports; without python3, random ports are probed by connecting.
# A port can still be taken between here and the server's bind: pg_start then retries.
_pgtest_free_port() {
  local py p
  for py in /usr/bin/python3 python3; do
    if command -v "$py" >/dev/null 2>&1; then
      p=$("$py" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null) &&
        [ -n "$p" ] && { echo "$p"; return 0; }
    fi
  done
  for _ in $(seq 50); do
    p=$((20000 + (RANDOM * 32768 + RANDOM + $$) % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

_pgtest_find_bin() {
  local d p best=""
  if [ -n "${PGTEST_PG_BIN:-}" ]; then
    [ -x "$PGTEST_PG_BIN/initdb" ] && [ -x "$PGTEST_PG_BIN/pg_ctl" ] && best=$PGTEST_PG_BIN
  else
    while IFS= read -r d; do
      [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && best=$d
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
    if [ -z "$best" ] && p=$(command -v pg_ctl 2>/dev/null); then
      d=$(dirname "$p")
      [ -x "$d/initdb" ] && best=$d
    fi
  fi
  [ -n "$best" ] && echo "$best"
}

# The port-dependent settings, written again for each port pg_start tries.
_pgtest_write_conf() {
  printf '%s\n' "# written by tests/integration/pg.sh" \
    "listen_addresses = '127.0.0.1'" \
    "port = $_pgtest_port" \
    "unix_socket_directories = '$_pgtest_dir/sock'" > "$_pgtest_data/pgtest.conf"
  [ -z "$_pgtest_user" ] || chown "$_pgtest_user:" "$_pgtest_data/pgtest.conf"
}

# The postmaster's pid from postmaster.pid, if the file is there.
_pgtest_pm_pid() {
  [ -n "$_pgtest_data" ] && [ -f "$_pgtest_data/postmaster.pid" ] &&
    head -n 1 "$_pgtest_data/postmaster.pid" 2>/dev/null
}

_pgtest_unexport() {
  unset PGTEST_DIR PGTEST_PORT PGTEST_SOCKDIR PGTEST_URL PGTEST_SOCKET_URL PGTEST_BIN \
    PGTEST_DATA PGTEST_LOG
}

pg_start() {
  local bin base dir tries rc
  PGTEST_REASON=""
  if [ -n "$_pgtest_dir" ]; then
    _pgtest_fail 1 "pg_start: this shell already has a server in $_pgtest_dir (pg_stop first)"
    return
  fi
  _pgtest_unexport   # inherited from a parent's server: not ours
  bin=$(_pgtest_find_bin) ||
    { _pgtest_fail 2 "PostgreSQL is not installed (no initdb and pg_ctl in ${PGTEST_PG_BIN:-/usr/lib/postgresql/*/bin or on PATH})"; return; }
  [ -x "$bin/psql" ] || command -v psql >/dev/null 2>&1 ||
    { _pgtest_fail 2 "psql is not installed"; return; }

  _pgtest_user=""
  if [ "$(id -u)" = 0 ]; then
    _pgtest_user=${PGTEST_RUN_AS:-postgres}
    id -u "$_pgtest_user" >/dev/null 2>&1 ||
      { _pgtest_fail 2 "running as root and there is no user '$_pgtest_user' to run PostgreSQL as"; return; }
    command -v runuser >/dev/null 2>&1 || command -v setpriv >/dev/null 2>&1 ||
      { _pgtest_fail 2 "running as root and neither runuser nor setpriv is there to become '$_pgtest_user'"; return; }
  fi

  # The server's user must be able to reach the directory, and the socket's path must
  # fit in sun_path (107 bytes): a long or private TMPDIR falls back to /tmp.
  base=${TMPDIR:-/tmp}
  [ -d "$base" ] || base=/tmp
  [ ${#base} -le 60 ] || base=/tmp
  if [ -n "$_pgtest_user" ] && [ "$base" != /tmp ] && ! _pgtest_as test -x "$base"; then base=/tmp; fi
  dir=$(mktemp -d "$base/alluse-pg.XXXXXX") || { _pgtest_fail 1 "mktemp -d in $base failed"; return; }
  _pgtest_dir=$dir _pgtest_data=$dir/data _pgtest_log=$dir/server.log _pgtest_bin=$bin
  mkdir -m 0755 "$dir/sock"
  : > "$_pgtest_log"
  chmod 0711 "$dir"   # others may reach the socket, not list the directory
  [ -z "$_pgtest_user" ] || chown -R "$_pgtest_user:" "$dir"

  if ! _pgtest_as "$bin/initdb" -D "$_pgtest_data" -U alluse --auth=trust -E UTF8 --locale=C \
         --no-sync >"$dir/initdb.log" 2>&1; then
    _pgtest_fail 1 "initdb failed"
    tail -n 15 "$dir/initdb.log" | sed 's/^/pg.sh: | /' >&2
    pg_stop; return 1
  fi
  cat >> "$_pgtest_data/postgresql.conf" <<'EOF'

# tests/integration/pg.sh: a small server that keeps its data like a real one
# (fsync and synchronous_commit stay on: the restart tests count on durability).
shared_buffers = 16MB
max_connections = 40
logging_collector = off
log_line_prefix = '%m [%p] '
include 'pgtest.conf'
include 'pgtest-ssl.conf'
EOF

  _pgtest_write_ssl_conf   # empty: ssl stays off until pg_enable_ssl

  tries=0
  while :; do
    tries=$((tries + 1))
    _pgtest_port=$(_pgtest_free_port) || { _pgtest_fail 1 "found no free TCP port"; pg_stop; return 1; }
    _pgtest_write_conf
    _pgtest_start_server && break
    # Someone took the port between the probe and the bind: another port.
    if [ $tries -lt 5 ] && grep -q 'could not bind\|already in use\|could not create any TCP/IP sockets' "$_pgtest_log"; then
      _pgtest_stop_quietly
      mv "$_pgtest_log" "$_pgtest_log.port-$_pgtest_port"
      continue
    fi
    _pgtest_fail 1 "the PostgreSQL server did not start (port $_pgtest_port, log $_pgtest_log)"
    _pgtest_log_tail
    pg_stop; return 1
  done

  export PGTEST_DIR=$dir PGTEST_PORT=$_pgtest_port PGTEST_SOCKDIR=$dir/sock PGTEST_BIN=$bin
  export PGTEST_DATA=$_pgtest_data PGTEST_LOG=$_pgtest_log
  export PGTEST_URL="postgres://alluse@127.0.0.1:$PGTEST_PORT/alluse_test?sslmode=disable"
  export PGTEST_SOCKET_URL="postgresql://alluse@/alluse_test?host=$PGTEST_SOCKDIR&port=$PGTEST_PORT"
  if ! _pgtest_psql -X -q -v ON_ERROR_STOP=1 \
        -d "postgresql://alluse@/postgres?host=$PGTEST_SOCKDIR&port=$PGTEST_PORT" \
        -c 'create database alluse_test' >/dev/null 2>"$dir/createdb.err"; then
    _pgtest_fail 1 "create database alluse_test failed: $(head -n 1 "$dir/createdb.err")"
    _pgtest_log_tail
    pg_stop; return 1
  fi
  rm -f "$dir/createdb.err"
  return 0
}

# pg_ctl start -w: returns once the server accepts connections (or has given up).
_pgtest_start_server() {
  _pgtest_as "$_pgtest_bin/pg_ctl" -D "$_pgtest_data" -l "$_pgtest_log" -w -t 60 -s start \
    >>"$_pgtest_dir/pg_ctl.log" 2>&1
}

pg_start_server() {
  [ -n "$_pgtest_dir" ] || { _pgtest_fail 1 "pg_start_server: no server here (pg_start first)"; return; }
  if ! _pgtest_start_server; then
    _pgtest_fail 1 "the PostgreSQL server did not start again (port $_pgtest_port, log $_pgtest_log)"
    _pgtest_log_tail
    return 1
  fi
}

pg_stop_server() {
  local mode=${1:-fast} pid
  [ -n "$_pgtest_data" ] && [ -f "$_pgtest_data/postmaster.pid" ] || return 0
  # pg_ctl fails when the server would not stop, or when postmaster.pid is stale.
  _pgtest_as "$_pgtest_bin/pg_ctl" -D "$_pgtest_data" -m "$mode" -w -t 30 -s stop \
    >>"$_pgtest_dir/pg_ctl.log" 2>&1 || _pgtest_stop_quietly
  pid=$(_pgtest_pm_pid) || return 0
  ! kill -0 "$pid" 2>/dev/null
}

# Stop whatever may still run on our data directory, as firmly as it takes.
_pgtest_stop_quietly() {
  local pid
  pid=$(_pgtest_pm_pid) || return 0
  _pgtest_as "$_pgtest_bin/pg_ctl" -D "$_pgtest_data" -m immediate -w -t 10 -s stop \
    >>"$_pgtest_dir/pg_ctl.log" 2>&1 && return 0
  # Only a postmaster started on this data directory is ours to kill.
  if [ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$_pgtest_data"; then
    kill -KILL "$pid" 2>/dev/null
  fi
  return 0
}

pg_restart() {
  pg_stop_server fast && pg_start_server
}

# _pgtest_write_ssl_conf [LINE...]: the TLS settings, in their own file (postgresql.conf
# includes it; pg_start writes it empty).
_pgtest_write_ssl_conf() {
  printf '%s\n' "# written by tests/integration/pg.sh (pg_enable_ssl / pg_disable_ssl)" "$@" \
    > "$_pgtest_data/pgtest-ssl.conf"
  [ -z "$_pgtest_user" ] || chown "$_pgtest_user:" "$_pgtest_data/pgtest-ssl.conf"
}

pg_enable_ssl() { # pg_enable_ssl CERT KEY
  [ -n "$_pgtest_dir" ] || { _pgtest_fail 1 "pg_enable_ssl: no server here (pg_start first)"; return; }
  if [ ! -r "${1:-}" ] || [ ! -r "${2:-}" ]; then
    _pgtest_fail 1 "pg_enable_ssl: usage: pg_enable_ssl CERT KEY (readable files)"; return
  fi
  if ! install -m 0644 "$1" "$_pgtest_data/pgtest-server.crt" ||
     ! install -m 0600 "$2" "$_pgtest_data/pgtest-server.key"; then
    _pgtest_fail 1 "pg_enable_ssl: cannot copy the certificate and key into $_pgtest_data"; return
  fi
  [ -z "$_pgtest_user" ] || chown "$_pgtest_user:" "$_pgtest_data/pgtest-server.crt" "$_pgtest_data/pgtest-server.key"
  _pgtest_write_ssl_conf "ssl = on" "ssl_cert_file = 'pgtest-server.crt'" "ssl_key_file = 'pgtest-server.key'"
  pg_restart
}

pg_disable_ssl() {
  [ -n "$_pgtest_dir" ] || { _pgtest_fail 1 "pg_disable_ssl: no server here (pg_start first)"; return; }
  _pgtest_write_ssl_conf "ssl = off"
  pg_restart
}

pg_stop() {
  if [ -n "$_pgtest_dir" ]; then
    pg_stop_server fast || _pgtest_stop_quietly
    rm -rf "$_pgtest_dir"
    _pgtest_unexport
  fi
  _pgtest_dir="" _pgtest_data="" _pgtest_log="" _pgtest_bin="" _pgtest_port=""
  return 0
}

pg_psql() {
  [ -n "${PGTEST_URL:-}" ] || { echo "pg.sh: pg_psql: no server (pg_start first)" >&2; return 2; }
  if [ $# -gt 0 ]; then
    _pgtest_psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$PGTEST_URL" -c "$*"
  else
    _pgtest_psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$PGTEST_URL" -f -
  fi
}

# For a test that needs the server for everything: call it before any TAP line.
pg_start_or_skip() {
  local rc
  pg_start; rc=$?
  if [ $rc = 2 ]; then echo "1..0 # SKIP $PGTEST_REASON"; exit 0; fi
  if [ $rc != 0 ]; then echo "Bail out! $PGTEST_REASON"; exit 1; fi
}
