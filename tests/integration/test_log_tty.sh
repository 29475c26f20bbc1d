#!/usr/bin/env bash
# alluse.log's "auto" format: plain text when stderr is a terminal, JSON lines when
# it is not.  A pseudo-terminal comes from util-linux's script(1); no real terminal
# is needed.  Also checks ALLUSE_LOG_FORMAT and ALLUSE_LOG_LEVEL from a real process.
set -u

ALLUSE=${ALLUSE:-build/alluse}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset ALLUSE_LOG_LEVEL ALLUSE_LOG_FORMAT

cat >"$tmp/log.lua" <<'EOF'
local log = require("alluse.log")
log.info("hello from the test", { n = 1, who = "tty test" })
log.debug("not shown at the default level")
EOF

n=0
failed=0
ok() {
  n=$((n + 1))
  echo "ok $n - $1"
}
not_ok() {
  n=$((n + 1))
  failed=1
  echo "not ok $n - $1"
  shift
  for line in "$@"; do printf '#   %s\n' "$line"; done
}
# check NAME TEXT REGEX: TEXT (one line, \r removed) must match the extended regex.
check() {
  local text
  text=$(printf '%s' "$2" | tr -d '\r')
  if [[ "$text" =~ $3 ]]; then ok "$1"; else not_ok "$1" "got: $text" "want: $3"; fi
}

# Runs a shell command under a pseudo-terminal; what the terminal showed is on stdout.
under_pty() {
  script -qec "$1" /dev/null </dev/null
}

cmd=$(printf '%q exec %q' "$ALLUSE" "$tmp/log.lua")
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}'
text_re="^${ts}\\.[0-9]{3}Z INFO  hello from the test n=1 who=\"tty test\"$"
json_re="^\\{\"ts\":\"${ts}\\.[0-9]{6}Z\",\"level\":\"info\",\"msg\":\"hello from the test\",\"n\":1,\"who\":\"tty test\"\\}$"

echo "1..8"

if ! command -v script >/dev/null; then
  for _ in 1 2 3 4 5 6 7 8; do n=$((n + 1)); echo "ok $n # SKIP script(1) from util-linux is not installed"; done
  exit 0
fi

out=$(under_pty "$cmd")
check "stderr on a terminal: a text line" "$out" "$text_re"

"$ALLUSE" exec "$tmp/log.lua" 2>"$tmp/err"
check "stderr to a file: a JSON line" "$(cat "$tmp/err")" "$json_re"

# The terminal is still there for stdout; it is stderr that decides.
out=$(under_pty "$cmd 2>$(printf '%q' "$tmp/err2")")
check "stdout on a terminal, stderr to a file: JSON" "$(cat "$tmp/err2")" "$json_re"
if [ -z "$(printf '%s' "$out" | tr -d '\r\n')" ]; then ok "nothing reached the terminal"; else not_ok "nothing reached the terminal" "got: $out"; fi

out=$(under_pty "ALLUSE_LOG_FORMAT=json $cmd")
check "ALLUSE_LOG_FORMAT=json on a terminal: JSON" "$out" "$json_re"

ALLUSE_LOG_FORMAT=text "$ALLUSE" exec "$tmp/log.lua" 2>"$tmp/err3"
check "ALLUSE_LOG_FORMAT=text to a file: text" "$(cat "$tmp/err3")" "$text_re"

ALLUSE_LOG_LEVEL=warn "$ALLUSE" exec "$tmp/log.lua" 2>"$tmp/err4"
if [ ! -s "$tmp/err4" ]; then ok "ALLUSE_LOG_LEVEL=warn drops info"; else not_ok "ALLUSE_LOG_LEVEL=warn drops info" "got: $(cat "$tmp/err4")"; fi

if ALLUSE_LOG_LEVEL=loud "$ALLUSE" exec "$tmp/log.lua" 2>"$tmp/err5"; then
  not_ok "a bad ALLUSE_LOG_LEVEL fails" "exit status 0"
else
  check "a bad ALLUSE_LOG_LEVEL fails, naming the variable" "$(head -n 1 "$tmp/err5")" 'ALLUSE_LOG_LEVEL: unknown log level "loud"'
fi

exit $failed
