"""Limit-set files: loading, citations, priority resolution and file errors."""

import textwrap

import pytest

from xcal.errors import ConfigError
from xcal.limits.sets import load_library, load_limit_set, resolve


@pytest.fixture(scope="module")
def library():
    return load_library()


def test_library_has_the_federal_and_the_example_manufacturer_set(library):
    assert {"cfr-1020", "example-dxr-manufacturer", "aapm-74"} <= set(library)
    assert library["example-dxr-manufacturer"].example is True
    assert "FICTIONAL" in library["example-dxr-manufacturer"].title
    assert library["cfr-1020"].example is False


def test_every_shipped_limit_cites_a_source_and_its_verification(library):
    for limit_set in library.values():
        for limit in limit_set.limits.values():
            assert limit.source.strip()
            assert limit.verification in ("checked", "quoted", "unverified", "fictional")
            if limit_set.example:
                assert "FICTIONAL" in limit.source


def test_cfr_sections_are_cited(library):
    cfr = library["cfr-1020"].limits
    assert cfr["output-reproducibility"].source.startswith("21 CFR 1020.31(b)")
    assert cfr["kvp-accuracy"].source.startswith("21 CFR 1020.31(a)(4)")
    assert cfr["output-reproducibility"].text == "≤ 0.05"


def test_first_set_in_priority_order_wins(library):
    limit = resolve("kvp-accuracy", ["example-dxr-manufacturer", "cfr-1020", "aapm-74"], library)
    assert limit.set_id == "example-dxr-manufacturer" and limit.text == "±max(5 %, 2 kV)"
    limit = resolve("kvp-accuracy", ["aapm-74", "example-dxr-manufacturer"], library)
    assert limit.set_id == "aapm-74" and limit.text == "±5 %"


def test_federal_deferral_passes_to_the_next_set(library):
    limit = resolve("kvp-accuracy", ["cfr-1020", "aapm-74"], library)
    assert limit.set_id == "aapm-74"


def test_federal_deferral_with_nothing_after_it_names_the_section(library):
    with pytest.raises(ConfigError, match=r"1020\.31\(a\)\(4\).*manufacturer"):
        resolve("kvp-accuracy", ["cfr-1020"], library, room="room 9")


def test_a_limit_no_room_set_defines_is_an_error_naming_sets_that_do(library):
    with pytest.raises(ConfigError) as err:
        resolve("kvp-reproducibility", ["cfr-1020"], library)
    assert "aapm-74" in str(err.value)


def _write(tmp_path, text):
    path = tmp_path / "set.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


GOOD = """\
    kind: limit-set
    id: site-x
    title: Site X
    authority: site
    source: Site X QA manual
    limits:
      kvp-accuracy:
        tolerance: ±4 %
        source: Site X QA manual 3.1
        verification: checked
    """


def test_a_site_set_loads(tmp_path):
    s = load_limit_set(_write(tmp_path, GOOD))
    assert s.limits["kvp-accuracy"].tolerance.percent == 4.0


def test_a_bad_tolerance_points_at_its_line(tmp_path):
    path = _write(tmp_path, GOOD.replace("±4 %", "about 4 %"))
    with pytest.raises(ConfigError) as err:
        load_limit_set(path)
    assert err.value.line == 8 and err.value.column == 16   # "    tolerance: " is 15 characters
    assert "±(5 % + 1 kV)" in err.value.fix


def test_a_limit_without_source_is_refused(tmp_path):
    path = _write(tmp_path, GOOD.replace("        source: Site X QA manual 3.1\n", ""))
    with pytest.raises(ConfigError, match="missing the key 'source'"):
        load_limit_set(path)


def test_a_limit_without_verification_is_refused_outside_example_sets(tmp_path):
    path = _write(tmp_path, GOOD.replace("        verification: checked\n", ""))
    with pytest.raises(ConfigError, match="verified"):
        load_limit_set(path)


def test_a_limit_may_name_the_least_number_of_exposures_its_rule_judges_on(tmp_path):
    s = load_limit_set(_write(tmp_path, GOOD.replace("        verification: checked\n",
                                                     "        verification: checked\n        minimum_exposures: 10\n")))
    limit = s.limits["kvp-accuracy"]
    assert limit.minimum_exposures == 10 and limit.snapshot()["minimum_exposures"] == 10
    assert load_limit_set(_write(tmp_path, GOOD)).limits["kvp-accuracy"].minimum_exposures is None
    for bad in ("0", "2.5", "ten", "true"):
        path = _write(tmp_path, GOOD.replace("        verification: checked\n",
                                             f"        verification: checked\n        minimum_exposures: {bad}\n"))
        with pytest.raises(ConfigError) as err:
            load_limit_set(path)
        assert "minimum_exposures" in err.value.message and err.value.line == 11
