"""Bad input raises rrx.Error subclasses with a clear message; nothing
crashes the interpreter or leaves a replayed process behind."""
import os
import signal
import subprocess
import sys

import pytest
import rrx

from conftest import program


def test_missing_trace(tmp_path):
    missing = str(tmp_path / "no-such-trace")
    with pytest.raises(rrx.TraceError, match="no-such-trace"):
        rrx.Trace(missing)
    with pytest.raises(rrx.TraceError, match="no-such-trace"):
        rrx.Replay(missing)


def test_not_a_trace(tmp_path):
    (tmp_path / "junk").mkdir()
    with pytest.raises(rrx.Error):
        rrx.Replay(tmp_path / "junk")


def test_unknown_process(write_target_trace):
    with pytest.raises(rrx.TraceError, match="no_such_program"):
        rrx.Replay(write_target_trace, process="no_such_program")


def test_bad_address(replay):
    with pytest.raises(rrx.AddressError, match="0x8"):
        replay.read(8, 4)
    with pytest.raises(rrx.AddressError):
        replay.last_write(8, 4)
    with pytest.raises(rrx.AddressError):
        replay.read(-1, 4)
    with pytest.raises(rrx.AddressError, match="1 to 32 bytes"):
        replay.last_write("counter", 64)


def test_watch_beyond_the_debug_registers(replay):
    replay.watch("counter", 4)
    with pytest.raises(rrx.AddressError, match="debug registers"):
        replay.watch("target", 32)


def test_unknown_symbol(replay):
    with pytest.raises(rrx.SymbolError, match="no_such_symbol"):
        replay.symbol("no_such_symbol")
    with pytest.raises(rrx.SymbolError):
        replay.break_at("no_such_symbol")


def test_unknown_ids(replay):
    with pytest.raises(rrx.ReplayError, match="no breakpoint or watchpoint 7"):
        replay.delete(7)
    with pytest.raises(rrx.ReplayError, match="no checkpoint 7"):
        replay.restart(7)
    with pytest.raises(rrx.ReplayError):
        replay.watch("counter", 4, kind="sometimes")


def test_bad_event_numbers(replay):
    with pytest.raises(rrx.ReplayError, match="event number"):
        replay.seek(-1)
    with pytest.raises(rrx.ReplayError, match="event number"):
        replay.writes("counter", 4, start="soon")


def test_closed_replay(write_target_trace):
    r = rrx.Replay(write_target_trace)
    r.close()
    r.close()  # twice is fine
    with pytest.raises(rrx.ReplayError, match="closed"):
        r.cont()


def test_other_thread(replay):
    import threading
    errors = []
    t = threading.Thread(target=lambda: errors.append(pytest.raises(rrx.ReplayError, replay.cont)))
    t.start()
    t.join()
    assert "thread that opened it" in str(errors[0].value)


def test_record_errors(tmp_path):
    with pytest.raises(rrx.RecordError, match="no-such-program"):
        rrx.record([str(tmp_path / "no-such-program")], trace_dir=tmp_path / "t1")
    with pytest.raises(rrx.RecordError, match="no program"):
        rrx.record([], trace_dir=tmp_path / "t2")
    with pytest.raises(rrx.RecordError, match="unknown record option 'colour'"):
        rrx.record(["true"], trace_dir=tmp_path / "t3", colour=True)
    (tmp_path / "exists").mkdir()
    with pytest.raises(rrx.RecordError, match="already exists"):
        rrx.record(["true"], trace_dir=tmp_path / "exists")


def children(pid):
    pids = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                pids += [int(p) for p in f.read().split()]
        except FileNotFoundError:
            pass
    return pids


def live_children():
    """Pids of this process's descendants that are not zombies (checkpoints
    are forks of the replayed processes: grandchildren)."""
    found, todo = [], children(os.getpid())
    while todo:
        pid = todo.pop()
        if state(pid) not in ("gone", "Z"):
            found.append(pid)
            todo += children(pid)
    return found


def state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def test_close_ends_every_tracee(write_target_trace):
    before = set(live_children())
    r = rrx.Replay(write_target_trace)
    r.break_at("bump")
    r.cont()
    r.checkpoint()  # a forked copy of the process
    tracees = set(live_children()) - before
    assert len(tracees) >= 2  # the replayed process and checkpoint copies
    r.close()
    assert [p for p in tracees if state(p) not in ("gone", "Z")] == []


def test_interpreter_exit_ends_every_tracee(write_target_trace):
    script = (
        "import os, sys, rrx\n"
        f"sys.path.insert(0, {os.path.dirname(__file__)!r})\n"
        "from test_errors import live_children\n"
        f"r = rrx.Replay({str(write_target_trace)!r})\n"
        "r.break_at('bump'); r.cont(); r.checkpoint()\n"
        "print(*live_children(), flush=True)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    tracees = [int(p) for p in out.split()]
    assert len(tracees) >= 2
    assert [p for p in tracees if state(p) not in ("gone", "Z")] == []


def test_ctrl_c_stops_a_long_forward_run(trace_root):
    trace = rrx.record([program("long_run")], trace_dir=trace_root / "long_run",
                       syscall_buffer=False)
    end_event = sum(1 for _ in rrx.Trace(trace).events())
    with rrx.Replay(trace) as r:
        start = r.when()
        armed = False

        def on_alarm(signo, frame):
            nonlocal armed
            if armed:
                armed = False  # once per arming: never after its `with` ends
                raise KeyboardInterrupt

        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
        try:
            # The handler may also run just before cont() is entered; then
            # the replay has not moved: try again.
            for _ in range(5):
                with pytest.raises(KeyboardInterrupt):
                    armed = True
                    r.cont()
                armed = False
                if r.when() > start:
                    break
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            signal.signal(signal.SIGALRM, old)
        # It stopped in the middle (40000 syscall events), and the replay
        # goes on from there.
        assert start < r.when() < end_event
        assert r.cont().reason == "end"
