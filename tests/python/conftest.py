"""Shared fixtures of the rrx module tests: the test programs, their
recordings (one per session), and independent oracles for source lines
(binutils' nm and addr2line read the ELF file and its DWARF, not rrx)."""
import os
import re
import subprocess

import pytest
import rrx

PROGRAMS = os.environ.get("RRX_TEST_PROGRAMS", "")
SOURCES = os.environ.get("RRX_TEST_SOURCES", "")


def program(name):
    path = os.path.join(PROGRAMS, name)
    if not os.access(path, os.X_OK):
        pytest.fail(f"test program {path} is not built (RRX_TEST_PROGRAMS)")
    return path


def marked_line(source, marker):
    """The line number of the line of `source` that holds `marker`."""
    with open(os.path.join(SOURCES, source)) as f:
        for number, line in enumerate(f, 1):
            if marker in line:
                return number
    raise AssertionError(f"{marker!r} is not in {source}")


def source_line(replay, exe, pc):
    """file:line of run-time address `pc` of `exe`, by addr2line: the load
    bias is the difference between main's run-time address and nm's."""
    nm = subprocess.run(["nm", exe], capture_output=True, text=True, check=True).stdout
    link_main = int(re.search(r"^([0-9a-f]+) T main$", nm, re.M).group(1), 16)
    bias = replay.symbol("main") - link_main
    out = subprocess.run(["addr2line", "-e", exe, hex(pc - bias)],
                         capture_output=True, text=True, check=True).stdout.strip()
    path, line = out.rsplit(":", 1)
    return os.path.basename(path), int(line.split()[0])


@pytest.fixture(scope="session")
def trace_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("traces")
    os.environ["RRX_TRACE_DIR"] = str(root)  # for record() without trace_dir
    return root


@pytest.fixture(scope="session")
def write_target_trace(trace_root):
    return rrx.record([program("write_target")], trace_dir=trace_root / "write_target")


@pytest.fixture(scope="session")
def threads_trace(trace_root):
    return rrx.record([program("threads_write")], trace_dir=trace_root / "threads_write")


@pytest.fixture
def replay(write_target_trace):
    with rrx.Replay(write_target_trace) as r:
        yield r


def to_int(data):
    return int.from_bytes(data, "little", signed=True)
