#!/usr/bin/env python3
"""e2e.bad.hw_tick_drift: with hardware ticks every event carries its
thread's tick count and replay checks it, so a counter that drifted (as a
VM's can) is caught at the first event after the drift. Recorded with the
simulated counter (--ticks=hw-sim); one event's recorded count is raised
by one in the trace (checksums made to match). `rrx replay -a` must stop
there with one line naming both counts and exit non-zero.

usage: hw_tick_drift.py RRX PROGRAM WORK_DIR"""
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz"))
import trace_codec as tc  # noqa: E402


def drift_one_count(trace, counts):
    """Raises the first of `counts` whose encoding occurs exactly once in
    the event chunks by one; returns (event count, seq) or None."""
    path = os.path.join(trace, "events")
    with open(path, "rb") as f:
        old = f.read()
    frames = tc.split_frames(old)
    payloads = [tc.payload_of(frame) for frame in frames]
    for seq, value in counts:
        needle = struct.pack("<Q", value)
        hits = [i for i, raw in enumerate(payloads) if raw is not None and needle in raw]
        if len(hits) != 1 or payloads[hits[0]].count(needle) != 1:
            continue
        i = hits[0]
        changed = payloads[i].replace(needle, struct.pack("<Q", value + 1))
        frames[i] = tc.frame_with_payload(frames[i].codec, changed)
        new = b"".join(frame.encode() for frame in frames)
        return (value, seq) if tc.replace_events(trace, old, new) else None
    return None


def main(rrx, program, work):
    if not tc.zstd_available():
        print("SKIP: no zstd tool to decode the event chunks")
        return 77
    os.makedirs(work, exist_ok=True)
    trace = os.path.join(tempfile.mkdtemp(dir=work), "trace")
    subprocess.run([rrx, "record", "-q", "--ticks=hw-sim", "-o", trace, program], check=True,
                   stdout=subprocess.DEVNULL)
    dump = subprocess.run([rrx, "dump", "--json", trace], check=True, stdout=subprocess.PIPE)
    events = [json.loads(line) for line in dump.stdout.decode().splitlines() if line.strip()]
    counts = [(e["seq"], e["ticks_at_event"]) for e in events
              if e.get("ticks_at_event", 0) > 4096 and e.get("kind") == "syscall-entry"]
    if not counts:
        print("FAIL: no event of the recording carries a tick count")
        return 1
    drifted = drift_one_count(trace, counts)
    if drifted is None:
        print("FAIL: no recorded tick count could be changed in the trace")
        return 1
    value, seq = drifted
    replay = subprocess.run([rrx, "replay", "-a", trace], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=60)
    err = replay.stderr.decode(errors="replace").strip()
    want = "hardware tick count is %d, recorded %d" % (value, value + 1)
    problems = []
    if replay.returncode == 0:
        problems.append("replay -a exited 0")
    if want not in err or ("event %d " % seq) not in err:
        problems.append("stderr does not name event %d and %r: %r" % (seq, want, err[:300]))
    if len(err.splitlines()) != 1:
        problems.append("stderr is not one line: %r" % err[:300])
    for p in problems:
        print("FAIL: " + p)
    if not problems:
        print("PASS: " + err)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
