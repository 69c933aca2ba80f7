#!/usr/bin/env python3
"""Runs one scripted lldb-19 session with the rrx lldb plugin against the
real backend.

Records --program with `rrx record` into a fresh temporary trace, runs
`lldb-19 -b` over it (one `-o` per command) and checks the transcript. The
cases that mirror gdb's reverse commands also run the same commands in
`gdb -batch` with rrx's gdb plugin and compare the source lines both stop
at. Places in the program are named by the `// @name` markers of --source.

    run_case.py --lldb lldb-19 --plugin liblldb-rrx.so --rrx RRX \
        --program PROG --source PROG.c [--gdb gdb --gdb-plugin rrx.py] CASE

Exits 77 (CTest's skip code, with a SKIP line saying why) when lldb-19 or
the plugin is missing, 0 on pass, 1 on failure (with both transcripts).
RRX_LLDB_KEEP=1 keeps the temporary directory.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
SESSION_TIMEOUT = 100


def markers(source):
    """{name: line number} from the `// @name` comments."""
    found = {}
    with open(source) as f:
        for number, text in enumerate(f, 1):
            for name in re.findall(r"//.*?@(\w+)", text):
                found[name] = number
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Failure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failure(message)


def expect_in(pattern, text, what):
    expect(re.search(pattern, text, re.M), f"{what}: expected /{pattern}/ in:\n{text}")


class Session:
    """An lldb -b transcript split per command: [(command, output)]."""

    def __init__(self, text):
        self.outputs = []
        for chunk in re.split(r"^\(lldb\) ", text, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            self.outputs.append((command, output))

    def all(self, command):
        return [out for cmd, out in self.outputs if cmd == command]

    def out(self, command, occurrence=0):
        hits = self.all(command)
        if len(hits) <= occurrence:
            raise Failure(f"command {command!r} (#{occurrence + 1}) did not run (lldb stopped early?)")
        return hits[occurrence]

    def numbers(self, command, pattern):
        values = []
        for out in self.all(command):
            m = re.search(pattern, out)
            expect(m, f"{command!r} output has no /{pattern}/:\n{out}")
            values.append(int(m.group(1), 0))
        return values


PC = r"rip = (0x[0-9a-f]+)"
EVENT = r"Current event: (\d+)"


def lldb_place(output):
    """(function, line) of the frame an lldb stop or `frame select` shows."""
    m = re.search(r"`(\w+)(?:\(.*?\))? at [\w./-]+\.[ch]:(\d+)", output)
    expect(m, f"no source position in:\n{output}")
    return m.group(1), int(m.group(2))


def gdb_lines(transcript, commands):
    """The source line gdb shows after each of `commands`, which ran between
    `echo @@ N` markers: {index: line}."""
    lines = {}
    for chunk in transcript.split("@@ ")[1:]:
        index, _, output = chunk.partition("\n")
        # "58\tsource text", or only the frame line "... at FILE:58" when
        # gdb has no source to show.
        found = re.findall(r"^(\d+)\t|^\S.* at \S+:(\d+)$", output, re.M)
        if index.isdigit() and found:
            lines[int(index)] = int(found[-1][0] or found[-1][1])
    return lines


# ---- cases ---------------------------------------------------------------
# Each returns (lldb commands, check(session, m, ctx)); commands may use
# {trace}, {port}, {src} (source file name) and {marker} line numbers. A
# case may also set GDB: gdb commands whose lines must equal lldb's.


class Case:
    gdb = None  # (setup, [(lldb command, gdb command)]): compared by source line
    after_stop = []  # lldb -k commands: run once -b stopped at an exception stop
    program = "main"  # "main" (--program), "static" (--static-program), "crash" (--crash-program),
    # "many" (--many-events-program)
    record_flags = []  # for rrx record
    interrupt = False  # SIGINT to lldb (as Ctrl-C) once the session created {work}/signal
    needs_server = False  # start `rrx replay --serve -s {port}` before lldb
    launcher = False  # run `rrx replay -d LLDB TRACE` with the commands on stdin

    def __init__(self, commands, check):
        self.commands, self.check = commands, check


def case_plugin_loads():
    def check(s, m, ctx):
        expect_in(r"Run the replay backwards", s.out("help reverse-continue"), "help")
        expect_in(r"replay \[-s PORT\] \[-p PID\|NAME\] \[-g EVENT\]", s.out("help rr replay"), "help rr replay")
    return Case(["help reverse-continue", "help rr replay"], check)


HELP_COMMANDS = ["replay", "rr replay", "rr binary", "reverse-continue", "rc", "reverse-stepi",
                 "rsi", "reverse-step", "rs", "reverse-next", "rn", "reverse-finish", "rf",
                 "when", "when-ticks", "when-tid", "checkpoint", "info checkpoints",
                 "delete checkpoint", "restart"]


def case_help():
    def check(s, m, ctx):
        for command in HELP_COMMANDS:
            out = s.out("help " + command)
            expect("error:" not in out and len(out.strip()) > 20, f"help {command}:\n{out}")
    return Case(["help " + c for c in HELP_COMMANDS], check)


def connected(command):
    """Connecting stops at the start (SIGSTOP, like an attach); `b main`
    resolves, `c` gets there, and the backtrace goes into libc."""
    def check(s, m, ctx):
        out = s.out(command.format(**ctx))
        expect("error:" not in out, f"{command} failed:\n{out}")
        expect_in(r"^Process \d+ stopped", out, command)
        expect_in(r"stop reason = signal SIGSTOP", out, "the initial stop")
        expect_in(r"Current event: \d+", s.out("when"), "when after connecting")
        expect_in(rf"`main at {ctx['src']}:{m['main_body']}", s.out("c"), "c to main")
        expect("error:" not in s.out("b main"), "b main")
        bt = s.out("bt")
        expect_in(r"libc\.so\.6`__libc_start_call_main", bt, "bt into libc")
    return Case([command, "when", "b main", "c", "bt"], check)


def case_gdb_remote():
    """What an IDE (CodeLLDB) does: `rrx replay -s PORT` started outside
    lldb, then `target create` + `gdb-remote PORT`; reverse via the plugin."""
    case = connected("gdb-remote 127.0.0.1:{port}")
    case.commands = ["target create {exe}"] + case.commands + ["b add", "c", "c", "rc", "frame variable"]
    inner = case.check

    def check(s, m, ctx):
        inner(s, m, ctx)
        expect_in(r"stop reason = breakpoint", s.out("rc"), "rc after gdb-remote")
        expect_in(r"\(int\) a = 0\n\(int\) b = 0", s.out("frame variable"), "first add after rc")
    case.check = check
    case.needs_server = True
    return case


def case_break_continue():
    """b + continue twice, reverse-continue back to the first hit with the
    first call's values; then forwards again."""
    def check(s, m, ctx):
        at_second = s.out("frame variable", 0)
        expect_in(r"^\(int\) a = 0\n\(int\) b = 1\b", at_second, "second hit of add")
        events = s.numbers("when", EVENT)
        out = s.out("reverse-continue")
        expect_in(r"stop reason = breakpoint 1\.1", out, "reverse-continue")
        expect_in(rf"`add\(a=0, b=0\) at {ctx['src']}:{m['add_body']}", out, "reverse-continue: first call")
        expect_in(r"^\(int\) a = 0\n\(int\) b = 0\b", s.out("frame variable", 1), "values at the first hit")
        expect(events[1] < events[0], f"`when` did not go back: {events}")
        expect_in(r"`add\(a=0, b=1\)", s.out("c", 2), "forwards again")
        expect_in(r"libc\.so\.6`__printf", s.out("b printf"), "b printf resolves in libc")
    return Case(["b {src}:{add_body}", "c", "c", "frame variable", "when", "reverse-continue",
                 "frame variable", "when", "c", "b printf"], check)


