"""Evidence tables: a command's level is its strongest source's, a driver's is its weakest command's."""

from __future__ import annotations

import pytest

from xcal.drivers.evidence import Command, Evidence, Source, level_of_driver

SOURCES = {"client": Source("a client tested on the meter", "hardware-client", "x"),
           "manual": Source("the vendor's manual", "vendor", "y"),
           "blog": Source("someone's notes", "third-party", "z")}


def test_levels_follow_the_strongest_source_of_a_command_and_the_weakest_command():
    table = Evidence(SOURCES, (Command("A", ("blog", "client")), Command("B", ("manual",)), Command("C", ("blog",))))
    assert [table.level_of(c) for c in table.commands] == ["HARDWARE-TESTED", "VENDOR-DOCUMENTED", "THIRD-PARTY"]
    assert table.level == "THIRD-PARTY"
    with_unshown = Evidence(SOURCES, (Command("A", ("client",)), Command("Z")))
    assert with_unshown.level == "UNSHOWN"
    assert with_unshown.unshown() == (Command("Z"),)


def test_commands_are_found_with_their_parameters_and_without_the_line_end():
    table = Evidence(SOURCES, (Command("RGE", ("client",)), Command("RGE;{range}", ("client",)),
                               Command("<SETDATETIME{time}>>", ("manual",))))
    assert table.find("RGE\r\n").text == "RGE"
    assert table.find("RGE;MEDIUM").text == "RGE;{range}"
    assert table.find(b"<SETDATETIME\x1a\x0c\x05\x12\x00\x00>>").text == "<SETDATETIME{time}>>"
    assert table.find("RGEX") is None and table.find("RGE;") is None


def test_a_source_key_must_exist_and_a_kind_must_be_known():
    with pytest.raises(ValueError, match="unknown source"):
        Evidence(SOURCES, (Command("A", ("nowhere",)),))
    with pytest.raises(ValueError, match="kind"):
        Source("rumour", "hearsay", "")


def test_drivers_without_a_wire_protocol_have_no_level():
    class Typed:
        pass

    assert level_of_driver(Typed) == "—"


def test_control_bytes_of_a_command_are_shown_as_escapes():
    table = Evidence(SOURCES, (Command("\x03\n", ("manual",)),))
    assert table.rows()[0][0] == "\\x03\\n"
