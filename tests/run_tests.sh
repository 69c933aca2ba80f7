#!/usr/bin/env bash
# Quick start, part 2: set up, build and run every test (unit and end to end).
set -euo pipefail
cd "$(dirname "$0")/.."
tests/setup.sh
ctest --test-dir build --output-on-failure -j2 "$@"
