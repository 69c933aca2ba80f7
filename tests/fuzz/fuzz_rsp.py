#!/usr/bin/env python3
"""Fuzzes rrx's gdb remote protocol server.

usage: fuzz_rsp.py RRX WORK_ROOT PROGRAM...

Records each PROGRAM once, then sends RRX_FUZZ_PACKETS (default 20000)
fuzzed units (rsp_packets.py) to replay servers, two sessions at a time:
most through `rrx replay --stdio`, some through the Unix socket of
`rrx replay --serve`. After every few units it sends a resynchronising
`#00#00` and a `qC` probe and waits for its `QC` reply, so every unit is
processed (not dropped from a full input queue) and a server that stops
answering is caught as a hang. Each server must answer, end by itself
once the session ends (detach, kill or disconnect), not by a signal, with
at most one "rrx: " line on stderr, under RRX_FUZZ_MAX_RSS_MB of RSS and
leave no process behind. Exits 1 if any session failed."""

import concurrent.futures
import os
import random
import socket
import subprocess
import sys
import threading
import time

import child_check
import fuzz_setup
import rsp_packets

# "!" after the probe: a '-' (resend) among the next units must not resend
# the probe's reply, which would count as an answer to a later probe.
PROBE = b"#00#00" + rsp_packets.frame(b"qC") + rsp_packets.frame(b"!")
PROBE_REPLY = b"$QC"
WINDOW = 16
UNIX_SHARE = 0.2


class ReplyCounter:
    """Reads what the server sends, counting probe replies."""

    def __init__(self, read):
        self.read = read
        self.replies = 0
        self.closed = False
        self.changed = threading.Condition()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        tail = b""
        while True:
            try:
                data = self.read()
            except OSError:
                data = b""
            with self.changed:
                if not data:
                    self.closed = True
                else:
                    seen = tail + data
                    self.replies += seen.count(PROBE_REPLY) - tail.count(PROBE_REPLY)
                    tail = seen[-(len(PROBE_REPLY) - 1):]
                self.changed.notify_all()
            if not data:
                return

    def wait_for(self, replies, deadline):
        """True once `replies` probes were answered; False if the server
        closed the connection first; None at the deadline."""
        with self.changed:
            while self.replies < replies and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.changed.wait(left)
            return self.replies >= replies


class Session:
    def __init__(self, index, trace, transport):
        self.index = index
        self.trace = trace
        self.transport = transport
        self.units = 0
        self.resumes = 0
        self.pid = None
        self.failure = None
        self.rss_kb = 0


