#!/usr/bin/env bash
# Checks that a buffered recording answers cpuid from what earlier trapped
# cpuids gave (preload/syscallbuf_abi.h, CPUID SITES): tests/programs/
# cpuid_leaves makes 24 cpuid calls, then again in an exec'd child. Without
# buffering every call traps (an `instruction` event); with it, the child's
# must not, its answers must be the parent's, and the trace must replay.
#
# usage: cpuid_answers.sh RRX_BIN CPUID_LEAVES_BIN TRACE_ROOT
set -euo pipefail
rrx="$1"
prog="$2"
# shellcheck source=tests/e2e/work_dir.sh
source "$(dirname "$0")/work_dir.sh"
make_work_dir "$3" cpuid
export RRX_TRACE_DIR="$work/default-root"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# trapped DUMP: "TID COUNT" lines, instruction events per thread, in order of
# first appearance (the parent first).
trapped() { awk '$4 == "instruction" { if (!($3 in n)) order[k++] = $3; n[$3]++ }
                 END { for (i = 0; i < k; i++) print order[i], n[order[i]] }' "$1"; }

"$rrx" record -n -o "$work/nobuf" "$prog" >"$work/nobuf.out" || fail "rrx record -n failed"
"$rrx" dump "$work/nobuf" >"$work/nobuf.dump"
read -r -a nobuf <<<"$(trapped "$work/nobuf.dump" | awk '{ printf "%s ", $2 }')"
if ((${#nobuf[@]} < 2 || nobuf[1] < 24)); then
  echo "SKIP: cpuid does not trap here (no cpuid faulting: ${nobuf[*]:-no} trapped instructions): nothing to answer"
  exit 77
fi

"$rrx" record -o "$work/buf" "$prog" >"$work/buf.out" || fail "rrx record failed"
"$rrx" dump "$work/buf" >"$work/buf.dump"
read -r -a buf <<<"$(trapped "$work/buf.dump" | awk '{ printf "%s ", $2 }')"
echo "trapped instructions, parent and child: without buffering ${nobuf[*]}, with ${buf[*]:-none}"
# The child's 24 calls and its loader's are answered; what traps still is
# rdtsc, and cpuid pairs the parent never asked.
((${#buf[@]} == 2)) || fail "expected the parent's and the child's trapped instructions"
((buf[1] + 24 <= nobuf[1])) || fail "the child's cpuid calls still trapped (${buf[1]} of ${nobuf[1]})"

parent=$(sed -n 's/^parent cpuid checksum //p' "$work/buf.out")
child=$(sed -n 's/^child cpuid checksum //p' "$work/buf.out")
[[ -n "$parent" && "$parent" == "$child" ]] || fail "the engine's answers differ from the trapped ones: parent $parent, child $child"
grep -qx "child cpuid checksum $child" "$work/nobuf.out" || fail "the answers differ from those of the unbuffered recording"

"$rrx" replay -a "$work/buf" >"$work/replay.out" || fail "the buffered recording does not replay"
cmp -s "$work/buf.out" "$work/replay.out" || fail "the replay printed other checksums"
echo PASS
