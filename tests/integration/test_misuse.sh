#!/bin/bash
# Bad arguments to any library function raise a Lua error; none crashes the binary.
set -u
ALLUSE=${ALLUSE:-build/alluse}
here=$(cd "$(dirname "$0")" && pwd)
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
# Functions that take file names (history files...) get junk names: keep them in a temp dir.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
echo "1..3"
out=$("$ALLUSE" exec "$here/misuse.lua" 2>/dev/null </dev/null)
rc=$?
[ $rc -eq 0 ] && echo "ok 1 - misuse table ran to the end (exit 0)" || echo "not ok 1 - misuse table exited $rc (a crash is 134/139)"
calls=$(printf '%s\n' "$out" | sed -n 's/^survived \([0-9]*\) calls.*/\1/p')
[ "${calls:-0}" -gt 1000 ] && echo "ok 2 - $calls calls made" || echo "not ok 2 - too few calls: '${calls:-none}'"
# Errors raised at top level of a script are reported, not fatal to the process model.
err=$("$ALLUSE" exec /dev/stdin 2>&1 <<'LUA'
require("alluse.core.crypto").sha256({})
LUA
)
rc=$?
case "$err" in
  *"bad argument #1 to 'sha256'"*) [ $rc -eq 1 ] && echo "ok 3 - uncaught misuse: message and exit 1" || echo "not ok 3 - exit $rc" ;;
  *) echo "not ok 3 - unexpected output: $err" ;;
esac
