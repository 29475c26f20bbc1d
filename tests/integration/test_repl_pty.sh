#!/bin/bash
# alluse repl on a real pseudo-terminal.  tmux, on a private socket with no config,
# runs an interactive bash in a fixed-size window; keystrokes go in with send-keys and
# the screen comes back with capture-pane, polled until the expected text shows up.
# Also: piped stdin (no terminal at all), and the exit statuses.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")

tmp=$(mktemp -d)
sock=alluse-test-$$
# The socket lives under $tmp, so removing $tmp leaves nothing behind in /tmp/tmux-UID.
export TMUX_TMPDIR=$tmp
unset TMUX   # started from inside tmux, this test still gets a server of its own
tm() { tmux -L "$sock" -f /dev/null "$@"; }
cleanup() { tm kill-server >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
# Sanitizer builds start and run slower; nothing here waits longer than it must.
TIMEOUT=${REPL_TEST_TIMEOUT:-20}

# ---- piped stdin: no editing, no prompt, values on stdout ----
out=$(printf '1+1\n' | "$ALLUSE" repl 2>&1); rc=$?
is "$out" "2" "piped: 1+1 prints 2 and nothing else (no banner, no prompt)"
is "$rc" 0 "piped: exit 0 at end of input"
out=$(printf 'function f(x)\n  return x * 3\nend\nf(14)\n{ 1, "a", k = true }\n' | "$ALLUSE" repl 2>&1)
is "$out" $'42\n{ 1, "a", k = true }' "piped: multi-line function and a table"
out=$(printf 'error("bad")\n5\n' | "$ALLUSE" repl 2>"$tmp/err"); rc=$?
is "$out" "5" "piped: the line after an error still runs"
like "$(cat "$tmp/err")" "^stdin:1: bad" "piped: the error goes to stderr"
is "$rc" 1 "piped: exit 1 when a line failed"
out=$("$ALLUSE" repl </dev/null 2>&1); rc=$?
is "$out:$rc" ":0" "piped: empty input exits 0 silently"
"$ALLUSE" repl --bogus >/dev/null 2>&1; is "$?" 2 "a bad flag exits 2"
"$ALLUSE" repl --history-size lots >/dev/null 2>&1; is "$?" 2 "a bad --history-size exits 2"

# ---- the terminal ----
if ! command -v tmux >/dev/null 2>&1; then
  echo "# SKIP the terminal tests: tmux is not installed"
  done_testing
fi

mkdir -p "$tmp/home"
screen() { tm capture-pane -p -J -S - -t t 2>/dev/null; }
# wait_for REGEX: poll the screen until a line matches (or give up after $TIMEOUT s).
wait_for() {
  local tries=$((TIMEOUT * 20))
  while [ $tries -gt 0 ]; do
    screen | grep -Eq -- "$1" && return 0
    sleep 0.05
    tries=$((tries - 1))
  done
  echo "# timed out waiting for: $1"
  screen | grep -v '^$' | tail -15 | sed 's/^/#   | /'
  return 1
}
count() { screen | grep -Ec -- "$1"; }
# wait_count REGEX N: poll until at least N lines match (output of earlier runs stays on screen).
wait_count() {
  local tries=$((TIMEOUT * 20))
  while [ $tries -gt 0 ]; do
    [ "$(count "$1")" -ge "$2" ] && return 0
    sleep 0.05
    tries=$((tries - 1))
  done
  echo "# timed out waiting for $2 lines matching: $1"
  screen | grep -v '^$' | tail -15 | sed 's/^/#   | /'
  return 1
}
type_text() { tm send-keys -t t -l "$1"; }   # -l: "end" is text, not the End key
type_line() { type_text "$1"; tm send-keys -t t Enter; }
# check NAME REGEX: one TAP line for "the screen shows REGEX".
check() { wait_for "$2"; ok $? "$1"; }

printf '%s\n' "PS1='\$ '" 'unset ALLUSE_HISTORY' > "$tmp/bashrc"   # not the user's rc files
HOME="$tmp/home" tm new-session -d -s t -x 100 -y 50 "bash --rcfile '$tmp/bashrc' --noprofile -i"
wait_for '^\$ ' >/dev/null || { ok 1 "tmux started an interactive shell"; done_testing; }

start_repl() { # start_repl ARGS...: run the REPL in the pane, printing its status after
  type_line "\"$ALLUSE\" repl $* ; echo EXIT=\$?"
}

# ---- session 1 ----
start_repl --history "$tmp/hist"
check "banner on a terminal" 'Ctrl-D exits'
type_line '1000+234'
check "an expression prints its value" '^1234$'
type_line '{ b = 2, a = { 1, 2 }, s = "x" }'
check "a table is pretty-printed, keys sorted" '^\{ a = \{ 1, 2 \}, b = 2, s = "x" \}$'
type_line 'c = { name = "loop" }  c.me = c'
type_line 'c'
check "a cycle prints safely" '^\{ me = <cycle>, name = "loop" \}$'
type_line 'function sq(x)'
check "an open function asks for more with >>" '^>> $'
type_line '  return x * x'
type_line 'end'
type_line 'sq(111)'
check "a function typed over three lines is callable" '^12321$'
type_line 'error("kaboom")'
check "an error prints its message" '^stdin:1: kaboom$'
check "and a traceback" 'in main chunk'
type_line '6*7+1000'
check "the REPL carries on after an error" '^1042$'
type_text 'string.up'
tm send-keys -t t Tab
check "TAB completes string.up to string.upper" '^> string\.upper$'
type_line '("abc")'
check "the completed name is the real function" '^"ABC"$'
type_line 'tbl = { longfieldname = 5 }'
type_text 'tbl.longf'
tm send-keys -t t Tab
type_line ''
check "TAB completes a table field" '^5$'
type_line 'word = "hi"'
type_text 'word:up'
tm send-keys -t t Tab
type_line '()'
check "TAB completes a method on obj:" '^"HI"$'
type_text 'partial_abandoned_line'
tm send-keys -t t C-c
type_line '9000+1'
check "Ctrl-C abandons the line being typed" '^9001$'
is "$(count 'partial_abandoned_line.*nil|attempt')" 0 "the abandoned line never ran"
type_line 'jit.off() while true do end'
sleep 0.3
tm send-keys -t t C-c
check "Ctrl-C stops running code" 'interrupted'
type_line '"still-" .. "here"'
check "and the REPL carries on" '^"still-here"$'
type_line '"history-" .. 99'
check "the last line of session 1 ran" '^"history-99"$'
tm send-keys -t t C-d
check "Ctrl-D exits with status 0" '^EXIT=0$'
[ -s "$tmp/hist" ]; ok $? "history file written"
is "$(stat -c %a "$tmp/hist")" 600 "history file is private"

# ---- session 2: the history of session 1 is there ----
start_repl --history "$tmp/hist"
wait_count 'Ctrl-D exits' 2 >/dev/null
tm send-keys -t t Up
check "Up recalls the previous session's last line" '^> "history-" \.\. 99$'
tm send-keys -t t Enter
wait_for '^"history-99"$' >/dev/null
sleep 0.2
is "$(count '^"history-99"$')" 2 "the recalled line runs again"
tm send-keys -t t Up Up Up
check "older lines are there too" '^> "still-" \.\. "here"$'
tm send-keys -t t C-u
type_line 'os.exit(3)'
check "os.exit leaves with its status" '^EXIT=3$'
grep -Eq 'function.{1,4}sq\(x\).*return.*end' "$tmp/hist"; ok $? "a multi-line chunk is kept in history as one entry"

# ---- session 3: the default history file in HOME, and --no-history ----
start_repl --no-history
wait_count 'Ctrl-D exits' 3; ok $? "--no-history starts"
type_line '"nohist-" .. 1'
check "--no-history runs lines" '^"nohist-1"$'
tm send-keys -t t C-d
wait_count '^EXIT=0$' 2; ok $? "--no-history: Ctrl-D exits 0"
[ ! -e "$tmp/home/.alluse_history" ]; ok $? "--no-history writes no file"
start_repl
wait_count 'Ctrl-D exits' 4 >/dev/null
type_line '"default-" .. 2'
check "default history: line runs" '^"default-2"$'
tm send-keys -t t C-d
wait_count '^EXIT=0$' 3 >/dev/null
grep -q 'default-' "$tmp/home/.alluse_history" 2>/dev/null; ok $? "default history file is ~/.alluse_history"

done_testing
