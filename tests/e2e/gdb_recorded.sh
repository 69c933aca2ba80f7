#!/usr/bin/env bash
# gdb_recorded.sh RRX DEBUGGEE: gdb -batch, a real debugger (PTRACE_TRACEME
# through a shell, breakpoints written through /proc/PID/mem, stepping over
# them with PTRACE_SINGLESTEP, registers, backtraces), recorded with and
# without syscall buffering: the recording must finish with gdb having
# stopped at each breakpoint hit, and `rrx replay -a` must write exactly
# what the recording wrote.
set -euo pipefail
rrx="$1"
debuggee="$2"
if ! command -v gdb >/dev/null; then
  echo "SKIP: gdb is not installed (tests/setup.sh installs it)"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for mode in buffered unbuffered; do
  opts=()
  [[ "$mode" == unbuffered ]] && opts=(-n)
  if ! "$rrx" record -q "${opts[@]}" -o "$mode" gdb -batch -nx -ex "break twice" -ex run -ex bt \
      -ex continue -ex continue -ex continue "$debuggee" >"$mode.rec" 2>&1; then
    fail "$mode: the recording failed: $(tail -1 "$mode.rec")"
    continue
  fi
  hits="$(grep -c '^Breakpoint 1, twice' "$mode.rec" || true)"
  ((hits == 3)) || fail "$mode: gdb stopped $hits times at the breakpoint, not 3"
  grep -q 'in main ()\|in main (' "$mode.rec" || fail "$mode: gdb's backtrace has no main"
  grep -q '^sum 6$' "$mode.rec" || fail "$mode: the debuggee did not finish under gdb"
  if ! "$rrx" replay -a "$mode" >"$mode.rep" 2>&1; then
    fail "$mode: the replay failed: $(tail -1 "$mode.rep")"
    continue
  fi
  cmp -s "$mode.rec" "$mode.rep" || fail "$mode: the replay's output differs from the recording's"
  echo "$mode: checked"
done
((failures == 0)) || exit 1
echo "PASS"
