#!/usr/bin/env bash
# Recording ends when the initial process exits, as rr's does:
#  1. a daemon (double fork, setsid, sleeping for ever) does not keep
#     `rrx record` waiting: the recording ends with the initial process,
#     the daemon is killed and named on stderr and in `rrx dump`, and the
#     trace replays to the same output;
#  2. with --wait-all the recording waits for it: its last line is in the
#     recorded output and in the replay's.
# usage: left_running.sh RRX PROGRAM(daemonize)
set -euo pipefail
rrx="$1"
prog="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# 1. Without --wait-all.
timeout 60 "$rrx" record -q -o "$work/t1" "$prog" 1000 >"$work/rec1.out" 2>"$work/rec1.err" ||
  fail "rrx record exited $? (stderr: $(head -c 300 "$work/rec1.err"))"
daemon_pid=$(sed -n 's/^grandchild \([0-9]*\) started$/\1/p' "$work/rec1.out")
[ -n "$daemon_pid" ] || fail "the daemon did not start: $(cat "$work/rec1.out")"
grep -q "1 process it left running was killed: $daemon_pid (daemonize)" "$work/rec1.err" ||
  fail "rrx record did not name the daemon it killed: $(cat "$work/rec1.err")"
# Dead once rrx is done (a zombie until whoever inherited it reaps it).
alive() {
  local state
  state=$(sed -n 's/^[0-9]* (daemonize) \(.\).*/\1/p' "/proc/$daemon_pid/stat" 2>/dev/null) || true
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
if alive; then
  kill -KILL "$daemon_pid"
  fail "the daemon $daemon_pid is still running"
fi
! grep -q "grandchild done" "$work/rec1.out" || fail "the daemon ran to its end"
"$rrx" dump "$work/t1" | grep -qx "process $daemon_pid was left running by the initial process and killed" ||
  fail "rrx dump does not list the daemon"
timeout 60 "$rrx" replay -a "$work/t1" >"$work/rep1.out" 2>"$work/rep1.err" </dev/null ||
  fail "replay failed: $(head -c 300 "$work/rep1.err")"
cmp -s "$work/rec1.out" "$work/rep1.out" || fail "replay printed something else: $(cat "$work/rep1.out")"
echo "without --wait-all: ended with the initial process, daemon $daemon_pid killed and named; replay faithful"

# 2. With --wait-all.
timeout 60 "$rrx" record -q --wait-all -o "$work/t2" "$prog" 0.3 >"$work/rec2.out" 2>"$work/rec2.err" ||
  fail "rrx record --wait-all exited $? (stderr: $(head -c 300 "$work/rec2.err"))"
grep -qx "grandchild done" "$work/rec2.out" || fail "--wait-all did not wait for the daemon: $(cat "$work/rec2.out")"
[ ! -s "$work/rec2.err" ] || fail "--wait-all said: $(cat "$work/rec2.err")"
timeout 60 "$rrx" replay -a "$work/t2" >"$work/rep2.out" 2>"$work/rep2.err" </dev/null ||
  fail "replay failed: $(head -c 300 "$work/rep2.err")"
cmp -s "$work/rec2.out" "$work/rep2.out" || fail "replay printed something else: $(cat "$work/rep2.out")"
echo "with --wait-all: the daemon's whole life recorded and replayed"
