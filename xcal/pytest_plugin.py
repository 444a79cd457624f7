"""The xcal pytest plugin, registered through the `pytest11` entry point when xcal is installed.

Options: `--xcal-site PATH` (default: the built-in demo site), `--xcal-room N`, `--xcal-db PATH|URL` (default: a
temporary store per test session) and `--device DRIVER=RESOURCE` for opt-in tests against real hardware.
Fixtures: `xcal_site`, `xcal_room`, `xcal_devices`.
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("xcal", "xcal X-ray QC")
    group.addoption("--xcal-site", metavar="PATH", default=None,
                    help="site file for the xcal_site fixture (default: the built-in simulated demo site)")
    group.addoption("--xcal-room", metavar="N", default=None, help="room id for the xcal_room fixture")
    group.addoption("--xcal-db", metavar="PATH|URL", default=None,
                    help="record store for runs made in tests: a SQLite file or a postgresql:// URL "
                         "(default: a temporary store)")
    group.addoption("--device", action="append", default=[], metavar="DRIVER=RESOURCE",
                    help="a real instrument for hardware tests, e.g. "
                         "--device ptw-unidos=TCPIP::10.0.0.5::8123::SOCKET (repeatable)")


@pytest.fixture(scope="session")
def xcal_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The site of --xcal-site (or the demo site), recording to --xcal-db or a temporary store."""
    from .api import load_site

    db = request.config.getoption("--xcal-db") or tmp_path_factory.mktemp("xcal-records") / "records.sqlite3"
    return load_site(request.config.getoption("--xcal-site"), db=db)


@pytest.fixture(scope="session")
def xcal_room(request: pytest.FixtureRequest, xcal_site: Any) -> Any:
    """The room of --xcal-room (or the site's first room)."""
    room = request.config.getoption("--xcal-room") or xcal_site.rooms[0]
    return xcal_site.room(room)


@pytest.fixture(scope="session")
def xcal_devices(request: pytest.FixtureRequest) -> dict[str, str]:
    """The --device DRIVER=RESOURCE pairs given on the command line (empty when none)."""
    devices = {}
    for spec in request.config.getoption("--device"):
        driver, sep, resource = spec.partition("=")
        if not sep or not driver or not resource:
            raise pytest.UsageError(f"--device {spec!r} is not DRIVER=RESOURCE")
        devices[driver] = resource
    return devices
