"""`xcal --help` and importing xcal.cli pull in none of the heavy libraries."""

import subprocess
import sys

HEAVY = ("numpy", "scipy", "pint", "pyvisa", "spekpy", "yaml", "rich")

PROBE = """
import sys
from xcal.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
print("HEAVY=" + ",".join(sorted(name for name in {heavy!r} if name in sys.modules)))
"""


def test_help_imports_no_heavy_library():
    out = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY)], capture_output=True, text=True,
                         check=True)
    assert "Usage:" in out.stdout and "run" in out.stdout
    assert out.stdout.splitlines()[-1] == "HEAVY=", out.stdout.splitlines()[-1]


def test_the_probe_would_see_a_heavy_import():
    # The same probe, after importing numpy on purpose, must report it (so the test above can fail).
    probe = "import numpy\n" + PROBE.format(heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "HEAVY=numpy"
