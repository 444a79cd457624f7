"""The template language of command maps: one template, one parser and one formatter that agree."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xcal.drivers.generic.commandmap import CommandMap, load_command_map
from xcal.drivers.generic.template import Placeholder, Template, TemplateError, parse_template


def templates_of(cmap: CommandMap) -> list[tuple[str, Template, dict[str, str]]]:
    found = []
    for command in cmap.commands.values():
        found.append((f"{command.name}.send", command.send, dict(command.formats)))
        if command.reply is not None:
            found.append((f"{command.name}.reply", command.reply, dict(command.formats)))
    assert cmap.errors is not None
    found.append(("errors.reply", cmap.errors.reply, {}))
    return found


def _shipped() -> list[tuple[str, Template, dict[str, str]]]:
    from importlib import resources

    return templates_of(load_command_map(str(resources.files("xcal.demo") / "instruments" /
                                             "example-xr1.yaml")))


SHIPPED = _shipped()
FINITE = st.floats(allow_nan=False, allow_infinity=False)


def value_for(slot: Placeholder) -> st.SearchStrategy:
    """Any value the slot can carry."""
    banned = "\r\n" + slot.stop
    if slot.type == "number":
        return FINITE
    if slot.type == "list":
        return st.lists(FINITE, max_size=12)
    if slot.type == "int":
        return st.integers(-10**9, 10**9)
    if slot.type == "word":
        return st.text(st.characters(exclude_characters=banned), min_size=1).filter(
            lambda t: re.fullmatch(r"\S+", t) is not None)
    if slot.type == "text":
        return st.text(st.characters(exclude_characters=banned))
    return st.sampled_from(slot.choices)


def expected_after_parse(slot: Placeholder, value: object, spec: str | None) -> object:
    """What parsing the rendered value must give: numbers as rounded by their format."""
    if slot.type == "number":
        return float(format(value, spec or ".6g"))
    if slot.type == "list":
        return [float(format(v, spec or ".6g")) for v in value]  # type: ignore[attr-defined]
    return value


@pytest.mark.parametrize("where,template,formats", SHIPPED, ids=[s[0] for s in SHIPPED])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_format_then_parse_round_trips(where: str, template: Template, formats: dict[str, str],
                                       data: st.DataObject) -> None:
    values = {slot.name: data.draw(value_for(slot), label=slot.name) for slot in template.placeholders}
    text = template.format(values, formats)
    parsed = template.parse(text)
    assert parsed == {slot.name: expected_after_parse(slot, values[slot.name], formats.get(slot.name))
                      for slot in template.placeholders}
    assert template.format(parsed, formats) == text


def test_the_shipped_read_reply_parses_the_hand_written_line() -> None:
    read = parse_template("KVP {kvp_max:number} KVAVG {kvp_avg:number} PPV {kvp_ppv:number} "
                          "T {exposure_time:number} D {air_kerma:number}")
    assert read.parse("KVP 81.20 KVAVG 79.90 PPV 80.40 T 100.20 D 812.345") == {
        "kvp_max": 81.2, "kvp_avg": 79.9, "kvp_ppv": 80.4, "exposure_time": 100.2, "air_kerma": 812.345}
    assert read.parse("KVP 81.20 KVAVG 79.90 PPV 80.40 T 100.20 D 812.345 ") is None
    assert read.parse("KVP -1.5e-3 KVAVG +2 PPV .5 T 7. D 1E3") == {
        "kvp_max": -0.0015, "kvp_avg": 2.0, "kvp_ppv": 0.5, "exposure_time": 7.0, "air_kerma": 1000.0}


def test_types_match_only_their_own_text() -> None:
    t = parse_template("{n:int};{w:word};{s:ARMED|IDLE};{l:list};{t:text}")
    assert t.parse("-12;ab-c;IDLE;1,2.5,-3e2;any thing; at all") == {
        "n": -12, "w": "ab-c", "s": "IDLE", "l": [1.0, 2.5, -300.0], "t": "any thing; at all"}
    assert t.parse("1.5;a;IDLE;1;x") is None
    assert t.parse("1;a b;IDLE;1;x") is None
    assert t.parse("1;a;BUSY;1;x") is None
    assert t.parse("1;a;IDLE;1,,2;x") is None
    assert t.parse("1;a;IDLE;;x")["l"] == []


def test_text_stops_at_the_next_literal() -> None:
    t = parse_template("{a:text},{b:text}")
    assert t.parse("x y,z") == {"a": "x y", "b": "z"}
    assert t.parse("x,y,z") == {"a": "x", "b": "y,z"}
    with pytest.raises(ValueError, match="may not hold ','"):
        t.format({"a": "x,y", "b": "z"})


@pytest.mark.parametrize("source", [
    "{0.__class__}", "{x.__class__.__init__}", "{x!r}", "{x:number!r}", "{__import__('os')}",
    "{}", "{x}", "{x:}", "{x:float}", "{{x:int}}", "x}", "{x:int", "{x:int}{y:int}",
    "{x:int}{x:int}", "{x:A|A}", "{x:A|}", "{x:int},{x:text}", "{x:int}5", "{x:number}.5",
    "{x:list},", "{1x:int}",
])
def test_anything_but_the_template_language_is_refused(source: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template(source)
    assert 0 <= caught.value.offset < len(source)


def test_the_error_offset_points_at_the_bad_brace() -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template("KVP {kvp:number} X {0.__class__}")
    assert caught.value.offset == len("KVP {kvp:number} X ")


@pytest.mark.parametrize("values,message", [
    ({"n": True, "x": 1.0}, "whole number"),
    ({"n": 1.5, "x": 1.0}, "whole number"),
    ({"n": 1, "x": float("nan")}, "cannot carry"),
    ({"n": 1, "x": float("inf")}, "cannot carry"),
    ({"n": 1, "x": "1.0"}, "needs a number"),
    ({"n": 1}, "no value for {x}"),
])
def test_the_formatter_refuses_values_that_would_not_parse_back(values: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_template("SET {n:int} {x:number}").format(values)


def test_numbers_out_of_float_range_are_refused_when_parsed() -> None:
    with pytest.raises(ValueError, match="cannot carry"):
        parse_template("V {x:number}").parse("V 1e999")
