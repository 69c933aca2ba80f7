#!/usr/bin/env bash
# hw_live.sh RRX TRACE_ROOT CHAOS_PROGRAM PROGRAM...: hardware ticks on a
# real PMU. Each PROGRAM is recorded with --ticks=hw and replayed
# (tests/e2e/record_replay.sh), and CHAOS_PROGRAM's race is exposed under
# --chaos and replayed (chaos.sh). Where the counter does not pass rrx's
# start-up self-check (no PMU, as on the machines rrx is developed on) it
# skips, exit 77, with rrx's reason.
set -uo pipefail
rrx="$1"
root="$2"
chaos_program="$3"
shift 3
here="$(cd "$(dirname "$0")" && pwd)"
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
if ! err="$("$rrx" record -q --ticks=hw -o "$probe/t" true 2>&1 >/dev/null)"; then
  echo "SKIP: hardware ticks are not usable here: $err"
  exit 77
fi
echo "hardware ticks: $("$rrx" traceinfo "$probe/t" | grep tick_microarch)"
failed=0
for program in "$@"; do
  "$here/../e2e/record_replay.sh" --record-flag --ticks=hw "$rrx" "$root" -- "$program" || failed=1
done
"$here/chaos.sh" "$rrx" "$chaos_program" --ticks=hw || failed=1
((failed == 0)) && echo PASS || echo FAIL
exit "$failed"
