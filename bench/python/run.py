#!/usr/bin/env python3
"""Timings of the rrx Python module's write queries (docs/python.md) over
bench/python/stores.c, recorded with dynamic ticks:

- writes(): iterate over every write to the global of a 10^5-iteration
  loop (there must be exactly 10^5, the last storing the final value);
- last_write(): from the end of a 10^6-iteration loop, the last write to
  the global (it must be the store in main, of the final value).

Each is timed --repeat times in fresh replays; the median is printed. No
pass/fail: performance is measured here, never asserted in tests.

    PYTHONPATH=build/python /usr/bin/python3 bench/python/run.py [--repeat 3]
"""
import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import rrx

HERE = Path(__file__).resolve().parent


def build(work, iterations):
    exe = work / f"stores_{iterations}"
    subprocess.run(["gcc", "-O0", "-g", f"-DITERATIONS={iterations}L", "-o", str(exe),
                    str(HERE / "stores.c")], check=True)
    return exe


def expected_final(iterations):
    return iterations ^ (iterations >> 3)


def time_writes(trace, iterations):
    with rrx.Replay(trace) as r:
        start = time.monotonic()
        count, last = 0, None
        for last in r.writes("stored", 8):
            count += 1
        elapsed = time.monotonic() - start
    final = int.from_bytes(last.new, "little")
    ok = count == iterations and final == expected_final(iterations)
    return elapsed, f"{count} writes, last {final}" + ("" if ok else " (WRONG)")


def time_last_write(trace, iterations):
    with rrx.Replay(trace) as r:
        r.cont()
        start = time.monotonic()
        w = r.last_write("stored", 8)
        elapsed = time.monotonic() - start
        where = r.function_at(w.pc)
    new = int.from_bytes(w.new, "little")
    ok = where == "main" and new == expected_final(iterations)
    return elapsed, f"{where}, new {new}" + ("" if ok else " (WRONG)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="rrx-bench-python-") as tmp:
        work = Path(tmp)
        for label, iterations, measure in (
                ("writes() over 10^5 writes", 100000, time_writes),
                ("last_write() after a 10^6-iteration loop", 1000000, time_last_write)):
            trace = rrx.record([str(build(work, iterations))], trace_dir=work / f"trace_{iterations}")
            samples, results = [], set()
            for _ in range(args.repeat):
                seconds, result = measure(trace, iterations)
                samples.append(seconds)
                results.add(result)
            rows.append((label, statistics.median(samples), min(samples), max(samples), results))
    print("| operation | median | min | max | result |")
    print("|---|---|---|---|---|")
    for label, median, low, high, results in rows:
        print(f"| {label} | {median:.3f} s | {low:.3f} s | {high:.3f} s | {'; '.join(sorted(results))} |")


if __name__ == "__main__":
    main()
