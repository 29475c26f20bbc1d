#!/bin/bash
# The live runner's dashboard (GET /, alluse.dashboard) in a real browser.  curl
# checks the headers (the CSP's hashes match the inline script and style), HEAD and
# that the page needs no token.  Headless chromium (from make deps) loads it from two
# running replays:
#   - sma_cross with a token and --public-read: the page fills itself without the
#     token (status, the account with dollar figures, the equity polyline, orders,
#     positions, events), and a screenshot is a real PNG;
#   - a strategy with a hostile account name and journal fields, token required: no
#     token shows the token form, #token=... fills the page and every hostile value
#     stays text, a wrong token is refused.
# A small Python server stands in for a runner whose API fails: the page says it is
# disconnected, then recovers when the API answers again.  Chromium missing is a
# failure, not a skip, as in test_report_chromium.sh.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
cd "$root"

if ! command -v chromium >/dev/null 2>&1; then
  ok 1 "chromium is installed (it is in scripts/deps.sh: run make deps)"
  done_testing
fi
ok 0 "chromium is installed"
TOKEN=t0ken-t0ken-t0ken-42

# start NAME ARGS...: alluse run in the background, logging to $tmp/NAME.log; sets
# the variable NAME_port from the logged port.
start() {
  local name=$1; shift
  "$ALLUSE" run "$@" --listen 127.0.0.1:0 > "$tmp/$name.log" 2>&1 &
  pids+=($!)
  eval "${name}_pid=$!"
  local port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*"msg":"listening",.*"port":\([0-9]*\).*/\1/p' "$tmp/$name.log")
    [ -n "$port" ] && break
    sleep 0.05
  done
  eval "${name}_port=$port"
}

# A strategy that names an account, journal rows and events with markup.
cat > "$tmp/hostile.lua" <<'LUA'
return { name = "hostile", params = {},
  on_day = function(ctx)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 2 then
      local a = assert(ctx:open_account("<script>x</script>", { from = "main", cash = 20000 }))
      a:buy("SPY", 10)
    end
    if ctx.state.n % 5 == 0 then
      ctx:record("events", { kind = "<i>level</i>", account = "<script>x</script>", severity = "info",
        ticker = "<img src=x onerror=alert(1)>", note = "</td><script>alert(2)</script>" })
      ctx:record("weeks", { week = "W" .. ctx.state.n, account = "<script>x</script>", ticker = "SPY",
        type = "<u>GEN</u>" })
    end
  end }
LUA

ALLUSE_API_TOKEN=$TOKEN start open strategies/examples/sma_cross.lua --feed replay:data/SPY-daily.csv --speed 20d/s \
  --param fast=3 --param slow=8 --public-read
ALLUSE_API_TOKEN=$TOKEN start guarded "$tmp/hostile.lua" --feed replay:data/SPY-daily.csv --speed 20d/s
ok "$([ -n "$open_port" ] && [ -n "$guarded_port" ]; echo $?)" "two runs listen ($open_port, $guarded_port)"
A=http://127.0.0.1:$open_port
B=http://127.0.0.1:$guarded_port

# ---- the page over HTTP ----
curl -s -D "$tmp/head.txt" -o "$tmp/page.html" "$A/"
head=$(tr -d '\r' < "$tmp/head.txt")
like "$head" '^HTTP/1.1 200' "GET / answers 200"
like "$head" '^Content-Type: text/html; charset=utf-8$' "... as text/html; charset=utf-8"
csp=$(printf '%s\n' "$head" | sed -n 's/^Content-Security-Policy: //p')
like "$csp" "^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]+='; style-src 'sha256-[A-Za-z0-9+/]+='; connect-src 'self'" \
  "... with a CSP that allows the inline script and style by hash, and fetches to itself only"
like "$head" 'X-Content-Type-Options: nosniff' "... X-Content-Type-Options: nosniff"
like "$head" 'Cache-Control: no-store' "... Cache-Control: no-store"
# The hashes in the CSP are those of the very script and style served.
hashes=$(python3 - "$tmp/page.html" <<'PY'
import base64, hashlib, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
for tag in ("script", "style"):
    body = re.search("<%s>(.*?)</%s>" % (tag, tag), page, re.S).group(1)
    print("%s-src 'sha256-%s'" % (tag, base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()))
PY
)
while read -r tag hash; do
  case "$csp" in *"$tag $hash"*) ok 0 "the CSP's $tag hash is the served element's";;
    *) ok 1 "the CSP's $tag hash is the served element's"; echo "#   want $tag $hash";; esac
