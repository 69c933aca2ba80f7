"""Runs every ```python snippet of docs/python.md, in order, as one script
(in a directory holding the tutorial's program), and checks what it finds
against what the program printed: the corrupting iteration `bad` leaves
the balance at 9 * bad + 1001 (random_corruption.c)."""
import os
import re
import shutil
import subprocess
import sys

from conftest import program

DOC = os.path.join(os.environ.get("RRX_SOURCE_DIR", ""), "docs", "python.md")


def test_tutorial_finds_the_corrupting_iteration(tmp_path):
    text = open(DOC).read()
    snippets = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(snippets) == 3
    shutil.copy(program("random_corruption"), tmp_path)
    env = dict(os.environ, RRX_TRACE_DIR=str(tmp_path / "traces"))
    run = subprocess.run([sys.executable, "-c", "\n".join(snippets)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    balance = int(re.search(r"^balance (\d+) \(expected 1000\)$", out, re.M).group(1))
    bad = (balance - 1001) // 9
    assert 9 * bad + 1001 == balance and 1 <= bad <= 998
    assert "exe='./random_corruption'" in out and "exit_status=0" in out
    found = re.search(r"^corrupted at iteration (\d+): (\d+) -> (\d+) by (\w+) at 0x", out, re.M)
    assert found, out
    assert int(found.group(1)) == bad
    assert (int(found.group(2)), int(found.group(3))) == (bad - 1, 10 * bad)
    assert found.group(4) == "deposit"
    assert re.search(rf"^deposit {balance} 1000$", out, re.M), out
