#!/bin/bash
# The alluse binary's command line: help, errors and exit codes, version, exec,
# test, the embedded library and the check that its Lua and C halves match.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1   # no lua/ folder here: everything must come from the binary

out=$("$ALLUSE" --help); rc=$?
is "$rc" 0 "--help exits 0"
for c in version exec test repl data; do like "$out" "^  $c " "--help lists $c"; done

for c in version exec test repl data; do
  out=$("$ALLUSE" $c --help); rc=$?
  is "$rc" 0 "$c --help exits 0"
  like "$out" "^usage: alluse $c" "$c --help shows its usage"
  err=$("$ALLUSE" $c --no-such-flag 2>&1 >/dev/null); rc=$?
  is "$rc" 2 "$c: unknown flag exits 2"
  is "$err" "alluse $c: unknown flag '--no-such-flag'" "$c: one line naming the flag"
done

err=$("$ALLUSE" frobnicate 2>&1 >/dev/null); rc=$?
is "$rc" 2 "unknown subcommand exits 2"
is "$(printf '%s\n' "$err" | wc -l)" 1 "unknown subcommand: one line"
like "$err" "unknown command 'frobnicate'" "unknown subcommand is named"
err=$("$ALLUSE" --frob 2>&1 >/dev/null); rc=$?
is "$rc" 2 "unknown top-level flag exits 2"
like "$err" "unknown flag '--frob'" "unknown top-level flag is named"
"$ALLUSE" >/dev/null 2>&1; is "$?" 2 "no subcommand exits 2"

out=$("$ALLUSE" version); rc=$?
is "$rc" 0 "version exits 0"
like "$out" "^alluse [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]{7,}" "version shows version and commit"
commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null)
[ -n "$commit" ] && like "$out" "commit $commit" "version's commit is this checkout's"
for lib in luajit libuv libcurl openssl libpq sqlite; do
  like "$out" "^  $lib +.*[0-9]" "version shows $lib"
done
like "$("$ALLUSE" version)" "LuaJIT 2\.1" "LuaJIT version is the run-time one"
echo 'local v = require("alluse.json").decode(io.read("*a")) local n = 0 for _ in pairs(v.libraries) do n = n + 1 end print(v.version ~= nil and v.commit ~= nil, n)' > vj.lua
is "$("$ALLUSE" version --json | "$ALLUSE" exec vj.lua)" "true	6" "version --json: one object with the six libraries"

# exec: arg table, varargs, exit status, errors with file:line and traceback.
cat > args.lua <<'LUA'
print(arg[0], #arg, arg[1], arg[2], arg[3], select("#", ...), (...))
return tonumber(arg[3]) or 0
LUA
out=$("$ALLUSE" exec args.lua one --two 0); rc=$?
is "$out" "args.lua	3	one	--two	0	3	one" "exec: arg table and ... as in lua, flags passed through"
is "$rc" 0 "exec: a script's returned number is the exit status (0)"
"$ALLUSE" exec args.lua a b 7 >/dev/null; is "$?" 7 "exec: a script's returned number is the exit status (7)"
echo 'os.exit(5)' > exit.lua
"$ALLUSE" exec exit.lua; is "$?" 5 "exec: os.exit(n)"
printf 'local x = 1\n\nlocal function inner()\n  error("it broke")\nend\ninner()\n' > boom.lua
err=$("$ALLUSE" exec boom.lua 2>&1 >/dev/null); rc=$?
is "$rc" 1 "script error exits 1"
like "$(printf '%s\n' "$err" | head -1)" "^boom\.lua:4: it broke$" "script error: file:line: message first"
like "$err" "stack traceback:" "script error: traceback follows"
like "$err" "boom\.lua:6: in main chunk|boom\.lua:6:" "traceback names the calling line"
echo 'error({code = 1})' > obj.lua
err=$("$ALLUSE" exec obj.lua 2>&1); is "$?" 1 "non-string error exits 1"
like "$err" "error object is a table value" "non-string error is described"
printf 'local = 1\n' > syntax.lua
err=$("$ALLUSE" exec syntax.lua 2>&1); rc=$?
is "$rc" 1 "syntax error exits 1"
like "$err" "syntax\.lua:1:" "syntax error names file:line"
err=$("$ALLUSE" exec missing.lua 2>&1); rc=$?
is "$rc" 1 "missing script exits 1"
like "$err" "missing\.lua" "missing script is named"
"$ALLUSE" exec >/dev/null 2>&1; is "$?" 2 "exec without SCRIPT is a usage error"
echo 'local json = require("alluse.crypto") print(json.sha256_hex("abc"):sub(1, 8))' > lib.lua
is "$("$ALLUSE" exec lib.lua)" "ba7816bf" "exec: the full library is available"

echo 'print(type(package.preload.cjson), require("cjson").decode("[1,2]")[2])' > cj.lua
is "$("$ALLUSE" exec cj.lua)" "function	2" "cjson is linked and registered in package.preload"

# test: TAP out, exit status follows the results.
mkdir -p t
printf 'local t = require("alluse.test")\nt.ok(true, "fine")\nt.is(1, 1, "same")\n' > t/test_pass.lua
printf 'local t = require("alluse.test")\nt.is(1, 2, "differs")\n' > t/test_fail.lua
out=$("$ALLUSE" test t/test_pass.lua); rc=$?
is "$rc" 0 "test: passing file exits 0"
like "$out" "^1\.\.2$" "test: plan printed"
out=$("$ALLUSE" test t); rc=$?
is "$rc" 1 "test: a failing file in a folder exits 1"
like "$out" "^not ok 1 - differs" "test: failure reported as not ok"
like "$out" "^1\.\.3$" "test: folder runs every test_*.lua"
printf 'error("died")\n' > t/test_die.lua
out=$("$ALLUSE" test t/test_die.lua); is "$?" 1 "test: a file that raises fails"
like "$out" "not ok 1 - t/test_die.lua ran to the end" "test: the raising file is reported"

# ALLUSE_LUA_PATH loads the library from disk; a mismatched version is refused.
cp -r "$root/lua" disk
real=$(sed -n 's/.*version = "\([^"]*\)", abi = \([0-9]*\).*/\1 \2/p' "$root/lua/alluse/version.lua")
v=${real% *}; a=${real#* }
printf 'return { version = "%s", abi = %s, from_disk = true }\n' "$v" "$a" > disk/alluse/version.lua
echo 'print(require("alluse.version").from_disk)' > which.lua
is "$(ALLUSE_LUA_PATH=disk "$ALLUSE" exec which.lua)" "true" "ALLUSE_LUA_PATH loads the library from disk"
is "$("$ALLUSE" exec which.lua)" "nil" "without it the embedded library is used"
printf 'return { version = "%s", abi = %s }\n' "$v" "$((a + 1))" > disk/alluse/version.lua
err=$(ALLUSE_LUA_PATH=disk "$ALLUSE" version 2>&1); rc=$?
is "$rc" 1 "a Lua library with another ABI is refused"
like "$err" "different builds" "the refusal says why"
printf 'return { version = "9.9.9", abi = %s }\n' "$a" > disk/alluse/version.lua
err=$(ALLUSE_LUA_PATH=disk "$ALLUSE" version 2>&1); rc=$?
is "$rc" 1 "a Lua library of another version is refused"
like "$err" "version 9\.9\.9" "the refusal names the versions"
err=$(ALLUSE_LUA_PATH=/nonexistent "$ALLUSE" version 2>&1); rc=$?
is "$rc" 1 "a missing Lua library folder is refused"
like "$err" "cannot load the Lua library" "the refusal names the problem"

done_testing
