#!/usr/bin/env python3
"""Reverse execution timings in gdb and lldb over uninstrumented programs
(dynamic ticks): reverse-stepi, reverse-finish and reverse-continue to a
breakpoint or watchpoint after a 10^6-iteration -O0 loop, reverse-continue
from the end of history, a watchpoint reverse-continue in the 4-thread
counter race (tests/programs/threads_race.c), and (gdb) a reverse-continue
over the 10^5 hits of a conditional breakpoint true only at an early
iteration (cond_loop.c: every hit's condition is evaluated). Each operation is timed
inside the debugger, `--repeat` times in fresh sessions; the table gives
the median, min and max and where the operation stopped (checked against what the
program must show there). No pass/fail: performance is measured here,
never asserted in tests.

    python3 bench/reverse/run.py [--rrx build/bin/rrx] [--repeat 3]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TIMEOUT = 300
TO_END = "@continue to the end"


def line_of(source, marker):
    for n, text in enumerate(source.read_text().splitlines(), 1):
        if marker in text:
            return n
    raise SystemExit(f"no {marker} in {source}")


class Gdb:
    name = "gdb"

    def __init__(self, args):
        self.plugin = args.gdb_plugin

    def timed(self, label, command):
        return ("python import time; t = time.time(); gdb.execute(%r); "
                "print('@@ %s %%.3f' %% (time.time() - t))" % (command, label))

    def value(self, label, expression):
        return "python print('@@= %s', gdb.parse_and_eval(%r))" % (label, expression)

    def function(self, label):
        return "python print('@@= %s', gdb.selected_frame().name())" % label

    def run(self, trace, commands):
        argv = ["gdb", "-batch", "-nx", "-l", "10000", "-ex", "source " + self.plugin,
                "-ex", "rr-replay %s" % trace]
        for c in commands:
            argv += ["-ex", "continue" if c == TO_END else c]
        return run_session(argv)

    break_ = "break {file}:{line}"
    break_if = "break {file}:{line} if {cond}"
    watch = "watch {var}"
    delete = "delete"
    to_end = TO_END
    reverse = {"rsi": "reverse-stepi", "rf": "reverse-finish", "rc": "reverse-continue"}


class Lldb:
    name = "lldb"

    def __init__(self, args):
        self.plugin = args.lldb_plugin

    def timed(self, label, command):
        return [ "script import time; _t = time.time()", command,
                 "script print('@@ %s %%.3f' %% (time.time() - _t))" % label]

    def value(self, label, expression):
        return "script print('@@= %s', lldb.frame.EvaluateExpression(%r).GetValue())" % (label, expression)

    def function(self, label):
        return "script print('@@= %s', lldb.frame.GetFunctionName())" % label

    def run(self, trace, commands):
        argv = ["lldb-19", "--no-lldbinit", "-b", "-o", "plugin load " + self.plugin,
                "-o", "replay %s" % trace]
        # lldb -b runs no more -o commands after a stop at the end of
        # history; -k ones run then.
        option = "-o"
        for c in commands:
            if c == TO_END:
                argv += [option, "continue"]
                option = "-k"
            else:
                argv += [option, c]
        return run_session(argv)

    break_ = "breakpoint set -f {file} -l {line}"
    break_if = None  # lldb evaluates conditions itself: not the backend's path
    watch = "watchpoint set variable {var}"
    delete = "breakpoint delete -f"
    to_end = TO_END
    reverse = {"rsi": "reverse-stepi", "rf": "reverse-finish", "rc": "reverse-continue"}


def run_session(argv):
    """The debugger's stdout; what it printed so far if it timed out."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT).stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return out + "\n@@ timed out %d\n" % TIMEOUT


def flatten(items):
    out = []
    for item in items:
        out += item if isinstance(item, list) else [item]
    return out


def loop_session(d, src):
    """Stops at END in spin(): reverse-stepi twice, reverse-finish (to
    main), then at AFTER: reverse-continue to BODY."""
    lines = {m: line_of(src, m) for m in ("END", "BODY", "AFTER")}
    brk = lambda m: d.break_.format(file=src.name, line=lines[m])
    return flatten([
        brk("END"), "continue",
        d.timed("reverse-stepi", d.reverse["rsi"]), d.timed("reverse-stepi", d.reverse["rsi"]),
        d.timed("reverse-finish", d.reverse["rf"]), d.function("reverse-finish"),
        d.delete, brk("AFTER"), "continue", brk("BODY"),
        d.timed("reverse-continue to a breakpoint", d.reverse["rc"]),
        d.value("reverse-continue to a breakpoint", "i"),
    ])


