"""Replay.spin_off: a copy of the process at the replay's point, stopped
and untraced, with the registers and memory the replay shows there (read
back through ptrace and /proc/PID/mem, not through rrx); --live copies run
on by themselves; the replay goes on unchanged."""
import ctypes
import os
import signal

import pytest
import rrx

from conftest import program, to_int

PTRACE_GETREGS, PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 12, 17, 0x4206, 0x4207
REGS = ("r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags "
        "rsp ss fs_base gs_base ds es fs gs").split()

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long


def ptrace(request, pid, addr=None, data=None):
    if libc.ptrace(request, pid, addr, data) == -1:
        raise OSError(ctypes.get_errno(), "ptrace(%d)" % request)


def registers_of(pid):
    """The stopped copy's registers, by attaching to it ourselves."""
    ptrace(PTRACE_SEIZE, pid)
    ptrace(PTRACE_INTERRUPT, pid)
    os.waitpid(pid, 0x40000000)  # __WALL
    regs = (ctypes.c_ulong * len(REGS))()
    ptrace(PTRACE_GETREGS, pid, None, ctypes.addressof(regs))
    ptrace(PTRACE_DETACH, pid, None, signal.SIGSTOP)
    return dict(zip(REGS, regs))


def memory_of(pid, start, size):
    with open("/proc/%d/mem" % pid, "rb") as f:
        f.seek(start)
        return f.read(size)


def state_name(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(line.split()[1] for line in f if line.startswith("State:"))


def kill(pid):
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def check_copy(replay, pid, state):
    assert state_name(pid) == "T"
    regs = registers_of(pid)
    mine = replay.registers()
    for name in ("rsp", "rbp", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9",
                 "r10", "r11", "r12", "r13", "r14", "r15", "eflags", "fs_base"):
        assert regs[name] == mine[name], name
    # The copy runs the patched code: where the replay stands in a stub (at
    # a patched syscall or cpuid), it shows the program instruction the stub
    # stands for, and the copy is on the stub itself, in the stubs' mapping
    # (not the code's).
    assert regs["rip"] == state["registers"]["rip"]
    if regs["rip"] != mine["rip"]:
        def mapping_of(addr):
            return next(m for m in state["maps"] if m["start"] <= addr < m["end"])
        assert mapping_of(regs["rip"])["start"] != mapping_of(mine["rip"])["start"]
    # Every writable mapping (data, heap, stack, libraries' data): byte for
    # byte what the replay shows. (Code is compared nowhere: the replay
    # shows the program's bytes, the copy runs the tick-counting patches.)
    checked = 0
    for m in state["maps"]:
        if m["perms"][:2] != "rw" or m["path"].startswith("[v"):
            continue
        size = m["end"] - m["start"]
        assert memory_of(pid, m["start"], size) == replay.read(m["start"], size), hex(m["start"])
        checked += 1
    assert checked >= 4
    assert memory_of(pid, mine["rip"], 1) != b"\xcc"  # no breakpoint of the replay's


def test_copy_at_a_breakpoint_has_the_replays_registers_and_memory(replay):
    replay.break_at("corrupt")
    replay.cont()
    pid, state = replay.spin_off()
    try:
        assert (state["pid"], state["live"], state["event"]) == (pid, False, replay.when())
        assert state["recorded_pid"] == replay.thread
        check_copy(replay, pid, state)
    finally:
        kill(pid)
    # The replay itself goes on as recorded.
    stop = replay.cont()
    assert stop.reason == "end"
    assert to_int(replay.read("target", 8)) == 0xdead


def test_copy_at_an_event(replay):
    replay.seek(replay.when() + 20)
    pid, state = replay.spin_off()
    try:
        assert state["event"] == replay.when()
        check_copy(replay, pid, state)
    finally:
        kill(pid)


def test_live_copy_runs_to_the_recorded_end(replay):
    replay.break_at("corrupt")
    replay.cont()
    pid, state = replay.spin_off(live=True)
    assert state["live"] and state["not_restored"] == []
    assert [f["restored"] for f in state["fds"]] == ["rrx's own"] * 3
    os.kill(pid, signal.SIGCONT)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_spin_off_takes_only_live(replay):
    with pytest.raises(TypeError):
        replay.spin_off(True, 2)


def test_fd_table_follows_the_replay_backwards(tmp_path):
    """The recorded fd table is the one of the replay's point, also after
    going back to a checkpoint: spin_files.c has read 2 bytes of its input
    at its first uname(), all of it at its second."""
    (tmp_path / "in.txt").write_bytes(b"0123456789")
    trace = rrx.record([program("spin_files"), tmp_path / "in.txt", tmp_path / "out.txt"],
                       trace_dir=tmp_path / "trace")
    unames = [e.number for e in rrx.Trace(trace).events()
              if e.kind == "syscall_exit" and e.syscall == "uname"]
    assert len(unames) == 2
    offsets = []
    with rrx.Replay(trace) as replay:
        for event in (unames[1], unames[0]):  # the second is reached going back
            replay.seek(event)
            pid, state = replay.spin_off()
            kill(pid)
            files = [f for f in state["fds"] if f["kind"] == "file"]
            assert [f["path"] for f in files] == [str(tmp_path / "in.txt")]
            offsets.append(files[0]["offset"])
    assert offsets == [10, 2]  # the whole 10-byte file, then the 2 bytes read first
