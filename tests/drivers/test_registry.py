"""Finding drivers by name: built-in, and third-party through the `xcal.drivers` entry points."""

from __future__ import annotations

from importlib import metadata

import pytest

from xcal.drivers import registry
from xcal.drivers.generic.declarative import DeclarativeDriver
from xcal.errors import ConfigError


def fake_entry_points(*points: tuple[str, str]):
    def entry_points(group: str) -> list[metadata.EntryPoint]:
        assert group == "xcal.drivers"
        return [metadata.EntryPoint(name=name, value=value, group=group) for name, value in points]

    return entry_points


def test_the_declarative_driver_is_built_in() -> None:
    cls = registry.get_driver_class("declarative")
    assert cls is DeclarativeDriver
    assert cls.capabilities == ("KvpMeter",)
    assert cls.protocol_status == "DECLARATIVE (command map supplied by the user)"
    assert "declarative" in registry.driver_names()


def test_an_unknown_name_lists_the_known_ones(monkeypatch) -> None:
    monkeypatch.setattr(registry.metadata, "entry_points", fake_entry_points())
    with pytest.raises(ConfigError, match="no instrument driver is called 'unidos'") as caught:
        registry.get_driver_class("unidos")
    assert "declarative" in caught.value.fix
    assert caught.value.exit_code == 2


def test_a_third_party_driver_is_found_by_its_entry_point(monkeypatch) -> None:
    monkeypatch.setattr(registry.metadata, "entry_points", fake_entry_points(
        ("acme-meter", "xcal.drivers.generic.declarative:DeclarativeDriver"),
        ("declarative", "json:JSONDecoder")))
    assert registry.driver_names() == sorted(["acme-meter", *registry.BUILTIN])
    assert registry.get_driver_class("acme-meter") is DeclarativeDriver
    assert registry.get_driver_class("declarative") is DeclarativeDriver


def test_a_broken_third_party_driver(monkeypatch) -> None:
    monkeypatch.setattr(registry.metadata, "entry_points", fake_entry_points(
        ("broken", "xcal_no_such_module_here:Meter"), ("not-a-driver", "json:JSONDecoder")))
    with pytest.raises(ConfigError, match="'broken' .* could not be loaded: ModuleNotFoundError"):
        registry.get_driver_class("broken")
    with pytest.raises(ConfigError, match="is not a driver class"):
        registry.get_driver_class("not-a-driver")
