#!/bin/sh
# podman.sh [PODMAN-ARGS...] — Debian's podman with a private configuration of alluse's,
# so nothing global is read or changed: containers.conf, storage.conf and
# registries.conf are written under ALLUSE_PODMAN_STATE (default build/podman) and
# passed by CONTAINERS_CONF, CONTAINERS_STORAGE_CONF and CONTAINERS_REGISTRIES_CONF;
# the storage root, run root, engine temp dir, events log and network config live
# there too.  What it sets and why (docs/container.md):
#   runtime runc         crun's cgroup handling fails with the hybrid cgroup v1 layout
#                        of machines like ours; runc works with it;
#   cgroupfs, file log   no systemd or journald to talk to;
#   file locks           in the temp dir, not /dev/shm/libpod_lock;
#   ulimits 4096         nofile and nproc capped, not inherited from the shell;
#   no registries        nothing is pulled: an unknown short name fails at once.
# Containers' cgroups are podman's to make: a caller that wants none left behind passes
# --cgroup-parent and removes that folder (tests/integration/test_container.sh).
# ALLUSE_PODMAN_STATE=system runs the plain podman with the machine's own settings.
# ALLUSE_PODMAN_DRIVER picks the storage driver (overlay by default; vfs copies layers
# and works where overlay mounts do not).
set -eu
state=${ALLUSE_PODMAN_STATE:-$(cd "$(dirname "$0")/.." && pwd)/build/podman}
[ "$state" = system ] && exec podman "$@"
mkdir -p "$state/etc" "$state/tmp" "$state/networks"
state=$(cd "$state" && pwd)

# put FILE: standard input to FILE, rewritten only when it changed.
put() {
  cat > "$1.new"
  if cmp -s "$1.new" "$1"; then rm -f "$1.new"; else mv "$1.new" "$1"; fi
}
put "$state/etc/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$state/events.log"
tmp_dir = "$state/tmp"
lock_type = "file"

[network]
network_config_dir = "$state/networks"
EOF
put "$state/etc/storage.conf" <<EOF
[storage]
driver = "${ALLUSE_PODMAN_DRIVER:-overlay}"
graphroot = "$state/storage"
runroot = "$state/run"
EOF
put "$state/etc/registries.conf" <<EOF
unqualified-search-registries = []
EOF
CONTAINERS_CONF=$state/etc/containers.conf
CONTAINERS_STORAGE_CONF=$state/etc/storage.conf
CONTAINERS_REGISTRIES_CONF=$state/etc/registries.conf
export CONTAINERS_CONF CONTAINERS_STORAGE_CONF CONTAINERS_REGISTRIES_CONF
# The one path no setting moves: as root, containers/image keeps its blob-info cache in
# /var/lib/containers/cache.  When this made /var/lib/containers and it holds nothing
# else afterwards, it is taken away again.
[ -e /var/lib/containers ] && had_varlib=1 || had_varlib=""
rc=0
podman "$@" || rc=$?
if [ -z "$had_varlib" ] && [ "$(ls -A /var/lib/containers 2>/dev/null)" = cache ]; then
  rm -rf /var/lib/containers
fi
exit $rc
