#!/bin/sh
# Install the Debian packages alluse needs to build and test, and only those missing.
# Silent when everything is present, so `make run` and `make test` can call it every time.
# Note: never add Debian's plain `luajit` package: it conflicts with libluajit2-5.1-dev.
# chromium and a font for it to draw text with are for the test that opens the HTML
# report in a headless browser (tests/integration/test_report_chromium.sh).
# quantlib-python is the reference the option pricing is checked against
# (tests/integration/test_options_quantlib.sh, run with Debian's /usr/bin/python3).
set -e

PACKAGES="gcc make pkg-config git perl
libluajit2-5.1-dev libuv1-dev libcurl4-openssl-dev libssl-dev libpq-dev libsqlite3-dev
lua-cjson lua-cjson-dev libedit-dev
tmux tzdata
chromium fonts-dejavu-core
quantlib-python"

missing=""
for p in $PACKAGES; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in
    "install ok installed") ;;
    *) missing="$missing $p" ;;
  esac
done

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: apt-get not found; install these packages by hand:$missing" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
