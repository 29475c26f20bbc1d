# k8s_fake.sh — a throwaway fake Kubernetes API server for integration tests
# (tests/integration/k8s_fake.py, written from the API documentation; see its header).
# Source it (bash), then:
#
#   trap k8s_stop EXIT               # first: k8s_stop is safe before, during and after k8s_start
#   k8s_start_or_skip [OPTION...]    # before any TAP line (or: k8s_start; rc=$? as in pg.sh)
#   k8s_req GET /api/v1/namespaces   # sets K8S_CODE and K8S_BODY
#   k8s_ctl POST rollout '{"namespace":"alluse","kind":"Deployment","name":"x","state":"ready"}'
#   "$ALLUSE" deploy ... --kubeconfig "$K8STEST_KUBECONFIG"
#
# k8s_start [OPTION...]  makes a CA, a server certificate it signs (IP:127.0.0.1,
#            DNS:localhost), a client certificate it signs (CN=alluse-test,
#            O=system:masters), an unrelated CA (for tests that must fail to verify) and
#            a random bearer token in a fresh mktemp -d; starts the fake on a free
#            127.0.0.1 port (HTTPS; the client CA is the same CA) and writes a kubeconfig
#            with the cluster (certificate-authority-data), two users — a bearer token
#            and a client certificate (client-certificate-data, client-key-data) — and
#            two contexts, `fake-token` (current) and `fake-cert`, namespace default.
#            OPTIONs go to k8s_fake.py: --no-crds, --auto-ready-ms MS,
#            --auto-fail NAME=STATE, --pod-status-file FILE.
#            K8STEST_PLAIN=1: plain HTTP instead (debugging; the kubeconfig says http://).
#            Returns 0; 2 when python3 or openssl is missing; 1 when the fake would not
#            start.  Either failure leaves nothing behind, one line `k8s_fake.sh: REASON`
#            on stderr and $K8STEST_REASON.  Call it in the test's own shell (it sets
#            variables), one fake per shell.
# k8s_stop   stops the fake this shell started (by its pid) and removes $K8STEST_DIR;
#            idempotent, for traps.
# k8s_ctl METHOD PATH [JSON]   a control request to /_fake/PATH (see k8s_fake.py): prints
#            the answer's body; returns 1 when the status is not 2xx.
# k8s_req METHOD PATH [BODY [CONTENT-TYPE]]   an API request with the bearer token
#            (K8S_AUTH=cert: the client certificate; K8S_AUTH=none: no credentials);
#            BODY "@FILE" reads a file; CONTENT-TYPE defaults to application/json.
#            Sets K8S_CODE (HTTP status, 000 when curl failed) and K8S_BODY.  Not in $(...).
# k8s_json EXPR              reads JSON on stdin, prints the Python expression EXPR of it
#            (`o` is the document; strings bare, others as JSON; a list of strings one a
#            line).  k8s_jq EXPR is EXPR of $K8S_BODY.
#
# Exported by k8s_start (unset again by k8s_stop):
#   K8STEST_DIR         the temporary directory (certificates, kubeconfig, server log)
#   K8STEST_PORT        the port on 127.0.0.1
#   K8STEST_URL         https://127.0.0.1:PORT (http:// with K8STEST_PLAIN=1)
#   K8STEST_TOKEN       the bearer token the fake accepts
#   K8STEST_CA          the CA certificate (PEM) of the server and client certificates
#   K8STEST_OTHER_CA    an unrelated CA
#   K8STEST_CLIENT_CERT, K8STEST_CLIENT_KEY   the client certificate and its key
#   K8STEST_KUBECONFIG  the kubeconfig file
#   K8STEST_LOG         the fake's stderr
#   K8STEST_PYTHON      the python3 it runs with (/usr/bin/python3 first)

K8STEST_REASON=""
_k8stest_dir="" _k8stest_pid=""
_k8stest_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_k8stest_fail() { # _k8stest_fail STATUS REASON
  K8STEST_REASON=$2
  echo "k8s_fake.sh: $2" >&2
  return "$1"
}

_k8stest_unexport() {
  unset K8STEST_DIR K8STEST_PORT K8STEST_URL K8STEST_TOKEN K8STEST_CA K8STEST_OTHER_CA \
    K8STEST_CLIENT_CERT K8STEST_CLIENT_KEY K8STEST_KUBECONFIG K8STEST_LOG K8STEST_PYTHON
}

