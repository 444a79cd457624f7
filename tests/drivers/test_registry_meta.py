"""Every built-in driver declares what it is, has a simulator, and has a protocol test."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from xcal.drivers.base import PROTOCOL_STATUSES
from xcal.drivers.capabilities import CAPABILITIES
from xcal.drivers.registry import BUILTIN, get_driver_class

TESTS = Path(__file__).resolve().parent
WIRE_STATUSES = ("PUBLIC", "PARTIAL", "DECLARATIVE")


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_driver_declares_name_capabilities_status_and_transports(name):
    cls = get_driver_class(name)
    assert cls.driver_name == name
    assert cls.capabilities and set(cls.capabilities) <= set(CAPABILITIES)
    assert cls.protocol_status.split()[0] in PROTOCOL_STATUSES
    assert cls.transports
    assert cls.__doc__ and importlib.import_module(cls.__module__).__doc__


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_driver_has_a_simulator(name):
    cls = get_driver_class(name)
    module, _, attribute = cls.simulator.partition(":")
    simulator = getattr(importlib.import_module(module), attribute)
    assert isinstance(simulator, type)


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_driver_has_a_protocol_test(name):
    cls = get_driver_class(name)
    module = cls.__module__.rsplit(".", 1)[-1]
    candidates = [TESTS / f"test_{module}.py", TESTS / f"test_{module}_protocol.py"]
    found = [p for p in candidates if p.exists()]
    assert found, f"no protocol test for {name}: expected one of {[p.name for p in candidates]}"
    if cls.protocol_status.split()[0] in WIRE_STATUSES:
        assert any("ExpectedProtocol" in p.read_text(encoding="utf-8") and "assert_done" in
                   p.read_text(encoding="utf-8") for p in found)
