#!/usr/bin/env bash
# install.sh BUILD_DIR SOURCE_DIR HELLO: `cmake --install` into a DESTDIR
# gives a tree that works on its own. With the build and source trees hidden
# (an empty tmpfs mounted over each, in a private mount namespace), the
# installed rrx records and replays a program, debugs the replay in gdb and
# in lldb, and the installed GCC tick plugin compiles a program that rrx
# records with --ticks=static; the man page and bash completion are there.
set -euo pipefail
build="$(cd "$1" && pwd)"
source_dir="$(cd "$2" && pwd)"
hello="$3"

fail() { echo "FAIL: $*"; exit 1; }
work="$(mktemp -d /tmp/rrx-install-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT
DESTDIR="$work/dest" cmake --install "$build" >"$work/install.log" ||
  fail "cmake --install failed: $(tail -n 5 "$work/install.log")"
prefix="$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")"
installed="$work/dest$prefix"
for f in bin/rrx share/rrx/gdb/rrx.py share/man/man1/rrx.1 \
  share/bash-completion/completions/rrx; do
  [[ -f "$installed/$f" ]] || fail "the install has no $prefix/$f"
done
lldb_plugin="$(find "$work/dest" -name liblldb-rrx.so | head -n 1)"
[[ -n "$lldb_plugin" ]] || fail "the install has no lldb plugin"
ticks_plugin="$installed/lib/rrx/rrx_ticks_gcc.so"
[[ -f "$ticks_plugin" ]] || fail "the install has no GCC tick plugin"
cp "$hello" "$work/hello"
printf 'int main(int argc, char** argv) {\n  int n = 0;\n  for (int i = 0; i < 1000; i++)\n    if (i %% 7 == argc) n++;\n  return n == 143 ? 0 : 1;\n}\n' \
  >"$work/loop.c"

if ! unshare -m true 2>/dev/null; then
  echo "SKIP: cannot make a private mount namespace (unshare -m) to hide the build tree"
  exit 77
fi
# Everything below runs where the build and source trees are empty.
cat >"$work/inside.sh" <<'INSIDE'
set -euo pipefail
installed="$1" work="$2" ticks_plugin="$3"
rrx="$installed/bin/rrx"
fail() { echo "FAIL: $*"; exit 1; }
cd "$work"
export HOME="$work" RRX_TRACE_DIR="$work/traces"

out="$("$rrx" record -q -o "$work/t" "$work/hello")" || fail "installed rrx record failed"
[[ "$out" == "hello, world" ]] || fail "the recording printed '$out'"
[[ "$("$rrx" replay -a "$work/t")" == "hello, world" ]] || fail "installed rrx replay -a failed"
echo "ok   record and replay"

gdb_out="$(printf 'break main\ncontinue\nreverse-stepi\ninfo checkpoints\nquit\n' |
  "$rrx" replay -d gdb "$work/t" 2>&1)" || true
grep -q "Breakpoint 1, main" <<<"$gdb_out" || fail "gdb did not stop at main: $gdb_out"
# (The program's source file is hidden with the source tree: gdb says so.)
! grep -qiE "undefined command|not supported|rrx[^ ]*: No such file|cannot find" <<<"$gdb_out" ||
  fail "gdb session from the install: $gdb_out"
echo "ok   gdb session"

# lldb runs `continue` asynchronously when reading stdin: ask only what
# needs no waiting (the plugin's `when`, a breakpoint resolved in the trace).
lldb_out="$(printf 'when\nbreakpoint set -n main\nquit\n' |
  "$rrx" replay -d lldb "$work/t" 2>&1)" || true
grep -q "stop reason = signal SIGSTOP" <<<"$lldb_out" || fail "lldb did not attach to the replay: $lldb_out"
grep -q "Current event: [0-9]" <<<"$lldb_out" || fail "the installed lldb plugin has no 'when': $lldb_out"
grep -q "Breakpoint 1: where = .*main" <<<"$lldb_out" || fail "lldb did not resolve main: $lldb_out"
! grep -qiE "not a valid command|error: .*plugin|rrx[^ ]*: No such file|cannot find" <<<"$lldb_out" ||
  fail "lldb session from the install: $lldb_out"
echo "ok   lldb session"

gcc -O1 -fplugin="$ticks_plugin" -o "$work/loop" "$work/loop.c" || fail "gcc -fplugin=$ticks_plugin failed"
"$rrx" record -q --ticks=static -o "$work/static" "$work/loop" || fail "record --ticks=static failed"
"$rrx" replay -a "$work/static" || fail "the --ticks=static recording does not replay"
echo "ok   the GCC tick plugin"

grep -q '^\.TH RRX 1' "$installed/share/man/man1/rrx.1" || fail "the man page is not one"
completions="$(bash -c 'source "$1"; COMP_WORDS=(rrx tr); COMP_CWORD=1; _rrx; echo "${COMPREPLY[*]}"' \
  sh "$installed/share/bash-completion/completions/rrx")"
[[ "$completions" == traceinfo ]] || fail "bash completion of 'rrx tr' gives '$completions'"
echo "ok   man page and completion"
INSIDE
unshare -m bash -c 'mount -t tmpfs none "$1" && mount -t tmpfs none "$2" && shift 2 && bash "$@"' \
  sh "$build" "$source_dir" "$work/inside.sh" "$installed" "$work" "$ticks_plugin"
echo "PASS: the installed tree works without the build tree"
