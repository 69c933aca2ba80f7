#!/usr/bin/env python3
"""e2e.spin_off.CASE: `rrx spin-off` on recordings of spin_files.c, which
reads its input file after a first uname() event and writes what it read
to its output file after a second.

  live, live_nobuf  spun off --live at the first uname's exit, after the
                    input was changed: the copy, once continued, reads the
                    new input from the recorded offset, really writes the
                    output file, prints through rrx's stdout and exits with
                    the recorded status 3; the replay that spun it off ends
                    faithfully (its echoed output, exit 0)
  snapshot          spun off without --live: stopped, untraced, with the
                    recorded pc and syscall result (PTRACE_GETREGS), and
                    no output file written
  threads           threads_race.c spun off at the exit of its first
                    clone3, with a thread running: a one-thread copy at the
                    recorded pc and result (the recorded tid)
  ticks             spun off at a tick count (--ticks) read from a copy
                    made at the first uname's exit: the second copy's state
                    has that count, at that event or before
  bad.past_end, bad.unknown_pid, bad.incomplete, bad.no_event
                    one `rrx: ...` line, non-zero exit, no process left

The test makes itself a child subreaper, so every process rrx leaves
behind becomes its child: "no process left" is checked on its children.

usage: spin_off.py RRX SPIN_FILES WORK_DIR CASE [THREADS_RACE]"""
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

PR_SET_CHILD_SUBREAPER = 36
PTRACE_GETREGS, PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 12, 17, 0x4206, 0x4207
REGS = ("r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags "
        "rsp ss fs_base gs_base ds es fs gs").split()
INPUT, CHANGED = b"0123456789abcdef\n", b"NEW input, changed after recording\n"

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long


def fail(message):
    print("FAIL: " + message)
    return 1


