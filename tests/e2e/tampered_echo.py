#!/usr/bin/env python3
"""e2e.bad.tampered_echo: a trace whose echoed output was changed, with
every checksum and the completeness marker made to match, must not replay
as faithful: `rrx replay -a` says the program wrote other bytes than the
recording shows, exits non-zero and never shows the changed text.

usage: tampered_echo.py RRX HELLO WORK_DIR"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz"))
import trace_codec as tc  # noqa: E402

ORIGINAL, CHANGED = b"hello, world", b"jello, world"


def rewrite_echo(trace):
    """Replaces ORIGINAL by CHANGED in the event chunks; whether it found it."""
    path = os.path.join(trace, "events")
    with open(path, "rb") as f:
        old = f.read()
    frames = tc.split_frames(old)
    found = False
    for i, frame in enumerate(frames):
        raw = tc.payload_of(frame)
        if raw is not None and ORIGINAL in raw:
            frames[i] = tc.frame_with_payload(frame.codec, raw.replace(ORIGINAL, CHANGED))
            found = True
    new = b"".join(frame.encode() for frame in frames)
    return found and tc.replace_events(trace, old, new)


def main(rrx, hello, work):
    if not tc.zstd_available():
        print("SKIP: no zstd tool to decode the event chunks")
        return 77
    os.makedirs(work, exist_ok=True)
    trace = os.path.join(tempfile.mkdtemp(dir=work), "trace")
    subprocess.run([rrx, "record", "-o", trace, hello], check=True, stdout=subprocess.DEVNULL)
    if not rewrite_echo(trace):
        print("FAIL: the recording of %s does not echo %r" % (hello, ORIGINAL))
        return 1
    replay = subprocess.run([rrx, "replay", "-a", trace], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=60)
    err = replay.stderr.decode(errors="replace")
    problems = []
    if replay.returncode == 0:
        problems.append("replay -a exited 0")
    if "the program wrote other bytes than the recording shows" not in err:
        problems.append("stderr does not name the difference: %r" % err[:300])
    if len(err.strip().splitlines()) != 1:
        problems.append("stderr is not one line: %r" % err[:300])
    if CHANGED in replay.stdout:
        problems.append("the changed text was shown")
    for p in problems:
        print("FAIL: " + p)
    if not problems:
        print("PASS: " + err.strip())
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
