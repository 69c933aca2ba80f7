#!/usr/bin/env python3
"""Run one gdb end-to-end case against rrx.

    run_gdb_case.py --rrx RRX --gdb GDB --plugin RRX.PY --bindir DIR
                    --srcdir DIR [--srcdir DIR...] CASE_FILE

Records the case's program into a fresh temporary trace, runs a gdb session
over it (`gdb -batch -nx`, one `-ex` per command so an error in one command
does not end the session; or the `rrx replay` launcher with the commands on
gdb's stdin), and checks the output against the case's patterns.

A case file holds directives and gdb commands, one per line:

    # comment
    program: NAME [ARGS...]     debuggee (bindir/gdb_NAME), source NAME.c in the
                                first srcdir that has it
    record-flags: FLAGS...      options for `rrx record` (e.g. -n)
    record-status: N            exit status `rrx record` must give (default 0;
                                128+N for a program killed by signal N)
    capture: VAR REGEX          group 1 of REGEX in the recording's stdout -> @VAR@
    mi: yes                     drive `gdb -nx -i=mi` with the commands as MI commands,
                                one at a time: after each, wait for its result record;
                                after ^running, wait for *stopped unless the next
                                command is -exec-interrupt, which is then sent at once
    launcher: ARGS...           run `rrx replay ARGS...` (gdb gets the commands on
                                stdin) instead of gdb -batch; @TRACE@ allowed
    serve: ARGS...              first start a server `rrx replay ARGS...` (e.g.
                                --serve @TRACE@, or -s @PORT@ @TRACE@, @PORT@ a
                                free TCP port) and set @ADDRESS@ to the address
                                it prints (host:port or the socket path); it must
                                exit 0 after the gdb session
    status: 0 | nonzero         expected exit status of the session (default 0)
    interrupt: SECONDS          SECONDS after the session creates @WORK@/signal
                                (`shell touch @WORK@/signal`), send SIGINT to gdb
                                (as Ctrl-C would), once
    kill-debugger: SECONDS      the same, but SIGKILL; the case then passes only if
                                every process started for it (the backend, the
                                replayed processes) is gone within 5 s
    expect: REGEX               must match the session output, in order: each
                                search starts where the previous match ended
    absent: REGEX               must match nowhere in the output
    stderr-lines: N             the session's stderr has exactly N lines
    anything else               a gdb command

Substitutions in commands and patterns: @TRACE@, @WORK@ (the temporary
directory, not a trace), @EXE@ (the debuggee), @PLUGIN@, @SRC@ (the
program's source file name), @LINE_XXX@ (the number of the source line
carrying the marker comment LINE_XXX), @VAR@ from capture or from a named
group (?P<VAR>...) of an earlier expect (in patterns the captured text is
matched literally).

Exit status: 0 pass, 1 fail, 77 skip (no gdb). RRX_GDB_KEEP=1 keeps the
temporary directory (trace + outputs) and prints where it is.
"""
import argparse
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
SESSION_TIMEOUT = 100  # seconds; CTest's TIMEOUT is the outer bound
ORPHAN_TIMEOUT = 5  # seconds for a killed debugger's backend to be gone: far more than
# it needs, far less than the reverse-continue the kill cases interrupt, which
# a backend that noticed only at its next reply would finish first


def fail(message, output=None):
    print("FAIL: " + message)
    if output is not None:
        print("----- session output -----")
        print(output)
        print("--------------------------")
    sys.exit(1)


def parse_case(path):
    case = {"program": None, "record_flags": [], "record_status": 0, "captures": [], "launcher": None, "serve": None, "status": "0",
            "expect": [], "absent": [], "stderr_lines": None, "commands": [], "signal": None, "mi": False}
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            m = re.match(r"^(program|record-flags|record-status|capture|launcher|serve|status|expect|absent|stderr-lines|interrupt|kill-debugger|mi):\s?(.*)$", line)
            if not m:
                case["commands"].append(line)
                continue
            key, value = m.group(1), m.group(2)
            if key == "program":
                case["program"] = value.split()
            elif key == "record-flags":
                case["record_flags"] = value.split()
            elif key == "record-status":
                case["record_status"] = int(value)
            elif key == "capture":
                var, regex = value.split(None, 1)
                case["captures"].append((var, regex))
            elif key == "launcher":
                case["launcher"] = value.split()
            elif key == "serve":
                case["serve"] = value.split()
            elif key == "status":
                case["status"] = value.strip()
            elif key == "expect":
                case["expect"].append(value)
            elif key == "absent":
                case["absent"].append(value)
            elif key == "stderr-lines":
                case["stderr_lines"] = int(value)
            elif key == "mi":
                case["mi"] = value.strip() == "yes"
            elif key in ("interrupt", "kill-debugger"):
                case["signal"] = (signal.SIGINT if key == "interrupt" else signal.SIGKILL, float(value))
    return case


