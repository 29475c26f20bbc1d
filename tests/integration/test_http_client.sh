#!/bin/bash
# alluse.http against a real loopback server: tests/integration/http_server.py (Python's
# http.server, plain and TLS with a self-signed certificate made here by the openssl CLI)
# serves tests/integration/http_client.lua's requests.  The server is also the proxy that
# http_proxy names, for the check that the proxy environment is honoured.
cd "$(dirname "$0")/../.." || exit 1
ALLUSE=${ALLUSE:-build/alluse}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
if [ -z "$PY" ]; then echo "1..0 # SKIP python3 is not installed (the test server needs it)"; exit 0; fi
if ! command -v openssl >/dev/null; then echo "1..0 # SKIP the openssl CLI is not installed (it makes the test certificate)"; exit 0; fi

dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost" >/dev/null 2>&1 \
  || { echo "Bail out! openssl could not make a certificate"; exit 1; }
# a client certificate, for the mutual-TLS server (a Kubernetes API server's way)
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/client-key.pem" -out "$dir/client.pem" -days 2 \
  -subj /CN=alluse-client >/dev/null 2>&1 || { echo "Bail out! openssl could not make a client certificate"; exit 1; }
"$PY" tests/integration/http_server.py "$dir/ports" "$dir/cert.pem" "$dir/key.pem" "$dir/client.pem" 2>"$dir/server.log" &
pid=$!
for _ in $(seq 100); do [ -s "$dir/ports" ] && break; sleep 0.05; done
[ -s "$dir/ports" ] || { echo "Bail out! the test server did not start"; cat "$dir/server.log" | sed 's/^/# /'; exit 1; }
read -r http_port https_port dead_port mtls_port < "$dir/ports"

env -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u ALL_PROXY -u all_proxy -u NO_PROXY \
  http_proxy="http://127.0.0.1:$http_port" no_proxy="127.0.0.1,localhost" \
  HTTP_PORT=$http_port HTTPS_PORT=$https_port DEAD_PORT=$dead_port CERT="$dir/cert.pem" \
  MTLS_PORT=$mtls_port CLIENT_CERT="$dir/client.pem" CLIENT_KEY="$dir/client-key.pem" \
  "$ALLUSE" test tests/integration/http_client.lua
