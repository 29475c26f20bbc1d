#!/bin/bash
# TLS to PostgreSQL per sslmode, against a real PostgreSQL (pg.sh) with a certificate
# from a throwaway CA made here with openssl: sslmode=require encrypts (TLSv1.2 or
# 1.3, and the server agrees in pg_stat_ssl); verify-full with the right CA connects by
# IP (SAN IP:127.0.0.1) and by name (SAN DNS:localhost); verify-full with an unrelated
# CA, or a host name the certificate does not hold, fails with ECONNECTION and one line;
# sslmode=disable is plain; a server with ssl off refuses sslmode=require.  Then
# `alluse db migrate/status` over verify-full, and a password in the URL never shows.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
. "$here/pg.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
tmp=""
trap 'pg_stop; [ -n "$tmp" ] && rm -rf "$tmp"' EXIT
# libpq's environment must not decide for the URL (PGSSLMODE=verify-full, say).
unset PGSSLMODE PGREQUIRESSL PGSSLROOTCERT PGSSLCERT PGSSLKEY PGSSLCRL PGHOST PGHOSTADDR PGPORT PGPASSWORD PGSERVICE
command -v openssl >/dev/null 2>&1 || { echo "1..0 # SKIP openssl is not installed"; exit 0; }
pg_start_or_skip
tmp=$(mktemp -d)
cd "$root" || exit 1

# ---- a CA, a server certificate it signs, and an unrelated CA ----
mkca() { # mkca NAME CN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$tmp/$1.key" -out "$tmp/$1.crt" 2>>"$tmp/openssl.log"
}
mkca ca "alluse test CA" && mkca other "an unrelated CA" &&
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=alluse test server" \
    -keyout "$tmp/server.key" -out "$tmp/server.csr" 2>>"$tmp/openssl.log" &&
  printf '%s\n' "subjectAltName = IP:127.0.0.1, DNS:localhost" "basicConstraints = CA:FALSE" \
    "keyUsage = critical, digitalSignature, keyEncipherment" "extendedKeyUsage = serverAuth" > "$tmp/server.ext" &&
  openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -set_serial 2 -days 2 \
    -extfile "$tmp/server.ext" -out "$tmp/server.crt" 2>>"$tmp/openssl.log"
rc=$?; ok $rc "openssl made a CA, a server certificate it signed and an unrelated CA"
[ $rc = 0 ] || sed 's/^/#   openssl: /' "$tmp/openssl.log"
is "$(openssl verify -CAfile "$tmp/ca.crt" "$tmp/server.crt" 2>&1)" "$tmp/server.crt: OK" "the CA verifies the server certificate"
openssl verify -CAfile "$tmp/other.crt" "$tmp/server.crt" >/dev/null 2>&1; ok "$(( ! $? ))" "the unrelated CA does not"
like "$(openssl x509 -in "$tmp/server.crt" -noout -text | tr -s ' \n' ' ')" "IP Address:127.0.0.1, DNS:localhost" \
  "its subjectAltName is IP:127.0.0.1 and DNS:localhost"

pg_enable_ssl "$tmp/server.crt" "$tmp/server.key"; ok $? "pg_enable_ssl: ssl on, server restarted"
is "$(pg_psql 'show ssl')" on "the server has ssl on"
if [ "$(id -u)" = 0 ]; then
  is "$(stat -c '%U %a' "$PGTEST_DATA/pgtest-server.key")" "postgres 600" "the key in the data directory: the server's user's, mode 0600"
fi

# probe URL: connect through alluse.store and print one line,
#   ok SSL [PROTOCOL] | server SSL [VERSION]     or     fail CODE MESSAGE
cat > "$tmp/probe.lua" <<'LUA'
local store = require("alluse.store")
local db, err, code = store.open(arg[1], { migrate = false })
if not db then
  io.write("fail ", tostring(code), " ", tostring(err), "\n")
  return 1 -- exec's exit status; not os.exit, which skips closing the state
