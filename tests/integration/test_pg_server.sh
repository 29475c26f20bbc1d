#!/bin/bash
# tests/integration/pg.sh, the throwaway PostgreSQL server the storage tests run against:
# it starts, answers over TCP and the unix socket, runs as a non-root user when we are
# root, keeps committed rows over a restart and a crash, and pg_stop leaves nothing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/pg.sh"

trap pg_stop EXIT
t0=$(date +%s%N)
pg_start_or_skip
echo "# pg_start took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
dir=$PGTEST_DIR
[ -d "$dir" ] && [ -f "$PGTEST_DATA/PG_VERSION" ]; ok $? "pg_start made a data directory in $dir"
like "$dir" '/alluse-pg\.[A-Za-z0-9]{6}$' "PGTEST_DIR is a fresh mktemp -d"
is "$PGTEST_SOCKDIR" "$dir/sock" "PGTEST_SOCKDIR is under PGTEST_DIR"
is "$PGTEST_URL" "postgres://alluse@127.0.0.1:$PGTEST_PORT/alluse_test?sslmode=disable" "PGTEST_URL"
is "$PGTEST_SOCKET_URL" "postgresql://alluse@/alluse_test?host=$PGTEST_SOCKDIR&port=$PGTEST_PORT" "PGTEST_SOCKET_URL"
[ -x "$PGTEST_BIN/postgres" ]; ok $? "PGTEST_BIN holds the server ($PGTEST_BIN)"
psql=$PGTEST_BIN/psql; [ -x "$psql" ] || psql=psql
q() { "$psql" -X -A -t -q -d "$1" -c "$2" 2>&1; }   # q URL SQL
# alive PID...: those still running.  A zombie is not: an exited postmaster's parent is
# init, which may take a moment to reap it.
alive() { ps -o pid=,stat= -p "$(echo "$@" | tr ' ' ,)" 2>/dev/null | awk '$2 !~ /^Z/ { print $1 }'; }

is "$(q "$PGTEST_URL" 'select 1')" 1 "select 1 over TCP (PGTEST_URL)"
is "$(q "$PGTEST_SOCKET_URL" 'select 1')" 1 "select 1 over the unix socket (PGTEST_SOCKET_URL)"
is "$(q "$PGTEST_URL" 'select inet_server_addr()')" 127.0.0.1 "the TCP URL reaches 127.0.0.1"
is "$(q "$PGTEST_SOCKET_URL" "select coalesce(host(inet_server_addr()), 'socket')")" socket \
  "the socket URL goes over the socket"
is "$(pg_psql 'show port')" "$PGTEST_PORT" "pg_psql: the server listens on PGTEST_PORT"
is "$(pg_psql "select current_user || ' ' || current_database() || ' ' || usesuper from pg_user where usename = current_user")" \
  "alluse alluse_test true" "pg_psql: superuser alluse, database alluse_test"
is "$(pg_psql "select current_setting('server_encoding') || ' ' || datcollate from pg_database where datname = current_database()")" \
  "UTF8 C" "UTF8, locale C"
is "$(pg_psql 'show fsync')" on "fsync stays on"
is "$(pg_psql 'show synchronous_commit')" on "synchronous_commit is the default (on)"
is "$(pg_psql "show listen_addresses")" 127.0.0.1 "listens on 127.0.0.1 only"
is "$(echo 'select 40 + 2;' | pg_psql)" 42 "pg_psql reads SQL from stdin"
pg_psql 'select * from no_such_table' >/dev/null 2>&1; rc=$?
[ $rc != 0 ]; ok $? "pg_psql fails on an SQL error (status $rc)"

pm=$(head -n 1 "$PGTEST_DATA/postmaster.pid")
like "$pm" '^[0-9]+$' "postmaster.pid names the postmaster ($pm)"
user=$(ps -o user= -p "$pm" | tr -d ' ')
if [ "$(id -u)" = 0 ]; then
  is "$user" postgres "we are root: the server runs as postgres"
  is "$(stat -c %U "$PGTEST_DATA")" postgres "and owns the data directory"
