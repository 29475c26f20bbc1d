#!/bin/sh
# bench/startup: `alluse version` from start to exit (goal: median under 20 ms),
# beside /bin/true for the cost of a bare fork+exec on this machine.
set -e
bin=$1
tool=$2
echo "startup: alluse version (goal: median < 20 ms)"
printf '  alluse version  '; "$tool" 200 "$bin" version
printf '  /bin/true       '; "$tool" 200 /bin/true