def case_watch_reverse():
    """watchpoint set variable + reverse-continue: stops at the last write
    (counter++ in the third add, 2 -> 3), before it is made."""
    def check(s, m, ctx):
        out = s.out("reverse-continue")
        expect_in(r"stop reason = watchpoint 1", out, "reverse-continue")
        expect_in(rf"`add\(a=1, b=2\) at {ctx['src']}:{m['add_write']}", out, "the last write")
        expect_in(r"^\(int\) 2$", s.out("p counter"), "counter before the write")
        expect_in(r"stop reason = watchpoint 1", s.out("c", 1), "forwards over the write")
        expect_in(r"^\(int\) 3$", s.out("p counter", 1), "counter after the write")
    return Case(["b {src}:{twice_site}", "c", "watchpoint set variable counter", "reverse-continue",
                 "p counter", "c", "p counter"], check)


def case_watch_expression():
    """`watchpoint set expression -- &counter` watches counter's 4 bytes
    (lldb-19 alone watches a pointer's 8); the first `c` runs on to the
    first write (lldb prints the value at creation under a `Watchpoint 1
    hit:` header on a live process too: that is no stop); from the next
    breakpoint hit reverse-continue comes back to it."""
    def check(s, m, ctx):
        expect_in(r"^Watchpoint created: Watchpoint 1: addr = 0x[0-9a-f]+ size = 4 ",
                  s.out("watchpoint set expression -- &counter"), "the watch size")
        out = s.out("c", 1)
        expect_in(rf"stop reason = watchpoint 1\n.*`add\(a=0, b=0\) at {ctx['src']}:{m['add_return']}", out,
                  "c to the first write")
        expect_in(r"^\(int\) 1$", s.out("p counter"), "counter after the first write")
        expect_in(rf"stop reason = watchpoint 1\n.*`add\(a=0, b=0\) at {ctx['src']}:{m['add_write']}",
                  s.out("rc"), "rc back before the write")
        expect_in(r"^\(int\) 0$", s.out("p counter", 1), "counter before the first write")
    return Case(["b {src}:{add_body}", "c", "watchpoint set expression -- &counter", "c", "p counter",
                 "c", "rc", "p counter"], check)