else
  is "$user" "$(id -un)" "not root: the server runs as us"
fi

# ---- restart: committed rows stay ----
pg_psql 'create table t (id int primary key, v text)' && pg_psql "insert into t values (1, 'one'), (2, 'two')"
ok $? "create a table and insert"
procs=$(pgrep -P "$pm" | tr '\n' ' ')
pg_restart; ok $? "pg_restart"
is "$(pg_psql 'select string_agg(v, $$,$$ order by id) from t')" "one,two" "the rows are there after the restart"
pm2=$(head -n 1 "$PGTEST_DATA/postmaster.pid")
[ "$pm2" != "$pm" ]; ok $? "a new postmaster ($pm -> $pm2)"
is "$(pg_psql 'show port')" "$PGTEST_PORT" "on the same port"
is "$(q "$PGTEST_SOCKET_URL" 'select count(*) from t')" 2 "and the same socket"
# shellcheck disable=SC2086  # lists of pids
is "$(alive $pm $procs)" "" "the old postmaster and its children are gone"

# ---- down for a while, then up ----
pg_stop_server; ok $? "pg_stop_server"
! q "$PGTEST_URL" 'select 1' >/dev/null 2>&1; ok $? "nothing answers while the server is down"
[ -d "$PGTEST_DATA" ]; ok $? "the data stays while the server is down"
pg_stop_server; ok $? "pg_stop_server again: nothing to do, still 0"
pg_start_server; ok $? "pg_start_server"
is "$(pg_psql 'select count(*) from t')" 2 "the rows are there after stop/start"

# ---- a crash (stop -m immediate): committed rows stay, the WAL is replayed ----
pg_psql "insert into t select g, 'x' || g from generate_series(3, 1000) g"
pg_stop_server immediate; ok $? "pg_stop_server immediate (a crash)"
pg_start_server; ok $? "pg_start_server after the crash"
is "$(pg_psql 'select count(*), max(id) from t')" "1000|1000" "every committed row survives the crash"
grep -q 'database system was interrupted\|redo starts\|not properly shut down' "$PGTEST_LOG"
ok $? "the server log shows the crash recovery"

# ---- a PostgreSQL that is not there is a skip, not a failure ----
out=$(PGTEST_PG_BIN=/nonexistent bash -c '. "$1"; pg_start; echo "rc=$? dir=${PGTEST_DIR:-} reason=$PGTEST_REASON"' _ "$here/pg.sh" 2>"$dir/skip.err")
is "$out" "rc=2 dir= reason=PostgreSQL is not installed (no initdb and pg_ctl in /nonexistent)" \
  "no PostgreSQL: pg_start returns 2 with the reason"
is "$(cat "$dir/skip.err")" "pg.sh: PostgreSQL is not installed (no initdb and pg_ctl in /nonexistent)" \
  "and says so in one line on stderr"
out=$(PGTEST_PG_BIN=/nonexistent bash -c '. "$1"; pg_start_or_skip; echo not reached' _ "$here/pg.sh" 2>/dev/null); rc=$?
is "$out:$rc" "1..0 # SKIP PostgreSQL is not installed (no initdb and pg_ctl in /nonexistent):0" \
  "pg_start_or_skip prints 1..0 # SKIP and exits 0"

