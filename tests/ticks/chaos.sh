#!/usr/bin/env bash
# chaos.sh RRX PROGRAM [RECORD_FLAG...]: PROGRAM (tests/ticks/chaos_race.c)
# passes when recorded plainly, fails (exit 1, lost updates) under `rrx
# record --chaos` within 20 recordings, and the failing recording replays
# faithfully. RECORD_FLAGs go to every recording (e.g. --ticks=hw-sim).
set -euo pipefail
rrx="$1"
program="$2"
flags=("${@:3}")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$rrx" record "${flags[@]}" -o "$work/plain" "$program" > "$work/plain.out"
echo "plain recording: $(cat "$work/plain.out")"

for attempt in $(seq 1 20); do
  rm -rf "$work/chaos"
  status=0
  "$rrx" record "${flags[@]}" --chaos -o "$work/chaos" "$program" > "$work/chaos.out" || status=$?
  if ((status == 1)); then
    echo "chaos recording $attempt exposed the race: $(cat "$work/chaos.out")"
    "$rrx" replay -a "$work/chaos" > "$work/replay.out"
    cmp "$work/chaos.out" "$work/replay.out"
    echo "and its replay printed the same"
    exit 0
  fi
  ((status == 0)) || { echo "FAIL: rrx record --chaos exited $status"; exit 1; }
done
echo "FAIL: 20 chaos recordings never exposed the race"
exit 1