def connect(settings, rrx, session, err):
    """Starts the server; returns (child, send, counter, close)."""
    if session.transport == "stdio":
        child = child_check.Child([rrx, "replay", "--stdio", session.trace], settings.timeout * 4,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        out = child.proc.stdout
        counter = ReplyCounter(lambda: os.read(out.fileno(), 65536))

        def send(data):
            child.proc.stdin.write(data)
            child.proc.stdin.flush()
        return child, send, counter, child.proc.stdin.close
    child = child_check.Child([rrx, "replay", "--serve", session.trace], settings.timeout * 4,
                              stdout=subprocess.PIPE, stderr=err)
    line = child.proc.stdout.readline()
    prefix = b" on unix:"
    if prefix not in line:
        return child, None, None, None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(line[line.index(prefix) + len(prefix):].strip().decode())
    counter = ReplyCounter(lambda: sock.recv(65536))

    def close():
        # shutdown: close() alone would wait for the reader's recv to return.
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    return child, sock.sendall, counter, close


def run_session(settings, rrx, seeds, work, index, budget):
    rng = random.Random("%d/rsp/%d" % (settings.seed, index))
    session = Session(index, rng.choice(sorted(seeds)),
                      "unix" if rng.random() < UNIX_SHARE else "stdio")
    generator = rsp_packets.Generator(rng)
    err_path = os.path.join(work, "session-%d.stderr" % index)
    with open(err_path, "wb") as err:
        child, send, counter, close = connect(settings, rrx, session, err)
    session.pid = child.pid
    try:
        if send:
            drive(settings, session, generator, send, counter, budget)
            if not session.failure:
                ending = rng.choice([b"$k#6b", b"$D#44", b""])
                if ending:
                    send(ending)
    except OSError:
        pass  # the server ended the session (a fuzzed k, D or vKill)
    finally:
        if close:
            try:
                close()
            except OSError:
                pass
    if session.failure:
        child_check.kill_session(child.pid)
    ended = child.finish()
    session.rss_kb = ended.rss_kb
    with open(err_path, "rb") as f:
        stderr = f.read()
    os.unlink(err_path)
    if not session.failure:
        if send is None:
            session.failure = "the --serve server did not say where it listens"
        else:
            session.failure = child_check.judge_server(ended, stderr, settings.max_rss_kb,
                                                       settings.timeout * 4, seeds[session.trace])
    if session.failure and stderr:
        session.failure += "; stderr: %r" % stderr[:600]
    return session


def drive(settings, session, generator, send, counter, budget):
    """Sends up to `budget` units in windows, each closed by a probe."""
    probes = 0
    while session.units < budget:
        for _ in range(min(WINDOW, budget - session.units)):
            data, resumes = generator.unit()
            send(data)
            session.units += 1
            session.resumes += resumes
        send(PROBE)
        probes += 1
        answered = counter.wait_for(probes, time.monotonic() + settings.timeout)
        if answered is None:
            session.failure = "hang: no reply to a probe within %gs" % settings.timeout
            return
        if not answered:
            return  # the session ended (a fuzzed k, D or vKill)


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    rrx, root, programs = argv[1], argv[2], argv[3:]
    settings = fuzz_setup.Settings(20000, "RRX_FUZZ_PACKETS")
    settings.announce("%d fuzzed RSP units" % settings.count)
    work = fuzz_setup.work_dir(root, "rsp")
    start = time.monotonic()
    seeds = {}  # trace -> the lines its replay writes
    for program in programs:
        trace = os.path.join(work, "seed-" + os.path.basename(program))
        seeds[trace] = fuzz_setup.record_seed(rrx, program, trace, settings.timeout)

    failed, sessions, units, resumes, count, max_rss = [], {}, 0, 0, 0, 0
    indices = iter([settings.only_case] if settings.only_case is not None else range(1 << 30))
    running = {}  # future -> its budget of units
    with concurrent.futures.ThreadPoolExecutor(settings.jobs) as pool:
        while True:
            # A session ended early by a fuzzed k, D or vKill sends less than
            # its budget: more sessions make up for it.
            while len(running) < settings.jobs and units + sum(running.values()) < settings.count:
                index = next(indices, None)
                if index is None:
                    break
                budget = random.Random("%d/budget/%d" % (settings.seed, index)).choice(
                    [100, 400, 1000, 2000])
                running[pool.submit(run_session, settings, rrx, seeds, work, index, budget)] = budget
            if not running:
                break
            done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                del running[future]
                session = future.result()
                count += 1
                units += session.units
                resumes += session.resumes
                max_rss = max(max_rss, session.rss_kb)
                sessions[session.pid] = session
                if session.failure:
                    failed.append(session)
                if count % 10 == 0 or not running:
                    for leftover, problem in fuzz_setup.check_leftovers(set(sessions), sessions.get):
                        leftover.failure = problem
                        if leftover not in failed:
                            failed.append(leftover)
                    sessions.clear()
    elapsed = time.monotonic() - start
    print("fuzz: %d units (%d resuming) in %d sessions in %.1fs; max RSS %d KiB" % (
        units, resumes, count, elapsed, max_rss))
    for session in sorted(failed, key=lambda s: s.index):
        print("FAIL session %d (%s over %s, RRX_FUZZ_CASE=%d): %s" % (
            session.index, os.path.basename(session.trace), session.transport, session.index,
            session.failure))
    fuzz_setup.remove_work_dir(work, settings.keep)
    if failed:
        print("fuzz: %d of %d sessions broke the contract" % (len(failed), count))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
