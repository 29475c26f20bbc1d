#!/bin/bash
# The fuzz targets (tests/fuzz, run at length by `make fuzz`) once over their seed
# corpus with the test build: the targets keep compiling, and their invariants hold
# on every fixture and shipped file.  A broken invariant aborts the target.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
fz=${ALLUSE_BUILD:-$root/build}/fuzz
cd "$root" || exit 1
run() { # run TARGET FILE...: one test per target, failing on any abort or missing file
  local target=$1; shift
  local out; out=$("$fz/$target" "$@" 2>&1); local rc=$?
  local n; n=$(printf '%s\n' "$out" | grep -c '^ok ')
  [ "$rc" -eq 0 ] && [ "$n" -eq "$#" ]
  ok $? "$target: invariants hold on $# inputs (exit $rc, $n done)"
}
run fuzz_csv tests/fixtures/csv/*.csv data/*.csv
run fuzz_iso tests/fuzz/corpus/fuzz_iso/*
run fuzz_number tests/fuzz/corpus/fuzz_number/*
run fuzz_occ tests/fuzz/corpus/fuzz_occ/*
run fuzz_store tests/fuzz/corpus/fuzz_store/* tests/fixtures/csv/daily.csv
run fuzz_http tests/fuzz/corpus/fuzz_http/*
done_testing