def record(rrx, prog, work, flags):
    with open(os.path.join(work, "in.txt"), "wb") as f:
        f.write(INPUT)
    trace = os.path.join(work, "trace")
    # Relative paths, from the work directory: the copy must reopen them
    # from the recorded cwd.
    r = subprocess.run([rrx, "record", "-q", *flags, "-o", trace, prog, "in.txt", "out.txt"],
                       cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 3:
        raise SystemExit(fail("rrx record exited %d: %r" % (r.returncode, r.stderr)))
    os.unlink(os.path.join(work, "out.txt"))
    return trace


def first_exit(rrx, trace, syscall):
    dump = subprocess.run([rrx, "dump", "--json", trace], stdout=subprocess.PIPE, check=True,
                          timeout=60).stdout.decode()
    for line in dump.splitlines():
        e = json.loads(line)
        if e["kind"] == "syscall-exit" and e.get("syscall") == syscall:
            return e
    raise SystemExit(fail("no %s exit in the trace" % syscall))


def first_uname_exit(rrx, trace):
    return first_exit(rrx, trace, "uname")


def children():
    """Our children: anything rrx left behind (we are its subreaper)."""
    mine = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            mine.append(int(entry))
    return mine


def spin_off(rrx, trace, args, work):
    out, err = (open(os.path.join(work, name), "w+b") for name in ("stdout", "stderr"))
    code = subprocess.run([rrx, "spin-off", *args, trace], stdout=out, stderr=err, cwd="/",
                          timeout=120).returncode
    out.seek(0)
    err.seek(0)
    return code, out, err


def registers_of(pid):
    for request in (PTRACE_SEIZE, PTRACE_INTERRUPT):
        if libc.ptrace(request, pid, None, None) == -1:
            raise SystemExit(fail("ptrace(%d) on the copy: errno %d" % (request, ctypes.get_errno())))
    os.waitpid(pid, 0x40000000)  # __WALL
    regs = (ctypes.c_ulong * len(REGS))()
    libc.ptrace(PTRACE_GETREGS, pid, None, ctypes.addressof(regs))
    libc.ptrace(PTRACE_DETACH, pid, None, signal.SIGSTOP)
    return dict(zip(REGS, regs))


def state_of(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(line.split()[1] for line in f if line.startswith("State:"))


def live(rrx, prog, work, flags):
    trace = record(rrx, prog, work, flags)
    event = first_uname_exit(rrx, trace)["seq"]
    with open(os.path.join(work, "in.txt"), "wb") as f:
        f.write(CHANGED)
    state_file = os.path.join(work, "state.json")
    code, out, err = spin_off(rrx, trace, ["--live", "-g", str(event), "--json", state_file], work)
    stderr = err.read().decode(errors="replace")
    if code != 0:
        return fail("rrx spin-off exited %d: %s" % (code, stderr))
    pid = int(out.readline())
    with open(state_file) as f:
        state = json.load(f)
    problems = []
    # The replay ended faithfully: it echoed the recorded output (stderr),
    # and said nothing else.
    if stderr != "copied %d bytes\n" % (len(INPUT) - 2):
        problems.append("the replay's stderr: %r" % stderr)
    if (state["pid"], state["event"], state["live"]) != (pid, event, True):
        problems.append("state: pid %s event %s live %s" % (state["pid"], state["event"], state["live"]))
    files = [fd for fd in state["fds"] if fd["fd"] == 3]
    expected = {"kind": "file", "path": os.path.join(work, "in.txt"), "offset": 2, "restored": "reopened"}
    if not files or any(files[0].get(k) != v for k, v in expected.items()):
        problems.append("fd 3 in the state: %r" % files)
    if os.path.exists(os.path.join(work, "out.txt")):
        problems.append("the output file exists before the copy ran")
    if pid not in children() or state_of(pid) != "T":
        problems.append("the copy %d is not a stopped process left to us" % pid)
    os.kill(pid, signal.SIGCONT)
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 3:
        problems.append("the copy's wait status is %#x, not exit 3" % status)
    written = open(os.path.join(work, "out.txt"), "rb").read() if os.path.exists(
        os.path.join(work, "out.txt")) else None
    if written != CHANGED[2:]:
        problems.append("the copy wrote %r, not the changed input from offset 2" % written)
    # rrx's stdout, shared with the copy: the pid line, then the copy's line
    # (read by path: the copy's writes moved the shared offset past them).
    with open(out.name, "rb") as f:
        said = f.read().decode(errors="replace").split("\n", 1)[1]
    if said != "copied %d bytes\n" % (len(CHANGED) - 2):
        problems.append("the copy's stdout (rrx's): %r" % said)
    for p in problems:
        print("FAIL: " + p)
    if problems:
        return 1
    print("PASS: copy %d wrote %d bytes and exited 3" % (pid, len(written)))
    return 0


def snapshot(rrx, prog, work, threads=None):
    if threads:
        trace = os.path.join(work, "trace")
        subprocess.run([rrx, "record", "-q", "-o", trace, threads], check=True,
                       stdout=subprocess.DEVNULL, timeout=60)
        event = first_exit(rrx, trace, "clone3")
    else:
        trace = record(rrx, prog, work, [])
        event = first_uname_exit(rrx, trace)
    code, out, err = spin_off(rrx, trace, ["-g", str(event["seq"])], work)
    if code != 0:
        return fail("rrx spin-off exited %d: %s" % (code, err.read()))
    pid = int(out.readline())
    problems = []
    if state_of(pid) != "T":
        problems.append("the copy is not stopped")
    regs = registers_of(pid)
    # The recorded exit of uname: its pc and its result.
    if (regs["rip"], regs["rax"]) != (event["rip"], event["result"]):
        problems.append("copy at rip %#x rax %d, recorded %#x %d" %
                        (regs["rip"], regs["rax"], event["rip"], event["result"]))
    if not os.path.exists("/proc/%d/mem" % pid) or os.path.exists(os.path.join(work, "out.txt")):
        problems.append("the copy is gone, or something wrote the output file")
    if len(os.listdir("/proc/%d/task" % pid)) != 1:
        problems.append("the copy has several threads")
    said = [line for line in err.read().decode(errors="replace").splitlines() if line.startswith("rrx:")]
    if said:  # (the rest is the replay's echo of the program's output)
        problems.append("rrx said: %r" % said)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    for p in problems:
        print("FAIL: " + p)
    if problems:
        return 1
    print("PASS: a stopped copy at rip %#x" % regs["rip"])
    return 0


def ticks(rrx, prog, work):
    trace = record(rrx, prog, work, [])
    event = first_uname_exit(rrx, trace)["seq"]
    states = []
    for args in (["-g", str(event)], None):
        if args is None:
            args = ["-g", str(event - 10), "--ticks", str(states[0]["ticks"])]
        state_file = os.path.join(work, "state%d.json" % len(states))
        code, out, err = spin_off(rrx, trace, args + ["--json", state_file], work)
        if code != 0:
            return fail("rrx spin-off %s exited %d: %s" % (args, code, err.read()))
        with open(state_file) as f:
            states.append(json.load(f))
        os.kill(states[-1]["pid"], signal.SIGKILL)
        os.waitpid(states[-1]["pid"], 0)
    first, second = states
    if first["ticks"] == 0:
        return fail("the program counts no ticks (recorded with --ticks=soft?)")
    if second["ticks"] != first["ticks"] or second["event"] > first["event"]:
        return fail("at tick %d event %d; asked for tick %d (event %d)" %
                    (second["ticks"], second["event"], first["ticks"], first["event"]))
    print("PASS: tick %d at event %d" % (second["ticks"], second["event"]))
    return 0


def bad(rrx, prog, work, case):
    trace = record(rrx, prog, work, [])
    args = {"past_end": ["-g", "999999"],
            "unknown_pid": ["-p", "99999", "-g", "1"],
            "incomplete": ["-g", "1"],
            "no_event": []}[case]
    if case == "incomplete":
        os.unlink(os.path.join(trace, "complete"))
    code, out, err = spin_off(rrx, trace, args, work)
    stderr = err.read().decode(errors="replace")
    problems = []
    if code == 0:
        problems.append("exit status 0")
    if len(stderr.splitlines()) != 1 or not stderr.startswith("rrx: "):
        problems.append("stderr is not one rrx: line: %r" % stderr)
    if out.read():
        problems.append("something was printed on stdout")
    left = children()
    if left:
        problems.append("processes left behind: %r" % left)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    for p in problems:
        print("FAIL: " + p)
    if problems:
        return 1
    print("PASS: " + stderr.strip())
    return 0


def main(rrx, prog, work_root, case, *_):
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        return fail("cannot become a child subreaper")
    os.makedirs(work_root, exist_ok=True)
    work = tempfile.mkdtemp(dir=work_root)
    try:
        if case == "live":
            return live(rrx, prog, work, [])
        if case == "live_nobuf":
            return live(rrx, prog, work, ["-n"])
        if case == "snapshot":
            return snapshot(rrx, prog, work)
        if case == "threads":
            return snapshot(rrx, prog, work, threads=sys.argv[5])
        if case == "ticks":
            return ticks(rrx, prog, work)
        if case.startswith("bad."):
            return bad(rrx, prog, work, case[4:])
        return fail("unknown case " + case)
    finally:
        if not os.environ.get("RRX_E2E_KEEP"):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
