"""Runs one pytest file of tests/python; exits 77 (CTest: skipped) with the
reason when pytest or the built module is missing."""
import sys

try:
    import pytest
except ImportError:
    print("SKIP: pytest is not installed for", sys.executable,
          "(Debian: python3-pytest)", file=sys.stderr)
    sys.exit(77)

sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[1:]]))