end
local on, proto = db.conn:ssl()
local r = assert(db:one("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))
io.write("ok ", tostring(on), proto and (" " .. proto) or "", " | server ", tostring(r.ssl),
  r.version ~= store.null and (" " .. r.version) or "", "\n")
db:close()
LUA
probe() { "$ALLUSE" exec "$tmp/probe.lua" "$1" 2>&1; }
P=$PGTEST_PORT
at="postgres://alluse@127.0.0.1:$P/alluse_test"
ca="sslrootcert=$tmp/ca.crt" other="sslrootcert=$tmp/other.crt"

# ---- ssl on ----
out=$(probe "$at?sslmode=require"); rc=$?
like "$out:$rc" '^ok true TLSv1\.[23] \| server true TLSv1\.[23]:0$' "sslmode=require: encrypted, TLSv1.2 or 1.3 (server agrees)"
echo "#   $out"
out=$(probe "$at?sslmode=verify-full&$ca"); rc=$?
like "$out:$rc" '^ok true TLSv1\.[23] \| server true' "verify-full + sslrootcert=CA, host 127.0.0.1 (SAN IP): connects"
out=$(probe "postgres://alluse@localhost:$P/alluse_test?sslmode=verify-full&$ca"); rc=$?
like "$out:$rc" '^ok true TLSv1\.[23] \| server true' "verify-full, host localhost (SAN DNS): connects"
out=$(probe "$at?sslmode=verify-full&$other"); rc=$?
like "$out:$rc" '^fail ECONNECTION postgres://alluse@127\.0\.0\.1:[0-9]+/alluse_test\?sslmode=verify-full&sslrootcert=[^ ]*other\.crt: postgres: .*certificate verify failed:1$' \
  "verify-full with an unrelated CA: fails, ECONNECTION, certificate verification"
is "$(printf '%s\n' "$out" | wc -l)" 1 "... in one line"
echo "#   $out"
out=$(probe "$at?sslmode=verify-ca&$other"); rc=$?
like "$out:$rc" '^fail ECONNECTION .*certificate verify failed:1$' "verify-ca with an unrelated CA: fails too"
# A name the certificate does not hold, reaching the same server (hostaddr): the CA
# alone is enough for verify-ca; verify-full also checks the name.
wrong="postgres://alluse@db.invalid:$P/alluse_test?hostaddr=127.0.0.1&$ca"
out=$(probe "$wrong&sslmode=verify-ca"); rc=$?
like "$out:$rc" '^ok true TLSv1\.[23]' "verify-ca with the CA and a host name not in the certificate: connects"
out=$(probe "$wrong&sslmode=verify-full"); rc=$?
like "$out:$rc" '^fail ECONNECTION .*server certificate for "[^"]+" \(and 1 other name\) does not match host name "db\.invalid":1$' \
  "verify-full with that host name: fails, naming the mismatch"
echo "#   $out"
out=$(probe "$at?sslmode=disable"); rc=$?
is "$out:$rc" "ok false | server false:0" "sslmode=disable: not encrypted"
out=$(probe "$at"); rc=$?
like "$out:$rc" '^ok true TLSv1\.[23]' "no sslmode (libpq's prefer): encrypted when the server offers it"
out=$(probe "$at?sslmode=verify-full&sslrootcert=$tmp/missing.crt"); rc=$?
like "$out:$rc" '^fail ECONNECTION .*root certificate file "[^"]*missing\.crt" does not exist.*:1$' \
  "verify-full with a missing sslrootcert: fails, naming the file"

# ---- alluse db over verify-full ----
vf="$at?sslmode=verify-full&$ca"
out=$("$ALLUSE" db migrate --db "$vf" 2>&1); rc=$?
like "$out:$rc" "^postgres://alluse@127\.0\.0\.1:$P/alluse_test\?sslmode=verify-full&sslrootcert=[^ ]*: applied migrations? [0-9, ]+; schema is at version [0-9]+:0$" \
  "alluse db migrate --db '...sslmode=verify-full&sslrootcert=CA'"
out=$("$ALLUSE" db status --db "$vf" 2>&1); rc=$?
like "$out:$rc" "postgres, schema version ([0-9]+) of \1 \(current\):0$" "alluse db status over verify-full: current"
out=$("$ALLUSE" exec /dev/stdin "$vf" <<'LUA' 2>&1
local db = assert(require("alluse.store").open(arg[1]))   -- the default check of the schema
assert(db:exec("INSERT INTO kv (scope, key, value, updated) VALUES (?, ?, ?, ?)", "tls", "k", '"v"', 1))
local r = db:one("SELECT value FROM kv WHERE scope = ? AND key = ?", "tls", "k")
print(r.value, (select(2, db.conn:ssl())))
LUA
)
like "$out" '^"v"	TLSv1\.[23]$' "store.open with the schema check, a write and a read back over verify-full"
out=$("$ALLUSE" db migrate --db "$at?sslmode=verify-full&$other" 2>&1); rc=$?
like "$out:$rc" '^db: postgres://.*certificate verify failed:1$' "db migrate with the unrelated CA: exit 1, one line saying why"
is "$(printf '%s\n' "$out" | wc -l)" 1 "... one line"

# ---- a password in the URL is never shown ----
pw="postgres://alluse:hunter2@127.0.0.1"
errs=$tmp/pw.err; : > "$errs"
bad_port=$(( P == 1 ? 2 : 1 ))
for url in "$pw:$bad_port/alluse_test?sslmode=verify-full&$ca" "$pw:$bad_port/alluse_test" \
           "postgres://alluse@127.0.0.1:$bad_port/alluse_test?password=hunter2&sslmode=require" \
           "$pw:$P/alluse_test?sslmode=verify-full&$other" "$pw:$P/alluse_test?sslmode=bogus" \
           "$pw:$P/alluse_test?statement_timeout=soon"; do
  "$ALLUSE" db migrate --db "$url" >>"$errs" 2>&1; r1=$?
  "$ALLUSE" db status --db "$url" >>"$errs" 2>&1; r2=$?
  "$ALLUSE" report --db "$url" --list >>"$errs" 2>&1; r3=$?
  "$ALLUSE" backtest strategies/examples/sma_cross.lua --data data/SPY-daily.csv --db "$url" --quiet >>"$errs" 2>&1; r4=$?
  "$ALLUSE" exec /dev/stdin "$url" <<'LUA' >>"$errs" 2>&1; r5=$?
assert(require("alluse.store").open(arg[1]))
LUA
  echo "rc $r1 $r2 $r3 $r4 $r5" >>"$errs"
done
is "$(grep -c '^rc 1 1 1 1 1$' "$errs")" 6 "six bad URLs with a password: migrate, status, report, backtest, exec all fail"
[ -n "${TLS_SHOW_ERRS:-}" ] && sed 's/^/#   /' "$errs"
is "$(grep -c 'hunter2' "$errs")" 0 "... and none of their output shows the password"
like "$(cat "$errs")" 'postgres://alluse:\*\*\*@127\.0\.0\.1:[0-9]+/alluse_test' "... it shows postgres://alluse:***@..."
like "$(cat "$errs")" 'password=\*\*\*&sslmode=require' "... and password=*** for a password parameter"
grep -q 'certificate verify failed' "$errs"; ok $? "... while still saying why (certificate verify failed)"
out=$("$ALLUSE" db status --db "$pw:$P/alluse_test?sslmode=verify-full&$ca" 2>&1); rc=$?
like "$out:$rc" '^postgres://alluse:\*\*\*@127\.0\.0\.1:[0-9]+/alluse_test\?sslmode=verify-full&sslrootcert=[^ ]*: postgres, schema version [0-9]+ of [0-9]+ \(current\):0$' \
  "a URL with a password that works (trust auth ignores it): the output shows *** instead"

# ---- ssl off ----
pg_disable_ssl; ok $? "pg_disable_ssl: ssl off, server restarted"
is "$(pg_psql 'show ssl')" off "the server has ssl off"
out=$(probe "$at?sslmode=require"); rc=$?
like "$out:$rc" '^fail ECONNECTION postgres://[^ ]*: postgres: .*server does not support SSL, but SSL was required:1$' \
  "sslmode=require against a server without ssl: fails, saying the server does not support SSL"
is "$(printf '%s\n' "$out" | wc -l)" 1 "... in one line"
echo "#   $out"
out=$(probe "$at?sslmode=verify-full&$ca"); rc=$?
like "$out:$rc" '^fail ECONNECTION .*server does not support SSL, but SSL was required:1$' "verify-full against it: fails the same way"
out=$(probe "$at?sslmode=disable"); rc=$?
is "$out:$rc" "ok false | server false:0" "sslmode=disable: connects, plain"
out=$(probe "$at?sslmode=prefer"); rc=$?
is "$out:$rc" "ok false | server false:0" "sslmode=prefer: connects, plain"
done_testing
