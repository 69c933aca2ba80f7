#!/bin/bash
# Reverse-execution latency in gdb over a 10^6-iteration -O0 loop.
# Usage: bench/reverse/run.sh [REPS]   (default 3; RRX=path/to/rrx overrides
# the build's rrx; ITERATIONS=N changes the loop's length, default 10^6).
# Prints a table of median/min/max seconds per command.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
rrx=${RRX:-$root/build/bin/rrx}
plugin=$(dirname "$rrx")/../share/rrx/gdb/rrx.py
reps=${1:-3}
command -v gdb >/dev/null || { echo "run.sh: gdb not found" >&2; exit 1; }
[ -x "$rrx" ] || { echo "run.sh: no rrx at $rrx (build first)" >&2; exit 1; }

work=$(mktemp -d /tmp/rrx-bench-reverse.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$here/loop1m.c
iterations=${ITERATIONS:-1000000}
line_of() { grep -n "$1" "$src" | head -1 | cut -d: -f1; }

gcc -O0 -g -DITERATIONS="${iterations}L" -o "$work/loop1m" "$src"
t0=$(date +%s.%N)
(cd "$work" && RRX_TRACE_DIR=$work/traces "$rrx" record -o "$work/trace" ./loop1m >/dev/null)
t1=$(date +%s.%N)

RRX_BIN=$rrx gdb -batch -nx -l 10000 \
  -ex "python RRX_PLUGIN='$plugin'" \
  -ex "python RRX_TRACE='$work/trace'" \
  -ex "python RRX_SRC='loop1m.c'" \
  -ex "python RRX_LINE_BODY=$(line_of LINE_BODY)" \
  -ex "python RRX_LINE_AFTER=$(line_of LINE_AFTER)" \
  -ex "python RRX_REPS=$reps" \
  -ex "python RRX_ITERATIONS=$iterations" \
  -x "$here/bench.py" >"$work/gdb.out" 2>&1 || { cat "$work/gdb.out"; exit 1; }
if grep -q BENCH-ERROR "$work/gdb.out"; then cat "$work/gdb.out"; exit 1; fi

printf '%-40s %9s %9s %9s %5s\n' "operation ($iterations-iteration loop)" median min max runs
printf '%-40s %9.3f %9s %9s %5s\n' "rrx record (whole program)" "$(echo "$t1 - $t0" | bc)" - - 1
grep '^RESULT' "$work/gdb.out" | while IFS=$'\t' read -r _ name med min max n; do
  printf '%-40s %9s %9s %9s %5s\n' "$name" "$med" "$min" "$max" "$n"
done
echo "(seconds; $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
