#!/bin/bash
# alluse's HTTP/1.1 server (core/net/httpd.c, lua/alluse/http_server.lua) from outside:
# real clients (curl; Python sockets for bytes no client would send) against a server
# the test starts.  A corpus of malformed requests gets the right status and never
# stops the server; keep-alive, pipelining, HEAD, a bearer-token route, the limits
# (16 KiB of headers: 431, 1 MiB of body: 413) and the read timeout (408).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
PY=$(command -v python3 || true)
if [ -z "$PY" ] || ! command -v curl >/dev/null 2>&1; then
  echo "1..0 # SKIP needs python3 and curl"
  exit 0
fi
tmp=$(mktemp -d)
cleanup() { [ -n "${spid:-}" ] && kill "$spid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cd "$root"
"$ALLUSE" exec tests/integration/http/serve.lua "$tmp/port" 1500 2> "$tmp/server.err" &
spid=$!
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port" 2>/dev/null)
ok "$([ -n "$port" ]; echo $?)" "the server starts on a free port"
base=http://127.0.0.1:$port

is "$(curl -s "$base/healthz")" "ok" "GET /healthz"
is "$(curl -s -o /dev/null -w '%{http_code}' "$base/nope")" 404 "an unknown path: 404"
out=$(curl -s -i -X PUT "$base/healthz")
like "$out" "^HTTP/1.1 405" "another method on a known path: 405"
like "$out" "Allow: GET, HEAD" "... with Allow"
is "$(printf 'x%.0s' $(seq 1 1000) | curl -s --data-binary @- "$base/echo" | wc -c)" 1000 "POST /echo returns the body"
out=$(curl -s -H 'X-One: 1' -H 'X-One: 2' "$base/headers?a=1&b=2")
like "$out" "x-one=1, 2" "repeated header fields are joined, names lower-cased"
like "$out" "\|a=1&b=2$" "... and the query string is passed"
out=$(curl -s -v "$base/healthz" "$base/healthz" 2>&1)
like "$out" "Re-using existing connection" "keep-alive: curl reuses the connection"
head -c 1048576 /dev/zero > "$tmp/1m"
is "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$tmp/1m" "$base/echo")" 200 "a 1 MiB body is taken"
printf 'x' >> "$tmp/1m"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Expect:' --data-binary @"$tmp/1m" "$base/echo")" 413 "1 MiB + 1 byte: 413"

# the corpus of bad requests, and what each gets
out=$("$PY" tests/integration/http/raw.py "$port" 2>&1)
while read -r name want; do
  got=$(echo "$out" | awk -v n="$name" '$1 == n { print $2 }')
  is "$got" "$want" "raw: $name -> $want"
done <<'CASES'
garbage 400
no-version 400
bad-version 505
http2-preface 505
lowercase-version 400
absolute-garbage-target 400
space-in-target 400
nul-in-line 400
header-no-colon 400
header-space-before-colon 400
header-folding 400
header-ctl 400
header-too-large 431
too-many-headers 431
bad-content-length 400
negative-content-length 400
conflicting-content-length 400
chunked 501
smuggling 400
body-too-large 413
unknown-path 404
wrong-method 405
handler-raises 500
handler-bad-header 500
no-token 401
wrong-token 401
right-token 200
http10 200
bare-lf 200
binary-noise 400
CASES
like "$out" "only-crlf (closed|400)" "raw: empty lines only: no answer or 400"
like "$out" "pipelined 2 True" "two pipelined requests, both answered in order"
like "$out" "pieces 200 True" "a request arriving in pieces"
like "$out" "head 200 True True" "HEAD: the GET route's headers, no body"
like "$out" "stalled 408 True" "a stalled request: 408 after the read timeout"
like "$(cat "$tmp/server.err")" "GET /boom: .*deliberate" "a handler that raises is logged"
is "$(curl -s "$base/healthz")" "ok" "the server still answers after all of that"
curl -s "$base/stop" > /dev/null
for _ in $(seq 1 50); do kill -0 "$spid" 2>/dev/null || break; sleep 0.05; done
wait "$spid"; rc=$?
spid=""
is "$rc" 0 "close(): the loop has nothing left and the process exits 0"
done_testing
