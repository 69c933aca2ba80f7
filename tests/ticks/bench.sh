#!/bin/sh
# Usage: bench.sh PLUGIN.so [RUNS]
# Times bench_loop.c at -O2, native and built with the rrx ticks plugin,
# and prints the median of RUNS (default 5) wall-clock runs of each and the
# ratio. Not a CTest test: it takes tens of seconds.
set -e
plugin=$1
runs=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

gcc -O2 "$here/bench_loop.c" -o "$dir/native"
gcc -O2 -fplugin="$plugin" "$here/bench_loop.c" -o "$dir/ticks"
[ "$("$dir/native")" = "$("$dir/ticks")" ] || { echo "results differ"; exit 1; }

median() { # seconds of $runs runs of $1
  for _ in $(seq "$runs"); do
    start=$(date +%s.%N)
    "$1" >/dev/null
    end=$(date +%s.%N)
    awk "BEGIN { printf \"%.3f\\n\", $end - $start }"
  done | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

native=$(median "$dir/native")
ticks=$(median "$dir/ticks")
awk "BEGIN { printf \"native %s s, instrumented %s s, ratio %.2f\\n\", \
  $native, $ticks, $ticks / $native }"
