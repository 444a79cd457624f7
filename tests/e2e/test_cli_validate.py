"""`xcal validate`: the shipped files pass; each kind of mistake is one error with file:line:column, exit 2."""

import re

import pytest

from xcal.procedures.loader import library_paths

pytestmark = pytest.mark.e2e

PROC = library_paths()["kvp-accuracy"].read_text(encoding="utf-8")
LOCATION = re.compile(r"^error: (?P<file>\S+?):(?P<line>\d+):(?P<col>\d+): ")


def _check(xcal, tmp_path, text, name="bad.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = xcal("validate", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    m = LOCATION.match(lines[0])
    assert m, result.stderr
    assert m["file"] == str(path)
    assert lines[1].startswith("  fix: ")
    assert "Traceback" not in result.stderr
    return lines[0], int(m["line"]), int(m["col"])


def test_everything_shipped_is_valid(xcal):
    result = xcal("validate")
    assert result.returncode == 0, result.stderr
    for what in ("limit set   cfr-1020", "limit set   example-dxr-manufacturer", "site ",
                 "procedure   kvp-accuracy", "command map example-xr1"):
        assert what in result.stdout


def test_a_good_copy_of_a_procedure_validates(xcal, tmp_path):
    path = tmp_path / "kvp.yaml"
    path.write_text(PROC, encoding="utf-8")
    result = xcal("validate", str(path))
    assert result.returncode == 0 and "ok  procedure   kvp-accuracy" in result.stdout


def test_yaml_syntax_error(xcal, tmp_path):
    text = PROC.replace("  repeats: 3\n", "  repeats: 3\n  sid: [100 cm\n", 1)
    message, line, _ = _check(xcal, tmp_path, text)
    assert "YAML syntax error" in message


def test_unknown_key(xcal, tmp_path):
    text = PROC.replace("instruments:", "instrumnets:", 1)
    message, line, col = _check(xcal, tmp_path, text)
    assert "unknown key 'instrumnets'" in message
    assert line == PROC.splitlines().index("instruments:") + 1 and col == 1


def test_a_current_where_a_voltage_is_meant(xcal, tmp_path):
    text = PROC.replace("{kv: 80 kV, ma: 200 mA", "{kv: 80 mA, ma: 200 mA", 1)
    message, line, col = _check(xcal, tmp_path, text)
    assert "'80 mA' is a current, but a voltage is needed" in message
    expected_line = next(i for i, row in enumerate(text.splitlines(), 1) if "{kv: 80 mA" in row)
    assert line == expected_line and col == text.splitlines()[line - 1].index("80 mA") + 1


def test_a_limit_name_no_set_defines(xcal, tmp_path):
    text = PROC.replace("limit: kvp-accuracy", "limit: kvp-acuracy", 1)
    message, line, _ = _check(xcal, tmp_path, text)
    assert "no limit set defines the limit 'kvp-acuracy'" in message
    assert "limit: kvp-acuracy" in text.splitlines()[line - 1]


def test_an_unknown_capability(xcal, tmp_path):
    text = PROC.replace("kvp_meter: KvpMeter", "kvp_meter: KvpMetre", 1)
    message, line, _ = _check(xcal, tmp_path, text)
    assert "unknown capability 'KvpMetre'" in message


def test_a_limit_set_with_a_bad_tolerance(xcal, tmp_path):
    text = ("kind: limit-set\nid: s\ntitle: S\nauthority: site\nsource: QA manual\nlimits:\n"
            "  kvp-accuracy:\n    tolerance: within 5 percent\n    source: QA manual 1\n"
            "    verification: checked\n")
    message, line, col = _check(xcal, tmp_path, text)
    assert (line, col) == (8, 16) and "cannot read the tolerance" in message


def test_a_site_file_with_an_unknown_key(xcal, tmp_path):
    from xcal.site import DEMO_SITE

    text = DEMO_SITE.read_text(encoding="utf-8").replace("    limit_sets: [", "    limit_set: [", 1)
    message, line, _ = _check(xcal, tmp_path, text, "site.yaml")
    assert "unknown key 'limit_set'" in message
    assert "limit_set:" in text.splitlines()[line - 1]


def test_a_file_that_does_not_say_what_it_is(xcal, tmp_path):
    message, line, col = _check(xcal, tmp_path, "id: x\ntitle: y\n")
    assert "kind" in message and (line, col) == (1, 1)