def signal_when_asked(proc, work, how):
    """Sends the case's signal to `proc` once the session asked for it."""
    signo, delay = how
    marker = os.path.join(work, "signal")

    def watch():
        while proc.poll() is None and not os.path.exists(marker):
            time.sleep(0.05)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signo)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def run_mi(argv, commands, cwd, env):
    """Runs gdb's MI with `commands` as the mode `mi: yes` says; returns
    (exit status, everything gdb wrote)."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines = queue.Queue()
    transcript = []

    def read():
        for line in proc.stdout:
            transcript.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.time() + SESSION_TIMEOUT

    def wait_for(prefixes):
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.time()))
            if line is None:
                return None
            if line.startswith(prefixes):
                return line

    try:
        for i, command in enumerate(commands):
            proc.stdin.write(command + "\n")
            proc.stdin.flush()
            if command.startswith("-gdb-exit"):
                break
            result = wait_for(("^done", "^running", "^error", "^connected", "^exit"))
            next_command = commands[i + 1] if i + 1 < len(commands) else ""
            if result and result.startswith("^running") and next_command != "-exec-interrupt":
                wait_for(("*stopped",))
            if command == "-exec-interrupt" and result and result.startswith("^done"):
                wait_for(("*stopped",))
        proc.stdin.close()
        proc.wait(timeout=max(1, deadline - time.time()))
    except (queue.Empty, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait()
        fail("MI session timed out after %d s" % SESSION_TIMEOUT, "".join(transcript))
    time.sleep(0.1)  # the reader's last lines
    return proc.returncode, "".join(transcript)


def processes_using(work):
    """Pids of processes whose command line, executable or cwd is in `work`."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmdline = f.read().decode(errors="replace")
            places = [cmdline]
            for link in ("exe", "cwd"):
                try:
                    places.append(os.readlink("/proc/%s/%s" % (pid, link)))
                except OSError:
                    pass
        except OSError:
            continue
        if any(work in place for place in places):
            found.append(int(pid))
    return found


def source_markers(source):
    """LINE_XXX -> line number of the line holding that marker comment."""
    markers = {}
    with open(source) as f:
        for number, text in enumerate(f, 1):
            for name in re.findall(r"\bLINE_[A-Z0-9_]+\b", text):
                markers.setdefault(name, number)
    return markers


