"""The YAML loader: text that YAML or Python cannot take becomes one error with file, line and fix, never a
traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from xcal.errors import ConfigError
from xcal.procedures.loader import LIBRARY, load_inputs, load_procedure
from xcal.site import load_site
from xcal.yamlfile import MAX_DEPTH, load_yaml, parse_yaml


def _line_of(text: str, needle: str) -> int:
    """1-based line of the first `needle` in `text`."""
    assert needle in text
    return text[:text.index(needle)].count("\n") + 1


def test_a_date_that_does_not_exist_is_refused_at_its_line(site_copy):
    path = site_copy({"due: 2099-12-31": "due: 2026-02-30"})
    with pytest.raises(ConfigError) as err:
        load_site(path)
    text = path.read_text(encoding="utf-8")
    assert err.value.line == _line_of(text, "due: 2026-02-30")
    assert err.value.column == len("      due: ") + 1
    assert "'2026-02-30' is not a real date" in err.value.message and "YYYY-MM-DD" in err.value.fix


@pytest.mark.parametrize("loader", [load_site, load_procedure, load_inputs])
def test_a_file_of_nul_bytes_is_refused_by_every_loader(tmp_path, loader):
    path = tmp_path / "zeros.yaml"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(ConfigError) as err:
        loader(path)
    assert (err.value.file, err.value.line, err.value.column) == (str(path), 1, 1)
    assert "NUL byte" in err.value.message and "plain text" in err.value.fix


def test_a_control_character_is_placed_at_its_line_and_column():
    # Line 3 is "  a: 1\x07 mm": six characters before the BEL, so it sits in column 7.
    with pytest.raises(ConfigError) as err:
        parse_yaml("kind: inputs\nvalues:\n  a: 1\x07 mm\n", "f.yaml")
    assert (err.value.line, err.value.column) == (3, 7) and "U+0007" in err.value.message


def test_thousands_of_nested_brackets_are_refused_not_a_recursion_error():
    with pytest.raises(ConfigError) as err:
        parse_yaml("[" * 5000, "deep.yaml")
    # The first bracket past the limit opens column MAX_DEPTH + 1 of line 1.
    assert (err.value.line, err.value.column) == (1, MAX_DEPTH + 1)
    assert f"nested more than {MAX_DEPTH} deep" in err.value.message


def test_nesting_within_the_limit_still_loads():
    data = parse_yaml("[" * 50 + "1" + "]" * 50, "f.yaml")
    for _ in range(49):
        (data,) = data
    assert data == [1]


def test_an_alias_bomb_is_refused_quickly(tmp_path):
    # Nine levels of ten aliases each expand to 10**9 values.
    lines = ["kind: inputs", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines + ["values: {}"]) + "\n", encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(ConfigError) as err:
        load_yaml(path)
    assert time.monotonic() - started < 15
    assert err.value.file == str(path) and "expands to more than" in err.value.message


def test_an_alias_to_its_own_container_is_refused():
    with pytest.raises(ConfigError) as err:
        parse_yaml("a: &a [1, *a]\n", "f.yaml")
    assert err.value.line == 1 and "contains it" in err.value.message


def test_a_key_beside_a_merge_overrides_the_merged_one():
    data = parse_yaml("base: &x {seed: 3, y: 1}\nroom:\n  <<: *x\n  seed: 5\n", "f.yaml")
    assert data["room"] == {"seed": 5, "y": 1}
    assert data["room"].key_mark("seed").line == 4 and data["room"].value_mark("y").line == 1


def test_of_merged_mappings_the_first_listed_wins():
    data = parse_yaml("a: &a {k: 1}\nb: &b {k: 2, j: 3}\nc: {<<: [*a, *b]}\n", "f.yaml")
    assert data["c"] == {"k": 1, "j": 3}


def test_a_merge_of_a_mapping_with_its_own_override_keeps_that_override():
    # e overrides b's z with 5; f merges e, so f.z is 5 too (not b's 2)
    data = parse_yaml("b: &b {x: 1, z: 2}\ne: &e {<<: *b, z: 5}\nf: {<<: *e}\ng: {<<: *e, z: 7}\n", "f.yaml")
    assert data["f"] == {"x": 1, "z": 5} and data["g"] == {"x": 1, "z": 7}


def test_a_merge_of_something_else_than_a_mapping_is_refused():
    with pytest.raises(ConfigError) as err:
        parse_yaml("a: &a [1, 2]\nb:\n  <<: *a\n", "f.yaml")
    assert "a merge (<<:) takes a mapping" in err.value.message


def test_a_key_written_twice_beside_a_merge_is_still_refused():
    with pytest.raises(ConfigError) as err:
        parse_yaml("base: &x {seed: 3}\nroom:\n  <<: *x\n  seed: 5\n  seed: 6\n", "f.yaml")
    assert err.value.line == 5 and "key 'seed' appears twice" in err.value.message


def test_a_merge_in_a_site_file_overrides_a_room_setting(site_copy):
    room13 = ("    simulation:\n      generator: high-frequency\n      ripple: 2 %\n      filtration: 2.0 mm\n"
              "      seed: 13\n")
    room14 = ("    simulation:\n      generator: high-frequency\n      ripple: 2 %\n      filtration: 2.0 mm\n"
              "      seed: 14\n      faults:\n        missing_filtration: 1.2 mm\n")
    site = load_site(site_copy({room13: room13.replace("simulation:", "simulation: &dental-sim"),
                                room14: "    simulation:\n      <<: *dental-sim\n      seed: 99\n"}))
    # Room 14 takes room 13's block with its own seed and, like room 13, no faults.
    assert site.room(14).simulation == {"generator": "high-frequency", "ripple_percent": 2.0,
                                        "total_filtration_mm_al": 2.0, "seed": 99, "faults": {}}
    assert site.room(13).simulation["seed"] == 13


@pytest.mark.parametrize("written", ["on", "yes", "off", "No"])
def test_a_yaml_boolean_key_is_reported_as_written(site_copy, written):
    with pytest.raises(ConfigError) as err:
        load_site(site_copy({"kind: site\n": f"kind: site\n{written}: 1\n"}))
    assert err.value.message.endswith(f"unknown key '{written}' in a site") and err.value.line == 2


def test_a_latin1_file_is_refused_with_the_place_of_the_first_bad_byte(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("kind: procedure\nid: x\nnote: café\n".encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        load_procedure(path)
    # "note: caf" is nine characters, so the é (byte 0xe9) is in column 10 of line 3.
    assert (err.value.line, err.value.column) == (3, 10)
    assert "not UTF-8" in err.value.message and "0xe9" in err.value.message and "UTF-8" in err.value.fix


@pytest.mark.parametrize("command", [("validate", "{f}"), ("run", "{f}", "--room", "3"), ("show", "{f}")])
@pytest.mark.parametrize("content", [b"\x00" * 64, b"[" * 5000])
def test_cli_refuses_unreadable_yaml_with_exit_2_and_no_traceback(xcal, tmp_path, command, content):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    result = xcal(*(c.format(f=path) for c in command))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and str(path) in result.stderr


@pytest.mark.parametrize("command", [("run", "{f}", "--room", "3"), ("show", "{f}")])
def test_cli_refuses_a_latin1_procedure_in_run_and_show(xcal, tmp_path, command):
    source = (LIBRARY / "kvp-accuracy.yaml").read_text(encoding="utf-8")
    path = tmp_path / "latin.yaml"
    path.write_bytes(source.replace("title:", "note: café\ntitle:", 1).encode("latin-1"))
    result = xcal(*(c.format(f=path) for c in command))
    assert result.returncode == 2 and "Traceback" not in result.stderr and "not UTF-8" in result.stderr


def test_the_c_loader_reads_the_same_located_data_as_the_checked_python_loader():
    import yaml

    from xcal.yamlfile import _fast_loader, _parse_checked, parse_yaml

    text = (Path(__file__).resolve().parents[1] / "xcal" / "demo" / "site.yaml").read_text(encoding="utf-8")
    if getattr(yaml, "CSafeLoader", None) is None:
        pytest.skip("PyYAML was built without libyaml here")
    loader = _fast_loader(text)
    assert isinstance(loader, yaml.CSafeLoader)
    loader.dispose()
    fast, checked = parse_yaml(text, "site.yaml"), _parse_checked(text, "site.yaml")
    assert fast == checked
    rooms_fast, rooms_checked = fast["rooms"], checked["rooms"]
    assert [rooms_fast.item_mark(i) for i in range(len(rooms_fast))] == \
        [rooms_checked.item_mark(i) for i in range(len(rooms_checked))]


@pytest.mark.parametrize("text", ["a: " + "[" * 120 + "]" * 120, "\n".join(" " * i + f"k{i}:" for i in range(120))])
def test_text_that_may_nest_deep_goes_to_the_python_loader_which_checks_the_depth(text):
    from xcal.yamlfile import _fast_loader

    assert _fast_loader(text) is None


def test_a_file_larger_than_the_bound_is_refused_before_it_is_parsed(tmp_path):
    from xcal.yamlfile import MAX_FILE_BYTES

    path = tmp_path / "site.yaml"
    line = "# " + "x" * 1000 + "\n"
    path.write_text("kind: site\n" + line * (MAX_FILE_BYTES // len(line) + 1), encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(ConfigError) as err:
        load_yaml(path)
    assert time.monotonic() - started < 2
    assert err.value.file == str(path)
    assert f"more than xcal reads ({MAX_FILE_BYTES // 1_000_000} MB)" in err.value.message
    assert "alias" not in str(err.value)


def test_a_list_longer_than_the_bound_is_refused_at_its_line():
    from xcal.yamlfile import MAX_LIST_ITEMS

    text = "kind: site\nrooms: [" + ", ".join(["1"] * (MAX_LIST_ITEMS + 1)) + "]\n"
    with pytest.raises(ConfigError) as err:
        parse_yaml(text, "f.yaml")
    assert (err.value.line, err.value.column) == (2, 8)
    assert f"more than {MAX_LIST_ITEMS} items" in err.value.message and "alias" not in str(err.value)


def test_a_file_of_too_many_values_without_aliases_does_not_blame_aliases(monkeypatch):
    import xcal.yamlfile

    monkeypatch.setattr(xcal.yamlfile, "MAX_NODES", 1000)         # the same rule, at a size that parses quickly
    text = "".join(f"r{i}: [" + ", ".join(["1"] * 100) + "]\n" for i in range(11))
    with pytest.raises(ConfigError) as err:
        parse_yaml(text, "f.yaml")
    assert "more than 1000 values" in err.value.message and "alias" not in str(err.value)
    assert err.value.line == 10


@pytest.mark.parametrize("written", ['"\\uD800"', '"kvp-\\uDC00-1"', '"\\uDE00\\uD83D"'])
def test_a_lone_surrogate_is_refused_at_its_line(written):
    text = f"kind: site\nid: {written}\n"
    with pytest.raises(ConfigError) as err:
        parse_yaml(text, "f.yaml")
    assert (err.value.line, err.value.column) == (2, 5)
    assert "a lone UTF-16 surrogate" in err.value.message
    str(err.value).encode("utf-8")                          # the message itself can be printed


def test_a_lone_surrogate_in_a_key_is_refused_at_its_line():
    with pytest.raises(ConfigError) as err:
        parse_yaml('kind: site\n"\\uD800": 1\n', "f.yaml")
    assert err.value.line == 2 and "a lone UTF-16 surrogate" in err.value.message


def test_a_surrogate_pair_written_as_two_escapes_is_the_character_it_encodes():
    assert parse_yaml('id: "\\uD83D\\uDE00 room"\n', "f.yaml")["id"] == "\U0001F600 room"
