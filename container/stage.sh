#!/bin/sh
# stage.sh ROOTFS BINARY [SRC] — lay out the final image's whole file tree in ROOTFS:
# the binary, exactly the shared libraries `ldd BINARY` lists (and the dynamic loader)
# at the paths ldd names, the CA bundle, passwd/group entries for the nonroot user
# 65532 (libpq looks the user up when a URL names none), and SRC's
# strategies/ in /app, and an empty /tmp for the tmpfs or emptyDir a run writes its
# SQLite database to (also the user's home, so whatever wants a home finds the one
# writable place).  Nothing else: no shell, no zoneinfo (alluse computes New York
# time by rule, docs/time.md; with no /etc/localtime glibc's localtime is UTC).
# Both image builds use it: container/Containerfile runs it in its Debian build stage,
# container/build.sh runs it on the host for Containerfile.staged.
set -eu
[ $# -ge 2 ] || { echo "usage: stage.sh ROOTFS BINARY [SRC]" >&2; exit 2; }
rootfs=$1 bin=$2 src=${3:-.}
CA=/etc/ssl/certs/ca-certificates.crt

[ -x "$bin" ] || { echo "stage.sh: $bin is not an executable" >&2; exit 1; }
[ -r "$CA" ] || { echo "stage.sh: $CA is missing (Debian package ca-certificates)" >&2; exit 1; }
rm -rf "$rootfs"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs" "$rootfs/app" "$rootfs/tmp"

# copy FILE: to the same path under ROOTFS, following symlinks (libfoo.so.1 -> .so.1.2.3),
# so the loader finds each library by the name the binary or another library asks for.
copy() {
  mkdir -p "$rootfs$(dirname "$1")"
  cp -L "$1" "$rootfs$1"
}
cp "$bin" "$rootfs/usr/local/bin/alluse"
# ldd's lines: "libx.so.1 => /lib/.../libx.so.1 (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)",
# and the vDSO, which has no file.  A library ldd cannot find fails the build.
libs=$(ldd "$bin") || { echo "stage.sh: ldd $bin failed" >&2; exit 1; }
if printf '%s\n' "$libs" | grep -q 'not found'; then
  printf '%s\n' "$libs" | grep 'not found' >&2; exit 1
fi
for f in $(printf '%s\n' "$libs" | sed -n -e 's/.*=> \(\/[^ ]*\) .*/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
  copy "$f"
done
cp "$CA" "$rootfs$CA"

printf '%s\n' "root:x:0:0:root:/root:/sbin/nologin" \
  "nonroot:x:65532:65532:nonroot:/tmp:/sbin/nologin" > "$rootfs/etc/passwd"
printf '%s\n' "root:x:0:" "nonroot:x:65532:" > "$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"

cp -R "$src/strategies" "$rootfs/app/strategies"
# Readable by everyone, writable by no one but root: 65532 only reads the image.
chmod -R a+rX,go-w "$rootfs/app" "$rootfs/etc" "$rootfs/usr"
