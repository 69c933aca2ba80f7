"""Runs rrx children and judges how they ended: each in its own session
(so a timeout kills everything it started, and leftovers can be found by
session id), reaped with os.wait4 for its peak RSS."""

import os
import signal
import subprocess
import threading

# Texts that mean rrx died in a way its own error path would not print.
CRASH_MARKERS = [b"terminate called", b"AddressSanitizer", b"LeakSanitizer",
                 b"UndefinedBehaviorSanitizer", b"runtime error:", b"Assertion",
                 b"Segmentation fault", b"core dumped", b"stack smashing",
                 b"double free", b"malloc(): ", b"free(): "]


class Ended:
    """How a child ended."""

    def __init__(self, status, rss_kb, timed_out):
        self.status = status
        self.rss_kb = rss_kb
        self.timed_out = timed_out

    def exit_code(self):
        return os.waitstatus_to_exitcode(self.status)


class Child:
    """A started child; `finish` reaps it (killing its session first if it
    outlives `timeout` seconds from the start)."""

    def __init__(self, argv, timeout, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=None):
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout,
                                     stderr=stderr, start_new_session=True)
        self.pid = self.proc.pid
        self.expired = threading.Event()
        self.timer = threading.Timer(timeout, self._expire)
        self.timer.start()

    def _expire(self):
        self.expired.set()
        kill_session(self.pid)

    def finish(self):
        _, status, usage = os.wait4(self.pid, 0)
        self.timer.cancel()
        self.proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here
        return Ended(status, usage.ru_maxrss, self.expired.is_set())


def kill_session(sid):
    try:
        os.killpg(sid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def judge_ending(ended, stderr, max_rss_kb, timeout):
    """None if the child ended by itself in time, not by a signal or a
    crash its own error path would not report, under the memory bound."""
    if ended.timed_out:
        return "hang: still running after %gs" % timeout
    if os.WIFSIGNALED(ended.status):
        core = " (core dumped)" if os.WCOREDUMP(ended.status) else ""
        return "crash: killed by signal %d%s" % (os.WTERMSIG(ended.status), core)
    for marker in CRASH_MARKERS:
        if marker in stderr:
            return "crash: stderr holds %r" % marker.decode()
    if ended.exit_code() >= 128:
        return "crash: exit status %d" % ended.exit_code()
    if ended.rss_kb > max_rss_kb:
        return "memory: max RSS %d KiB over the bound of %d KiB" % (ended.rss_kb, max_rss_kb)
    return None


def judge(ended, stderr, max_rss_kb, timeout):
    """judge_ending, and the user-error contract: at most one line on
    stderr, "rrx: ..."; exactly that line when it failed."""
    problem = judge_ending(ended, stderr, max_rss_kb, timeout)
    if problem:
        return problem
    code = ended.exit_code()
    lines = stderr.split(b"\n")
    shaped = stderr.endswith(b"\n") and len(lines) == 2 and lines[0].startswith(b"rrx: ")
    if code != 0 and not shaped:
        return "error shape: exit %d with %d line(s) on stderr, want one 'rrx: ' line" % (
            code, stderr.count(b"\n"))
    if code == 0 and stderr and not shaped:
        return "error shape: exit 0 with stderr that is not one 'rrx: ' line"
    return None


DIVERSION_START = b"rrx: the program is changed in a diversion"
DIVERSION_END = (b"rrx: diversion discarded", b"rrx: the diversion's process ended")


def judge_server(ended, stderr, max_rss_kb, timeout, program_lines):
    """judge_ending, and a server's stderr: the replayed program's output
    (stdout is the protocol) and "rrx: ..." lines, one per refused request.
    While a diversion runs (a copy of the program the debugger's writes
    changed, running natively), the copy may print anything."""
    problem = judge_ending(ended, stderr, max_rss_kb, timeout)
    if problem:
        return problem
    diverted = False
    for line in stderr.splitlines():
        if line.startswith(DIVERSION_START):
            diverted = True
        elif line.startswith(DIVERSION_END):
            diverted = False
        elif diverted:
            continue
        if not line.startswith(b"rrx: ") and line not in program_lines:
            return "stderr line that is neither the program's output nor 'rrx: ...': %r" % line[:200]
    return None


def leftover_processes(sessions):
    """{session id: [(pid, state, command)]} of live processes in `sessions`."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as f:
                stat = f.read()
        except OSError:
            continue
        comm_end = stat.rfind(b")")
        fields = stat[comm_end + 2:].split()
        state, sid = fields[0].decode(), int(fields[3])
        if sid in sessions and state not in ("Z", "X"):
            command = stat[stat.find(b"(") + 1:comm_end].decode(errors="replace")
            found.setdefault(sid, []).append((int(entry), state, command))
    return found
