#!/bin/sh
# make bench: every benchmark, figures on stdout.  Never run by make test.
#   bench/run.sh BUILD/alluse BUILD/bench/startup
set -e
bin=$1
startup=$2
echo "startup: alluse version, start to exit (goal: median < 20 ms); /bin/true for scale"
printf '  alluse version  '; "$startup" 200 "$bin" version
printf '  /bin/true       '; "$startup" 200 /bin/true
ALLUSE_LUA_PATH= "$bin" exec bench/sandbox.lua
ALLUSE_LUA_PATH= "$bin" exec bench/store.lua