def case_watch_reverse_twice():
    """Two reverse-continues with a watchpoint: the second stops at the
    write before (known engine bug: it runs to the start of history)."""
    def check(s, m, ctx):
        expect_in(r"`add\(a=1, b=2\)", s.out("reverse-continue", 0), "first reverse-continue")
        out = s.out("reverse-continue", 1)
        expect_in(r"stop reason = watchpoint 1", out, "second reverse-continue")
        expect_in(r"`add\(a=0, b=1\)", out, "second reverse-continue: the write before")
    return Case(["b {src}:{twice_site}", "c", "watchpoint set variable counter", "reverse-continue",
                 "reverse-continue"], check)


def case_last_write():
    """last-write from the end of main walks back through the writes that
    changed counter: counter += total in main (4 -> 10), then counter++ in
    the add() called by twice() (3 -> 4), then in the third loop call
    (2 -> 3); each stop is on the writing line. The first starts from a
    breakpoint right after the store it finds. From the start of main
    nothing changed it (lldb -b stops at that error, so it comes last)."""
    def check(s, m, ctx):
        src = ctx["src"]
        expect_in(rf"^last-write: counter\nOld value = 4\nNew value = 10\nframe #0: .*`main at {src}:{m['after_twice']}:",
                  s.out("last-write counter", 0), "first last-write")
        expect_in(r"^\(int\) 4$", s.out("p counter"), "counter at the write, before it")
        expect_in(rf"^Old value = 3\nNew value = 4\nframe #0: .*`add\(a=3, b=3\) at {src}:{m['add_write']}:",
                  s.out("last-write counter", 1), "second last-write")
        expect_in(rf"^Old value = 2\nNew value = 3\nframe #0: .*`add\(a=1, b=2\) at {src}:{m['add_write']}:",
                  s.out("last-write counter", 2), "third last-write")
        # (Its error line goes to stderr, which the checks do not see.)
        last = s.out("last-write counter", 3)
        expect_in(r"stop reason = start of recorded history", last, "at the start of main")
        expect("Old value" not in last, f"a write found before main:\n{last}")
    return Case(["b {src}:{done}", "c", "last-write counter", "p counter", "last-write counter",
                 "last-write counter", "b {src}:{main_body}", "reverse-continue",
                 "last-write counter"], check)


def compared(setup, steps, expected):
    """`setup` then `steps` [(lldb command, gdb command)]; lldb must stop at
    the `expected` (function, marker) and gdb at the same lines."""
    def check(s, m, ctx):
        for i, ((lldb_cmd, _), (function, marker)) in enumerate(zip(steps, expected)):
            occurrence = [c for c, _ in steps[:i]].count(lldb_cmd)
            got = lldb_place(s.out(lldb_cmd, occurrence))
            if marker is None:  # outside the program: only the function (and gdb's line)
                expect(got[0] == function, f"step {i + 1} ({lldb_cmd}): lldb in {got[0]}, expected {function}")
                continue
            expect(got == (function, m[marker]),
                   f"step {i + 1} ({lldb_cmd}): lldb at {got}, expected {function}:{m[marker]} (@{marker})")
    case = Case(setup + [c for c, _ in steps], check)
    case.gdb = (setup, steps)
    return case


def case_reverse_step():
    # Into twice() and add() through their returns, up add()'s lines, then
    # out of its first line back to the call in twice().
    return compared(["b {src}:{done}", "c"],
                    [("reverse-step", "reverse-step")] * 3 + [("rs", "reverse-step")] * 5,
                    [("main", "after_twice"), ("twice", "twice_end"), ("twice", "twice_return"),
                     ("add", "add_end"), ("add", "add_return"), ("add", "add_write"),
                     ("add", "add_body"), ("twice", "twice_call")])


def case_reverse_next():
    # Back over add() and over printf() in libc, round the loop (the for
    # line's pieces as gdb sees them), and out of main() at its entry into
    # its caller in libc.
    return compared(["b {src}:{print}", "c", "c"],
                    [("reverse-next", "reverse-next")] * 4 + [("rn", "reverse-next"), ("rn", "reverse-next")],
                    [("main", "loop_call"), ("main", "loop_head"), ("main", "print"),
                     ("main", "loop_call"), ("main", "main_body"), ("__libc_start_call_main", None)])


def case_reverse_finish():
    # From add() called by twice() out to twice(), then out to main(); then
    # back into printf (libc) and out of it.
    setup = ["b {src}:{add_body}", "c", "c", "c", "c"]
    steps = [("reverse-finish", "reverse-finish"), ("rf", "reverse-finish")]
    case = compared(setup, steps, [("twice", "twice_call"), ("main", "twice_site")])
    inner = case.check
    case.commands += ["disassemble -s $pc -c 1", "b printf", "rc", "reverse-finish"]

    def check(s, m, ctx):
        inner(s, m, ctx)
        expect_in(r"call", s.out("disassemble -s $pc -c 1"), "reverse-finish stops at the call")
        expect_in(r"libc\.so\.6`__printf", s.out("rc"), "rc back into printf")
        got = lldb_place(s.out("reverse-finish", 1))
        expect(got == ("main", m["print"]), f"reverse-finish out of printf: {got}")
    case.check = check
    return case


