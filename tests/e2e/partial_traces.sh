#!/usr/bin/env bash
# Nothing recorded is lost when `rrx record` is killed or told to stop:
#  1. SIGKILL to the recorder of a program that never ends: no tracee is
#     left behind, the trace is cut short but replays (autopilot) to its
#     last event, saying so in one line, and prints a prefix of what the
#     recording printed, at least what was older than a second;
#  2. the same trace under gdb: `continue` ends at the end of history,
#     `reverse-continue` from there stops at the last tick printed;
#  3. SIGTERM (and SIGHUP) end the program and finish the trace: rrx exits
#     128+signal, the trace is complete, marked as ended by that signal
#     (`rrx dump` says so, as for a trace cut short), and replays to the
#     end of what was recorded;
#  4. under nohup (SIGHUP ignored) SIGHUP does not end the recording;
#  5. SIGKILL or SIGTERM at random points of a multithreaded recording:
#     every trace replays, with one line on stderr, or (killed before the
#     program started) is refused in one line.
# usage: partial_traces.sh RRX PROGRAM(ticker) GDB PLUGIN
set -euo pipefail
rrx="$1"
prog="$2"
gdb="$3"
plugin="$4"
work="$(mktemp -d)"
trap 'pkill -KILL -f "^$prog" 2>/dev/null || true; rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Starts `rrx record -o TRACE ticker ARGS...` in the background (rrx_pid),
# its stdout in TRACE.out.
start_recording() {
  local trace="$1"
  shift
  "$rrx" record -o "$trace" "$prog" "$@" >"$trace.out" 2>"$trace.err" </dev/null &
  rrx_pid=$!
}
# Waits until the recording printed tick N.
wait_for_tick() {
  local trace="$1" n="$2"
  for _ in $(seq 1 400); do
    grep -qx "tick $n" "$trace.out" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "the recording never printed tick $n (stderr: $(head -c 300 "$trace.err"))"
}
# Waits for rrx_pid to end; sets status.
wait_recorder() {
  status=0
  wait "$rrx_pid" || status=$?
}
no_tracee_left() {
  sleep 0.2
  if pgrep -f "^$prog" >/dev/null; then fail "$1: a tracee outlived the recorder"; fi
}
# The replay printed a prefix of what the recording printed, missing at
# most MAX_MISSING lines at the end.
replay_is_prefix() {
  local trace="$1" max_missing="$2"
  local got want
  got=$(wc -l <"$trace.replay")
  want=$(wc -l <"$trace.out")
  head -n "$got" "$trace.out" | cmp -s - "$trace.replay" ||
    fail "$trace: the replay printed what the recording did not"
  ((want - got <= max_missing)) ||
    fail "$trace: the replay printed $got lines of the recording's $want"
}

# 1. SIGKILL.
t="$work/killed"
start_recording "$t"
wait_for_tick "$t" 30
kill -KILL "$rrx_pid"
wait_recorder
((status == 137)) || fail "rrx record ended with $status after SIGKILL"
no_tracee_left "SIGKILL"
[ ! -e "$t/complete" ] || fail "a killed recording claims to be complete"
timeout 60 "$rrx" replay -a "$t" >"$t.replay" 2>"$t.replay.err" </dev/null ||
  fail "replay of a killed recording failed: $(cat "$t.replay.err")"
(($(wc -l <"$t.replay.err") == 1)) && grep -q "was cut short at event [0-9]*" "$t.replay.err" ||
  fail "replay should say once that the trace was cut short: $(cat "$t.replay.err")"
"$rrx" dump "$t" | tail -n 1 | grep -q "^cut short after event [0-9]*: the recording did not finish" ||
  fail "rrx dump does not show the trace as cut short"
# Ticks are 50 ms apart: those older than a second are in the trace.
replay_is_prefix "$t" 20
last_tick=$(tail -n 1 "$t.replay" | sed 's/tick //')
echo "SIGKILL: replayed to tick $last_tick of $(tail -n 1 "$t.out"): $(cat "$t.replay.err")"

