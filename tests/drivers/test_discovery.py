"""Discovery returns within its timeout whatever the backends do, with what the working ones found."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from xcal.drivers import discovery
from xcal.errors import ConfigError
from xcal.units import Q_


def hang(*args: object) -> list[str]:
    threading.Event().wait()
    return []


def test_a_hanging_visa_backend_costs_only_the_timeout(monkeypatch, caplog) -> None:
    monkeypatch.setattr(discovery, "_visa_resources", hang)
    monkeypatch.setattr(discovery, "_serial_ports", lambda: ["/dev/ttyUSB0", "/dev/ttyS0"])
    caplog.set_level(logging.WARNING, logger="xcal.drivers.discovery")
    started = time.monotonic()
    found = discovery.list_resources(Q_(300, "ms"))
    took = time.monotonic() - started
    assert 0.3 <= took < 0.3 + 0.5
    assert found == ["/dev/ttyS0", "/dev/ttyUSB0"]
    assert [r.getMessage() for r in caplog.records] == [
        "VISA discovery did not finish within 0.3 s; showing what was found without it "
        "(give --resource to skip discovery)"]


def test_both_backends_hanging_returns_nothing_in_time(monkeypatch) -> None:
    monkeypatch.setattr(discovery, "_visa_resources", hang)
    monkeypatch.setattr(discovery, "_serial_ports", hang)
    started = time.monotonic()
    assert discovery.list_resources(Q_(0.2, "s")) == []
    assert time.monotonic() - started < 0.2 + 0.5


def test_results_of_both_backends_are_merged_and_a_failing_one_is_reported(monkeypatch, caplog) -> None:
    monkeypatch.setattr(discovery, "_visa_resources",
                        lambda backend: ["TCPIP::10.0.0.5::8123::SOCKET", "ASRL/dev/ttyUSB0::INSTR"])
    monkeypatch.setattr(discovery, "_serial_ports", lambda: ["/dev/ttyUSB0"])
    assert discovery.list_resources(Q_(2, "s")) == ["/dev/ttyUSB0", "ASRL/dev/ttyUSB0::INSTR",
                                                    "TCPIP::10.0.0.5::8123::SOCKET"]

    def broken(backend: str) -> list[str]:
        raise OSError("no VISA library")

    monkeypatch.setattr(discovery, "_visa_resources", broken)
    caplog.set_level(logging.WARNING, logger="xcal.drivers.discovery")
    started = time.monotonic()
    assert discovery.list_resources(Q_(2, "s")) == ["/dev/ttyUSB0"]
    assert time.monotonic() - started < 0.5
    assert "VISA discovery failed: no VISA library" in caplog.text


def test_the_backend_is_passed_to_visa(monkeypatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(discovery, "_visa_resources", lambda backend: seen.append(backend) or [])
    monkeypatch.setattr(discovery, "_serial_ports", lambda: [])
    assert discovery.list_resources(Q_(1, "s"), backend="@ivi") == []
    assert seen == ["@ivi"]


@pytest.mark.parametrize("bad", [1.0, Q_(1, "V"), Q_(0, "s")])
def test_the_timeout_must_be_a_positive_time(bad: object) -> None:
    with pytest.raises(ConfigError, match="timeout"):
        discovery.list_resources(bad)
