#!/bin/sh
# build.sh — `make image`: build alluse's image with podman or docker, whichever is here
# (podman first; CONTAINER_ENGINE=docker picks docker).  podman runs through
# container/podman.sh, its private configuration and storage under build/podman
# (ALLUSE_PODMAN_STATE=system: the machine's own).  docs/container.md.
#
#   IMAGE_MODE=full    container/Containerfile: compile in a Debian 12 stage (BASE,
#                      default docker.io/library/debian:bookworm, pulled if missing);
#   IMAGE_MODE=staged  compile on the host (make, or the binary ALLUSE_BINARY names),
#                      lay out the tree with container/stage.sh, and build only the
#                      final stage from it (container/Containerfile.staged);
#   IMAGE_MODE=auto    (default) full when the BASE image is here already, else staged:
#                      nothing is pulled unasked.
#   BASE=debootstrap   full, on a Debian 12 base made here: debootstrap --variant=minbase
#                      bookworm (DEBIAN_MIRROR) imported as localhost/alluse-build-base.
#   IMAGE=NAME         tagged NAME:COMMIT and NAME:latest (default alluse).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=${IMAGE_MODE:-auto}
base=${BASE:-docker.io/library/debian:bookworm}
name=${IMAGE:-alluse}
work=$root/build/container
die() { echo "image: $*" >&2; exit 1; }

engine=${CONTAINER_ENGINE:-}
if [ -z "$engine" ]; then
  if command -v podman >/dev/null 2>&1; then engine=podman
  elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then engine=docker
  else die "needs podman (apt-get install podman runc) or docker with a running daemon"
  fi
fi
# e ARGS: the engine.  build_net: podman's RUN steps use the host's network, so a build
# sets up no bridge (no iptables rules, no cni-podman0 left behind).
case $engine in
  podman) e() { sh "$root/container/podman.sh" "$@"; }; build_net="--network host" ;;
  docker) e() { docker "$@"; }; build_net="" ;;
  *) die "CONTAINER_ENGINE is podman or docker, not $engine" ;;
esac
has_image() { e image inspect "$1" >/dev/null 2>&1; }

if [ "$base" = debootstrap ]; then
  base=localhost/alluse-build-base:bookworm
  if ! has_image "$base"; then
    command -v debootstrap >/dev/null 2>&1 || die "BASE=debootstrap needs debootstrap (apt-get install debootstrap)"
    echo "image: debootstrap --variant=minbase bookworm -> $base"
    rm -rf "$work/bookworm"
    debootstrap --variant=minbase bookworm "$work/bookworm" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
      > "$work/debootstrap.log" 2>&1 || die "debootstrap failed: $work/debootstrap.log"
    tar -C "$work/bookworm" -c . | e import - "$base" >/dev/null
    rm -rf "$work/bookworm"
  fi
  mode=full
fi
if [ "$mode" = auto ]; then
  if has_image "$base"; then mode=full; else
    echo "image: no $base image here (IMAGE_MODE=full pulls it, BASE=debootstrap makes one): staged on the host"
    mode=staged
  fi
fi

start=$(date +%s)
case $mode in
  full)
    commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
    git diff --quiet HEAD -- 2>/dev/null || commit=$commit-dirty
    # shellcheck disable=SC2086
    e build $build_net -f container/Containerfile --build-arg BASE="$base" --build-arg ALLUSE_COMMIT="$commit" \
      -t "$name:$commit" -t "$name:latest" . ;;
  staged)
    bin=${ALLUSE_BINARY:-}
    if [ -z "$bin" ]; then make -s all; bin=build/alluse; fi
    commit=$("$bin" version | sed -n '1s/.*(commit \([^,]*\),.*/\1/p')
    mkdir -p "$work"
    sh container/stage.sh "$work/rootfs" "$bin" "$root"
    e build -f container/Containerfile.staged --build-arg ALLUSE_COMMIT="$commit" \
      -t "$name:$commit" -t "$name:latest" "$work" ;;
  *) die "IMAGE_MODE is full, staged or auto, not $mode" ;;
esac
size=$(e image inspect --format '{{.Size}}' "$name:$commit")
echo "image: $name:$commit ($mode, $engine): $size bytes, built in $(( $(date +%s) - start )) s"
