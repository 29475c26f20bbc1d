#!/bin/bash
# strategies/alluse over the shipped real data, 2015 to the last bar, $500,000 (what
# `make run` runs): with ALLUSE_CHECK_INVARIANTS=1 the engine checks cash = sum of the
# ledger and equity = cash + positions x marks after every bar, and every day that no
# short call is uncovered and no short put unsecured; then the result is checked for
# negative cash, week rows and events (alluse_check.lua), byte-identical across two
# runs, the constitution profile runs, and bad params are refused by name.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
data=()
for t in AAPL AMZN GOOG IWM META MSFT NVDA QQQ SPY TSLA; do data+=(--data "$root/data/$t-daily.csv"); done
run() { ALLUSE_CHECK_INVARIANTS=1 "$ALLUSE" backtest "$root/strategies/alluse" "${data[@]}" --from 2015-01-01 --cash 500000 --quiet "$@"; }

run --json "$tmp/a.json" --report "$tmp/a.html" 2> "$tmp/err"; rc=$?
is "$rc" 0 "iai: the run ends ok with every invariant checked on every bar"
"$ALLUSE" exec "$here/alluse_check.lua" "$tmp/a.json" > "$tmp/check" 2>&1; rc=$?
sed 's/^/# /' "$tmp/check"
is "$rc" 0 "iai: the result passes alluse_check.lua ($(grep -c '^ok' "$tmp/check") checks)"
run --json "$tmp/b.json" 2> /dev/null
cmp -s "$tmp/a.json" "$tmp/b.json"; ok $? "same data and params: byte-identical JSON"
like "$(cat "$tmp/a.html")" "Options model" "the report is written"

out=$("$ALLUSE" exec "$root/scripts/alluse_summary.lua" "$tmp/a.json"); rc=$?
is "$rc" 0 "the make run summary reads the result"
like "$out" "^ALL-USE \(iai profile\) 2015-01-02 \.\. " "it names the profile and the dates"
like "$out" "(^|$(printf '\n'))GEN +gen +\\\$[0-9,]+\.[0-9]{2}" "a line per account with its final equity"
like "$out" "weeks: .*W-IDL [0-9]+" "and its week types"

run --param profile=constitution --json "$tmp/c.json" 2> /dev/null; rc=$?
is "$rc" 0 "constitution: the run ends ok with every invariant checked"
like "$(grep -o '"gen_tickers": "[^"]*"' "$tmp/c.json")" "SPY,QQQ,IWM" "constitution: its tickers are in the params"

err=$(run --param profile=nope 2>&1); rc=$?
is "$rc" 2 "an unknown profile is a usage error"
like "$err" "unknown profile \"nope\" \(profiles: constitution, iai\)" "naming the profiles"
err=$(run --param gen_tickers=ZZZ 2>&1); rc=$?
is "$rc" 1 "a ticker without bars stops the run"
like "$err" "ticker ZZZ of param gen_tickers has no bars in this run" "naming the param"
err=$(run --param gen_entry_day=6 2>&1); rc=$?
like "$err" "param gen_entry_day must be 1 \(Monday\) \.\. 5 \(Friday\), got 6" "a bad entry day names the param"
done_testing
