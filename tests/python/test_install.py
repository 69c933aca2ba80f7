"""`cmake --install` puts the module where its Python finds installed
modules, and the installed module records (with syscall buffering, whose
engine rrx carries inside itself) and replays. Installed under a DESTDIR with another
prefix, so nothing outside the test's directory is touched."""
import os
import subprocess
import sys

from conftest import program


def test_installed_module_records_and_replays(tmp_path):
    root = tmp_path / "root"
    subprocess.run([os.environ["CMAKE_COMMAND"], "--install", os.environ["RRX_BUILD_DIR"],
                    "--prefix", "/opt/rrx"], env=dict(os.environ, DESTDIR=str(root)),
                   check=True, capture_output=True)
    # Debian's python3: lib/python3/dist-packages for a /usr prefix (the
    # .deb), lib/python3.X/dist-packages for any other (python/install_dir.py).
    sites = list((root / "opt" / "rrx" / "lib").glob("python3*/dist-packages"))
    assert len(sites) == 1, sites
    site = sites[0]
    assert sorted(p.name.split(".")[0] for p in site.iterdir()) == ["rrx", "rrx"]
    script = (
        "import rrx\n"
        f"trace = rrx.record([{program('write_target')!r}], trace_dir={str(tmp_path / 'trace')!r})\n"
        "with rrx.Replay(trace) as r:\n"
        "    r.cont()\n"
        "    print(rrx.__file__, r.function_at(r.last_write('target', 8).pc))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         check=True).stdout
    module, function = out.splitlines()[-1].split()  # after the program's own line
    assert module.startswith(str(site) + "/rrx.")
    assert function == "corrupt"