def case_reverse_stepi():
    def check(s, m, ctx):
        pcs = s.numbers("register read pc", PC)
        expect(len(pcs) == 3 and pcs[1] < pcs[0] and pcs[2] < pcs[1], f"pc did not move back: {pcs}")
        expect_in(r"stop reason", s.out("reverse-stepi"), "reverse-stepi")
    return Case(["b {src}:{add_body}", "c", "si", "si", "register read pc", "reverse-stepi",
                 "register read pc", "rsi", "register read pc"], check)


def case_override_flags():
    def check(s, m, ctx):
        pcs = s.numbers("register read pc", PC)
        expect(len(pcs) == 3 and pcs[1] < pcs[0] and pcs[2] < pcs[1], f"-R did not step back: {pcs}")
        expect_in(r"`add\(a=0, b=0\)", s.out("c -R"), "c -R to the previous hit")
    return Case(["b {src}:{add_body}", "c", "c", "si", "si", "register read pc", "si -R",
                 "register read pc", "thread step-inst -R", "register read pc", "c -R"], check)


def case_history_start():
    # Last command: lldb -b ends the session at an exception stop.
    def check(s, m, ctx):
        out = s.out("rc")
        expect_in(r"stop reason = start of recorded history", out, "rc")
    return Case(["b {src}:{add_body}", "c", "rc"], check)


def case_history_end():
    """Running off the end stops (not an exit); reverse-continue goes back
    from there to the last breakpoint hit."""
    def check(s, m, ctx):
        out = s.out("c")
        expect_in(r"stop reason = end of recorded history", out, "c to the end")
        expect("exited" not in out, f"the process exited:\n{out}")
        expect_in(rf"`add\(a=3, b=3\) at {ctx['src']}:{m['add_body']}", s.out("rc"), "rc from the end")
        expect_in(r"^\(int\) a = 3\n\(int\) b = 3\b", s.out("frame variable"), "values at the last hit")
    # lldb -b ends the -o commands at the exception stop; -k ones run then.
    case = Case(["b {src}:{add_body}", "breakpoint disable 1", "c"], check)
    case.after_stop = ["breakpoint enable 1", "rc", "frame variable"]
    return case


def case_when():
    def check(s, m, ctx):
        for command in ("when", "when-ticks", "when-tid"):
            out = s.out(command)
            expect("error:" not in out and re.search(r"\d+", out), f"{command}:\n{out}")
    return Case(["b {src}:{add_body}", "c", "when", "when-ticks", "when-tid"], check)


def case_elapsed_time():
    """elapsed-time: the recording's time at the current event, which grows
    going forwards and comes back with reverse-continue."""
    def seconds(out):
        found = re.search(r"Elapsed time: ([0-9.]+) s", out)
        expect(found, f"elapsed-time:\n{out}")
        return float(found.group(1))

    def check(s, m, ctx):
        first = seconds(s.out("elapsed-time", 0))
        later = seconds(s.out("elapsed-time", 1))
        back = seconds(s.out("elapsed-time", 2))
        expect(0 <= first < later, f"elapsed-time did not grow: {first} then {later}")
        expect(back == first, f"reverse-continue to the first hit: {back}, first {first}")
    return Case(["b {src}:{add_body}", "c", "elapsed-time", "c", "c", "c", "elapsed-time",
                 "reverse-continue", "reverse-continue", "reverse-continue", "elapsed-time"], check)


def case_spin_off():
    """`spin-off` at a breakpoint: a stopped copy of the process at lldb's
    pc (docs/spin-off.md); the replay goes on to the next call."""
    def check(s, m, ctx):
        out = s.out("spin-off")
        found = re.search(r"Spun off process (\d+) .*\n(\{.*\})", out)
        expect(found, f"spin-off:\n{out}")
        pid, state = int(found.group(1)), json.loads(found.group(2))
        try:
            with open(f"/proc/{pid}/status") as f:
                status = f.read()
            expect(re.search(r"^State:\s+T", status, re.M), f"the copy is not stopped:\n{status}")
            pc = s.numbers("register read pc", PC)[0]
            expect(state["registers"]["rip"] == pc, f"copy at {state['registers']['rip']:#x}, lldb at {pc:#x}")
        finally:
            os.kill(pid, signal.SIGKILL)
        expect_in(r"`add\(a=0, b=1\)", s.out("c", 1), "continue after spin-off")
    return Case(["b {src}:{add_body}", "c", "register read pc", "spin-off", "c"], check)


