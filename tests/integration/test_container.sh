#!/bin/bash
# test_container.sh — the container image (container/, docs/container.md), built and run
# with Debian's podman.  `make image`'s container/build.sh builds it the host-staged way
# (this binary, container/stage.sh, Containerfile.staged: seconds, no base image, no
# registry), under container/podman.sh's private configuration with a storage root in a
# temp dir that goes at the end with everything in it; containers get a cgroup parent
# of their own, removed too.  Then, as a pod runs it (--read-only, --user 65532:65532,
# --memory 128m, the data mounted read-only, a tmpfs or a volume for SQLite, the host's
# network so curl reaches it on loopback):
#   - the image: under 40 MB, user 65532:65532, entrypoint alluse, no shell, no file
#     but the binary, its ldd libraries, the CA bundle, passwd/group and strategies/;
#   - alluse version runs; the read-only root refuses a database outside the tmpfs;
#   - alluse run at 200 days/s: /healthz, /metrics (promtool), /api/v1/status with
#     the days advancing, uid 65532, then podman stop (SIGTERM): the drain, exit 0;
#   - a paper session replayed to its end at max speed into a volume, whose round trips
#     from `alluse report` run in the container are the host backtest's; the same into
#     a throwaway PostgreSQL server (pg.sh) after `alluse db migrate`, all in the image.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
. "$here/pg.sh"
ALLUSE=$(cd "$(dirname "$ALLUSE")" && pwd)/$(basename "$ALLUSE")

if [ "${SAN:-}" = 1 ]; then
  echo "1..0 # SKIP SAN=1: the image is of the plain build (an ASan binary needs the sanitizer runtime, which the image does not hold)"
  exit 0
fi
if ! command -v podman >/dev/null 2>&1; then
  echo "1..0 # SKIP podman is not installed (Debian packages podman and runc: apt-get install podman runc)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP podman runs here as root (rootless needs subuid ranges)"; exit 0; fi
for c in curl python3; do
  command -v $c >/dev/null 2>&1 || { echo "1..0 # SKIP needs $c"; exit 0; }
done

