#!/usr/bin/env python3
"""rrx benchmark harness: native vs `rrx record` vs `rrx replay -a`.

Usage: python3 bench/run.py [--quick] [--runs N] [--only NAME,...]
                            [--rrx PATH] [--rr-soft PATH] [--json FILE]
See bench/README.md for what each workload and column means.
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SOURCES = BENCH / "workloads"
SOFT_TICK_PLUGIN = REPO / "build/lib/rrx/rrx_ticks_gcc.so"
GDB_LOOP_ITERS = "10000"
MAKE_FILES = 40
# Mode names of the optional peer, rr.soft (`rr record -W`): its failures
# fill its own columns and do not stop the workload's rrx rows.
SOFT_RECORD, SOFT_REPLAY = "rr.soft record", "rr.soft replay"


class Unavailable(Exception):
    """The workload cannot be measured here; the message fills its row."""


class Failed(Exception):
    """rrx misbehaved (e.g. replay diverged); reported loudly."""


@dataclass
class Config:
    quick: bool
    runs: int
    rrx: str
    rr_soft: str = ""      # rr.soft's `rr` binary, or "" for no peer
    rusage_exec: str = ""  # compiled bench/rusage_exec.c


@dataclass
class Sample:
    seconds: float
    status: int
    maxrss_kb: int
    stdout: bytes
    stderr: bytes
    trace_bytes: int = 0   # record only: new bytes on disk
    linked_bytes: int = 0  # record only: hard links to existing files
    traced: int = 0        # record only: syscalls that cost ptrace stops


@dataclass
class Workload:
    name: str
    # (workdir, config) -> argv; may raise Unavailable.  Untimed.
    prepare: Callable[[Path, Config], list]
    # Untimed, before every timed run of every mode.
    reset: Callable[[Path], None] = lambda work: None
    # Also time `gdb record full` on the same program (argv[0] + argv[1:]).
    with_gdb: bool = False
    # Extra `rrx record` options.
    record_flags: tuple = ()
    # rr.soft's `rr record` options (-W: software counters, no PMU needed).
    rr_soft_flags: tuple = ("-W",)


# ---------------------------------------------------------------- processes

def spawn(argv, out_dir: Path, cfg: Config) -> Sample:
    """Run argv under rusage_exec with stdout/stderr in files; time it."""
    out, err, rss = out_dir / "stdout", out_dir / "stderr", out_dir / "maxrss"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, str(out), flags, 0o600),
               (os.POSIX_SPAWN_OPEN, 2, str(err), flags, 0o600)]
    helper = [cfg.rusage_exec, str(rss), *argv]
    rss.unlink(missing_ok=True)
    start = time.perf_counter()
    pid = os.posix_spawn(helper[0], helper, os.environ, file_actions=actions)
    _, wstatus, _ = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    if not rss.exists():
        raise Failed(f"rusage_exec failed: {err.read_text(errors='replace')}")
    return Sample(seconds, os.waitstatus_to_exitcode(wstatus),
                  int(rss.read_text()), out.read_bytes(), err.read_bytes())


def traced_syscalls(rrx: str, trace: Path) -> int:
    """The syscalls of the recording that were traced (each two ptrace
    stops), not buffered in-process: its syscall-entry events."""
    out = subprocess.run([rrx, "dump", str(trace)], capture_output=True, check=True).stdout
    return sum(1 for line in out.splitlines() if b" syscall-entry " in line)


def trace_usage(trace: Path):
    """(new, linked): bytes allocated under trace, each inode once (like du),
    split into inodes only the trace links to and inodes that also have
    links outside it (rrx hard-links mapped files such as libc, as rr does,
    so those cost no new disk space)."""
    inodes = {}
    for root, _, files in os.walk(trace):
        for name in files:
            st = os.lstat(os.path.join(root, name))
            seen = inodes.get((st.st_dev, st.st_ino), (st, 0))[1]
            inodes[(st.st_dev, st.st_ino)] = (st, seen + 1)
    new = linked = 0
    for st, links_here in inodes.values():
        if links_here >= st.st_nlink:
            new += st.st_blocks * 512
        else:
            linked += st.st_blocks * 512
    return new, linked


def rrx_error(sample: Sample) -> str:
    """First line rrx itself wrote to stderr (else the first line at all)."""
    lines = sample.stderr.decode(errors="replace").splitlines()
    ours = [line for line in lines if line.startswith("rrx")]
    return (ours or lines or [f"exit status {sample.status}"])[0]


def run(argv, work: Path, what: str):
    """Untimed helper command; raises Unavailable with its stderr."""
    proc = subprocess.run(argv, cwd=work, capture_output=True, text=True)
    if proc.returncode != 0:
        first = (proc.stderr.splitlines() or ["?"])[0]
        raise Unavailable(f"{what} failed: {first}")


# ---------------------------------------------------------------- workloads

def compile_c(work: Path, source: str, *flags) -> str:
    """gcc -O2 bench/workloads/SOURCE (or bench/SOURCE) into work."""
    path = SOURCES / source if (SOURCES / source).exists() else BENCH / source
    binary = work / path.stem
    run(["gcc", "-O2", *flags, "-o", str(binary), str(path)],
        work, f"gcc {source}")
    return str(binary)


def cpu_loop(work, cfg):
    return [compile_c(work, "cpu_loop.c"), "20000000" if cfg.quick else "200000000"]


def cpu_loop_soft(work, cfg):
    if not SOFT_TICK_PLUGIN.exists():
        raise Unavailable("n/a: soft-tick plugin not built")
    binary = compile_c(work, "cpu_loop.c", f"-fplugin={SOFT_TICK_PLUGIN}")
    return [binary, "20000000" if cfg.quick else "200000000"]


def cpu_loop_small(work, cfg):
    return [compile_c(work, "cpu_loop.c"), GDB_LOOP_ITERS]


def two_threads(work, cfg):
    binary = compile_c(work, "two_threads.c", "-pthread")
    return [binary, "5000000" if cfg.quick else "50000000"]


def source_tree(cfg) -> str:
    return "/usr/include/linux" if cfg.quick else "/usr/include"


def cp_a(work, cfg):
    return ["cp", "-a", source_tree(cfg), str(work / "inc")]


def remove_inc(work):
    shutil.rmtree(work / "inc", ignore_errors=True)


def tar_sha(work, cfg):
    tree = source_tree(cfg)
    return ["sh", "-c", f"tar cf - {tree} 2>/dev/null | sha256sum"]


def python_startup(work, cfg):
    # sys.executable, not the `python3` on PATH: that may be a pyenv shell
    # shim, which would time bash rather than Python start-up.
    count = 5 if cfg.quick else 20
    return ["sh", "-c",
            f"for i in $(seq {count}); do '{sys.executable}' -c pass; done"]


def make_project(work, cfg):
    project = work / "proj"
    project.mkdir()
    count = MAKE_FILES // 2 if cfg.quick else MAKE_FILES
    for i in range(count):
        (project / f"f{i}.c").write_text(
            f"#include <stdio.h>\n#include <string.h>\n"
            f"int f{i}(int x) {{ char b[64]; snprintf(b, sizeof b, \"%d\", x);"
            f" return (int)strlen(b) + x * {i}; }}\n")
    calls = " + ".join(f"f{i}(argc)" for i in range(count))
    decls = "".join(f"int f{i}(int);\n" for i in range(count))
    (project / "main.c").write_text(
        f"#include <stdio.h>\n{decls}"
        f"int main(int argc, char **argv) {{ printf(\"%d\\n\", {calls}); return 0; }}\n")
    (project / "Makefile").write_text(
        "SRCS := $(wildcard *.c)\nOBJS := $(SRCS:.c=.o)\n"
        "prog: $(OBJS)\n\t$(CC) -o $@ $^\n"
        "%.o: %.c\n\t$(CC) -O2 -c -o $@ $<\n"
        "clean:\n\trm -f prog $(OBJS)\n")
    return ["make", "-C", str(project), "-j2", "-s"]


def make_clean(work):
    run(["make", "-C", str(work / "proj"), "-s", "clean"], work, "make clean")


WORKLOADS = [
    Workload("cpu_loop", cpu_loop, record_flags=("--ticks=none",)),
    # The same uninstrumented loop with dynamic ticks (the default).
    Workload("cpu_loop_dyn", cpu_loop),
    Workload("cpu_loop_soft", cpu_loop_soft),
    Workload("cp_a", cp_a, reset=remove_inc),
    Workload("cp_a_nobuf", cp_a, reset=remove_inc, record_flags=("-n",),
             rr_soft_flags=("-W", "-n")),
    Workload("tar_sha", tar_sha),
    Workload("python_startup", python_startup),
    Workload("python_startup_nobuf", python_startup, record_flags=("-n",),
             rr_soft_flags=("-W", "-n")),
    # Without dynamic ticks: what counting costs python3.
    Workload("python_startup_static", python_startup, record_flags=("--ticks=static",)),
    Workload("make_j2", make_project, reset=make_clean),
    Workload("two_threads", two_threads),
    Workload("cpu_loop_small", cpu_loop_small, with_gdb=True),
]


# ---------------------------------------------------------------- measuring

def gdb_argv(argv):
    return ["gdb", "-batch", "-nx", "-ex", "break main", "-ex", "run",
            "-ex", "record full",
            "-ex", "set record full insn-number-max unlimited",
            "-ex", "continue", "--args", *argv]


def mode_argvs(w: Workload, argv, cfg: Config, trace: Path, soft_trace: Path):
    modes = {"native": argv,
             "record": [cfg.rrx, "record", "-q", *w.record_flags, "-o", str(trace), *argv],
             "replay": [cfg.rrx, "replay", "-a", str(trace)]}
    if w.with_gdb:
        modes["gdb"] = gdb_argv(argv)
    if cfg.rr_soft:
        # rr.soft's replay must be told -W again (its README).
        modes[SOFT_RECORD] = [cfg.rr_soft, "record", *w.rr_soft_flags,
                              "-o", str(soft_trace), *argv]
        modes[SOFT_REPLAY] = [cfg.rr_soft, "replay", "-W", "-a", str(soft_trace)]
    return modes


def check(mode: str, sample: Sample, samples: dict):
    """Raise if this run is not a faithful native/record/replay/gdb run."""
    if mode == "native" and sample.status != 0:
        raise Unavailable(f"native run failed: {rrx_error(sample)}")
    if mode in ("record", "replay") and sample.status == 127:
        raise Failed(f"could not run rrx: {rrx_error(sample)}")
    if mode == "record" and sample.status != 0:
        raise Unavailable(f"unsupported: {rrx_error(sample)}")
    if mode == "replay":
        record = samples["record"][-1]
        if sample.status != 0:
            raise Failed(f"replay exited {sample.status}: {rrx_error(sample)}")
        if (sample.stdout, sample.stderr) != (record.stdout, record.stderr):
            raise Failed("replay output differs from record output")
    if mode == "gdb" and samples["native"][-1].stdout not in sample.stdout:
        raise Failed(f"gdb record full did not reach the end: {rrx_error(sample)}")


def rr_soft_error(sample: Sample) -> str:
    """First line rr.soft wrote to stderr other than its trace-directory
    notice (else how it ended: rr re-raises a tracee's fatal signal)."""
    lines = [line for line in sample.stderr.decode(errors="replace").splitlines()
             if line.strip() and not line.startswith("rr: Saving execution")]
    ended = (f"killed by signal {sample.status - 128}" if sample.status > 128
             else f"exit status {sample.status}")
    return (lines or [ended])[0]


def check_rr_soft(mode: str, sample: Sample, samples: dict) -> str:
    """The message for its column if this rr.soft run is not faithful, else "".
    Only stdout is compared: rr writes its own notices to stderr."""
    if sample.status == 127:
        return f"FAILED: could not run rr.soft: {rr_soft_error(sample)}"
    if mode == SOFT_RECORD and sample.status != 0:
        return f"unsupported: {rr_soft_error(sample)}"
    if mode == SOFT_REPLAY and sample.status != 0:
        return f"FAILED: replay exited {sample.status}: {rr_soft_error(sample)}"
    if mode == SOFT_REPLAY and sample.stdout != samples[SOFT_RECORD][-1].stdout:
        return "FAILED: replay stdout differs from record stdout"
    return ""


def measure(w: Workload, cfg: Config, work: Path):
    """Alternate the modes cfg.runs times; return the samples per mode and
    {rr.soft mode: message} for the first rr.soft run that failed (rr.soft
    is not run again for this workload after one)."""
    argv = w.prepare(work, cfg)
    trace, soft_trace = work / "trace", work / "rr-soft-trace"
    modes = mode_argvs(w, argv, cfg, trace, soft_trace)
    samples = {mode: [] for mode in modes}
    soft_errors = {}
    for i in range(cfg.runs):
        for mode, mode_argv in modes.items():
            is_soft = mode in (SOFT_RECORD, SOFT_REPLAY)
            if is_soft and soft_errors:
                continue
            w.reset(work)
            os.sync()  # no writeback of earlier runs' files in this one
            sample = spawn(mode_argv, work, cfg)
            if mode == "record" and trace.exists():
                sample.trace_bytes, sample.linked_bytes = trace_usage(trace)
                sample.traced = traced_syscalls(cfg.rrx, trace)
            samples[mode].append(sample)
            print(f"[{w.name}] run {i + 1}/{cfg.runs} {mode}: "
                  f"{sample.seconds:.3f}s", file=sys.stderr, flush=True)
            if is_soft:
                error = check_rr_soft(mode, sample, samples)
                if error:
                    soft_errors[mode] = error
            else:
                check(mode, sample, samples)
        delete_trace(trace)
        delete_trace(soft_trace)
    return samples, soft_errors


def delete_trace(trace: Path):
    shutil.rmtree(trace, ignore_errors=True)
    if trace.exists():
        raise Failed(f"trace {trace} could not be deleted")


def median(samples, key):
    return statistics.median(getattr(s, key) for s in samples)


def rr_soft_cells(samples: dict, soft_errors: dict, native: float) -> dict:
    """rr.soft's two columns: its ratios, or why it has none."""
    if SOFT_RECORD in soft_errors:
        return {"rr_soft_record": soft_errors[SOFT_RECORD], "rr_soft_replay": "—"}
    return {"rr_soft_record": median(samples[SOFT_RECORD], "seconds") / native,
            "rr_soft_replay": soft_errors.get(SOFT_REPLAY) or
            median(samples[SOFT_REPLAY], "seconds") / native}


def summarize(name: str, samples: dict, soft_errors: dict) -> list:
    """Rows (dicts) for the table from the samples of one workload."""
    native = median(samples["native"], "seconds")
    mb = 1024.0  # ru_maxrss is in KiB
    row = {"workload": name, "status": "ok", "native_s": native,
           "record_ratio": median(samples["record"], "seconds") / native,
           "replay_ratio": median(samples["replay"], "seconds") / native,
           "trace_mb_per_s": median(samples["record"], "trace_bytes") / 1e6 / native,
           "traced": median(samples["record"], "traced"),
           "native_rss_mb": max(s.maxrss_kb for s in samples["native"]) / mb,
           "record_rss_mb": max(s.maxrss_kb for s in samples["record"]) / mb,
           "replay_rss_mb": max(s.maxrss_kb for s in samples["replay"]) / mb}
    if SOFT_RECORD in samples:
        row.update(rr_soft_cells(samples, soft_errors, native))
    rows = [row]
    if "gdb" in samples:
        rows.append({"workload": f"{name} (gdb record full)", "status": "ok",
                     "native_s": native,
                     "record_ratio": median(samples["gdb"], "seconds") / native,
                     "native_rss_mb": row["native_rss_mb"],
                     "record_rss_mb": max(s.maxrss_kb for s in samples["gdb"]) / mb})
    return rows


def raw(samples: dict) -> dict:
    return {mode: [{"seconds": s.seconds, "status": s.status,
                    "maxrss_kb": s.maxrss_kb, "trace_bytes": s.trace_bytes,
                    "linked_bytes": s.linked_bytes, "traced": s.traced}
                   for s in runs] for mode, runs in samples.items()}


def bench(w: Workload, cfg: Config):
    """Measure one workload; return (rows, raw samples) — never raises."""
    work = Path(tempfile.mkdtemp(prefix=f"rrx-bench-{w.name}-"))
    try:
        samples, soft_errors = measure(w, cfg, work)
        return summarize(w.name, samples, soft_errors), raw(samples)
    except (Unavailable, Failed) as e:
        status = "FAILED" if isinstance(e, Failed) else "unavailable"
        message = f"FAILED: {e}" if isinstance(e, Failed) else str(e)
        print(f"[{w.name}] {message}", file=sys.stderr, flush=True)
        return [{"workload": w.name, "status": status, "message": message}], {}
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- output

COLUMNS = [("workload", "workload", "{}"),
           ("native_s", "native median (s)", "{:.3f}"),
           ("record_ratio", "record/native", "{:.2f}x"),
           ("replay_ratio", "replay/native", "{:.2f}x"),
           ("trace_mb_per_s", "trace MB per native s", "{:.1f}"),
           ("traced", "traced syscalls", "{:.0f}"),
           ("native_rss_mb", "native peak RSS (MiB)", "{:.1f}"),
           ("record_rss_mb", "record peak RSS (MiB)", "{:.1f}"),
           ("replay_rss_mb", "replay peak RSS (MiB)", "{:.1f}")]
RR_SOFT_COLUMNS = [("rr_soft_record", "rr.soft record/native", "{:.2f}x"),
                   ("rr_soft_replay", "rr.soft replay/native", "{:.2f}x")]


def cell(row: dict, key: str, fmt: str) -> str:
    """A number formatted, a message (str) as is, a missing value as —."""
    value = row.get(key, "—")
    return value if isinstance(value, str) else fmt.format(value)


def table(rows, columns) -> str:
    lines = ["| " + " | ".join(title for _, title, _ in columns) + " |",
             "|" + "---|" * len(columns)]
    for row in rows:
        if "message" in row:
            cells = [row["workload"], row["message"]] + [""] * (len(columns) - 2)
        else:
            cells = [cell(row, key, fmt) for key, _, fmt in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def file_sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="3 runs and smaller sizes")
    p.add_argument("--runs", type=int, help="runs per mode (default 5, quick 3)")
    p.add_argument("--only", help="comma-separated workload names")
    p.add_argument("--rrx", default=str(REPO / "build/bin/rrx"))
    p.add_argument("--rr-soft", metavar="PATH",
                   help="also time rr.soft's `rr record -W` and `rr replay "
                        "-W -a` (PATH: its rr binary, built separately)")
    p.add_argument("--json", help="also write table rows and raw timings here")
    args = p.parse_args()
    names = [w.name for w in WORKLOADS]
    args.only = args.only.split(",") if args.only else names
    unknown = set(args.only) - set(names)
    if unknown:
        p.error(f"unknown workload(s) {sorted(unknown)}; known: {names}")
    if not os.access(args.rrx, os.X_OK):
        p.error(f"{args.rrx} is not executable; build rrx first (see README)")
    if args.rr_soft and not os.access(args.rr_soft, os.X_OK):
        p.error(f"{args.rr_soft} is not executable")
    return args


def main():
    args = parse_args()
    cfg = Config(args.quick, args.runs or (3 if args.quick else 5),
                 os.path.abspath(args.rrx),
                 os.path.abspath(args.rr_soft) if args.rr_soft else "")
    rows, raws, load_before = [], {}, os.getloadavg()
    rrx_sha = file_sha256(cfg.rrx)
    with tempfile.TemporaryDirectory(prefix="rrx-bench-") as tools:
        cfg.rusage_exec = compile_c(Path(tools), "rusage_exec.c")
        for w in WORKLOADS:
            if w.name in args.only:
                w_rows, raws[w.name] = bench(w, cfg)
                rows += w_rows
    print(table(rows, COLUMNS + (RR_SOFT_COLUMNS if cfg.rr_soft else [])))
    rebuilt = file_sha256(cfg.rrx) != rrx_sha
    if rebuilt:
        print(f"WARNING: {cfg.rrx} changed during the run; rows may mix "
              "builds", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"date": datetime.datetime.now().isoformat(timespec="seconds"),
             "host": platform.platform(), "cpus": os.cpu_count(),
             "quick": cfg.quick, "runs": cfg.runs, "rrx": cfg.rrx,
             "rrx_sha256": rrx_sha, "rrx_changed_during_run": rebuilt,
             "rr_soft": cfg.rr_soft,
             "rr_soft_sha256": cfg.rr_soft and file_sha256(cfg.rr_soft),
             "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
             "rows": rows, "raw": raws}, indent=1) + "\n")
    return 1 if any(row["status"] == "FAILED" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