def case_checkpoint_restart():
    def check(s, m, ctx):
        expect_in(r"Checkpoint 1\b", s.out("checkpoint"), "checkpoint")
        expect_in(r"^\s*1\s", s.out("checkpoint list"), "checkpoint list")
        expect_in(r"^\s*1\s", s.out("info checkpoints"), "info checkpoints")
        events = s.numbers("when", EVENT)
        expect(events[0] == events[2] != events[1], f"restart did not go back: {events}")
        ticks = s.numbers("when-ticks", r"(\d+)")
        expect(ticks[0] == ticks[1], f"when-ticks differ after restart: {ticks}")
        pcs = s.numbers("register read pc", PC)
        expect(pcs[0] == pcs[1], f"lldb shows a stale pc after restart: {pcs}")
        expect_in(r"`add\(a=0, b=0\)", s.out("bt 1"), "frame after restart")
        expect_in(r"^\(int\) a = 0\n\(int\) b = 0\b", s.out("frame variable"), "variables after restart")
        remaining = s.out("info checkpoints", 1)
        expect(not re.search(r"^\s*1\s", remaining, re.M), f"checkpoint 1 not deleted:\n{remaining}")
        expect_in(r"`add\(a=0, b=1\)", s.out("c", 3), "continue after restart")
    return Case(["b {src}:{add_body}", "c", "checkpoint", "when", "when-ticks", "register read pc",
                 "c", "c", "when", "checkpoint list", "restart 1", "when", "when-ticks",
                 "register read pc", "info checkpoints", "bt 1", "frame variable",
                 "delete checkpoint 1", "info checkpoints", "c"], check)


def case_static_start():
    """A static program without libc: the initial stop at its ELF entry must
    not read as lldb's entry breakpoint (which lldb would continue from)."""
    def check(s, m, ctx):
        out = s.out("replay {trace}".format(**ctx))
        expect_in(r"stop reason = signal SIGSTOP", out, "initial stop")
        expect_in(r"`_start", out, "initial stop at the entry")
        expect_in(r"stop reason = breakpoint 1\.1", s.out("c"), "c to main")
    case = Case(["b main", "c"], check)
    case.program = "static"
    return case


def case_launcher():
    """`rrx replay -d lldb-19 TRACE` starts lldb with the plugin loaded and
    the replay connected (lldb reads the commands from stdin)."""
    def check(s, m, ctx):
        out = s.out("replay {trace}".format(**ctx))
        expect("error:" not in out, f"replay failed:\n{out}")
        expect_in(r"stop reason = signal SIGSTOP", out, "the initial stop")
        expect_in(r"Current event: \d+", s.out("when"), "when")
    case = Case(["when"], check)
    case.launcher = True
    return case


def case_launcher_piped():
    """Commands piped into `rrx replay -d lldb-19 TRACE` run one after the
    other, each stop before the next command, as typed at a prompt: the
    values at the first hit, on past the end of the recording, and back."""
    def check(s, m, ctx):
        expect_in(rf"`add\(a=0, b=0\) at {ctx['src']}:{m['add_body']}", s.out("c"), "c to the first hit")
        expect_in(r"^\(int\) a = 0\n\(int\) b = 0\b", s.out("frame variable"), "values at the first hit")
        expect_in(r"stop reason = end of recorded history", s.out("c", 4), "c to the end")
        expect_in(rf"`add\(a=3, b=3\) at {ctx['src']}:{m['add_body']}", s.out("rc"), "rc from the end")
    case = Case(["b {src}:{add_body}", "c", "frame variable", "c", "c", "c", "c", "rc"], check)
    case.launcher = True
    return case


PATCHED_JCC = ("script t = lldb.debugger.GetSelectedTarget(); "
               "insns = t.FindFunctions('main')[0].GetSymbol().GetInstructions(t); "
               "jcc = [i for i in insns if i.GetMnemonic(t) == 'jle'][0]; "
               "bp = t.BreakpointCreateByAddress(jcc.GetAddress().GetLoadAddress(t)); "
               "print('jle at 0x%x' % jcc.GetAddress().GetLoadAddress(t))")


def case_patched_loop():
    """Dynamic ticks patch main's loop test (`cmpl; jle`, moved into a stub):
    lldb sees the program's instructions, stops on the patched jle with the
    loop variable right, goes back to the previous test with reverse-continue,
    and steps one instruction at a time from it."""
    def check(s, m, ctx):
        dis = s.out("disassemble -n main")
        expect(not re.search(r"\bint3\b", dis), f"stub filler visible:\n{dis}")
        expect_in(r"cmpl +\$0x2, -0x\w+\(%rbp\)\n.*jle", dis, "the original loop test")
        where = re.search(r"jle at (0x[0-9a-f]+)", s.out(PATCHED_JCC))
        expect(where, "the jle breakpoint was not set")
        pc = where.group(1)
        out = s.out("c")
        expect_in(rf"stop reason = breakpoint 1\.1.*\n.*{pc[2:]}", out, "stop on the patched jle")
        expect_in(r"^\(int\) i = 0$", s.out("frame variable i"), "first loop test")
        expect_in(r"^\(int\) i = 1$", s.out("frame variable i", 1), "second loop test")
        out = s.out("reverse-continue")
        expect_in(r"stop reason = breakpoint 1\.1", out, "reverse-continue to the patched jle")
        expect_in(r"^\(int\) i = 0$", s.out("frame variable i", 2), "back at the first test")
        expect_in(rf"frame #0: 0x0*{pc[2:]} \S+`main at ", s.out("bt"), "bt at the patched jle")
        expect_in(rf"`main at {ctx['src']}:{m['loop_call']}", s.out("si"), "one step: the jump to the loop body")
    return Case(["disassemble -n main", PATCHED_JCC, "c", "frame variable i", "c",
                 "frame variable i", "reverse-continue", "frame variable i", "bt", "si"], check)


