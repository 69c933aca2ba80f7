#!/usr/bin/env bash
# slice.sh RRX PROGRAM: `rrx record -c N` sets the time slice, in soft
# ticks, of a multithreaded soft-tick PROGRAM (tests/ticks/chaos_race.c):
# a slice 200 times shorter than the default preempts the threads many
# more times (counted as schedule events in `rrx dump`), and that recording
# replays faithfully. Bad values are refused in one line.
set -euo pipefail
rrx="$1"
program="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

switches() { "$rrx" dump "$1" | grep -c ' schedule ' || true; }

"$rrx" record -o "$work/default" "$program" > /dev/null || true
"$rrx" record -c 1000 -o "$work/short" "$program" > "$work/short.out" || true
default_switches=$(switches "$work/default")
short_switches=$(switches "$work/short")
echo "schedule events: default slice $default_switches, -c 1000 $short_switches"
if ((short_switches < 10 * (default_switches + 1))); then
  echo "FAIL: -c 1000 did not shorten the time slices"
  exit 1
fi
"$rrx" replay -a "$work/short" > "$work/replay.out"
cmp "$work/short.out" "$work/replay.out"
echo "the -c 1000 recording replays the same output"

for bad in 0 -5 x; do
  if "$rrx" record -c "$bad" true 2> "$work/err"; then
    echo "FAIL: -c $bad was accepted"
    exit 1
  fi
  [[ $(wc -l < "$work/err") == 1 ]] || { echo "FAIL: -c $bad: $(cat "$work/err")"; exit 1; }
done
echo "PASS"
