#!/usr/bin/env bash
# Quick start, part 1: set up, build, record a bundled example and replay it.
# The example prints random bytes, clocks, rdtsc and cpuid values; the
# replay prints exactly the values the recording saw.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/setup.sh
trace=$(mktemp -d)/demo-trace
echo "== recording build/tests/programs/nondet into $trace"
build/bin/rrx record -o "$trace" build/tests/programs/nondet
echo "== replaying $trace"
build/bin/rrx replay -a "$trace"
echo "== replay was faithful"
