#!/bin/bash
# `make run`'s demo: reads the shipped real data, writes a report, byte-stable,
# and names the file and line of bad input.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$("$ALLUSE" exec "$root/scripts/demo.lua" "$root/data/SPY-daily.csv" "$tmp/a" 2>&1); rc=$?
is "$rc" 0 "demo runs on data/SPY-daily.csv"
[ -s "$tmp/a/demo.md" ] && [ -s "$tmp/a/demo.json" ]; ok $? "demo writes demo.md and demo.json"
like "$(cat "$tmp/a/demo.md")" "^\| 2008 \| -3[0-9]\.[0-9]{2}% \|" "2008 shows SPY's crash year (price return about -38%)"
like "$(cat "$tmp/a/demo.json")" '"bars": 6642' "every bar of the file is counted"
"$ALLUSE" exec "$root/scripts/demo.lua" "$root/data/SPY-daily.csv" "$tmp/b" >/dev/null 2>&1
cmp -s "$tmp/a/demo.json" "$tmp/b/demo.json"; ok $? "same input, byte-identical JSON"
printf 'date,open,high,low,close,volume\n2020-01-02,1,2,0.5,1.5,100\n2020-01-03,1,2,0.5,oops,100\n' > "$tmp/bad.csv"
err=$("$ALLUSE" exec "$root/scripts/demo.lua" "$tmp/bad.csv" "$tmp/c" 2>&1); rc=$?
is "$rc" 1 "bad input exits 1"
like "$err" "bad\.csv:3: cannot read date and close" "bad input names the file and line"
done_testing