def case_signal_segv():
    """A recorded SIGSEGV stops lldb at the faulting line with the signal
    (lldb -b then runs the -k commands)."""
    def check(s, m, ctx):
        expect_in(r"stop reason = signal SIGSEGV", s.out("c"), "c onto the crash")
        expect_in(r"`main\(.*\) at crash\.c:\d+", s.out("c"), "at the faulting line")
        expect_in(r"bad_pointer = 0x0*10\b", s.out("frame variable bad_pointer"), "the bad pointer")
    case = Case(["c"], check)
    case.program = "crash"
    case.after_stop = ["frame variable bad_pointer"]
    return case


def case_expression_write():
    """`expression counter = 5` writes in a diversion (reads then show 5);
    the next continue is back on the recording, where counter is 2 at the
    next hit."""
    def check(s, m, ctx):
        expect_in(r"^\(int\) \$0 = 5$", s.out("expression counter = 5"), "the assignment")
        expect_in(r"^\(int\) 5$", s.out("p counter"), "the diversion's counter")
        expect_in(r"^\(int\) 2$", s.out("p counter", 1), "counter as recorded after it")
    return Case(["b {src}:{add_return}", "c", "expression counter = 5", "p counter", "c",
                 "p counter"], check)


def case_process_launch():
    """`run` (an alias of `process launch`) starts the replay over, the
    breakpoint kept: the same first hit at the same event; `run N` past the
    end is refused and leaves the replay at its start; `process launch -m`
    stops at main, `process launch -s` at the first instruction (the start
    of the recording)."""
    def check(s, m, ctx):
        first_hit = rf"stop reason = breakpoint 1\.1\n.*`add\(a=0, b=0\) at {ctx['src']}:{m['add_body']}"
        events = s.numbers("when", EVENT)
        out = s.out("run")
        expect_in(r"^Process \d+ restarted from the start of the replay$", out, "run")
        expect_in(first_hit, out, "run to the first hit")
        expect(events[1] == events[0], f"run: first hit at event {events[1]}, before at {events[0]}")
        expect_in(r"^\(int\) a = 0\n\(int\) b = 0\b", s.out("frame variable"), "values after run")
        expect_in(r"error: rrx: event 99999999 is beyond the history", s.out("run 99999999"), "run past the end")
        expect_in(first_hit, s.out("c", 2), "c after the refused run")
        expect(events[2] == events[0], f"c after the refused run: event {events[2]}, not {events[0]}")
        expect_in(rf"one-shot breakpoint \d+\n.*`main at {ctx['src']}:{m['main_body']}",
                  s.out("process launch -m"), "process launch -m")
        out = s.out("process launch -s")
        expect_in(r"restarted from the start of the replay", out, "process launch -s")
        expect_in(r"stop reason = start of recorded history\n.*`_start$", out, "at the first instruction")
        expect(events[3] < events[0], f"process launch -s: event {events[3]}, not before {events[0]}")
    return Case(["b {src}:{add_body}", "c", "when", "c", "run", "when", "frame variable",
                 "run 99999999", "c", "when", "process launch -m", "process launch -s", "when"], check)


def case_conditional_breakpoint():
    """A condition lldb evaluates at each hit, forwards and backwards: the
    hit where b == 2 (third call), back to where a == 0 (second call),
    and forwards from there no other a == 0: the end of the recording."""
    def check(s, m, ctx):
        at = rf" at {ctx['src']}:{m['add_body']}"
        expect_in(r"stop reason = breakpoint 1\.1\n.*`add\(a=1, b=2\)" + at, s.out("c"), "b == 2")
        expect_in(r"stop reason = breakpoint 1\.1\n.*`add\(a=0, b=1\)" + at, s.out("rc"), "a == 0 backwards")
        expect_in(r"stop reason = end of recorded history", s.out("c", 1), "no a == 0 ahead")
    return Case(["breakpoint set -f {src} -l {add_body} -c 'b == 2'", "c",
                 "breakpoint modify -c 'a == 0' 1", "rc", "c"], check)


def case_interrupt_reverse_continue():
    """Ctrl-C (SIGINT to lldb) during a long reverse-continue (from the end
    back to main, over 100000 recorded syscalls) stops it with SIGINT on the
    way: a sane position between the two (main's first store done), from
    which the replay runs forwards to the end again, not backwards."""
    def check(s, m, ctx):
        expect_in(r"^Interrupted\.\n(.*\n)*.*stop reason = signal SIGINT", s.out("reverse-continue"),
                  "the interrupted run")
        expect_in(r"^\(int\) 1$", s.out("p started"), "stopped after main's first line")
        events = s.numbers("when", EVENT)
        expect(events[1] < events[0], f"the interrupted run did not go back: {events}")
        expect_in(r"stop reason = end of recorded history", s.out("c", 2), "forwards after it")
        expect(events[2] == events[0], f"c after the interrupt ended at {events[2]}, not {events[0]}")
    case = Case(["b main", "c", "c", "when", "platform shell touch {work}/signal", "reverse-continue",
                 "p started", "when", "c", "when"], check)
    case.program = "many"
    case.record_flags = ["-n"]  # each getppid() an event: a long way back
    case.interrupt = True
    return case