_k8stest_certs() { # _k8stest_certs DIR
  local d=$1 log=$1/openssl.log
  _k8stest_ca() { # NAME CN
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
      -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$d/$1.key" -out "$d/$1.crt" 2>>"$log"
  }
  _k8stest_leaf() { # NAME SUBJECT EXTENSION-LINES...
    local name=$1 subj=$2; shift 2
    printf '%s\n' "$@" > "$d/$name.ext"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$subj" \
      -keyout "$d/$name.key" -out "$d/$name.csr" 2>>"$log" &&
      openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
        -days 2 -extfile "$d/$name.ext" -out "$d/$name.crt" 2>>"$log"
  }
  _k8stest_ca ca "k8s fake test CA" && _k8stest_ca other "an unrelated CA" &&
    _k8stest_leaf server "/CN=kube-apiserver" "subjectAltName = IP:127.0.0.1, DNS:localhost" \
      "basicConstraints = CA:FALSE" "keyUsage = critical, digitalSignature, keyEncipherment" \
      "extendedKeyUsage = serverAuth" &&
    _k8stest_leaf client "/O=system:masters/CN=alluse-test" "basicConstraints = CA:FALSE" \
      "keyUsage = critical, digitalSignature, keyEncipherment" "extendedKeyUsage = clientAuth"
}

_k8stest_b64() { base64 -w0 < "$1"; }

_k8stest_kubeconfig() { # FILE URL
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: $2
    certificate-authority-data: $(_k8stest_b64 "$_k8stest_dir/ca.crt")
users:
- name: fake-token
  user:
    token: $K8STEST_TOKEN
- name: fake-cert
  user:
    client-certificate-data: $(_k8stest_b64 "$_k8stest_dir/client.crt")
    client-key-data: $(_k8stest_b64 "$_k8stest_dir/client.key")
contexts:
- name: fake-token
  context:
    cluster: fake
    user: fake-token
    namespace: default
- name: fake-cert
  context:
    cluster: fake
    user: fake-cert
    namespace: default
current-context: fake-token
preferences: {}
EOF
  chmod 0600 "$1"
}

k8s_start() {
  local py dir scheme tls i
  K8STEST_REASON=""
  if [ -n "$_k8stest_dir" ]; then
    _k8stest_fail 1 "k8s_start: this shell already has a fake in $_k8stest_dir (k8s_stop first)"
    return
  fi
  _k8stest_unexport
  py=/usr/bin/python3
  [ -x "$py" ] || py=$(command -v python3) || { _k8stest_fail 2 "python3 is not installed (the fake needs it)"; return; }
  command -v openssl >/dev/null 2>&1 || { _k8stest_fail 2 "the openssl CLI is not installed (it makes the certificates)"; return; }
  command -v curl >/dev/null 2>&1 || { _k8stest_fail 2 "curl is not installed"; return; }
  dir=$(mktemp -d "${TMPDIR:-/tmp}/alluse-k8s.XXXXXX") || { _k8stest_fail 1 "mktemp -d failed"; return; }
  _k8stest_dir=$dir
  if ! _k8stest_certs "$dir"; then
    _k8stest_fail 1 "openssl could not make the certificates"
    sed 's/^/k8s_fake.sh: | /' "$dir/openssl.log" >&2
    k8s_stop; return 1
  fi
  K8STEST_TOKEN=$(openssl rand -hex 24)
  scheme=https tls=(--cert "$dir/server.crt" --key "$dir/server.key" --client-ca "$dir/ca.crt")
  if [ -n "${K8STEST_PLAIN:-}" ]; then scheme=http tls=(--plain); fi
  "$py" "$_k8stest_here/k8s_fake.py" --port-file "$dir/port" --token "$K8STEST_TOKEN" "${tls[@]}" "$@" \
    >"$dir/server.log" 2>&1 &
  _k8stest_pid=$!
  for i in $(seq 200); do
    [ -s "$dir/port" ] && break
    kill -0 "$_k8stest_pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ ! -s "$dir/port" ]; then
    _k8stest_fail 1 "the fake API server did not start (log $dir/server.log)"
    tail -n 15 "$dir/server.log" | sed 's/^/k8s_fake.sh: | /' >&2
    k8s_stop; return 1
  fi
  export K8STEST_DIR=$dir K8STEST_PORT K8STEST_TOKEN K8STEST_PYTHON=$py
  K8STEST_PORT=$(cat "$dir/port")
  export K8STEST_URL="$scheme://127.0.0.1:$K8STEST_PORT"
  export K8STEST_CA=$dir/ca.crt K8STEST_OTHER_CA=$dir/other.crt
  export K8STEST_CLIENT_CERT=$dir/client.crt K8STEST_CLIENT_KEY=$dir/client.key
  export K8STEST_KUBECONFIG=$dir/kubeconfig K8STEST_LOG=$dir/server.log
  _k8stest_kubeconfig "$K8STEST_KUBECONFIG" "$K8STEST_URL"
  return 0
}

