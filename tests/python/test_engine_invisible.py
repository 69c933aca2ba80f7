"""Syscall buffering is invisible from a replay: at every event of a
buffered recording (threads included) the thread stands in the program's
own code, a file-backed executable mapping of its executable or of a
library (as the kernel's /proc/PID/maps of the replayed process shows),
never in rrx's engine or its pages or in a patched site's stub."""
import os

import rrx

from conftest import program


def replayed_processes():
    """The processes this script traces (its children, and the copies of
    checkpoints a replay may have gone on from, which are not)."""
    me = str(os.getpid())
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                tracer = f.read().split("TracerPid:")[1].split()[0]
            if tracer == me:
                yield int(pid)
        except (OSError, IndexError):
            pass


def file_code(pid):
    """[(start, end, path)] of pid's executable mappings of files."""
    ranges = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and "x" in fields[1] and fields[5].startswith("/"):
                lo, hi = (int(x, 16) for x in fields[0].split("-"))
                ranges.append((lo, hi, fields[5]))
    return ranges


def test_every_event_is_at_program_code(tmp_path):
    path = rrx.record([program("threads_write")], trace_dir=tmp_path / "trace")
    events = list(rrx.Trace(path).events())
    kinds = {e.kind for e in events}
    assert "buffer_flush" in kinds, kinds  # the engine did take calls
    checked = 0
    with rrx.Replay(path) as r:
        for e in events:
            r.seek(e.number)
            pc = r.pc
            code = [c for pid in replayed_processes() for c in file_code(pid)]
            where = [p for lo, hi, p in code if lo <= pc < hi]
            assert where, (e.number, e.kind, hex(pc))
            checked += 1
    assert checked == len(events) > 20
