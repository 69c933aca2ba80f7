#!/usr/bin/env bash
# strace_recorded.sh RRX: strace -f, a real tracer (PTRACE_SEIZE with
# options, PTRACE_INTERRUPT, PTRACE_SYSCALL, GET_SYSCALL_INFO, wait4 for
# its tracees), recorded with and without syscall buffering: the recording
# must finish, strace's trace of its tracees must name what they did, and
# `rrx replay -a` must write exactly what the recording wrote.
set -euo pipefail
rrx="$1"
if ! command -v strace >/dev/null; then
  echo "SKIP: strace is not installed (tests/setup.sh installs it)"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# record_and_replay NAME RRX-OPTIONS... -- PROGRAM...: records into NAME
# (stdout and stderr to NAME.rec), replays it (to NAME.rep), compares.
record_and_replay() {
  local name="$1"; shift
  local opts=()
  while [[ "$1" != "--" ]]; do opts+=("$1"); shift; done
  shift
  if ! "$rrx" record -q "${opts[@]}" -o "$name" "$@" >"$name.rec" 2>&1; then
    fail "$name: the recording failed: $(tail -1 "$name.rec")"
    return 1
  fi
  if ! "$rrx" replay -a "$name" >"$name.rep" 2>&1; then
    fail "$name: the replay failed: $(tail -1 "$name.rep")"
    return 1
  fi
  cmp -s "$name.rec" "$name.rep" || fail "$name: the replay's output differs from the recording's"
}

for mode in buffered unbuffered; do
  opts=()
  [[ "$mode" == unbuffered ]] && opts=(-n)
  # strace's log to a file: the tracee's exec and exit must be in it.
  if record_and_replay "true.$mode" "${opts[@]}" -- strace -f -o "log.$mode" true; then
    grep -q 'execve("/usr/bin/true"' "log.$mode" || fail "$mode: strace did not see true's execve"
    grep -q '+++ exited with 0 +++' "log.$mode" || fail "$mode: strace did not see true exit"
  fi
  # strace's log on stderr, a forking shell under it (followed with -f).
  if record_and_replay "sh.$mode" "${opts[@]}" -- strace -f sh -c '/bin/echo hi; echo done'; then
    # (strace's lines and the tracees' output share the terminal lines.)
    grep -qF 'execve("/bin/echo"' "sh.$mode.rec" || fail "$mode: strace -f did not follow the fork"
    grep -qF 'write(1, "hi\n", 3hi' "sh.$mode.rec" || fail "$mode: the shell's child did not print"
    grep -qF 'write(1, "done\n", 5done' "sh.$mode.rec" || fail "$mode: strace did not see the shell's write"
  fi
  echo "$mode: checked"
done
((failures == 0)) || exit 1
echo "PASS"
