#!/usr/bin/env bash
# cpu_binding.sh RRX: rrx record pins the recording to one CPU by default
# (the recorded program sees a single allowed CPU); -u leaves it unbound.
set -euo pipefail
rrx="$1"
if (($(nproc --all) < 2)); then
  echo "SKIP: needs at least two CPUs"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
allowed() { "$rrx" record "$@" sh -c 'grep Cpus_allowed_list /proc/self/status | cut -f2'; }
pinned=$(allowed -o "$work/pinned")
free=$(allowed -u -o "$work/free")
echo "pinned: $pinned, -u: $free"
[[ "$pinned" =~ ^[0-9]+$ ]] || { echo "FAIL: the default recording is not pinned to one CPU"; exit 1; }
[[ "$free" != "$pinned" ]] || { echo "FAIL: -u did not unbind"; exit 1; }
[[ "$("$rrx" replay -a "$work/free")" == "$free" ]]
echo "the unbound recording replays"
