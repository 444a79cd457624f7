"""xcal runs where POSIX-only modules do not exist (technicians' Windows laptops): only the pty simulator needs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

POSIX_ONLY = ("termios", "tty", "fcntl", "pty")

BLOCKER = f'''
import sys


class _PosixOnly:
    """Refuses the POSIX-only modules, as a Windows Python has none of them."""

    def find_spec(self, name, path=None, target=None):
        if name in {POSIX_ONLY!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not on Windows)")
        return None


sys.meta_path.insert(0, _PosixOnly())
'''


def _python(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "XCAL_DB": str(tmp_path / "records.sqlite3")}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=120,
                          stdin=subprocess.DEVNULL, cwd=tmp_path)


def test_the_blocker_really_blocks(tmp_path):
    result = _python(tmp_path, "-c", "import termios")
    assert result.returncode != 0 and "not on Windows" in result.stderr


def test_the_package_imports_and_the_main_job_runs_over_tcp_without_posix_modules(tmp_path):
    imported = _python(tmp_path, "-c", "import xcal, xcal.api, xcal.drivers.transport, xcal.drivers.serial_transport, "
                                       "xcal.simulators.server, xcal.demo.wiring, xcal.cli; print('ok')")
    assert imported.returncode == 0 and imported.stdout.strip() == "ok", imported.stderr
    run = _python(tmp_path, "-m", "xcal", "run", "kvp-accuracy", "--room", "3")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "VERDICT: PASS (SIMULATED)" in run.stdout


def test_python_dash_m_xcal_is_the_command_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "xcal", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("Usage: xcal ")


def test_no_posix_only_call_outside_the_pty_simulator():
    import re

    package = Path(__file__).resolve().parents[1] / "xcal"
    posix_only = re.compile(r"MSG_DONTWAIT|^\s*import (termios|tty|fcntl|pty)\b|os\.(openpty|ttyname|fork)\(",
                            re.MULTILINE)
    found = {str(path.relative_to(package)) for path in package.rglob("*.py") if posix_only.search(path.read_text())}
    assert found == {"simulators/server.py"}
    server = (package / "simulators" / "server.py").read_text()
    assert not re.search(r"^import tty|^import termios", server, re.MULTILINE)
