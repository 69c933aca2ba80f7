#!/usr/bin/env bash
# The program starts with the signal dispositions rrx was started with, in
# recording and replay, and Ctrl-C reaches it as it would without rrx:
#  1. under `trap '' HUP QUIT` the recorded program reports SIGHUP and
#     SIGQUIT ignored, SIGINT and SIGTERM at default, exactly as the same
#     program run natively under the same trap; the replay reports the same;
#  2. SIGINT to the process group of a recording of a program waiting in
#     pause() (what Ctrl-C at a terminal does) ends the program by SIGINT:
#     `rrx record` exits 130 like the program would natively, and the trace
#     replays to the same output.
# usage: start_signals.sh RRX PROGRAM(dispositions)
set -euo pipefail
rrx="$1"
prog="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export RRX_TRACE_DIR="$work/default-root"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# 1. Ignored at start.
(trap '' HUP QUIT; "$prog") >"$work/native.out"
(trap '' HUP QUIT; "$rrx" record -o "$work/t1" "$prog") >"$work/record.out"
grep -qx "SIGHUP ignored" "$work/native.out" || fail "the native run does not see SIGHUP ignored"
cmp -s "$work/native.out" "$work/record.out" ||
  fail "recorded program saw other dispositions: $(tr '\n' ' ' <"$work/record.out") (native: $(tr '\n' ' ' <"$work/native.out"))"
timeout 60 "$rrx" replay -a "$work/t1" >"$work/replay.out" </dev/null
cmp -s "$work/record.out" "$work/replay.out" || fail "replay printed other dispositions"
echo "start dispositions: as native, in recording and replay"

# 2. Ctrl-C: SIGINT to the recording's process group.
# A background job of a script starts with SIGINT ignored: start rrx at
# the defaults, as a terminal's foreground job, in a process group of its
# own.
in_own_group() {
  exec python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGQUIT, signal.SIG_DFL)
os.setsid()
os.execv(sys.argv[1], sys.argv[1:])' "$@"
}
: >"$work/wait.out"
in_own_group "$rrx" record -o "$work/t2" "$prog" wait >"$work/wait.out" 2>"$work/wait.err" </dev/null &
rrx_pid=$!
for _ in $(seq 1 200); do
  (($(wc -l <"$work/wait.out") >= 4)) && break
  sleep 0.05
done
grep -qx "SIGINT default" "$work/wait.out" || fail "the recorded program did not start (stderr: $(head -c 300 "$work/wait.err"))"
kill -INT -- "-$rrx_pid"
status=0
for _ in $(seq 1 200); do
  kill -0 "$rrx_pid" 2>/dev/null || break
  sleep 0.05
done
if kill -0 "$rrx_pid" 2>/dev/null; then
  kill -KILL -- "-$rrx_pid"
  fail "SIGINT did not end the recording within 10 s"
fi
wait "$rrx_pid" || status=$?
((status == 130)) || fail "rrx record exited $status after SIGINT, expected 130 (stderr: $(head -c 300 "$work/wait.err"))"
status=0
timeout 60 "$rrx" replay -a "$work/t2" >"$work/wait.replay" 2>"$work/wait.replay.err" </dev/null || status=$?
cmp -s "$work/wait.out" "$work/wait.replay" ||
  fail "the interrupted recording replays to other output (replay status $status: $(head -c 300 "$work/wait.replay.err"))"
echo "Ctrl-C: the program ended by SIGINT (rrx exit 130) and its trace replays (replay exit $status)"
echo PASS
