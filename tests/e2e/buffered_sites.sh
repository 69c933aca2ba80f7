#!/usr/bin/env bash
# Checks that libc's internal syscalls are buffered (its patched syscall sites):
# records tests/programs/libc_internal with and without buffering and
# counts, in `rrx dump`, the traced stops and the buffered records of the
# syscalls libc makes from inside itself. Without buffering they must all be
# traced (so the program does make them); with it, none.
#
# usage: buffered_sites.sh RRX_BIN LIBC_INTERNAL_BIN TRACE_ROOT
set -euo pipefail
rrx="$1"
prog="$2"
# shellcheck source=tests/e2e/work_dir.sh
source "$(dirname "$0")/work_dir.sh"
make_work_dir "$3" sites
export RRX_TRACE_DIR="$work/default-root"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# count DUMP PATTERN: lines of the dump matching the extended regex.
count() { grep -cE "$2" "$1" || true; }

# Internal calls the program makes: readdir's getdents64, isatty's and its
# own ioctl (FIONREAD is called directly, TCGETS from inside isatty), and
# malloc's mmap/munmap for 2000 large blocks. NAME:MOST_STILL_TRACED: the
# dynamic loader's mmaps (before each thread has a buffer) and those of file
# mappings stay traced. poll and epoll_wait are called with a zero timeout;
# rt_sigaction queries (libc sets a few actions itself, which stay traced).
calls=(getdents64:0 ioctl:0 mmap:40 munmap:10 poll:0 epoll_wait:0 rt_sigaction:5)

"$rrx" record -n -o "$work/nobuf" "$prog" >/dev/null || fail "rrx record -n failed"
"$rrx" dump "$work/nobuf" >"$work/nobuf.dump"
for call in "${calls[@]}"; do
  nr=${call%:*}
  traced=$(count "$work/nobuf.dump" "syscall-entry $nr ")
  echo "without buffering: $traced traced $nr"
  ((traced >= 40)) || fail "the program made only $traced traced $nr without buffering"
done

"$rrx" record -o "$work/buf" "$prog" >/dev/null || fail "rrx record failed"
"$rrx" dump "$work/buf" >"$work/buf.dump"
for call in "${calls[@]}"; do
  nr=${call%:*}
  most=${call#*:}
  traced=$(count "$work/buf.dump" "syscall-entry $nr ")
  buffered=$(count "$work/buf.dump" "^ +$nr = ")
  echo "with buffering: $traced traced, $buffered buffered $nr"
  ((traced <= most)) || fail "$traced $nr calls were still traced (at most $most expected)"
  ((buffered >= 40)) || fail "only $buffered $nr calls were buffered"
done
"$rrx" replay -a "$work/buf" >/dev/null || fail "the buffered recording does not replay"
echo PASS