done <<< "$hashes"
if grep -Eqi '(https?|wss?|ftp):' "$tmp/page.html"; then ok 1 "the page names no URL (works offline)"; else ok 0 "the page names no URL (works offline)"; fi
hhead=$(curl -s -I "$A/" | tr -d '\r')
like "$hhead" '^HTTP/1.1 200' "HEAD / answers 200"
like "$hhead" '^Content-Type: text/html; charset=utf-8$' "... as text/html"
# HEAD's answer ends with its head (curl would wait for Content-Length bytes).
exec 3<>"/dev/tcp/127.0.0.1/$open_port"
printf 'HEAD / HTTP/1.0\r\nHost: x\r\n\r\n' >&3
raw=$(timeout 5 cat <&3 | od -An -c | tr -d ' \n')
exec 3<&-
like "$raw" '^HTTP/1.1200OK.*\\r\\n\\r\\n$' "... and sends no body"
is "$(curl -s -o /dev/null -w '%{http_code}' "$B/")" 200 "GET / needs no token (the API does)"
is "$(curl -s -o /dev/null -w '%{http_code}' "$B/api/v1/status")" 401 "... while /api/v1/status does"
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$A/")" 405 "POST / is 405"
is "$(curl -s -o /dev/null -w '%{http_code}' "$A/api/v1/status")" 200 "--public-read: the API reads need no token"

# Wait for enough days and some orders, so the page has something to show.
for _ in $(seq 1 200); do
  days=$(curl -s "$A/api/v1/status" | sed -n 's/.*"days": \([0-9]*\).*/\1/p')
  [ "${days:-0}" -ge 30 ] && curl -s "$A/api/v1/orders" | grep -q '"id"' && break
  sleep 0.05
done
ok "$([ "${days:-0}" -ge 30 ]; echo $?)" "the open run is 30 days in ($days)"

# Chromium writes its profile and caches under HOME and the user data directory.
mkdir -p "$tmp/home"
browse() {
  HOME="$tmp/home" timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --user-data-dir="$tmp/profile" "$@" 2>>"$tmp/chromium.err"
}
dump() { browse --virtual-time-budget="${budget:-2500}" --dump-dom "$1"; }

# ---- the open run: a page full of data, no token ----
dom=$(dump "$A/?every=0.5"); rc=$?
is "$rc" 0 "chromium --dump-dom exits 0"
like "$dom" '<span id="conn" class="pill live">live' "the page says it is live"
like "$dom" '<dd id="st-strategy">strategies/examples/sma_cross.lua</dd>' "the status panel names the strategy"
like "$dom" '<span id="st-state" class="pill running">running</span>' "... and its state"
like "$dom" '<dd id="st-date">[0-9]{4}-[0-9]{2}-[0-9]{2}</dd>' "... and the replay's date"
like "$dom" '<tr><td>main</td><td>—</td><td>active</td><td class="num">\$[0-9,]+\.[0-9]{2}</td><td class="num">\$[0-9,]+\.[0-9]{2}</td></tr>' \
  "the accounts table has main with its cash and equity in dollars"
n=$(printf '%s' "$dom" | sed -n 's/.*<polyline id="eq-line" points="\([^"]*\)" data-points="\([0-9]*\)".*/\2/p')
pts=$(printf '%s' "$dom" | sed -n 's/.*<polyline id="eq-line" points="\([^"]*\)".*/\1/p' | wc -w)
ok "$([ "${n:-0}" -ge 30 ]; echo $?)" "the equity chart's polyline has at least 30 points ($n)"
is "$pts" "$n" "... one per day (data-points counts the points drawn)"
like "$dom" '<text id="eq-ymax"[^>]*>\$[0-9,]+</text>' "... and an axis labelled in dollars"
like "$dom" '<text id="eq-x0"[^>]*>1999-12-31</text>' "... and by date"
like "$dom" '<table id="orders">.*<tr><td>[0-9T:-]+Z</td><td>main</td><td>SPY</td><td>(buy|sell)</td><td class="num">100</td>' \
  "the orders table has the strategy's orders"
like "$dom" '<table id="positions"><thead><tr><th>account</th>.*</thead><tbody><tr><td' "the positions table is drawn"
like "$dom" '<table id="events"><thead><tr><th>time</th><th>kind</th>' "the protocol events section is drawn"
like "$dom" '<table id="weeks"><thead><tr><th>time</th><th>week</th>' "... and the weeks"

printf '<!DOCTYPE html><html><head><meta charset="utf-8"><title>blank</title></head><body></body></html>\n' > "$tmp/blank.html"
browse --screenshot="$tmp/blank.png" --window-size=1280,900 "file://$tmp/blank.html" >/dev/null
browse --virtual-time-budget=2500 --screenshot="$tmp/dash.png" --window-size=1280,900 "$A/" >/dev/null; rc=$?
is "$rc" 0 "chromium --screenshot exits 0"
is "$(head -c 8 "$tmp/dash.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" "89504e470d0a1a0a" "the screenshot is a PNG"
size=$(stat -c %s "$tmp/dash.png" 2>/dev/null || echo 0)
blank=$(stat -c %s "$tmp/blank.png" 2>/dev/null || echo 0)
ok "$([ "$size" -gt 20480 ] && [ "$size" -gt $((blank * 5)) ]; echo $?)" \
  "the screenshot holds a rendered page ($size bytes; a blank page is $blank)"

