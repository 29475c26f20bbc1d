#!/bin/sh
# Install the Debian packages alluse needs to build and test, and only those missing.
# Silent when everything is present, so `make run` and `make test` can call it every time.
# Note: never add Debian's plain `luajit` package: it conflicts with libluajit2-5.1-dev.
# curl, python3 and openssl are the real clients and servers of the HTTP and TLS tests
# (test_http_server.sh, test_http_client.sh, test_live_run.sh, test_db_tls.sh).
# chromium and a font for it to draw text with are for the test that opens the HTML
# report in a headless browser (tests/integration/test_report_chromium.sh).
# quantlib-python is the reference the option pricing is checked against
# (tests/integration/test_options_quantlib.sh, run with Debian's /usr/bin/python3).
# podman and runc build and run the container image in tests/integration/test_container.sh
# (runc, not crun: crun refuses hybrid cgroup layouts like this machine's).
# python3-yaml (PyYAML) reads back the YAML alluse.deploy.yaml writes (tests/lua/test_yaml.lua,
# with Debian's /usr/bin/python3).
# postgresql-15 is the server the integration tests start throwaway copies of
# (tests/integration/pg.sh); it pulls in postgresql-client-15 (psql).  Debian would also
# create and start a "main" cluster on port 5432 when it is installed: see below.
set -e

# `deps.sh build` installs only what `make` needs, and the CA bundle: the image's build
# stage (container/Containerfile).
BUILD_PACKAGES="gcc make pkg-config git
libluajit2-5.1-dev libuv1-dev libcurl4-openssl-dev libssl-dev libpq-dev libsqlite3-dev
lua-cjson lua-cjson-dev libedit-dev"
PACKAGES="$BUILD_PACKAGES perl
tmux tzdata curl python3 openssl
chromium fonts-dejavu-core
quantlib-python python3-yaml
postgresql-15
prometheus
podman runc"
if [ "${1:-}" = build ]; then PACKAGES="$BUILD_PACKAGES ca-certificates"; fi

missing=""
for p in $PACKAGES; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in
    "install ok installed") ;;
    *) missing="$missing $p" ;;
  esac
done

# Node.js runs the Kubernetes schema validation of rendered manifests
# (tests/integration/test_deploy_render.sh, npm packages pinned in
# tests/integration/k8s-validate).  A node already on PATH (nvm, /usr/local) is used;
# only without one are Debian's nodejs and npm installed.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: apt-get not found; install these packages by hand:$missing" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

# No default cluster: postgresql-15's postinst runs `pg_createcluster 15 main --start`
# unless postgresql-common's createcluster.conf says create_main_cluster = false.  That
# file comes from postgresql-common through ucf, so writing it before the package is
# installed would make ucf ask (a prompt, or our one-line file kept in place of the full one) about a locally
# changed file; the createcluster.d directory it includes (include_dir, read last) is
# ours to add to.  Nothing is written when the server is installed already or when
# someone has chosen either way in createcluster.conf or createcluster.d.
PGCOMMON_ETC=${DEPS_PGCOMMON_ETC:-/etc/postgresql-common}
case " $missing " in
  *" postgresql-15 "*)
    if ! grep -Eqs '^[[:space:]]*create_main_cluster([[:space:]]|=)' \
         "$PGCOMMON_ETC/createcluster.conf" "$PGCOMMON_ETC"/createcluster.d/*.conf; then
      echo "deps: create_main_cluster = false in $PGCOMMON_ETC/createcluster.d/alluse.conf (no default PostgreSQL cluster)"
      $SUDO mkdir -p "$PGCOMMON_ETC/createcluster.d"
      printf '%s\n' "# scripts/deps.sh (alluse): the tests start PostgreSQL servers of their own" \
        "create_main_cluster = false" | $SUDO tee "$PGCOMMON_ETC/createcluster.d/alluse.conf" >/dev/null
    fi ;;
esac

$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
