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
    # Tests mirror the package: xcal/drivers/instruments/ptw/unidos.py is tested in instruments/ptw/test_unidos.py.
    *folders, module = cls.__module__.removeprefix("xcal.drivers.").split(".")
    here = TESTS.joinpath(*folders)
    candidates = [here / f"test_{module}.py", here / f"test_{module}_protocol.py"]
    found = [p for p in candidates if p.exists()]
    assert found, f"no protocol test for {name}: expected one of {[str(p.relative_to(TESTS)) for p in candidates]}"
    if cls.protocol_status.split()[0] in WIRE_STATUSES:
        assert any("expected_protocol(" in p.read_text(encoding="utf-8") for p in found), (
            f"{name}'s protocol test must drive it through xcal.testing.expected_protocol")


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_wire_driver_has_an_evidence_table_and_names_its_unshown_commands(name):
    cls = get_driver_class(name)
    if cls.protocol_status.split()[0] not in ("PUBLIC", "PARTIAL"):
        assert getattr(cls, "evidence", None) is None
        return
    evidence = cls.evidence
    assert evidence is not None and evidence.commands, f"{name} has no evidence table"
    assert evidence.sources, f"{name}'s evidence table names no source"
    module_doc = importlib.import_module(cls.__module__).__doc__ + (cls.__doc__ or "")
    for command in evidence.unshown():
        assert command.text in module_doc and "unshown" in module_doc.lower(), (
            f"{name} sends {command.text!r}, which no source shows: its docstring must say so")


def test_the_evidence_page_is_the_drivers_own_tables():
    from xcal.drivers.evidence import rst_page, wire_driver_classes

    page = (TESTS.parents[1] / "docs" / "evidence.rst").read_text(encoding="utf-8")
    assert page == rst_page(wire_driver_classes()), "regenerate: python -m xcal.drivers.evidence > docs/evidence.rst"


def test_the_readme_driver_table_shows_each_drivers_evidence_level():
    import re

    from xcal.drivers.evidence import level_of_driver

    readme = (TESTS.parents[1] / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 6:
            for name in re.findall(r"`([a-z0-9-]+)`", cells[0]):
                rows[name] = cells[5]
    assert set(rows) == set(BUILTIN)
    assert {name: level for name, level in rows.items()} == {name: level_of_driver(get_driver_class(name))
                                                              for name in BUILTIN}
