#!/usr/bin/env bash
# Huge, sparse mappings make small traces: a program mapping gigabytes of
# memfd, sparse file and anonymous reservation (tests/programs/
# sparse_mappings.c) records into a trace whose disk use stays under 64 MiB
# (the files keep their holes), with and without syscall buffering, and
# replays to the same output.
# usage: sparse_traces.sh RRX PROGRAM(sparse_mappings)
set -euo pipefail
rrx="$1"
prog="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
cd "$work"  # the program creates its sparse file in the current directory
for flags in "" "-n"; do
  trace="$work/trace$flags"
  # shellcheck disable=SC2086
  timeout 120 "$rrx" record $flags -o "$trace" "$prog" >"$work/rec.out" 2>"$work/rec.err" ||
    fail "record $flags exited $? ($(head -c 300 "$work/rec.err"))"
  used_kib=$(du -sk "$trace" | cut -f1)
  ((used_kib < 65536)) || fail "record $flags: the trace uses $used_kib KiB of disk"
  timeout 120 "$rrx" replay -a "$trace" >"$work/rep.out" 2>"$work/rep.err" </dev/null ||
    fail "replay $flags failed: $(head -c 300 "$work/rep.err")"
  cmp -s "$work/rec.out" "$work/rep.out" || fail "replay $flags printed: $(cat "$work/rep.out")"
  echo "record ${flags:-(buffered)}: trace uses $used_kib KiB; replay faithful"
done