def case_interrupt_reverse_next():
    """Ctrl-C during a reverse-next over the 100000-call loop (the plugin's
    step back is many short runs) ends it with SIGINT inside the loop; the
    replay then runs forwards to the same breakpoint and event again."""
    def check(s, m, ctx):
        # (SIGINT, or the reason of the last of its runs if Ctrl-C came
        # between two of them)
        expect_in(r"^Interrupted\.\nProcess \d+ stopped\n\* thread #1, stop reason = ",
                  s.out("reverse-next"), "the interrupted step")
        events = s.numbers("when", EVENT)
        # (How far back it got depends on when Ctrl-C came: maybe not past
        # the last of the loop's events yet.)
        expect(events[1] <= events[0], f"the interrupted step went forwards: {events}")
        expect_in(r"stop reason = breakpoint 1\.1\n.*`main at many_events\.c:\d+", s.out("c", 1), "forwards again")
        expect(events[2] == events[0], f"c after the interrupt ended at {events[2]}, not {events[0]}")
    case = Case(["breakpoint set -p LINE_PRINT -f many_events.c", "c", "when",
                 "platform shell touch {work}/signal", "reverse-next", "when", "c", "when"], check)
    case.program = "many"
    case.record_flags = ["-n"]
    case.interrupt = True
    return case


CASES = {
    "real.interrupt_reverse_continue": case_interrupt_reverse_continue,
    "real.interrupt_reverse_next": case_interrupt_reverse_next,
    "real.process_launch": case_process_launch,
    "real.conditional_breakpoint": case_conditional_breakpoint,
    "real.signal_segv": case_signal_segv,
    "real.expression_write": case_expression_write,
    "real.patched_loop": case_patched_loop,
    "real.launcher": case_launcher,
    "real.launcher_piped": case_launcher_piped,
    "plugin_loads": case_plugin_loads,
    "help": case_help,
    "real.replay_command": lambda: connected("replay {trace}"),
    "real.process_connect": lambda: connected("process connect replay://{trace}"),
    "real.rr_replay": lambda: connected("rr replay {trace}"),
    "real.tcp": lambda: connected("replay -s {port} {trace}"),
    "real.gdb_remote": case_gdb_remote,
    "real.break_continue": case_break_continue,
    "real.watch_reverse": case_watch_reverse,
    "real.watch_reverse_twice": case_watch_reverse_twice,
    "real.watch_expression": case_watch_expression,
    "real.last_write": case_last_write,
    "real.reverse_step": case_reverse_step,
    "real.reverse_next": case_reverse_next,
    "real.reverse_finish": case_reverse_finish,
    "real.reverse_stepi": case_reverse_stepi,
    "real.override_flags": case_override_flags,
    "real.history_start": case_history_start,
    "real.history_end": case_history_end,
    "real.when": case_when,
    "real.elapsed_time": case_elapsed_time,
    "real.spin_off": case_spin_off,
    "real.checkpoint_restart": case_checkpoint_restart,
    "real.static_start": case_static_start,
}

# Cases whose commands come after connecting with `replay {trace}`.
CONNECTING = {"plugin_loads": False, "help": False, "real.replay_command": False,
              "real.process_connect": False, "real.rr_replay": False, "real.tcp": False,
              "real.gdb_remote": False}


# After the session asks for the interrupt: long enough for the run to be
# under way, far shorter than the run (not a timing assertion: an earlier
# signal would find no run to stop, a later one only a longer run).
INTERRUPT_DELAY = 0.5


def run_lldb(args, commands, env, after_stop=(), interrupt_marker=None):
    # Without -b when interrupting: lldb -b would end at the end of history.
    argv = [args.lldb, "--no-lldbinit"] + ([] if interrupt_marker else ["-b"])
    for command in ["plugin load " + os.path.abspath(args.plugin)] + commands:
        argv += ["-o", command]
    for command in after_stop:
        argv += ["-k", command]
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        if interrupt_marker:
            deadline = time.monotonic() + SESSION_TIMEOUT
            while not os.path.exists(interrupt_marker) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(INTERRUPT_DELAY)
            proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=SESSION_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    return stdout, stdout + stderr + f"\n[lldb exit status {proc.returncode}]"


