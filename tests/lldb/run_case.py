#!/usr/bin/env python3
"""Runs one scripted lldb-19 session against the rrx lldb plugin.

The backend is a parameter: --rrx is whatever implements `rrx replay
--serve` / `--info-exe` (the stand-in, or the real rrx), --trace a trace of
demo.c (--source) for it. Places in the program are named by the `// @name`
markers in demo.c. Exits 77 (CTest's skip code) when lldb-19 or the plugin
is missing.

    run_case.py --lldb lldb-19 --plugin liblldb-rrx.so --rrx RRX \
        --trace TRACE --source demo.c CASE
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys

SKIP = 77


def markers(source):
    """{name: line number} from the `// @name` comments."""
    found = {}
    with open(source) as f:
        for number, text in enumerate(f, 1):
            for name in re.findall(r"//.*@(\w+)", text):
                found[name] = number
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Session:
    """The transcript of one batch session, split per command."""

    def __init__(self, text, values):
        self.values = values  # for the {placeholders} in commands
        self.outputs = []  # (command, output) in order
        for chunk in re.split(r"^\(lldb\) ", text, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            self.outputs.append((command, output))

    def output_of(self, command, occurrence=0):
        command = command.format(**self.values)
        hits = [out for cmd, out in self.outputs if cmd == command]
        if len(hits) <= occurrence:
            raise AssertionError(f"command {command!r} did not run (lldb stopped early?)")
        return hits[occurrence]

    def numbers(self, command, pattern):
        """The first match of `pattern` (one group, hex or decimal) in every
        output of `command`, in order."""
        values = []
        command = command.format(**self.values)
        for cmd, out in self.outputs:
            if cmd == command:
                m = re.search(pattern, out)
                if not m:
                    raise AssertionError(f"{command!r} output has no {pattern!r}:\n{out}")
                values.append(int(m.group(1), 0))
        return values


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_in(pattern, text, what):
    expect(re.search(pattern, text, re.M), f"{what}: expected /{pattern}/ in:\n{text}")


PC = r"rip = (0x[0-9a-f]+)"
EVENT = r"(\d+)"


# Each case: (commands, check). Commands may use {trace}, {port} and
# {marker_name} (a line number of demo.c); check gets the Session.
def case_plugin_loads():
    def check(s):
        expect_in(r"Run the replay backwards", s.output_of("help reverse-continue"), "help")
        expect_in(r"replay --", s.output_of("help rr"), "help rr")
    return ["help reverse-continue", "help rr"], check


def connected(command):
    def check(s):
        out = s.output_of(command)
        expect_in(r"^Process \d+ stopped", out, command)
        expect("error:" not in out, f"{command} failed:\n{out}")
        expect_in(r"Current event|\d", s.output_of("when"), "when after connecting")
    return [command, "when"], check


def case_reverse_stepi():
    def check(s):
        pcs = s.numbers("register read pc", PC)
        expect(len(pcs) == 2 and pcs[1] < pcs[0], f"pc did not move back: {pcs}")
        expect_in(r"stop reason", s.output_of("reverse-stepi"), "reverse-stepi")
    return ["replay {trace}", "b demo.c:{after_twice}", "c", "si", "si", "register read pc",
            "reverse-stepi", "register read pc"], check


def case_reverse_continue():
    def check(s):
        events = s.numbers("when", EVENT)
        expect(events[1] < events[0], f"event did not go back: {events}")
        out = s.output_of("reverse-continue")
        expect_in(r"stop reason = breakpoint 1\.", out, "reverse-continue")
        expect_in(r"add\(a=0, b=0\)", out, "reverse-continue stops at the first call")
    return ["replay {trace}", "b demo.c:{add_body}", "c", "c", "when", "reverse-continue",
            "when"], check


def case_history_start():
    # Last command: lldb -b ends the session at an exception stop.
    def check(s):
        expect_in(r"stop reason = start of recorded history", s.output_of("rc"), "rc")
    return ["replay {trace}", "b demo.c:{after_twice}", "c", "rc"], check


def case_when():
    def check(s):
        for command in ("when", "when-ticks", "when-tid"):
            out = s.output_of(command)
            expect_in(r"\d+", out, command)
            expect("error:" not in out, f"{command} failed:\n{out}")
    return ["replay {trace}", "when", "when-ticks", "when-tid"], check


def case_checkpoint_restart():
    def check(s):
        expect_in(r"\b1\b", s.output_of("checkpoint"), "checkpoint")
        expect_in(r"\b1\b", s.output_of("checkpoint list"), "checkpoint list")
        expect_in(r"\b1\b", s.output_of("info checkpoints"), "info checkpoints")
        events = s.numbers("when", EVENT)
        expect(events[0] == events[2] != events[1], f"restart did not go back: {events}")
        pcs = s.numbers("register read pc", PC)
        expect(pcs[0] == pcs[1], f"lldb shows a stale pc after restart: {pcs}")
        expect_in(r"add\(a=0, b=0\)", s.output_of("bt 1"), "frame after restart")
        expect_in(r"\bb = 0\b", s.output_of("frame variable"), "variables after restart")
        remaining = s.output_of("info checkpoints", 1)
        expect(not re.search(r"^\s*1\s", remaining, re.M), f"checkpoint 1 not deleted:\n{remaining}")
    return ["replay {trace}", "b demo.c:{add_body}", "c", "checkpoint", "when",
            "register read pc", "c", "c", "when", "checkpoint list", "restart 1", "when",
            "register read pc", "info checkpoints", "bt 1", "frame variable",
            "delete checkpoint 1", "info checkpoints"], check


def at(out, function, line):
    expect_in(rf"`{function}.* at demo\.c:{line}:", out, f"expected {function} at line {line}")


def case_reverse_step():
    def check(s, m):
        at(s.output_of("reverse-step", 0), "twice", m["twice_end"])
        at(s.output_of("reverse-step", 1), "twice", m["twice_return"])
        at(s.output_of("reverse-step", 2), "add", m["add_end"])
        at(s.output_of("rs", 0), "add", m["add_return"])
    return ["replay {trace}", "b demo.c:{after_twice}", "c", "reverse-step", "reverse-step",
            "reverse-step", "rs"], check


def case_reverse_next():
    def check(s, m):
        at(s.output_of("reverse-next", 0), "main", m["twice_site"])
        at(s.output_of("reverse-next", 1), "main", m["loop_head"])
        at(s.output_of("rn", 0), "main", m["loop_call"])
    return ["replay {trace}", "b demo.c:{after_twice}", "c", "reverse-next", "reverse-next",
            "rn"], check


def case_reverse_finish():
    def check(s, m):
        at(s.output_of("reverse-finish"), "main", m["loop_call"])
        expect_in(r"call", s.output_of("disassemble -s $pc -c 1"), "reverse-finish stops at the call")
    return ["replay {trace}", "b demo.c:{add_body}", "c", "c", "reverse-finish",
            "disassemble -s $pc -c 1"], check


def case_override_flags():
    def check(s):
        pcs = s.numbers("register read pc", PC)
        expect(len(pcs) == 3 and pcs[1] < pcs[0] and pcs[2] < pcs[1], f"-R did not step back: {pcs}")
        expect_in(r"start of recorded history", s.output_of("c -R"), "c -R")
    return ["replay {trace}", "b demo.c:{after_twice}", "c", "si", "si", "register read pc",
            "si -R", "register read pc", "thread step-inst -R", "register read pc", "c -R"], check


HELP_COMMANDS = ["replay", "rr replay", "rr binary", "reverse-continue", "rc", "reverse-stepi",
                 "rsi", "reverse-step", "rs", "reverse-next", "rn", "reverse-finish", "rf",
                 "when", "when-ticks", "when-tid", "checkpoint", "info checkpoints",
                 "delete checkpoint", "restart"]


def case_help():
    def check(s):
        for command in HELP_COMMANDS:
            out = s.output_of("help " + command)
            expect("error:" not in out and len(out.strip()) > 20, f"help {command}:\n{out}")
    return ["help " + c for c in HELP_COMMANDS], check


CASES = {
    "plugin_loads": case_plugin_loads,
    "replay_command": lambda: connected("replay {trace}"),
    "process_connect": lambda: connected("process connect replay://{trace}"),
    "rr_replay": lambda: connected("rr replay {trace}"),
    "tcp_fallback": lambda: connected("replay -s {port} {trace}"),
    "reverse_stepi": case_reverse_stepi,
    "reverse_continue": case_reverse_continue,
    "history_start": case_history_start,
    "when": case_when,
    "checkpoint_restart": case_checkpoint_restart,
    "reverse_step": case_reverse_step,
    "reverse_next": case_reverse_next,
    "reverse_finish": case_reverse_finish,
    "override_flags": case_override_flags,
    "help": case_help,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lldb", default="lldb-19")
    parser.add_argument("--plugin", default="", help="liblldb-rrx.so; empty: not built")
    parser.add_argument("--rrx", required=True, help="the backend: rrx or the stand-in")
    parser.add_argument("--trace", required=True)
    parser.add_argument("--source", required=True, help="demo.c, for its @markers")
    parser.add_argument("case", choices=sorted(CASES))
    args = parser.parse_args()

    lldb = shutil.which(args.lldb) if args.lldb else None
    if not lldb:
        print(f"SKIP: {args.lldb or 'lldb-19'} is not installed (apt-get install lldb-19)")
        return SKIP

    if not args.plugin or not os.path.exists(args.plugin):
        print("SKIP: the lldb plugin was not built (apt-get install liblldb-19-dev)")
        return SKIP

    m = markers(args.source)
    commands, check = CASES[args.case]()
    values = dict(m, trace=os.path.abspath(args.trace), port=free_port())
    commands = ["plugin load " + os.path.abspath(args.plugin)] + [c.format(**values) for c in commands]
    argv = [lldb, "--no-lldbinit", "-b"]
    for command in commands:
        argv += ["-o", command]
    env = dict(os.environ, RRX_BIN=os.path.abspath(args.rrx))
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=100)
    transcript = proc.stdout + proc.stderr
    session = Session(proc.stdout, values)
    try:
        expect("error:" not in session.output_of(commands[0]), "plugin load failed")
        if check.__code__.co_argcount == 2:
            check(session, m)
        else:
            check(session)
    except AssertionError as failure:
        print(f"FAIL {args.case}: {failure}\n--- lldb transcript ---\n{transcript}")
        return 1
    print(f"PASS {args.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
