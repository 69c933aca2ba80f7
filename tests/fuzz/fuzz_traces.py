#!/usr/bin/env python3
"""Fuzzes the trace reader and replay with damaged traces.

usage: fuzz_traces.py RRX WORK_ROOT PROGRAM...

Records each PROGRAM once, then makes RRX_FUZZ_TRACES (default 2000)
damaged copies (trace_mutations.py) and runs `rrx dump` on each and
`rrx replay -a` on a share of them (every copy whose saved files or
manifest were touched: only replay reads those), two at a time. Each run
must end by itself within RRX_FUZZ_TIMEOUT seconds, not by a signal, with
at most one line on stderr, and exactly one "rrx: " line if it failed (a
damaged trace may still replay, or replay as a partial trace with one
line of warning), under RRX_FUZZ_MAX_RSS_MB of RSS, and leave no process
behind. Copies that broke the contract are kept under WORK_ROOT/failures.
Exits 1 if any run failed."""

import concurrent.futures
import os
import random
import re
import shutil
import sys
import time

import child_check
import fuzz_setup
import trace_codec
import trace_mutations

REPLAY_SHARE = 0.3
LEFTOVER_CHECK_EVERY = 100


class Case:
    def __init__(self, index, seed_trace, path):
        self.index = index
        self.seed_trace = seed_trace
        self.path = path
        self.description = ""
        self.runs = []      # (command, exit code or signal text, rss_kb)
        self.sessions = []  # (session id, command)
        self.failures = []  # (command, what)


def run_case(settings, rrx, seeds, cases_dir, index):
    rng = random.Random("%d/%d" % (settings.seed, index))
    seed = rng.choice(seeds)
    case = Case(index, seed, os.path.join(cases_dir, str(index)))
    trace_mutations.copy_trace(seed, case.path)
    trace = trace_mutations.Trace(case.path, trace_codec.zstd_available())
    case.description = trace_mutations.mutate(rng, trace)
    commands = [["dump"]]
    if "files" in case.description or rng.random() < REPLAY_SHARE:
        commands.append(["replay", "-a"])
    for command in commands:
        err_path = case.path + ".stderr"
        with open(err_path, "wb") as err:
            child = child_check.Child([rrx] + command + [case.path], settings.timeout, stderr=err)
        ended = child.finish()
        with open(err_path, "rb") as f:
            stderr = f.read()
        os.unlink(err_path)
        label = " ".join(command)
        case.sessions.append((child.pid, label))
        case.runs.append((label, ended.exit_code(), ended.rss_kb, error_kind(stderr, case.path)))
        problem = child_check.judge(ended, stderr, settings.max_rss_kb, settings.timeout)
        if problem:
            case.failures.append((label, problem, stderr[:600]))
    return case


def error_kind(stderr, path):
    """The error line without the trace's name and numbers: what kind of
    check caught the damage, for the summary."""
    line = stderr.split(b"\n")[0].decode(errors="replace").replace(path, "T")
    return re.sub(r"[0-9]+", "N", line)[:90]


def keep_failure(case, failures_dir):
    os.makedirs(failures_dir, exist_ok=True)
    dest = os.path.join(failures_dir, "case-%d" % case.index)
    shutil.rmtree(dest, ignore_errors=True)
    if os.path.isdir(case.path):  # (gone if only a leftover process was found later)
        shutil.move(case.path, dest)
    with open(dest + ".txt", "w") as f:
        f.write("seed trace %s\n%s\n" % (case.seed_trace, case.description))
    return dest


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    rrx, root, programs = argv[1], argv[2], argv[3:]
    settings = fuzz_setup.Settings(2000, "RRX_FUZZ_TRACES")
    settings.announce("%d damaged traces" % settings.count)
    if not trace_codec.zstd_available():
        print("fuzz: no zstd tool: event chunks are damaged only raw, not decoded", flush=True)
    work = fuzz_setup.work_dir(root, "traces")
    start = time.monotonic()
    seeds = []
    for program in programs:
        seeds.append(os.path.join(work, "seed-" + os.path.basename(program)))
        fuzz_setup.record_seed(rrx, program, seeds[-1], settings.timeout)
    cases_dir = os.path.join(work, "cases")
    os.mkdir(cases_dir, 0o700)

    indices = [settings.only_case] if settings.only_case is not None else range(settings.count)
    failed, sessions, runs, max_rss = [], {}, 0, 0
    outcomes = {"ok": 0, "error": 0}
    kinds = {}
    with concurrent.futures.ThreadPoolExecutor(settings.jobs) as pool:
        futures = [pool.submit(run_case, settings, rrx, seeds, cases_dir, i) for i in indices]
        for done, future in enumerate(futures, 1):
            case = future.result()
            for sid, label in case.sessions:
                sessions[sid] = (case, label)
            for _, code, rss, kind in case.runs:
                runs += 1
                max_rss = max(max_rss, rss)
                outcomes["ok" if code == 0 else "error"] += 1
                kinds[kind] = kinds.get(kind, 0) + 1
            if done % LEFTOVER_CHECK_EVERY == 0 or done == len(futures):
                for sid_label, problem in fuzz_setup.check_leftovers(
                        set(sessions), lambda sid: sessions[sid]):
                    leftover_case, label = sid_label
                    leftover_case.failures.append((label, problem, b""))
                    if leftover_case not in failed:
                        failed.append(leftover_case)
                sessions.clear()
            if case.failures and case not in failed:
                failed.append(case)
            elif not settings.keep and case not in failed:
                shutil.rmtree(case.path, ignore_errors=True)

    elapsed = time.monotonic() - start
    print("fuzz: %d traces, %d rrx runs (%d exited 0, %d with an error) in %.1fs; "
          "max RSS %d KiB" % (len(indices), runs, outcomes["ok"], outcomes["error"],
                              elapsed, max_rss))
    print("fuzz: most frequent outcomes:")
    for kind, n in sorted(kinds.items(), key=lambda item: -item[1])[:12]:
        print("  %5d  %s" % (n, kind or "(exit 0, nothing on stderr)"))
    for case in sorted(failed, key=lambda c: c.index):
        kept = keep_failure(case, os.path.join(root, "failures"))
        print("FAIL case %d (%s): %s" % (case.index, os.path.basename(case.seed_trace),
                                         case.description))
        for label, problem, stderr in case.failures:
            print("  rrx %s: %s" % (label, problem))
            if stderr:
                print("  stderr: %r" % stderr)
        print("  kept as %s" % kept)
    fuzz_setup.remove_work_dir(work, settings.keep)
    if failed:
        print("fuzz: %d of %d traces broke the contract" % (len(failed), len(indices)))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