# 2. The killed trace under gdb.
if [ -n "$gdb" ] && command -v "$gdb" >/dev/null; then
  line=$(grep -n "LINE_TICK" "$(dirname "$0")/../programs/ticker.c" | cut -d: -f1)
  timeout 100 "$gdb" -batch -nx -ex "source $plugin" -ex "rr-replay $t" -ex continue \
    -ex "break ticker.c:$line" -ex reverse-continue -ex "print tick" -ex reverse-continue \
    -ex "print tick" </dev/null >"$t.gdb" 2>&1 || fail "gdb session failed: $(tail -5 "$t.gdb")"
  grep -q "No more reverse-execution history" "$t.gdb" || fail "gdb did not reach the end: $(tail -5 "$t.gdb")"
  grep -q "was cut short" "$t.gdb" || fail "gdb session does not say the trace was cut short"
  grep -qx "\$1 = $last_tick" "$t.gdb" ||
    fail "reverse-continue from the end did not stop at tick $last_tick: $(grep '^\$' "$t.gdb" | tr '\n' ' ')"
  grep -qx "\$2 = $((last_tick - 1))" "$t.gdb" || fail "the second reverse-continue did not stop at the tick before"
  echo "gdb: end of history, then reverse-continue to ticks $last_tick and $((last_tick - 1))"
else
  echo "SKIPPED part 2: no gdb"
fi

# 3. SIGTERM and SIGHUP finish the trace.
for sig in TERM HUP; do
  t="$work/ended-$sig"
  start_recording "$t" 1
  wait_for_tick "$t" 5
  kill -"$sig" "$rrx_pid"
  wait_recorder
  want=$((128 + $(kill -l "$sig")))
  ((status == want)) || fail "rrx record ended with $status after SIG$sig (want $want)"
  no_tracee_left "SIG$sig"
  [ -e "$t/complete" ] || fail "SIG$sig left the trace unfinished"
  timeout 60 "$rrx" replay -a "$t" >"$t.replay" 2>"$t.replay.err" </dev/null ||
    fail "replay after SIG$sig failed: $(cat "$t.replay.err")"
  grep -q "was ended by SIG$sig at event" "$t.replay.err" ||
    fail "replay does not say the recording was ended by SIG$sig: $(cat "$t.replay.err")"
  "$rrx" dump "$t" | tail -n 1 | grep -q "^ended by SIG$sig after event" ||
    fail "rrx dump does not show the recording as ended by SIG$sig"
  # A write under way when the signal came may be missing.
  replay_is_prefix "$t" 1
  echo "SIG$sig: trace finished, replayed $(wc -l <"$t.replay") of $(wc -l <"$t.out") lines"
done

# 4. nohup: SIGHUP stays ignored, for rrx and for the program.
t="$work/nohup"
(trap '' HUP; exec "$rrx" record -o "$t" "$prog" >"$t.out" 2>"$t.err" </dev/null) &
rrx_pid=$!
wait_for_tick "$t" 3
kill -HUP "$rrx_pid"
wait_for_tick "$t" 10
kill -0 "$rrx_pid" 2>/dev/null || fail "SIGHUP ended a recording started under nohup"
kill -TERM "$rrx_pid"
wait_recorder
((status == 143)) || fail "rrx record under nohup ended with $status after SIGTERM"
timeout 60 "$rrx" replay -a "$t" >"$t.replay" 2>/dev/null </dev/null || fail "replay of the nohup recording failed"
echo "nohup: SIGHUP ignored, SIGTERM finished the trace"

# 5. Random points, two computing threads besides the printing one.
RANDOM=${RRX_PARTIAL_SEED:-$$}
echo "random kills: RRX_PARTIAL_SEED=$RANDOM"
for i in $(seq 1 8); do
  t="$work/random-$i"
  sig=$( ((RANDOM % 2)) && echo KILL || echo TERM)
  delay=$(printf '0.%02d' $((RANDOM % 100)))
  start_recording "$t" 2
  sleep "$delay"
  kill -"$sig" "$rrx_pid"
  wait_recorder
  no_tracee_left "SIG$sig after ${delay}s"
  rc=0
  timeout 60 "$rrx" replay -a "$t" >"$t.replay" 2>"$t.replay.err" </dev/null || rc=$?
  lines=$(wc -l <"$t.replay.err")
  ((rc != 124)) || fail "replay after SIG$sig at ${delay}s hung"
  ((lines <= 1)) || fail "replay after SIG$sig at ${delay}s printed $lines lines on stderr: $(cat "$t.replay.err")"
  if ((rc != 0)); then
    grep -q "ended before it started\|does not exist" "$t.replay.err" ||
      fail "replay after SIG$sig at ${delay}s failed: $(cat "$t.replay.err")"
  else
    replay_is_prefix "$t" 40
  fi
  echo "  SIG$sig after ${delay}s: replay rc=$rc, $(wc -l <"$t.replay") lines; $(cat "$t.replay.err")"
done
echo "PASS"
