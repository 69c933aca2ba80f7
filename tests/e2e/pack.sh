#!/usr/bin/env bash
# pack.sh RRX GREET LIBGREETING: a packed trace replays after the files it
# was recorded from change, and from anywhere it is moved or copied to.
#
# rrx hardlinks the saved files that live under system directories (/usr,
# /lib, /opt, ...) instead of copying them; modified in place, such a file
# changes inside the trace too. `rrx record` packs small traces itself
# (--no-pack keeps the links). The test puts copies of a program and its
# library under /opt (with the traces, so hardlinks are possible), records
# them twice, packs one trace, overwrites both copies in place, and checks
# that the unpacked trace no longer replays while the packed one does, also
# after being moved and after being copied elsewhere. The program runs from
# two identical copies: packing keeps one copy of those contents.
set -euo pipefail
rrx="$1"
greet="$2"
library="$3"

fail() { echo "FAIL: $*"; exit 1; }
if ! dir="$(mktemp -d /opt/rrx-pack-test.XXXXXX 2>/dev/null)"; then
  echo "SKIP: cannot create a directory under /opt (the test needs a system path rrx hardlinks)"
  exit 77
fi
trap 'rm -rf "$dir"' EXIT
export RRX_TRACE_DIR="$dir/root"
cp "$greet" "$dir/greet"
cp "$greet" "$dir/greet2"
cp "$library" "$dir/$(basename "$library")"
run=(sh -c '"$0" && "$0"2' "$dir/greet")

expected="$("${run[@]}")"
"$rrx" record -q --no-pack -o "$dir/unpacked" "${run[@]}" >/dev/null
"$rrx" record -q --no-pack -o "$dir/packed" "${run[@]}" >/dev/null
# Without --no-pack, a trace this small is packed as it is recorded.
"$rrx" record -q -o "$dir/small" "${run[@]}" >/dev/null
[[ "$("$rrx" traceinfo "$dir/unpacked" | grep '"packed"')" == *false* ]] ||
  fail "traceinfo says a --no-pack recording of files under /opt is packed"
[[ "$("$rrx" traceinfo "$dir/small" | grep '"packed"')" == *true* ]] ||
  fail "a small recording was not packed as it was recorded"

packed="$("$rrx" pack "$dir/packed")" || fail "rrx pack failed"
echo "$packed"
[[ "$(stat -c %i "$dir/packed/files/greet-0")" == "$(stat -c %i "$dir/packed/files/greet2-0")" ]] ||
  fail "the two saved copies of the program are not one file after pack"
[[ "$("$rrx" traceinfo "$dir/packed" | grep '"packed"')" == *true* ]] ||
  fail "traceinfo does not say the trace is packed after rrx pack"
# Packing twice copies nothing more.
again="$("$rrx" pack "$dir/packed")"
[[ "$again" == *": 0 files (0 bytes) copied in"* ]] || fail "a second pack copied again: $again"

# In place: the inodes the unpacked trace links to change.
printf 'overwritten\n' >"$dir/greet"
printf 'overwritten\n' >"$dir/greet2"
printf 'overwritten\n' >"$dir/$(basename "$library")"

if "$rrx" replay -a "$dir/unpacked" >"$dir/unpacked.out" 2>"$dir/unpacked.err"; then
  fail "the unpacked trace still replays after its files changed: the test shows nothing"
fi
echo "unpacked trace, as expected: $(head -n 1 "$dir/unpacked.err")"

out="$("$rrx" replay -a "$dir/packed")" || fail "the packed trace does not replay after its files changed"
[[ "$out" == "$expected" ]] || fail "the packed trace replays '$out', not '$expected'"
echo "packed trace replays: $out"

out="$("$rrx" replay -a "$dir/small")" || fail "the trace packed by record does not replay"
[[ "$out" == "$expected" ]] || fail "the trace packed by record replays '$out'"

mkdir "$dir/elsewhere"
mv "$dir/packed" "$dir/elsewhere/moved"
out="$("$rrx" replay -a "$dir/elsewhere/moved")" || fail "the moved packed trace does not replay"
[[ "$out" == "$expected" ]] || fail "the moved trace replays '$out'"
cp -r "$dir/elsewhere/moved" "$dir/copied"
out="$("$rrx" replay -a "$dir/copied")" || fail "a copy of the packed trace does not replay"
[[ "$out" == "$expected" ]] || fail "the copied trace replays '$out'"

# A trace with more than 16 MiB of such links is left unpacked; rrx says so
# to a user at a terminal (script gives it one), not into a pipe.
mkdir "$dir/large"
cp "$library" "$dir/large/"
cp "$greet" "$dir/large/big" && truncate -s 20M "$dir/large/big"  # runs: ELF ignores the tail
"$rrx" record -q -o "$dir/big-quiet" "$dir/large/big" >/dev/null 2>"$dir/big-quiet.err"
[[ "$("$rrx" traceinfo "$dir/big-quiet" | grep '"packed"')" == *false* ]] ||
  fail "a trace with 20 MiB of hardlinked files was packed by record"
[[ ! -s "$dir/big-quiet.err" ]] || fail "record -q printed: $(cat "$dir/big-quiet.err")"
if command -v script >/dev/null; then
  script -qec "'$rrx' record -o '$dir/big-tty' '$dir/large/big'" /dev/null >"$dir/big-tty.out" </dev/null
  grep -q "rrx: the trace is not packed: [0-9]* MiB of it are hardlinks.*rrx pack $dir/big-tty" "$dir/big-tty.out" ||
    fail "record at a terminal did not say the trace is not packed: $(cat "$dir/big-tty.out")"
  echo "a large trace is left unpacked, with a word at a terminal"
else
  echo "SKIPPED the terminal check: no script(1)"
fi
echo "PASS: the packed trace replays after its originals changed, moved and copied"