# ---- the guarded run: the token, and hostile text ----
dom=$(dump "$B/")
like "$dom" '<form id="auth">' "without the token the token form shows"
like "$dom" "<p id=\"auth-msg\">This server's API needs a token.</p>" "... saying why"
like "$dom" '<span id="conn" class="pill down">needs a token</span>' "... and the page is not live"
like "$dom" '<table id="accounts"><thead></thead><tbody></tbody>' "... and shows no data"
dom=$(dump "$B/#token=not-the-token-at-all")
like "$dom" '<p id="auth-msg">The token was refused.</p>' "a wrong token is refused"
dom=$(dump "$B/?every=0.5#token=$TOKEN")
like "$dom" '<form id="auth" hidden="">' "with #token=... the form is hidden"
like "$dom" '<span id="conn" class="pill live">live' "... and the page is live"
ok "$(printf '%s' "$dom" | grep -q "$TOKEN"; [ $? -ne 0 ]; echo $?)" "... and the token is nowhere in the page"
like "$dom" '<tr><td>&lt;script&gt;x&lt;/script&gt;</td><td>main</td><td>active</td><td class="num">\$[0-9,]+\.[0-9]{2}</td>' \
  "the account named <script> is a row of text, with its parent"
like "$dom" '<td>&lt;script&gt;x&lt;/script&gt;</td><td>SPY</td><td class="num">10</td>' "... and its position"
like "$dom" '<td>&lt;i&gt;level&lt;/i&gt;</td><td>&lt;script&gt;x&lt;/script&gt;</td><td>&lt;img src=x onerror=alert\(1\)&gt;</td><td>info</td><td>note=&lt;/td&gt;&lt;script&gt;alert\(2\)&lt;/script&gt;</td>' \
  "hostile event fields are text"
like "$dom" '<td>W[0-9]+</td><td>&lt;script&gt;x&lt;/script&gt;</td><td>SPY</td><td>&lt;u&gt;GEN&lt;/u&gt;</td>' "... and so are weeks'"
is "$(printf '%s' "$dom" | grep -oi '<script' | wc -l)" 1 "the page's own script is the only script element"
if printf '%s' "$dom" | grep -Eqi '<(img|i|u|b)[ >]'; then ok 1 "no element came from the data"; else ok 0 "no element came from the data"; fi

# ---- an API that fails, then answers: disconnected, then live again ----
curl -s "$A/" > "$tmp/stub_page.html"
cat > "$tmp/stub.py" <<'PY'
# The dashboard's page, and an /api/v1 that fails its first FAIL requests (503) and
# then answers with empty data.  GET /reset starts the count again.
import http.server, sys
page = open(sys.argv[1], "rb").read()
csp = sys.argv[2]
count = [0]
FAIL = 7  # one poll's worth of requests
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def answer(self, code, ctype, body, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra: self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/reset":
            count[0] = 0
            return self.answer(200, "text/plain", b"ok\n")
        if not self.path.startswith("/api/v1/"):
            return self.answer(200, "text/html; charset=utf-8", page, [("Content-Security-Policy", csp)])
        count[0] += 1
        if count[0] <= FAIL:
            return self.answer(503, "text/plain", b"down\n")
        body = b'{"strategy": "stub", "days": 0}' if self.path.startswith("/api/v1/status") else b"[]"
        self.answer(200, "application/json", body)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
PY
python3 "$tmp/stub.py" "$tmp/stub_page.html" "$csp" > "$tmp/stub.port" 2>"$tmp/stub.err" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$tmp/stub.port" ] && break; sleep 0.05; done
S=http://127.0.0.1:$(cat "$tmp/stub.port")
dom=$(dump "$S/?every=3600")
like "$dom" '<span id="conn" class="pill down">disconnected \(/api/v1/[a-z]+.*: HTTP 503\), retrying</span>' \
  "an API that fails: the page says it is disconnected"
like "$dom" '<body class="stale">' "... and greys out what it shows"
curl -s "$S/reset" >/dev/null
dom=$(dump "$S/?every=0.2")
like "$dom" '<span id="conn" class="pill live">live' "when the API answers again, the page is live again"
like "$dom" '<body( class="")?>' "... and no longer stale"
like "$dom" '<dd id="st-strategy">stub</dd>' "... with the new data"

# ---- the runs still drain and exit 0 with the page open ----
for name in open guarded; do
  pid_var=${name}_pid
  kill -TERM "${!pid_var}"
  wait "${!pid_var}"; is "$?" 0 "the $name run stops on SIGTERM and exits 0"
done
if [ $_tap_failed -gt 0 ] && [ -s "$tmp/chromium.err" ]; then
  echo "# chromium's stderr (last lines):"; tail -5 "$tmp/chromium.err" | sed 's/^/#   /'
fi
done_testing
