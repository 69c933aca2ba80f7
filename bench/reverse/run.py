#!/usr/bin/env python3
"""Reverse execution timings in gdb over an uninstrumented 10^6-iteration
loop (dynamic ticks): reverse-stepi, reverse-finish-like and
reverse-continue to a breakpoint, each timed inside gdb. Prints a table;
no pass/fail (performance is measured here, never asserted in tests).

    python3 bench/reverse/run.py [--rrx build/bin/rrx]
"""
import argparse
import re
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def line_of(source, marker):
    for n, text in enumerate(source.read_text().splitlines(), 1):
        if marker in text:
            return n
    raise SystemExit(f"no {marker} in {source}")


def timed(command):
    return ("python import time; t = time.time(); gdb.execute(%r); "
            "print('@@ %s %%.3f' %% (time.time() - t))" % (command, command))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rrx", default=str(REPO / "build/bin/rrx"))
    p.add_argument("--plugin", default=str(REPO / "build/share/rrx/gdb/rrx.py"))
    args = p.parse_args()
    src = HERE / "loop.c"
    with tempfile.TemporaryDirectory() as work:
        exe, trace = Path(work) / "loop", Path(work) / "trace"
        subprocess.run(["gcc", "-O0", "-g", "-o", exe, src], check=True)
        subprocess.run([args.rrx, "record", "-o", trace, exe], check=True,
                       stdout=subprocess.DEVNULL)
        after, body = line_of(src, "AFTER"), line_of(src, "BODY")
        commands = ["source " + args.plugin, "rr-replay %s" % trace,
                    "break loop.c:%d" % after, "continue",
                    timed("reverse-stepi"), timed("reverse-stepi"),
                    "break loop.c:%d" % body, timed("reverse-continue"), "print i"]
        argv = ["gdb", "-batch", "-nx", "-l", "10000"]
        for c in commands:
            argv += ["-ex", c]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=900).stdout
    print("| operation (gdb, uninstrumented -O0 10^6 loop) | seconds |")
    print("|---|---|")
    for name, seconds in re.findall(r"^@@ (.+) ([0-9.]+)$", out, re.M):
        print(f"| {name} | {seconds} |")
    m = re.search(r"^\$1 = (\d+)$", out, re.M)
    print(f"(reverse-continue stopped at i = {m.group(1) if m else '?'}, expected 999999)")


if __name__ == "__main__":
    main()
