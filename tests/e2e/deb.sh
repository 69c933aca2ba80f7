#!/usr/bin/env bash
# deb.sh BUILD_DIR: `cpack -G DEB` makes a .deb holding everything the
# install holds, with the Debian dependencies of what it links, and its rrx
# runs from the unpacked package.
set -euo pipefail
build="$(cd "$1" && pwd)"
fail() { echo "FAIL: $*"; exit 1; }
for tool in cpack dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "SKIP: no $tool (dpkg-dev, cmake)"; exit 77; }
done
work="$(mktemp -d /tmp/rrx-deb-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work" >"$work/cpack.log" 2>&1) ||
  fail "cpack failed: $(tail -n 5 "$work/cpack.log")"
deb="$(ls "$work"/rrx_*_amd64.deb)"
prefix="$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/files"
for f in "$prefix/bin/rrx" "$prefix/lib/rrx/rrx_ticks_gcc.so" \
  "$prefix/share/rrx/gdb/rrx.py" "$prefix/share/man/man1/rrx.1" \
  "$prefix/share/bash-completion/completions/rrx" /etc/gdb/gdbinit.d/rrx.gdb \
  /usr/lib/lldb/plugins/liblldb-rrx.so; do
  grep -qx "$f" "$work/files" || fail "the package has no $f"
done
! grep -q "$build" "$work/files" || fail "the package holds build-tree paths"
echo "ok   file list: $(grep -vc '/$' "$work/files") files"

depends="$(dpkg-deb -f "$deb" Depends)"
for dep in "gdb | lldb-19" libc6 libstdc++6 libcapnp-0.9.2 libzstd1 libzydis4.0 libpfm4 liblldb-19; do
  [[ ", $depends," == *", $dep"[\ ,]* ]] || fail "Depends lacks $dep: $depends"
done
[[ "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Architecture)" == "rrx amd64" ]] ||
  fail "package name or architecture: $(dpkg-deb -I "$deb")"
echo "ok   Depends: $depends"

dpkg-deb -x "$deb" "$work/root"
version="$("$work/root$prefix/bin/rrx" --version)" || fail "the packaged rrx does not run"
[[ "$version" == "rrx $(dpkg-deb -f "$deb" Version)" ]] || fail "packaged rrx says '$version'"
echo "PASS: $(basename "$deb")"
