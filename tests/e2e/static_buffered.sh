#!/usr/bin/env bash
# static_buffered.sh RRX PROGRAM: a statically linked program (here
# buffered_calls, ~200,000 buffered-kind calls from two threads under a
# 1 ms timer) has its syscalls buffered like a dynamic one: its own
# `syscall` instructions are patched. Counts, in `rrx dump`, the traced
# stops and the buffered records, and replays.
set -euo pipefail
rrx="$1"
prog="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

! readelf -l "$prog" | grep -q INTERP || fail "$prog has a dynamic loader: not static"
"$rrx" record -q -o "$work/trace" "$prog" >"$work/recorded" || fail "rrx record failed"
"$rrx" dump "$work/trace" >"$work/dump"
traced=$(grep -c "syscall-entry" "$work/dump" || true)
buffered=$(grep -cE "^ +[a-z_0-9]+ = " "$work/dump" || true)
echo "static program: $traced traced syscalls, $buffered buffered"
((buffered >= 100000)) || fail "only $buffered calls were buffered"
((traced * 50 < buffered)) || fail "$traced calls were traced, against $buffered buffered"
"$rrx" replay -a "$work/trace" >"$work/replayed" || fail "the replay failed"
cmp -s "$work/recorded" "$work/replayed" || fail "the replay printed other output"
echo PASS