def run_gdb(args, trace, setup, steps, values):
    argv = [args.gdb, "-batch", "-nx", "-ex", "source " + args.gdb_plugin, "-ex", "rr-replay " + trace]
    for command in setup:
        command = re.sub(r"^b ", "break ", command.format(**values))
        argv += ["-ex", command]
    for i, (_, command) in enumerate(steps):
        argv += ["-ex", f"echo @@ {i}\\n", "-ex", command]
    argv += ["-ex", "echo @@ end\\n"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=SESSION_TIMEOUT)
    return proc.stdout + proc.stderr


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lldb", default="lldb-19")
    parser.add_argument("--plugin", default="", help="liblldb-rrx.so; empty: not built")
    parser.add_argument("--rrx", required=True)
    parser.add_argument("--program", required=True, help="debuggee built from --source")
    parser.add_argument("--static-program", default="", help="static debuggee without libc")
    parser.add_argument("--crash-program", default="", help="debuggee that dies of SIGSEGV")
    parser.add_argument("--many-events-program", default="", help="debuggee making 100000 syscalls")
    parser.add_argument("--source", required=True)
    parser.add_argument("--gdb", default="gdb")
    parser.add_argument("--gdb-plugin", default="", help="rrx.py, for the gdb comparisons")
    parser.add_argument("case", choices=sorted(CASES))
    args = parser.parse_args()

    lldb = shutil.which(args.lldb) if args.lldb else None
    if not lldb:
        print(f"SKIP: {args.lldb or 'lldb-19'} is not installed (apt-get install lldb-19)")
        return SKIP
    args.lldb = lldb
    if not args.plugin or not os.path.exists(args.plugin):
        print("SKIP: the lldb plugin was not built (apt-get install liblldb-19-dev)")
        return SKIP

    case = CASES[args.case]()
    m = markers(args.source)
    work = tempfile.mkdtemp(prefix="rrx-lldb-")
    try:
        return run_case(args, case, m, work)
    finally:
        if os.environ.get("RRX_LLDB_KEEP"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run_case(args, case, m, work):
    trace = os.path.join(work, "trace")
    program = {"static": args.static_program, "crash": args.crash_program,
               "many": args.many_events_program}.get(case.program, args.program)
    rec = subprocess.run([args.rrx, "record", "-o", trace] + case.record_flags + [os.path.abspath(program)],
                         capture_output=True, text=True, timeout=SESSION_TIMEOUT)
    if not os.path.exists(os.path.join(trace, "complete")):
        print(f"FAIL {args.case}: rrx record failed ({rec.returncode}):\n{rec.stdout}{rec.stderr}")
        return 1
    exe = subprocess.run([args.rrx, "replay", "--info-exe", trace], capture_output=True, text=True).stdout.strip()
    values = dict(m, trace=trace, port=free_port(), src=os.path.basename(args.source), exe=exe, work=work)
    commands = [c.format(**values) for c in case.commands]
    if args.case.startswith("real.") and CONNECTING.get(args.case, True) and not case.launcher:
        commands = ["replay " + trace] + commands
    env = dict(os.environ, RRX_BIN=os.path.abspath(args.rrx))

    server = None
    if case.needs_server:
        server = subprocess.Popen([args.rrx, "replay", "--serve", "-s", str(values["port"]), trace],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = server.stdout.readline()
        if "serving" not in line:
            print(f"FAIL {args.case}: rrx replay -s did not start: {line}")
            return 1
    try:
        if case.launcher:
            proc = subprocess.run([args.rrx, "replay", "-d", args.lldb, trace], input="\n".join(commands) + "\n",
                                  capture_output=True, text=True, timeout=SESSION_TIMEOUT)
            stdout = proc.stdout
            transcript = proc.stdout + proc.stderr + f"\n[exit status {proc.returncode}]"
        else:
            after_stop = [c.format(**values) for c in case.after_stop]
            marker = os.path.join(work, "signal") if case.interrupt else None
            stdout, transcript = run_lldb(args, commands, env, after_stop, marker)
    finally:
        if server:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    gdb_transcript = ""
    ctx = values
    try:
        session = Session(stdout)
        if not case.launcher:  # the launcher loads its own (installed or build tree) plugin
            expect("error:" not in session.out(f"plugin load {os.path.abspath(args.plugin)}"), "plugin load failed")
        case.check(session, m, ctx)
        if case.gdb:
            setup, steps = case.gdb
            gdb = shutil.which(args.gdb) if args.gdb else None
            if not gdb or not args.gdb_plugin or not os.path.exists(args.gdb_plugin):
                print("NOTE: gdb or its rrx plugin is missing: lines not compared with gdb")
            else:
                args.gdb = gdb
                gdb_transcript = run_gdb(args, trace, setup, steps, values)
                want = gdb_lines(gdb_transcript, steps)
                for i, (lldb_cmd, gdb_cmd) in enumerate(steps):
                    occurrence = [c for c, _ in steps[:i]].count(lldb_cmd)
                    _, line = lldb_place(session.out(lldb_cmd, occurrence))
                    expect(want.get(i) == line,
                           f"step {i + 1}: lldb `{lldb_cmd}` at line {line}, gdb `{gdb_cmd}` at line {want.get(i)}")
    except Failure as failure:
        print(f"FAIL {args.case}: {failure}\n--- lldb transcript ---\n{transcript}")
        if gdb_transcript:
            print(f"--- gdb transcript ---\n{gdb_transcript}")
        return 1
    print(f"PASS {args.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
