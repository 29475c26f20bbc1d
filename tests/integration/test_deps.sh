#!/bin/bash
# scripts/deps.sh (make deps): installs only the missing packages, says which, uses
# sudo when not root, and is silent when everything is there; before installing
# postgresql-15 it turns off Debian's default cluster.  dpkg-query, apt-get, sudo and id
# are replaced by recording shims on PATH, and /etc/postgresql-common by a directory of
# ours (DEPS_PGCOMMON_ETC), so nothing is installed or written for real.
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
[ "$1" = install ] && [ -f "$DEPS_PGCOMMON_ETC/createcluster.d/alluse.conf" ] && echo "(install: alluse.conf is there)" >> "$LOG"
exit 0
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

etc=$tmp/etc/postgresql-common
run() { PATH="$tmp/bin:$PATH" MISSING="$1" FAKE_UID="${2:-0}" DEPS_PGCOMMON_ETC=$etc sh "$root/scripts/deps.sh" 2>&1; }

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
# ---- the PostgreSQL server, without Debian's default cluster ----
sed -n '/^PACKAGES=/,/"$/p' "$root/scripts/deps.sh" | grep -Eq '(^| )postgresql-15( |"|$)'
ok $? "postgresql-15 is in PACKAGES"
[ ! -e "$tmp/etc" ]; ok $? "no postgresql-15 to install: nothing written to /etc/postgresql-common"
: > "$LOG"
out=$(run "postgresql-15 tmux"); rc=$?
is "$rc" 0 "postgresql-15 missing (and postgresql-common, fresh machine): exit 0"
is "$out" "deps: installing: tmux postgresql-15
deps: create_main_cluster = false in $etc/createcluster.d/alluse.conf (no default PostgreSQL cluster)" \
  "says it installs postgresql-15 and turns off the default cluster"
is "$(grep -v '^#' "$etc/createcluster.d/alluse.conf")" "create_main_cluster = false" "createcluster.d/alluse.conf says create_main_cluster = false"
[ ! -e "$etc/createcluster.conf" ]; ok $? "createcluster.conf (postgresql-common's, through ucf) is left to the package"
like "$(cat "$LOG")" "^apt-get install .*tmux postgresql-15$" "apt-get installs postgresql-15"
like "$(cat "$LOG")" "^\(install: alluse.conf is there\)$" "with the setting already in place"
cp "$etc/createcluster.d/alluse.conf" "$tmp/first"
out=$(run "postgresql-15")
is "$out" "deps: installing: postgresql-15" "again: the setting is there, nothing more to say"
cmp -s "$tmp/first" "$etc/createcluster.d/alluse.conf"; ok $? "and the file is as it was"
rm -rf "$etc"; mkdir -p "$etc"
printf '%s\n' "# Create a \"main\" cluster when a new postgresql-x.y server package is installed" \
  "#create_main_cluster = true" "include_dir '/etc/postgresql-common/createcluster.d'" > "$etc/createcluster.conf"
run "postgresql-15" >/dev/null
[ -f "$etc/createcluster.d/alluse.conf" ]; ok $? "postgresql-common there, the setting only commented out: turned off"
rm -rf "$etc"; mkdir -p "$etc"
printf '%s\n' "create_main_cluster = true" > "$etc/createcluster.conf"; cp "$etc/createcluster.conf" "$tmp/mine"
out=$(run "postgresql-15")
is "$out" "deps: installing: postgresql-15" "someone chose create_main_cluster = true: left alone, not mentioned"
[ ! -e "$etc/createcluster.d" ] && cmp -s "$tmp/mine" "$etc/createcluster.conf"; ok $? "and nothing written"
rm -rf "$etc"
: > "$LOG"
out=$(run "postgresql-15" 1000)
like "$(cat "$LOG")" "^sudo tee" "not root: the setting is written through sudo"

grep -q 'luajit' "$root/scripts/deps.sh" && ! grep -Eq '(^| )luajit( |$)' <(sed -n '/^PACKAGES=/,/"$/p' "$root/scripts/deps.sh")
ok $? "Debian's plain luajit package is never requested"
done_testing