tmp=$(mktemp -d)
export ALLUSE_PODMAN_STATE=$tmp/podman
cg=alluse-test-$$
P() { sh "$root/container/podman.sh" "$@"; }
cleanup() {
  pg_stop
  P rm -f -a -t 0 >/dev/null 2>&1
  P system reset -f >/dev/null 2>&1
  grep -o " $tmp/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount "$m"; done
  for d in /sys/fs/cgroup/*/"$cg" /sys/fs/cgroup/"$cg"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
if ! P info > "$tmp/info.txt" 2>&1; then
  echo "1..0 # SKIP podman cannot run here: $(grep -m1 -i error "$tmp/info.txt" | cut -c1-160)"
  exit 0
fi
cd "$root"
S=strategies/examples/sma_cross.lua
img=localhost/alluse-test-$$:latest
# A pod's settings; the host's network (no bridge, no iptables rules), loopback only.
RUN=(--cgroup-parent "/$cg" --read-only --user 65532:65532 --memory 128m --network host)
DATA=(-v "$root/data:/data:ro")

# ---- build ----
t0=$(date +%s.%N)
IMAGE_MODE=staged IMAGE=localhost/alluse-test-$$ ALLUSE_BINARY=$ALLUSE sh container/build.sh > "$tmp/build.log" 2>&1
ok $? "make image's container/build.sh builds the image from the host-staged tree"
echo "# built in $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s, by $(tail -1 "$tmp/build.log")"
size=$(P image inspect --format '{{.Size}}' "$img" 2>/dev/null)
echo "# image size: $size bytes"
ok "$([ "${size:-999999999}" -lt 40000000 ]; echo $?)" "the image is under 40 MB ($size bytes)"
is "$(P image inspect --format '{{.Config.User}}' "$img")" "65532:65532" "the image's user is 65532:65532"
is "$(P image inspect --format '{{json .Config.Entrypoint}} {{.Config.WorkingDir}}' "$img")" '["/usr/local/bin/alluse"] /app' \
  "the entrypoint is alluse, the working directory /app"

# Every file of the image, against what it should hold.
P create --name files "$img" >/dev/null && P export files | tar -t | sed 's,/$,,' | sort > "$tmp/files"
P rm files >/dev/null
like "$(cat "$tmp/files")" '^usr/local/bin/alluse$' "the image holds the binary"
nlib=$(ldd "$ALLUSE" | grep -c '/')
is "$(grep -Ec '^lib(64)?/.*\.so' "$tmp/files")" "$nlib" "... exactly the $nlib libraries ldd lists, the loader among them"
grep -qx etc/ssl/certs/ca-certificates.crt "$tmp/files"; ok $? "... the CA bundle"
is "$(grep -vE '^(usr(/local(/bin(/alluse)?)?)?|lib(64)?(/.*\.so.*)?|lib/[^/]+|etc(/passwd|/group|/ssl(/certs(/ca-certificates\.crt)?)?)?|app(/strategies(/.*)?)?|tmp)$' "$tmp/files")" "" \
  "... and nothing else: no shell, no package database, no zoneinfo"
P run --rm "${RUN[@]}" --entrypoint /bin/sh "$img" -c true > "$tmp/sh.out" 2>&1
rc=$?
ok "$([ $rc -ne 0 ]; echo $?)" "there is no /bin/sh to run (exit $rc: $(head -1 "$tmp/sh.out" | cut -c1-80))"

# ---- alluse version, and the read-only root ----
is "$(P run --rm "${RUN[@]}" "$img" version 2>&1 | head -1)" "$("$ALLUSE" version | head -1)" \
  "alluse version in the container: read-only, uid 65532, nothing but the image"
P run --rm "${RUN[@]}" "${DATA[@]}" "$img" data import /data/SPY-daily.csv --db sqlite:/app/bars.db > "$tmp/ro.out" 2>&1
rc=$?
ok "$([ $rc -ne 0 ]; echo $?)" "the root file system is read-only: a database in /app is refused (exit $rc)"
P run --rm "${RUN[@]}" --tmpfs /tmp "${DATA[@]}" "$img" data import /data/SPY-daily.csv --db sqlite:/tmp/bars.db > "$tmp/tmpfs.out" 2>&1
ok $? "... and one on the tmpfs at /tmp is written"

# ---- alluse run, checked from outside ----
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
P run -d --name live "${RUN[@]}" --tmpfs /tmp "${DATA[@]}" "$img" \
  run $S --feed replay:/data/SPY-daily.csv --speed 200d/s --db sqlite:/tmp/run.db --listen "127.0.0.1:$port" > /dev/null
ok $? "alluse run starts in the container (--read-only --user 65532:65532 --memory 128m, db on a tmpfs)"
b=http://127.0.0.1:$port
for _ in $(seq 1 100); do curl -sf "$b/healthz" > /dev/null 2>&1 && break; sleep 0.05; done
is "$(curl -s "$b/healthz")" ok "/healthz from the host"
curl -s "$b/metrics" > "$tmp/metrics.txt"
like "$(cat "$tmp/metrics.txt")" 'alluse_build_info\{version="[^"]+",commit="[^"]+"\} 1' "/metrics: alluse_build_info"
promtool_ok "$tmp/metrics.txt" "promtool check metrics accepts it"
days() { curl -s "$b/api/v1/status" | sed -n 's/.*"days": *\([0-9]*\).*/\1/p'; }
d1=$(days); sleep 0.5; d2=$(days)
ok "$([ -n "$d1" ] && [ -n "$d2" ] && [ "$d2" -gt "$d1" ]; echo $?)" "/api/v1/status: the days advance ($d1, then $d2)"
pid=$(P inspect --format '{{.State.Pid}}' live)
is "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" 65532 "the process runs as uid 65532"
peak=$(cat /sys/fs/cgroup/memory/"$cg"/*/memory.max_usage_in_bytes 2>/dev/null | head -1)
[ -n "$peak" ] && echo "# peak memory of the container so far: $((peak / 1048576)) MiB of 128"
P stop -t 30 live > /dev/null
is "$(P inspect --format '{{.State.ExitCode}}' live)" 0 "podman stop (SIGTERM): the drain exits 0"
P logs live > "$tmp/live.log" 2>&1
like "$(cat "$tmp/live.log")" '"msg":"draining: stopping at the end of the day".*"signal":"SIGTERM"' "... after logging the drain"
like "$(tail -1 "$tmp/live.log")" '"msg":"stopped",.*"status":"stopped"' "... and the stop, at a day's end"
P rm live > /dev/null

# ---- a paper session end to end, its store on a volume ----
mkdir "$tmp/db" && chown 65532:65532 "$tmp/db"
P run --rm "${RUN[@]}" "${DATA[@]}" -v "$tmp/db:/db" "$img" \
  run $S --feed replay:/data/SPY-daily.csv --speed max --db sqlite:/db/runs.db > "$tmp/max.log" 2>&1
ok $? "a replay at max speed runs to its end in the container"
like "$(tail -1 "$tmp/max.log")" '"msg":"finished",.*"run_id":1,"status":"ok"' "... and logs that it finished"
P run --rm "${RUN[@]}" -v "$tmp/db:/db" "$img" report --db sqlite:/db/runs.db --run 1 --format csv > "$tmp/run.csv" 2> "$tmp/report.err"
ok $? "alluse report in the container reads the session back from the volume"
"$ALLUSE" backtest $S --data data/SPY-daily.csv --trades "$tmp/bt.csv" --quiet
ok "$([ -s "$tmp/bt.csv" ] && cmp -s "$tmp/bt.csv" "$tmp/run.csv"; echo $?)" \
  "its round trips are the host backtest's, byte for byte ($(($(wc -l < "$tmp/bt.csv") - 1)) trades)"

# ---- the same session into PostgreSQL: libpq in the image ----
pg_start 2> "$tmp/pg.err"; rc=$?
if [ $rc = 0 ]; then
  P run --rm "${RUN[@]}" "$img" db migrate --db "$PGTEST_URL" > "$tmp/migrate.log" 2>&1
  ok $? "alluse db migrate in the container creates the schema in PostgreSQL"
  P run --rm "${RUN[@]}" "${DATA[@]}" "$img" \
    run $S --feed replay:/data/SPY-daily.csv --speed max --db "$PGTEST_URL" > "$tmp/pg.log" 2>&1
  ok $? "the replay runs to its end in the container, stored in PostgreSQL"
  P run --rm "${RUN[@]}" "$img" report --db "$PGTEST_URL" --run 1 --format csv > "$tmp/pg.csv" 2> "$tmp/pg-report.err"
  ok "$(cmp -s "$tmp/bt.csv" "$tmp/pg.csv"; echo $?)" "... and its round trips, read back by alluse report in the container, are the backtest's"
  # A URL with no user: libpq takes the OS user's name, from the image's /etc/passwd.
  P run --rm "${RUN[@]}" "$img" db migrate --db "postgres://127.0.0.1:$PGTEST_PORT/alluse_test?sslmode=disable" > "$tmp/nouser.log" 2>&1
  like "$(cat "$tmp/nouser.log")" 'role "nonroot" does not exist' "a URL without a user connects as uid 65532's name, nonroot (the image's passwd)"
else
  echo "# SKIP the PostgreSQL part: $PGTEST_REASON"
fi
done_testing
