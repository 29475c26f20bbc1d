#!/bin/bash
# test_metrics_promtool.sh — alluse.metrics' text passes Prometheus's own checker:
# `alluse exec` renders a registry (alluse_defaults plus series with awkward label
# values, help text and floats) to a file, and `promtool check metrics` (Debian's
# prometheus package) parses and lints it; any lint line fails the test.  Skipped when
# promtool is not installed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
if ! command -v promtool >/dev/null 2>&1; then echo "1..0 # SKIP promtool not installed (apt-get install prometheus)"; exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
cat > render.lua <<'LUA'
local metrics = require("alluse.metrics")
local reg = metrics.registry()
local m = metrics.alluse_defaults(reg)
for _, s in ipairs({ "new", "accepted", "partially_filled", "filled", "canceled", "rejected", "expired" }) do
  m.orders:labels(s):inc(3)
end
m.fills:labels("main"):inc()
m.rejects:labels('buying power: need "$1,000.00"\nhave \\ $5'):inc()
m.rejects:labels(""):inc()
m.rejects:labels("ünïcode ✓"):inc(2)
m.equity:labels("main"):set(123456.78)
m.equity:labels("fork-1"):set(1e21)
m.cash:labels("main"):set(-0.01)
m.protocol_level:labels("main", "AAPL"):set(2)
m.protocol_level:labels("main", "BRK.B"):set(0)
m.strategy_errors:labels("strategies/alluse/main.lua"):inc()
m.feed_lag:labels("replay:data/"):set(1 / 0)
m.feed_lag:labels("stale"):set(0 / 0)
m.feed_lag:labels("ahead"):set(-1 / 0)
for i = 1, 1000 do m.loop_lag:observe(i * 1e-5) end
m.loop_lag:observe(5)
m.store_write:observe(0.003)
m.http_requests:labels("/metrics", "200"):inc(10)
m.http_requests:labels("/api/v1/orders?x=\"1\"", "404"):inc()
local extra = reg:histogram("alluse_test_sizes_bytes", "A histogram with labels\\and a backslash in help", { "kind" },
  { 1, 10, 100, 1e6 })
extra:labels("a"):observe(50); extra:labels("b"):observe(1e9)
local f = assert(io.open(arg[1], "w"))
f:write(reg:render())
f:close()
LUA
"$ALLUSE" exec render.lua metrics.txt 2> err.txt
ok $? "alluse exec renders the registry"
like "$(cat metrics.txt)" '^# HELP alluse_orders_total ' "text starts with the first family's HELP"
out=$(promtool check metrics < metrics.txt 2>&1)
rc=$?
is "$rc:$out" "0:" "promtool check metrics: exit 0, no lint output"
like "$(cat metrics.txt)" 'alluse_order_rejects_total\{reason="buying power: need \\"\$1,000.00\\"\\nhave \\\\ \$5"\} 1' "escaped label value"
like "$(cat metrics.txt)" 'alluse_event_loop_lag_seconds_bucket\{le="\+Inf"\} 1001' "+Inf bucket counts every observation"
done_testing
