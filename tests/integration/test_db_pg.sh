#!/bin/bash
# The storage suite (tests/lua/test_db.lua) and the non-blocking path inside tasks
# (tests/lua/test_db_async.lua) and the writer thread (tests/lua/test_db_writer.lua)
# against a real PostgreSQL: a private
# server from Debian's packages (tests/integration/pg.sh), over TCP and over the unix
# socket.  The same file runs against SQLite on its own in make test.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/pg.sh"
trap pg_stop EXIT
pg_start_or_skip
cd "$root"
ALLUSE_TEST_DB=$PGTEST_URL "$ALLUSE" test tests/lua/test_db.lua tests/lua/test_db_async.lua tests/lua/test_db_writer.lua
rc=$?
# Over the unix socket: a fresh database, so the suite starts from an empty schema.
pg_psql "CREATE DATABASE alluse_sock" >/dev/null
sock_url="postgresql://alluse@/alluse_sock?host=$PGTEST_SOCKDIR&port=$PGTEST_PORT"
out=$(ALLUSE_TEST_DB=$sock_url "$ALLUSE" test tests/lua/test_db.lua 2>&1); src=$?
if [ $src -eq 0 ]; then echo "# the suite also passes over the unix socket"; else
  echo "$out" | grep -v '^ok' | sed 's/^/# socket: /'; fi
[ $rc -eq 0 ] && [ $src -eq 0 ]
