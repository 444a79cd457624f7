"""Fixtures of the DICOM tests: a small site file with a dicom section, and DCMTK when it is installed."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

SITE = """\
kind: site
facility: {{name: Test clinic}}
instruments: []
rooms:
  - {{id: 1, name: Rad 1, limit_sets: [cfr-1020], instruments: {{}}}}
  - {{id: 2, name: Rad 2, limit_sets: [cfr-1020], instruments: {{}}}}
dicom:
  ae_title: XCAL_TEST
  port: {port}
  pacs: {{ae_title: PACS_T, host: 127.0.0.1, port: {pacs_port}}}
  modalities:
    - {{room: 1, ae_title: DR1_AE, host: 127.0.0.1, port: 104, station_name: RADONE, device_serial: SN-111}}
    - {{room: 2, ae_title: DR2_AE, host: 127.0.0.1, port: 105, station_name: RADTWO, device_serial: SN-222}}
"""


def free_port() -> int:
    """A TCP port free on loopback now (bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def site_file(tmp_path: Path):
    """Write the test site with the given ports (or a replacement of its text) and return its path."""

    def write(port: int = 11112, pacs_port: int = 11113, replace: tuple[str, str] | None = None) -> Path:
        text = SITE.format(port=port, pacs_port=pacs_port)
        if replace:
            assert replace[0] in text
            text = text.replace(*replace)
        path = tmp_path / "site.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def _listening(port: int) -> bool | None:
    """Whether the kernel lists a TCP socket listening on `port` (None where /proc/net is not there).

    Reading the kernel's table does not connect, so a single-threaded peer such as storescp is not kept busy
    by the probe when the test's own association arrives."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not any(t.exists() for t in tables):
        return None
    wanted = f":{port:04X}"
    for table in tables:
        if table.exists():
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                if fields[1].endswith(wanted) and fields[3] == "0A":
                    return True
    return False


def wait_listening(port: int, timeout_s: float = 10.0) -> None:
    """Wait until something listens for TCP connections on 127.0.0.1:port."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        listening = _listening(port)
        if listening:
            return
        if listening is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                pass
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


DCMTK_TOOLS = ("storescp", "storescu", "echoscu", "dcmdump")


def _dcmtk_folder() -> str | None:
    """The first folder on PATH (then /usr/bin, /usr/local/bin) whose storescp says it is DCMTK's and that holds
    the other tools too. pynetdicom installs its own storescp/storescu/echoscu into the venv, so a name on PATH
    is not enough: the peer must be DCMTK, not xcal's own library."""
    folders = os.environ.get("PATH", "").split(os.pathsep) + ["/usr/bin", "/usr/local/bin"]
    for folder in dict.fromkeys(f for f in folders if f):
        if not all(os.access(Path(folder, tool), os.X_OK) for tool in DCMTK_TOOLS):
            continue
        try:
            version = subprocess.run([str(Path(folder, "storescp")), "--version"], capture_output=True, text=True,
                                     timeout=10, check=False).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        if "dcmtk" in version.lower():
            return folder
    return None


@pytest.fixture(scope="session")
def dcmtk() -> str:
    """The folder of DCMTK's tools; the test is skipped (never passed) when DCMTK is not installed."""
    folder = _dcmtk_folder()
    if folder is None:
        pytest.skip("DCMTK (storescp, storescu, echoscu, dcmdump) is not installed: apt-get install dcmtk, or run "
                    ".ci/run as root")
    return folder


@pytest.fixture
def storescp(dcmtk: str, tmp_path: Path):
    """Start DCMTK's storescp with an AE title and extra options on a free port; yields (port, output folder)."""
    procs: list[subprocess.Popen] = []

    def start(ae_title: str = "DCMTK_SCP", *options: str) -> tuple[int, Path]:
        port = free_port()
        out = tmp_path / f"storescp-{port}"
        out.mkdir()
        procs.append(subprocess.Popen([f"{dcmtk}/storescp", "-aet", ae_title, "-od", str(out), *options, str(port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_listening(port)
        return port, out

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)
