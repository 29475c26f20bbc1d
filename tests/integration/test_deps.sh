#!/bin/bash
# scripts/deps.sh (make deps): installs only the missing packages, says which, uses
# sudo when not root, and is silent when everything is there.  dpkg-query, apt-get,
# sudo and id are replaced by recording shims on PATH so nothing is installed for real.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
cat > "$tmp/bin/dpkg-query" <<'SH'
#!/bin/sh
# Every package is installed except those listed in $MISSING.
for last in "$@"; do :; done
for p in $MISSING; do [ "$p" = "$last" ] && exit 1; done
printf 'install ok installed'
SH
cat > "$tmp/bin/apt-get" <<'SH'
#!/bin/sh
echo "apt-get $*" >> "$LOG"
SH
cat > "$tmp/bin/sudo" <<'SH'
#!/bin/sh
echo "sudo $1" >> "$LOG"
"$@"
SH
cat > "$tmp/bin/id" <<'SH'
#!/bin/sh
echo "${FAKE_UID:-0}"
SH
chmod +x "$tmp/bin"/*
export LOG="$tmp/log"

run() { PATH="$tmp/bin:$PATH" MISSING="$1" FAKE_UID="${2:-0}" sh "$root/scripts/deps.sh" 2>&1; }

: > "$LOG"
out=$(run ""); rc=$?
is "$rc" 0 "nothing missing: exit 0"
is "$out" "" "nothing missing: silent"
is "$(cat "$LOG")" "" "nothing missing: apt-get not called"

: > "$LOG"
out=$(run "libuv1-dev tmux"); rc=$?
is "$rc" 0 "missing packages: exit 0"
is "$out" "deps: installing: libuv1-dev tmux" "missing packages: says which"
like "$(cat "$LOG")" "^apt-get install .*libuv1-dev tmux$" "apt-get installs exactly the missing ones"
like "$(cat "$LOG")" "^apt-get update" "apt-get update runs first"
if grep -q '^sudo' "$LOG"; then ok 1 "root: no sudo"; else ok 0 "root: no sudo"; fi

: > "$LOG"
run "libedit-dev" 1000 >/dev/null
like "$(cat "$LOG")" "^sudo apt-get" "not root: apt-get through sudo"
grep -q 'luajit' "$root/scripts/deps.sh" && ! grep -Eq '(^| )luajit( |$)' <(sed -n '/^PACKAGES=/,/"$/p' "$root/scripts/deps.sh")
ok $? "Debian's plain luajit package is never requested"
done_testing
