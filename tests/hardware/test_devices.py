"""Opt-in tests against real instruments: run only with `--device DRIVER=RESOURCE`.

Each given device is connected through its driver, asked its identity and, where it can, one reading.
Nothing is changed on the instrument. Without --device these tests do not run (they show as skipped).
"""

from __future__ import annotations

import pytest

from xcal.drivers.check import check


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames:
        devices = metafunc.config.getoption("--device")
        params = []
        for spec in devices:
            driver, sep, resource = spec.partition("=")
            if not sep:
                raise pytest.UsageError(f"--device {spec!r} is not DRIVER=RESOURCE")
            params.append((driver, resource))
        metafunc.parametrize("device", params or [pytest.param(None, marks=pytest.mark.skip(
            reason="no --device DRIVER=RESOURCE given"))], ids=[f"{d}" for d, _ in params] or ["none"])


def test_real_instrument_identifies_and_reads(device):
    driver, resource = device
    result = check(driver, resource)
    assert result.identity.model and result.identity.serial
    for value in result.reading.values():
        assert hasattr(value, "units")
