#!/bin/bash
# The control socket (alluse.control over core/net/control.c) and `alluse repl
# --attach`: a stand-in engine (tests/integration/control/engine.lua: a loop with a
# ticking timer) is driven from outside, piped and through a pseudo-terminal (tmux).
# Checked: the socket is 0600; state is read and changed live; errors and a runaway
# chunk (stopped by the budget) leave the engine running; completion comes from the
# engine; a stale socket file is replaced, a live one refused; detaching is clean.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
tmp=$(mktemp -d)
sock=$tmp/engine.sock
TIMEOUT=${REPL_TEST_TIMEOUT:-20}
tm() { tmux -L "alluse-ctl-$$" -f /dev/null "$@"; }
cleanup() {
  tm kill-server >/dev/null 2>&1
  [ -n "${epid:-}" ] && kill "$epid" 2>/dev/null
  sleep 0.1 # tmux's server exits a moment after kill-server
  rm -rf "$tmp" 2>/dev/null || { sleep 0.5; rm -rf "$tmp"; }
}
trap cleanup EXIT
export TMUX_TMPDIR=$tmp
unset TMUX
cd "$root"

start_engine() { # waits for a socket file other than the one there before (a stale one)
  local before; before=$(stat -c %i "$sock" 2>/dev/null || echo none)
  "$ALLUSE" exec tests/integration/control/engine.lua "$sock" 2> "$tmp/engine.err" &
  epid=$!
  for _ in $(seq 1 200); do
    [ -S "$sock" ] && [ "$(stat -c %i "$sock" 2>/dev/null)" != "$before" ] && break
    sleep 0.05
  done
}
attach() { "$ALLUSE" repl --attach "$sock" "$@"; }

start_engine
ok "$([ -S "$sock" ]; echo $?)" "the engine listens on its control socket"
is "$(stat -c %a "$sock")" 600 "the socket is mode 0600"
"$ALLUSE" exec tests/integration/control/engine.lua "$sock" > /dev/null 2> "$tmp/second.err"; rc=$?
is "$rc" 1 "a second engine on a live socket fails"
like "$(cat "$tmp/second.err")" "another process listens on it" "... saying why"

out=$(printf 'accounts.main.cash\naccounts.main.positions\n' | attach 2>&1); rc=$?
is "$out" $'100000\n{ SPY = 10 }' "piped: the engine's state, printed as the REPL prints it"
is "$rc" 0 "piped: exit 0"
is "$(printf 'status()\npause()\nstatus()\n' | attach 2>&1)" $'"running"\n"paused"\n"paused"' "pause() changes the live engine"
is "$(printf 'status()\n' | attach 2>&1)" '"paused"' "... and stays changed for the next client"
out=$(printf 'resume()\nerror("kaboom")\nwhile true do end\nstatus()\n' | attach 2>"$tmp/err"); rc=$?
is "$out" $'"resumed"\n"running"' "after an error and a runaway loop the engine still answers"
like "$(cat "$tmp/err")" "stdin:1: kaboom" "the error comes back to the client"
like "$(cat "$tmp/err")" "stopped: the chunk ran longer than 300 ms" "the runaway chunk is stopped by the budget"
is "$rc" 1 "piped: exit 1 when a chunk failed"
is "$(printf 'ticks() > 0\n' | attach 2>&1)" "true" "the engine's timer kept running throughout"
out=$(printf 'x = 1 +\n  41\nx\n' | attach 2>&1)
is "$out" "42" "a chunk spread over lines is gathered by the engine"
out=$(attach --bogus 2>&1 </dev/null); rc=$?
is "$rc" 2 "a bad flag exits 2"
out=$("$ALLUSE" repl --attach "$tmp/nothing.sock" 2>&1 </dev/null); rc=$?
is "$rc" 1 "attaching to no engine exits 1"
like "$out" "connect .*nothing.sock" "... naming the socket"

# ---- a pseudo-terminal ----
if command -v tmux >/dev/null 2>&1; then
  screen() { tm capture-pane -p -J -S - -t t 2>/dev/null; }
  wait_for() {
    local tries=$((TIMEOUT * 20))
    while [ $tries -gt 0 ]; do screen | grep -Eq -- "$1" && return 0; sleep 0.05; tries=$((tries - 1)); done
    echo "# timed out waiting for: $1"; screen | grep -v '^$' | tail -12 | sed 's/^/#   | /'; return 1
  }
  check() { wait_for "$2"; ok $? "$1"; }
  type_line() { tm send-keys -t t -l "$1"; tm send-keys -t t Enter; }
  printf '%s\n' "PS1='\$ '" > "$tmp/bashrc"
  HOME=$tmp tm new-session -d -s t -x 100 -y 40 "bash --rcfile '$tmp/bashrc' --noprofile -i"
  wait_for '^\$ ' > /dev/null
  type_line "\"$ALLUSE\" repl --attach '$sock' --no-history; echo EXIT=\$?"
  check "terminal: the banner says it is attached" 'attached to the engine'
  type_line 'accounts.main.cash * 2'
  check "terminal: an expression evaluated in the engine" '^200000$'
  type_line 'function f(x)'
  check "terminal: an open chunk gets the continuation prompt" '^>> $'
  type_line '  return x + 1 end'
  type_line 'f(41)'
  check "terminal: the function lives in the engine's session" '^42$'
  tm send-keys -t t -l 'accou'
  tm send-keys -t t Tab
  tm send-keys -t t -l '.main.cash'
  tm send-keys -t t Enter
  check "terminal: TAB completes from the engine's names" '^> accounts\.main\.cash$'
  tm send-keys -t t C-d
  check "terminal: Ctrl-D detaches, exit 0" '^EXIT=0$'
else
  echo "# SKIP the terminal part: tmux is not installed"
fi

is "$(printf 'status()\n' | attach 2>&1)" '"running"' "the engine outlives its clients"
printf 'stop()\n' | attach > /dev/null 2>&1
for _ in $(seq 1 100); do kill -0 "$epid" 2>/dev/null || break; sleep 0.05; done
wait "$epid"; rc=$?
epid=""
is "$rc" 0 "closing the control server lets the engine's loop end (exit 0)"
ok "$([ ! -e "$sock" ]; echo $?)" "... and removes the socket file"
# SIGTERM: the engine drains and exits 0, removing its socket
start_engine
kill -TERM "$epid"
for _ in $(seq 1 100); do kill -0 "$epid" 2>/dev/null || break; sleep 0.05; done
wait "$epid"; rc=$?
epid=""
is "$rc" 0 "SIGTERM: the engine drains and exits 0"
ok "$([ ! -e "$sock" ]; echo $?)" "... its socket removed"
# a socket file left by a killed engine is replaced
start_engine
kill -9 "$epid"; wait "$epid" 2>/dev/null; epid=""
ok "$([ -S "$sock" ]; echo $?)" "a killed engine leaves its socket file"
start_engine
is "$(printf 'status()\n' | attach 2>&1)" '"running"' "a new engine replaces the stale socket"
printf 'stop()\n' | attach > /dev/null 2>&1
wait "$epid" 2>/dev/null; epid=""
done_testing
