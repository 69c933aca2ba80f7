#!/usr/bin/env bash
# Installs every build and test dependency from Debian's packages and
# configures + builds rrx into ./build. Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git
  libcapnp-dev capnproto libzstd-dev libboost-dev libpfm4-dev libzydis-dev
  libcli11-dev nlohmann-json3-dev libdw-dev
  libgtest-dev googletest python3-dev python3-pytest gdb gcc-12-plugin-dev
  lldb-19 liblldb-19-dev python3-lldb-19
  # used by the tests as real programs to record
  python3 perl tar xz-utils coreutils gcc strace
  # python3's own test suite, run natively and recorded (dynamic ticks)
  libpython3.11-testsuite
  # tests/fuzz decompresses event chunks to damage them behind valid CRCs
  zstd
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
