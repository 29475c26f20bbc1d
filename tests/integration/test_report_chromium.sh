#!/bin/bash
# The HTML report in a real browser: `alluse exec` renders a result with
# alluse.report.html, Debian's chromium (installed by make deps) loads it headless
# from file://, and the DOM it builds holds the charts with the right number of points
# and no script element (the account named <script> stayed text); a screenshot is a
# real PNG with far more in it than a blank page.  Chromium missing is a failure, not
# a skip: the report's promise is that it opens in a browser.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! command -v chromium >/dev/null 2>&1; then
  ok 1 "chromium is installed (it is in scripts/deps.sh: run make deps)"
  done_testing
fi
ok 0 "chromium is installed"

# A result with 120 trading days over two accounts, the second forked on day 40,
# a trade, and the weekly returns and summary from alluse.report.stats.
cat > "$tmp/render.lua" <<'LUA'
local html = require("alluse.report.html")
local stats = require("alluse.report.stats")
local json = require("alluse.json")
local out = arg[1]

local dates, totals, flows, equity = {}, {}, {}, json.array()
local day, main, side = 0, 100000, nil
while #dates < 120 do
  day = day + 1
  local d = os.date("!*t", 1704153600 + day * 86400) -- from 2024-01-02, weekdays only
  if d.wday ~= 1 and d.wday ~= 7 then
    local i = #dates + 1
    dates[i] = string.format("%04d-%02d-%02d", d.year, d.month, d.day)
    main = main * (1 + 0.004 * math.sin(i / 3) + 0.001)
    local fl = { main = 0, total = 0 }
    if i == 40 then main, side, fl.main, fl["<script>x</script>"] = main - 25000, 25000, -25000, 25000
    elseif side then side = side * (1 + 0.006 * math.cos(i / 4)) end
    local acc = { main = main, ["<script>x</script>"] = side }
    totals[i], flows[i] = main + (side or 0), 0
    equity[i] = { date = dates[i], total = totals[i], accounts = acc, flows = fl }
  end
end
local trades = json.array({ { id = 1, account = "main", symbol = "SPY", side = "long", qty = 10,
  entry_time = "2024-01-03T14:30:00Z", entry_price = 470.5, exit_time = "2024-02-01T21:00:00Z",
  exit_price = 482.25, bars = 21, gross = 117.5, commission = 2, pnl = 115.5 } })
local summary = stats.summary { dates = dates, equity = totals, flows = flows, initial = 100000,
  trades = trades, bars = 120, exposed_bars = 21, commissions = 2 }
local result = {
  version = 1, status = "ok",
  strategy = { name = "chromium check", file = "x.lua", params = { n = 3 } },
  config = { initial_cash = 100000, from = json.null, to = json.null,
    fill = { slippage_bps = 0, participation = 0 },
    commission = { model = "none", rate = 0, min = 0, max_percent = 0 }, risk = {},
    data = { { symbol = "SPY", timeframe = "1d", source = "data/SPY-daily.csv", bars = 120,
      first = "2024-01-02T21:00:00Z", last = "2024-06-18T21:00:00Z" } } },
  summary = summary,
  accounts = { { name = "main", parent = json.null, status = "active", summary = summary },
    { name = "<script>x</script>", parent = "main", status = "active", summary = summary } },
  equity = equity,
  weekly_returns = stats.weekly_returns(dates, totals, flows, 100000),
  trades = trades, orders = {}, ledger = {},
}
local f = assert(io.open(out, "w"))
f:write(html.render(result))
f:close()
print(#result.weekly_returns)
LUA
weeks=$("$ALLUSE" exec "$tmp/render.lua" "$tmp/report.html" 2>"$tmp/exec.err"); rc=$?
is "$rc" 0 "alluse exec renders the report"
[ $rc -eq 0 ] || sed 's/^/#   /' "$tmp/exec.err"
[ -s "$tmp/report.html" ]; ok $? "the report file is written"

# Chromium writes its profile, caches and crash reports under HOME and the user data
# directory: both in $tmp, so nothing is left behind.  Its stderr is noise (GPU,
# D-Bus, sandbox warnings).
browse() {
  HOME="$tmp/home" timeout 60 chromium --headless --no-sandbox --disable-gpu \
    --disable-background-networking --user-data-dir="$tmp/profile" "$@" 2>>"$tmp/chromium.err"
}
mkdir -p "$tmp/home"

dom=$(browse --dump-dom "file://$tmp/report.html"); rc=$?
is "$rc" 0 "chromium --dump-dom exits 0"
like "$dom" '<polyline [^>]*data-series="total" data-points="120"' "the DOM has the total's polyline with 120 points"
like "$dom" '<polyline [^>]*data-series="account:main" data-points="120"' "... main's with 120"
# Newer serializers escape < and > in attribute values, older ones leave them.
like "$dom" '<polyline [^>]*data-series="account:(&lt;|<)script(&gt;|>)x(&lt;|<)/script(&gt;|>)" data-points="81"' \
  "... the forked account's with 81 (from day 40)"
like "$dom" '<polyline [^>]*data-series="drawdown" data-points="120"' "... the drawdown's with 120"
like "$dom" 'data-chart="weekly-histogram"' "the DOM has the weekly histogram"
sum=$(printf '%s' "$dom" | grep -o 'data-count="[0-9]*"' | grep -o '[0-9]*' | awk '{ s += $1 } END { print s + 0 }')
is "$sum" "$weeks" "histogram bars count all $weeks weeks"
if printf '%s' "$dom" | grep -qi '<script'; then ok 1 "no script element in the DOM"; else ok 0 "no script element in the DOM"; fi
like "$dom" '&lt;script&gt;x&lt;/script&gt;' "the account named <script> is text"

# A blank page of the same size, for scale: the report must hold far more.
printf '<!DOCTYPE html><html><head><meta charset="utf-8"><title>blank</title></head><body></body></html>\n' > "$tmp/blank.html"
browse --screenshot="$tmp/blank.png" --window-size=1280,2000 "file://$tmp/blank.html" >/dev/null
browse --screenshot="$tmp/report.png" --window-size=1280,2000 "file://$tmp/report.html" >/dev/null; rc=$?
is "$rc" 0 "chromium --screenshot exits 0"
is "$(head -c 8 "$tmp/report.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" "89504e470d0a1a0a" "the screenshot is a PNG"
size=$(stat -c %s "$tmp/report.png" 2>/dev/null || echo 0)
blank=$(stat -c %s "$tmp/blank.png" 2>/dev/null || echo 0)
[ "$size" -gt 10240 ] && [ "$size" -gt $((blank * 3)) ]
ok $? "the screenshot holds a rendered page ($size bytes; a blank page is $blank)"
if [ $_tap_failed -gt 0 ] && [ -s "$tmp/chromium.err" ]; then
  echo "# chromium's stderr (last lines):"; tail -5 "$tmp/chromium.err" | sed 's/^/#   /'
fi
done_testing
