"""What both fuzzers share: the seed and limits from the environment, a
fresh work directory, and seed traces recorded with the rrx under test."""

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import child_check


class Settings:
    """The knobs, each settable through the environment."""

    def __init__(self, default_count, count_variable):
        env = os.environ
        self.seed = int(env.get("RRX_FUZZ_SEED") or random.SystemRandom().randrange(1 << 32))
        self.count = int(env.get(count_variable) or default_count)
        self.count_variable = count_variable
        # One rrx run; far above what any run takes on a loaded machine.
        self.timeout = float(env.get("RRX_FUZZ_TIMEOUT") or 30)
        self.max_rss_kb = int(env.get("RRX_FUZZ_MAX_RSS_MB") or 256) * 1024
        self.jobs = int(env.get("RRX_FUZZ_JOBS") or 2)
        self.keep = env.get("RRX_FUZZ_KEEP") == "1"
        only = env.get("RRX_FUZZ_CASE")
        self.only_case = int(only) if only else None

    def announce(self, what):
        print("fuzz: %s, seed %d (reproduce: RRX_FUZZ_SEED=%d; %s=N for another count; "
              "RRX_FUZZ_CASE=I for one case)" % (what, self.seed, self.seed, self.count_variable),
              flush=True)


def work_dir(root, prefix):
    os.makedirs(root, exist_ok=True)
    return tempfile.mkdtemp(prefix=prefix + ".", dir=root)


def remove_work_dir(path, keep):
    if keep:
        print("fuzz: kept %s" % path)
    else:
        shutil.rmtree(path, ignore_errors=True)


def record_seed(rrx, program, out, timeout):
    """Records `program` into `out` and checks the trace replays; returns
    the lines the replay wrote. Exits the fuzzer (the test fails) if a step
    does not work: fuzzing damaged copies of a bad trace would prove
    nothing. The program must write nothing to stderr."""
    for argv in ([rrx, "record", "-q", "-o", out, program], [rrx, "dump", out],
                 [rrx, "replay", "-a", out]):
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, timeout=timeout)
        if result.returncode != 0 or result.stderr:
            sys.exit("fuzz: seed trace step %s failed (exit %d): %s" % (
                " ".join(argv[1:3]), result.returncode, result.stderr.decode(errors="replace")))
    return set(result.stdout.splitlines())


def check_leftovers(sessions, label_of):
    """Failures for processes still alive in the sessions of finished rrx
    runs (orphaned tracees), which are then killed. A tracee killed with
    its tracer is gone once the kernel has torn it down; wait for that."""
    failures = []
    leftovers = child_check.leftover_processes(sessions)
    for _ in range(50):
        if not leftovers:
            break
        time.sleep(0.1)
        leftovers = child_check.leftover_processes(set(leftovers))
    for sid, processes in sorted(leftovers.items()):
        failures.append((label_of(sid), "orphan: %s still running after rrx exited" % ", ".join(
            "pid %d (%s, state %s)" % (pid, command, state) for pid, state, command in processes)))
        child_check.kill_session(sid)
    return failures
