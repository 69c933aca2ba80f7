#!/usr/bin/env python3
"""e2e.bad.reordered_output: a trace in which two threads' writes to stdout
trade places (whole syscalls moved, event numbers and every checksum made
to match, each event's own bytes untouched) must not replay as faithful:
the replay of threads_output would print those two lines swapped. `rrx
replay -a` must say the output came in another order, or that it diverged
at one of the swapped events (the two threads' registers at their write
differ, e.g. in r10, which write does not use: then that check comes
first), exit non-zero, and print nothing past the point where the order
differs.

usage: reordered_output.py RRX THREADS_OUTPUT WORK_DIR"""
import os
import re
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz"))
import trace_codec as tc  # noqa: E402

EVENT = re.compile(r"^(\d+) tid (\d+) (syscall-entry|syscall-exit) write\b(.*\(\d+ bytes to fd 1\))?")


def write_events(rrx, trace):
    """{seq: (tid, 'entry' | 'exit')} for the writes to stdout in the trace."""
    dump = subprocess.run([rrx, "dump", trace], stdout=subprocess.PIPE, check=True)
    events = {}
    for line in dump.stdout.decode(errors="replace").splitlines():
        m = EVENT.match(line)
        if m and (m.group(3) == "syscall-entry" or m.group(4)):
            events[int(m.group(1))] = (int(m.group(2)), m.group(3)[8:])
    return events


def swappable(events, seq):
    """Whether events seq..seq+3 are one thread's write then another's."""
    got = [events.get(seq + i) for i in range(4)]
    if None in got:
        return False
    (a, k0), (a1, k1), (b, k2), (b1, k3) = got
    return a == a1 and b == b1 and a != b and (k0, k1, k2, k3) == ("entry", "exit", "entry", "exit")


def set_seq(message, seq):
    at = tc.MessageMap(message).data_words[0]  # Event.seq: the root's first word
    return message[:at] + struct.pack("<Q", seq) + message[at + 8:]


def reorder(rrx, trace):
    """Swaps the first swappable pair of writes that sits in one chunk; the
    event number of the first event of the pair, or None."""
    events = write_events(rrx, trace)
    path = os.path.join(trace, "events")
    with open(path, "rb") as f:
        old = f.read()
    frames = tc.split_frames(old)
    seq = 1  # events are numbered in stream order, from 1
    for i, frame in enumerate(frames):
        raw = tc.payload_of(frame)
        if raw is None:
            return None
        messages = [raw[s:e] for s, e in tc.split_messages(raw)]
        for k in range(len(messages) - 3):
            if not swappable(events, seq + k):
                continue
            a, b = messages[k:k + 2], messages[k + 2:k + 4]
            moved = b + a
            messages[k:k + 4] = [set_seq(m, seq + k + j) for j, m in enumerate(moved)]
            frames[i] = tc.frame_with_payload(tc.CODEC_ZSTD, b"".join(messages))
            new = b"".join(f.encode() for f in frames)
            return seq + k if tc.replace_events(trace, old, new) else None
        seq += len(messages)
    return None


def main(rrx, program, work):
    if not tc.zstd_available():
        print("SKIP: no zstd tool to decode the event chunks")
        return 77
    os.makedirs(work, exist_ok=True)
    trace = os.path.join(tempfile.mkdtemp(dir=work), "trace")
    recorded = subprocess.run([rrx, "record", "-o", trace, program], stdout=subprocess.PIPE,
                              check=True).stdout
    at = reorder(rrx, trace)
    if at is None:
        print("FAIL: found no two adjacent writes of different threads to swap")
        return 1
    replay = subprocess.run([rrx, "replay", "-a", trace], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=120)
    err = replay.stderr.decode(errors="replace")
    problems = []
    if replay.returncode == 0:
        problems.append("replay -a exited 0")
    reordering = "the output reached stdout in another order than when recording" in err
    diverged = re.search(r"replay diverged at event (\d+) ", err)
    at_swap = diverged and at <= int(diverged.group(1)) <= at + 3
    if not reordering and not at_swap:
        problems.append("stderr names neither the reordering nor a divergence at the swapped "
                        "events %d-%d: %r" % (at, at + 3, err[:300]))
    if not recorded.startswith(replay.stdout):
        problems.append("the replay printed lines out of the recorded order")
    for p in problems:
        print("FAIL: " + p)
    if not problems:
        print("PASS: events %d-%d swapped; %s" % (at, at + 3, err.strip()))
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
