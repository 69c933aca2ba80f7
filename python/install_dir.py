"""Prints where, relative to the install prefix argv[1], the Python running
this looks for installed modules (python/CMakeLists.txt)."""
import os
import sys
import sysconfig

schemes = sysconfig.get_scheme_names()
base = {"base": "/PREFIX", "platbase": "/PREFIX"}
if sys.argv[1] == "/usr" and "deb_system" in schemes:  # what Debian's packages use
    path = sysconfig.get_path("platlib", "deb_system", base)
elif "posix_local" in schemes:  # Debian's /usr/local scheme, under any prefix
    path = sysconfig.get_path("platlib", "posix_local", base).replace("/PREFIX/local/", "/PREFIX/")
else:
    path = sysconfig.get_path("platlib", "posix_prefix", base)
print(os.path.relpath(path, "/PREFIX"))
