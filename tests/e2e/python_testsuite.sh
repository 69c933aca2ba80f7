#!/usr/bin/env bash
# python_testsuite.sh RRX: part of python3's own test suite gives the same
# results natively and recorded (every conditional branch of the
# interpreter and its libraries patched to count ticks), and the recording
# replays its output byte for byte. Skips (77) without the suite
# (Debian's libpython3.11-testsuite, installed by tests/setup.sh).
set -euo pipefail
rrx="$1"
python=/usr/bin/python3
tests=(test_bisect test_heapq test_json test_re test_struct test_string test_itertools)
if ! "$python" -c "import test.test_bisect" 2>/dev/null; then
  echo "SKIP: python3's test suite is not installed (apt-get install libpython3.11-testsuite)"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
run_suite() { "$@" -m test -q "${tests[@]}"; }
# The verdict lines, without timings.
verdict() { grep -E "Tests result|tests? (OK|failed)|^[0-9]+ tests?" "$1" | sed -E 's/ in [0-9.]+ ?(sec|min).*//'; }

run_suite "$python" > "$work/native.out" 2>&1 || true
status=0
run_suite "$rrx" record -o "$work/trace" "$python" > "$work/record.out" 2>"$work/record.err" || status=$?
echo "native:   $(verdict "$work/native.out" | tr '\n' ' ')"
echo "recorded: $(verdict "$work/record.out" | tr '\n' ' ') (exit $status)"
grep -q "Tests result: SUCCESS" "$work/native.out" || { echo "FAIL: the suite fails natively"; exit 1; }
[[ "$(verdict "$work/native.out")" == "$(verdict "$work/record.out")" ]] ||
  { echo "FAIL: results differ under recording"; tail -20 "$work/record.out" "$work/record.err"; exit 1; }
"$rrx" replay -a "$work/trace" > "$work/replay.out" 2>/dev/null
cmp "$work/record.out" "$work/replay.out" || { echo "FAIL: the replay printed something else"; exit 1; }
echo "PASS: same results natively and recorded; the replay printed the recording's output"