def substitute(text, values, literal):
    def repl(m):
        name = m.group(1)
        if name not in values:
            fail("case uses @%s@, which is not defined" % name)
        value = str(values[name])
        return re.escape(value) if literal else value
    return re.sub(r"@([A-Za-z_][A-Za-z0-9_]*)@", repl, text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rrx", required=True)
    ap.add_argument("--gdb", default="")
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--bindir", required=True)
    ap.add_argument("--srcdir", required=True, action="append",
                    help="where NAME.c is; may be given again (searched in order)")
    ap.add_argument("case")
    opts = ap.parse_args()

    gdb = opts.gdb or shutil.which("gdb")
    if not gdb or not os.access(gdb, os.X_OK):
        print("SKIP: gdb not found (install Debian's gdb package to run the gdb tests)")
        sys.exit(SKIP)

    case = parse_case(opts.case)
    values = {"PLUGIN": os.path.abspath(opts.plugin)}
    work = tempfile.mkdtemp(prefix="rrx-gdb-")
    keep = os.environ.get("RRX_GDB_KEEP") == "1"
    env = dict(os.environ)
    env["RRX_BIN"] = os.path.abspath(opts.rrx)
    env["RRX_TRACE_DIR"] = os.path.join(work, "traces")  # never touch the user's latest-trace
    env["HOME"] = work  # no ~/.gdbinit in launcher sessions (gdb -batch has -nx)
    env.pop("GDBHISTFILE", None)
    try:
        trace = os.path.join(work, "trace")
        values["TRACE"] = trace
        values["WORK"] = work
        if case["program"]:
            name, args = case["program"][0], case["program"][1:]
            exe = os.path.join(opts.bindir, "gdb_" + name)
            sources = [os.path.join(d, name + ".c") for d in opts.srcdir]
            source = next((s for s in sources if os.path.exists(s)), sources[0])
            values["SRC"] = os.path.basename(source)
            values["EXE"] = exe
            values.update(source_markers(source))
            rec = subprocess.run([opts.rrx, "record"] + case["record_flags"] + ["-o", trace, exe] + args,
                                 cwd=work, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 timeout=SESSION_TIMEOUT)
            print("recorded %s (status %d):\n%s%s" % (name, rec.returncode, rec.stdout, rec.stderr))
            if rec.returncode != case["record_status"]:
                fail("rrx record exited with status %d, expected %d" % (rec.returncode, case["record_status"]))
            for var, regex in case["captures"]:
                m = re.search(regex, rec.stdout, re.M)
                if not m:
                    fail("capture %s: /%s/ not in the recording's output" % (var, regex))
                values[var] = m.group(1)

        server = None
        if case["serve"] is not None:
            with socket.socket() as probe:  # a free port (tiny race, fine here)
                probe.bind(("127.0.0.1", 0))
                values["PORT"] = probe.getsockname()[1]
            argv = [opts.rrx, "replay"] + [substitute(a, values, False) for a in case["serve"]]
            print("server: " + " ".join(argv))
            server = subprocess.Popen(argv, cwd=work, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
            first = server.stdout.readline()
            print("server said: " + first.rstrip())
            m = re.search(r" on (?:unix:)?(\S+)$", first.rstrip())
            if not m:
                server.kill()
                fail("the server printed no address")
            values["ADDRESS"] = m.group(1)

        commands = [substitute(c, values, False) for c in case["commands"]]
        if case["launcher"] is not None:
            argv = [opts.rrx, "replay"] + [substitute(a, values, False) for a in case["launcher"]]
            stdin = "".join(c + "\n" for c in commands)
        else:
            argv = [gdb, "-batch", "-nx", "-l", "10000"]
            for c in commands:
                argv += ["-ex", c]
            stdin = ""
        print("session: " + " ".join(argv))
        if stdin:
            print("stdin:\n" + stdin)
        # One stream, so patterns see errors in order with the rest;
        # separate only when the case counts stderr lines.
        merged = case["stderr_lines"] is None
        if case["mi"]:
            argv = [gdb, "-nx", "-q", "-i=mi"]
            print("MI session: " + " ".join(argv))
            status, mi_output = run_mi(argv, commands, work, env)
            run = subprocess.CompletedProcess(argv, status, mi_output, "")
        else:
            proc = subprocess.Popen(argv, cwd=work, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT if merged else subprocess.PIPE, text=True)
            if case["signal"]:
                signal_when_asked(proc, work, case["signal"])
            try:
                stdout, stderr = proc.communicate(stdin, timeout=SESSION_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, _ = proc.communicate()
                fail("session timed out after %d s" % SESSION_TIMEOUT, stdout)
            run = subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)
        output = run.stdout if merged else run.stdout + "\n--- stderr ---\n" + run.stderr
        if case["signal"] and case["signal"][0] == signal.SIGKILL:
            if run.returncode != -signal.SIGKILL:
                fail("the debugger ended (status %d) before it was killed" % run.returncode, output)
            deadline = time.time() + ORPHAN_TIMEOUT
            while processes_using(work) and time.time() < deadline:
                time.sleep(0.2)
            left = processes_using(work)
            if left:
                for pid in left:
                    os.kill(pid, signal.SIGKILL)
                fail("processes still running %d s after the debugger was killed: %s"
                     % (ORPHAN_TIMEOUT, left), output)
            run.returncode = 0  # killed as asked; the patterns check the rest
        if server is not None:
            try:
                rest, _ = server.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                fail("the server did not exit after the session", output)
            output += "\n--- server ---\n" + rest
            if server.returncode != 0:
                fail("the server exited with status %d" % server.returncode, output)
        status_ok = (run.returncode == 0) if case["status"] == "0" else (
            run.returncode != 0 if case["status"] == "nonzero" else run.returncode == int(case["status"]))
        if not status_ok:
            fail("session exit status %d, expected %s" % (run.returncode, case["status"]), output)
        if case["stderr_lines"] is not None:
            lines = run.stderr.splitlines()
            if len(lines) != case["stderr_lines"]:
                fail("stderr has %d lines, expected %d" % (len(lines), case["stderr_lines"]), output)
        pos = 0
        for pattern in case["expect"]:
            regex = substitute(pattern, values, True)
            m = re.compile(regex, re.M).search(output, pos)
            if not m:
                fail("expected /%s/ after offset %d" % (regex, pos), output)
            pos = m.end()
            values.update({k: v for k, v in m.groupdict().items() if v is not None})
        for pattern in case["absent"]:
            regex = substitute(pattern, values, True)
            if re.search(regex, output, re.M):
                fail("unexpected /%s/" % regex, output)
        print(output)
        print("PASS")
        return 0
    finally:
        if keep:
            print("kept " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