# ---- a start that fails: a port taken under us is retried, anything else is reported ----
# A postgres that fails on purpose (pg_ctl is copied, so it runs the postgres beside it;
# initdb and postgres -V are the real ones).
fake=$dir/fakebin; mkdir -m 0755 "$fake"   # in our PGTEST_DIR: pg_stop removes it
cp "$PGTEST_BIN/pg_ctl" "$fake/"
ln -s "$PGTEST_BIN/initdb" "$PGTEST_BIN/psql" "$fake/"
cat > "$fake/postgres" <<EOF
#!/bin/sh
case "\$1" in -V|--version|--boot|--single|-C|--describe-config) exec "$PGTEST_BIN/postgres" "\$@" ;; esac
echo x >> "$fake/starts"
if [ "\$(wc -l < "$fake/starts")" -le "\$FAIL_STARTS" ]; then
  echo 'LOG:  could not bind IPv4 address "127.0.0.1": Address already in use'
  echo 'FATAL:  could not create any TCP/IP sockets'
  exit 1
fi
[ "\$FAIL_STARTS" = all ] && { echo 'FATAL:  a made-up failure'; exit 1; }
exec "$PGTEST_BIN/postgres" "\$@"
EOF
chmod 0755 "$fake/postgres"; : > "$fake/starts"; chmod 0666 "$fake/starts"
out=$(FAIL_STARTS=1 PGTEST_PG_BIN=$fake bash -c '. "$1"; trap pg_stop EXIT; pg_start || exit 1
  echo "$(pg_psql "select 5") $PGTEST_PORT $PGTEST_DIR"' _ "$here/pg.sh" 2>&1)
read -r five port2 dir2 <<<"$out"
is "$five $(wc -l < "$fake/starts")" "5 2" "a port taken between the probe and the bind: pg_start tries another"
[ -n "$port2" ] && [ "$port2" != "$PGTEST_PORT" ] && [ -n "$dir2" ] && [ "$dir2" != "$dir" ]
ok $? "that second server ran beside ours, on its own port and directory"
[ ! -e "$dir2" ]; ok $? "and its pg_stop (in an EXIT trap) removed its directory"
: > "$fake/starts"
out=$(FAIL_STARTS=all PGTEST_PG_BIN=$fake bash -c '. "$1"; pg_start; echo "rc=$? dir=${PGTEST_DIR:-}"' _ "$here/pg.sh" 2>&1)
like "$out" '^pg\.sh: the PostgreSQL server did not start \(port [0-9]+, log /.*/alluse-pg\.[A-Za-z0-9]{6}/server\.log\)' \
  "a server that will not start: one line saying so"
like "$out" 'pg\.sh: \| FATAL:  a made-up failure' "then the tail of the server log"
like "$out" 'rc=1 dir=$' "pg_start returns 1 and sets no PGTEST_ variable"
failed_dir=$(printf '%s\n' "$out" | sed -n 's/.*log \(.*\)\/server\.log).*/\1/p' | head -n 1)
[ -n "$failed_dir" ] && [ ! -e "$failed_dir" ]; ok $? "and leaves no directory behind"
rm -rf "$fake"

# ---- a child process and our server ----
out=$(bash -c '. "$1"; pg_stop; pg_psql "select 8"' _ "$here/pg.sh" 2>&1)
is "$out" 8 "a child that inherits PGTEST_ can use pg_psql, and its pg_stop leaves our server alone"
is "$(pg_psql 'select 9')" 9 "our server still answers"

# ---- pg_stop ----
pm=$(head -n 1 "$PGTEST_DATA/postmaster.pid")
procs="$pm $(pgrep -P "$pm" | tr '\n' ' ')"
data=$PGTEST_DATA port=$PGTEST_PORT
pg_stop; ok $? "pg_stop"
[ ! -e "$dir" ]; ok $? "pg_stop removed $dir"
# shellcheck disable=SC2086
is "$(alive $procs)" "" "no process of the server remains ($procs)"
! pgrep -f -- "$data" >/dev/null; ok $? "nothing runs on its data directory"
! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; ok $? "nothing listens on port $port"
is "${PGTEST_DIR:-}${PGTEST_URL:-}${PGTEST_PORT:-}" "" "pg_stop unsets the PGTEST_ variables"
pg_stop; ok $? "pg_stop again: idempotent"
done_testing