def watch_session(d, src):
    """At AFTER (main), a watchpoint on the global: its last write is in
    spin()'s last iteration."""
    return flatten([
        d.break_.format(file=src.name, line=line_of(src, "AFTER")), "continue",
        d.watch.format(var="sink"),
        d.timed("reverse-continue to a watchpoint", d.reverse["rc"]),
        d.value("reverse-continue to a watchpoint", "i"),
    ])


def end_session(d, src):
    """At the end of history: reverse-continue to BODY."""
    line = line_of(src, "BODY")
    return flatten([
        d.to_end, d.break_.format(file=src.name, line=line),
        d.timed("reverse-continue from the end", d.reverse["rc"]),
        d.value("reverse-continue from the end", "i"),
    ])


def cond_session(d, src):
    """At AFTER: reverse-continue to `BODY if i == 5`, over all 10^5 hits
    of the loop (gdb sends the condition as an agent expression, which the
    backend evaluates at each hit)."""
    if d.break_if is None:
        return None
    return flatten([
        d.break_.format(file=src.name, line=line_of(src, "AFTER")), "continue",
        d.break_if.format(file=src.name, line=line_of(src, "BODY"), cond="i == 5"),
        d.timed("reverse-continue over 10^5 conditional hits", d.reverse["rc"]),
        d.value("reverse-continue over 10^5 conditional hits", "i"),
    ])


def race_session(d, src):
    """After the threads joined: reverse-continue to the last write of the
    counter (by one of the four threads)."""
    line = line_of(src, 'printf("counter')
    return flatten([
        d.break_.format(file=src.name, line=line), "continue",
        d.watch.format(var="counter"),
        d.timed("race: reverse-continue to a watchpoint", d.reverse["rc"]),
        d.function("race: reverse-continue to a watchpoint"),
    ])


EXPECTED = {
    "reverse-finish": "main",
    "reverse-continue to a breakpoint": "999999",
    "reverse-continue to a watchpoint": "999999",
    "reverse-continue from the end": "999999",
    "race: reverse-continue to a watchpoint": "bump",
    "reverse-continue over 10^5 conditional hits": "5",
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rrx", default=str(REPO / "build/bin/rrx"))
    p.add_argument("--gdb-plugin", default=str(REPO / "build/share/rrx/gdb/rrx.py"))
    p.add_argument("--lldb-plugin", default=str(REPO / "build/lib/rrx/liblldb-rrx.so"))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--only", default="", help="run only the sessions whose name contains this")
    args = p.parse_args()
    debuggers = [Gdb(args)]
    if shutil.which("lldb-19") and os.path.exists(args.lldb_plugin):
        debuggers.append(Lldb(args))
    else:
        print("(lldb-19 or the rrx lldb plugin missing: lldb rows skipped)")
    loop_src = HERE / "loop.c"
    cond_src = HERE / "cond_loop.c"
    race_src = REPO / "tests/programs/threads_race.c"
    times, stops = {}, {}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        traces = {}
        for name, src, extra in (("loop", loop_src, []), ("cond", cond_src, []),
                                 ("race", race_src, ["-pthread"])):
            exe, trace = work / name, work / (name + ".trace")
            subprocess.run(["gcc", "-O0", "-g", "-o", exe, src] + extra, check=True)
            subprocess.run([args.rrx, "record", "-o", trace, exe], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            traces[name] = trace
        for d in debuggers:
            for session, trace, src in ((loop_session, traces["loop"], loop_src),
                                        (watch_session, traces["loop"], loop_src),
                                        (end_session, traces["loop"], loop_src),
                                        (race_session, traces["race"], race_src),
                                        (cond_session, traces["cond"], cond_src)):
                if args.only not in session.__name__ or session(d, src) is None:
                    continue
                for _ in range(args.repeat):
                    out = d.run(trace, session(d, src))
                    for label, seconds in re.findall(r"^@@ (.+) ([0-9.]+)$", out, re.M):
                        times.setdefault((d.name, label), []).append(float(seconds))
                    for label, value in re.findall(r"^@@= (.+?) (\S+)$", out, re.M):
                        stops.setdefault((d.name, label), set()).add(value)
    print("| debugger | operation | median s | min s | max s | runs | stopped at | expected |")
    print("|---|---|---|---|---|---|---|---|")
    for (debugger, label), values in times.items():
        seen = ", ".join(sorted(stops.get((debugger, label), {"?"})))
        print(f"| {debugger} | {label} | {statistics.median(values):.3f} | {min(values):.3f} "
              f"| {max(values):.3f} | {len(values)} | {seen} | {EXPECTED.get(label, '')} |")


if __name__ == "__main__":
    main()
