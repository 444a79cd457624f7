"""A limit whose unit does not fit the result of a check that uses it is reported where the mistake is: at the
limit set's tolerance when the other sets define the limit in a fitting unit, at the check when none does."""

from __future__ import annotations

import pytest

from xcal.errors import ConfigError
from xcal.limits.sets import load_library
from xcal.procedures.loader import find_procedure, library_paths, load_procedure

KG_SET = """\
kind: limit-set
id: acme-kg
title: ACME, a tolerance typed in the wrong unit
authority: manufacturer
source: ACME manual
limits:
  kvp-accuracy:
    tolerance: ±5 kg
    source: section 7.3
    verification: checked
"""


def _limits(extra=()):
    names = {}
    for limit_set in load_library(extra).values():
        for name, limit in limit_set.limits.items():
            names.setdefault(name, []).append(limit)
    return names


def test_a_limit_set_in_the_wrong_unit_is_reported_at_its_own_file_and_line(tmp_path):
    path = tmp_path / "acme-kg.yaml"
    path.write_text(KG_SET, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        find_procedure("kvp-accuracy", _limits([path]))
    e = err.value
    # `    tolerance: ±5 kg` is line 8; the value starts after 4 spaces and `tolerance: `, in column 16.
    assert (e.file, e.line, e.column) == (str(path), 8, 16)
    assert "limit 'kvp-accuracy' of limit set acme-kg is ±5 kg" in e.message
    assert "check 'kvp-accuracy' of <built-in>/procedures/kvp-accuracy.yaml:" in e.message
    assert "(a voltage)" in e.message
    assert "in a unit like kV or as a percentage" in e.fix


def test_a_check_naming_a_limit_of_another_kind_is_reported_at_the_check_naming_the_sets(tmp_path):
    source = library_paths()["kvp-accuracy"].read_text(encoding="utf-8")
    assert "limit: kvp-accuracy\n" in source
    proc = tmp_path / "proc.yaml"
    proc.write_text(source.replace("limit: kvp-accuracy\n", "limit: leakage\n"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_procedure(proc, known_limits=_limits())
    e = err.value
    line = next(i for i, row in enumerate(proc.read_text().splitlines(), 1) if "limit: leakage" in row)
    assert (e.file, e.line) == (str(proc), line)
    assert "does not fit the result 'kvp_mean' (a voltage)" in e.message
    # Each set that defines it is named with its file and line.
    assert "<built-in>/limits/" in e.message
