#!/usr/bin/env bash
# Records CMD with rrx, replays the trace (twice by default) and passes iff
# every replay exits 0 and re-emits byte for byte the stdout and stderr seen
# while recording.
#
# usage: record_replay.sh [--status N] [--replays N] [--record-flag F]...
#                         [--own-session] RRX_BIN TRACE_ROOT -- CMD [ARGS...]
#   --status N   exit status `rrx record` must return (the program's own;
#                128+signal if it died by a signal). Default 0.
#   --replays N  number of replays to check (default 2: replay is repeatable).
#   --record-flag F  pass F to `rrx record` (e.g. -n: no syscall buffering).
#   --own-session  run `rrx record` in a session of its own, for programs
#                that signal their whole process group (kill(0, ...)):
#                those signals must not reach this script or `timeout`.
#   TRACE_ROOT   directory under which a fresh work dir is made (mktemp).
# Environment:
#   RRX_E2E_STEP_TIMEOUT  seconds allowed per rrx invocation (default 90).
#   RRX_E2E_KEEP=1        keep the work dir (trace and captured output).
set -euo pipefail

expect_status=0
replays=2
record_flags=()
isolate=()
while (($#)); do
  case "$1" in
    --status) expect_status="$2"; shift 2 ;;
    --replays) replays="$2"; shift 2 ;;
    --record-flag) record_flags+=("$2"); shift 2 ;;
    --own-session) isolate=(setsid); shift ;;
    *) break ;;
  esac
done
if (($# < 4)) || [[ "$3" != "--" ]]; then
  echo "usage: $0 [--status N] [--replays N] RRX_BIN TRACE_ROOT -- CMD [ARGS...]" >&2
  exit 2
fi
rrx="$1"
trace_root="$2"
shift 3
step_timeout="${RRX_E2E_STEP_TIMEOUT:-90}"

# shellcheck source=tests/e2e/work_dir.sh
source "$(dirname "$0")/work_dir.sh"
make_work_dir "$trace_root" rr
trace="$work/trace"  # must not exist yet: rrx record -o creates it
# Keep rrx's default trace root (latest-trace link etc.) out of $HOME.
export RRX_TRACE_DIR="$work/default-root"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Shows where two captured streams first differ and a diff excerpt.
show_difference() {
  local what="$1" expected="$2" actual="$3"
  echo "--- $what differs (recorded: $(wc -c <"$expected") bytes," \
    "replayed: $(wc -c <"$actual") bytes)" >&2
  cmp "$expected" "$actual" >&2 || true
  diff -u --text --label recorded --label replayed "$expected" "$actual" |
    head -n 40 >&2 || true
}

# Runs rrx with a time limit; sets $status (124 = timed out).
run_rrx() {
  local out="$1" err="$2"
  shift 2
  status=0
  timeout -k 5 "$step_timeout" ${isolate[@]+"${isolate[@]}"} "$rrx" "$@" >"$out" 2>"$err" </dev/null ||
    status=$?
}

echo "record: $*"
run_rrx "$work/record.out" "$work/record.err" record ${record_flags[@]+"${record_flags[@]}"} -o "$trace" "$@"
if ((status == 124)); then
  fail "rrx record timed out after ${step_timeout}s"
fi
if [[ "$status" != "$expect_status" ]]; then
  echo "--- recording stderr:" >&2
  head -c 4000 "$work/record.err" >&2
  fail "rrx record exited $status, expected $expect_status"
fi
# rrx's own first line says where the trace goes; the rest is the program's.
saving="$(head -n 1 "$work/record.err")"
[[ "$saving" == "rrx: saving to $trace" ]] ||
  fail "rrx record's first stderr line is '$saving', not 'rrx: saving to $trace'"
tail -n +2 "$work/record.err" >"$work/program.err"
mv "$work/program.err" "$work/record.err"
echo "recorded: exit $status, stdout $(wc -c <"$work/record.out") bytes," \
  "stderr $(wc -c <"$work/record.err") bytes"

# The trace layout promised by the CLI contract.
for entry in version header events files.manifest complete files; do
  [[ -e "$trace/$entry" ]] || fail "trace has no '$entry' (ls: $(ls -A "$trace" | tr '\n' ' '))"
done
[[ "$(cat "$trace/version")" == "rrx-trace 7" ]] ||
  fail "trace version file says '$(head -c 100 "$trace/version")'"

for ((i = 1; i <= replays; i++)); do
  run_rrx "$work/replay$i.out" "$work/replay$i.err" replay -a "$trace"
  ok=1
  if ((status != 0)); then
    if ((status == 124)); then
      echo "--- replay $i timed out after ${step_timeout}s" >&2
    else
      echo "--- replay $i exited $status; the end of its stderr:" >&2
      tail -c 1000 "$work/replay$i.err" | tail -n 5 >&2
    fi
    ok=0
  fi
  if ! cmp -s "$work/record.out" "$work/replay$i.out"; then
    show_difference "replay $i stdout" "$work/record.out" "$work/replay$i.out"
    ok=0
  fi
  if ! cmp -s "$work/record.err" "$work/replay$i.err"; then
    show_difference "replay $i stderr" "$work/record.err" "$work/replay$i.err"
    ok=0
  fi
  ((ok)) || fail "replay $i is not faithful"
  echo "replay $i: exit 0, stdout and stderr identical"
done
echo "PASS"