k8s_stop() {
  if [ -n "$_k8stest_pid" ]; then
    kill "$_k8stest_pid" 2>/dev/null && wait "$_k8stest_pid" 2>/dev/null
  fi
  if [ -n "$_k8stest_dir" ]; then
    rm -rf "$_k8stest_dir"
    _k8stest_unexport
  fi
  _k8stest_dir="" _k8stest_pid=""
  return 0
}

k8s_start_or_skip() {
  local rc
  k8s_start "$@"; rc=$?
  if [ $rc = 2 ]; then echo "1..0 # SKIP $K8STEST_REASON"; exit 0; fi
  if [ $rc != 0 ]; then echo "Bail out! $K8STEST_REASON"; exit 1; fi
}

_k8stest_curl() { # curl with the fake's CA (nothing over plain HTTP)
  case "$K8STEST_URL" in
    https:*) curl -sS --noproxy '*' --cacert "$K8STEST_CA" "$@" ;;
    *) curl -sS --noproxy '*' "$@" ;;
  esac
}

k8s_ctl() { # k8s_ctl METHOD PATH [JSON]
  local out code
  [ -n "${K8STEST_URL:-}" ] || { echo "k8s_fake.sh: k8s_ctl: no fake (k8s_start first)" >&2; return 2; }
  out=$(_k8stest_curl -X "$1" -w '\n%{http_code}' -H 'Content-Type: application/json' \
    ${3:+--data-binary "$3"} "$K8STEST_URL/_fake/${2#/}") || return 1
  code=${out##*$'\n'}
  printf '%s\n' "${out%$'\n'*}"
  case "$code" in 2??) return 0 ;; *) return 1 ;; esac
}

k8s_req() { # k8s_req METHOD PATH [BODY [CONTENT-TYPE]]
  local auth=() out
  K8S_CODE=000 K8S_BODY=""
  [ -n "${K8STEST_URL:-}" ] || { echo "k8s_fake.sh: k8s_req: no fake (k8s_start first)" >&2; return 2; }
  case "${K8S_AUTH:-token}" in
    token) auth=(-H "Authorization: Bearer $K8STEST_TOKEN") ;;
    cert) auth=(--cert "$K8STEST_CLIENT_CERT" --key "$K8STEST_CLIENT_KEY") ;;
    none) ;;
  esac
  if [ $# -ge 3 ]; then
    out=$(_k8stest_curl -X "$1" "${auth[@]}" -H "Content-Type: ${4:-application/json}" \
      --data-binary "$3" -w '\n%{http_code}' "$K8STEST_URL$2" 2>&1)
  else
    out=$(_k8stest_curl -X "$1" "${auth[@]}" -w '\n%{http_code}' "$K8STEST_URL$2" 2>&1)
  fi
  K8S_CODE=${out##*$'\n'}
  K8S_BODY=${out%$'\n'*}
  [ "$K8S_BODY" = "$out" ] && K8S_BODY=""
  case "$K8S_CODE" in [0-9][0-9][0-9]) ;; *) K8S_BODY=$out K8S_CODE=000 ;; esac
  return 0
}

k8s_json() { # k8s_json EXPR < JSON
  "${K8STEST_PYTHON:-python3}" -c '
import json, sys
o = json.load(sys.stdin)
v = eval(sys.argv[1], {"o": o, "json": json, "len": len, "sorted": sorted, "any": any, "all": all})
if isinstance(v, str):
    print(v)
elif isinstance(v, list) and all(isinstance(x, str) for x in v):
    print("\n".join(v))
else:
    print(json.dumps(v, sort_keys=True))' "$1"
}

k8s_jq() { printf '%s' "$K8S_BODY" | k8s_json "$1"; }
