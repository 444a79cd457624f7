"""A procedure or bundle file parsed once is reused while its bytes stay the same, and parsed again after any edit."""

import os

import pytest

from xcal.errors import ConfigError
from xcal.procedures.loader import load_bundle, load_procedure

PROCEDURE = """\
kind: procedure
id: kv-cache
version: 0.1.0
title: kV cache A
instruments:
  kvp_meter: KvpMeter
parameters:
  stations:
    - {kv: 80 kV, ma: 200 mA, time: 100 ms}
steps:
  - expose:
      read:
        kvp_meter: [kvp_ppv]
results:
  kvp_mean:
    function: mean
    of: kvp_ppv
checks:
  - id: kvp
    result: kvp_mean
    nominal: kv
    limit: no-such-limit
"""


def _rewrite_keeping_size_and_time(path, text):
    """Write `text` (as long as the old text) and set the file's times back, as an edit within one clock tick."""
    before = os.stat(path)
    assert len(text.encode()) == before.st_size
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_an_unchanged_file_is_not_parsed_again_and_an_edited_one_is(tmp_path):
    path = tmp_path / "kv.yaml"
    path.write_text(PROCEDURE, encoding="utf-8")
    first = load_procedure(path)
    assert load_procedure(path) is first and first.title == "kV cache A"
    _rewrite_keeping_size_and_time(path, PROCEDURE.replace("kV cache A", "kV cache B"))
    edited = load_procedure(path)
    assert edited.title == "kV cache B" and edited is not first
    path.write_text(PROCEDURE.replace("title: kV cache A", "title: [not closed"), encoding="utf-8")
    with pytest.raises(ConfigError):
        load_procedure(path)


def test_known_limits_are_always_checked_even_for_a_file_parsed_before(tmp_path):
    path = tmp_path / "kv.yaml"
    path.write_text(PROCEDURE, encoding="utf-8")
    load_procedure(path)                                     # parsed without limits: the limit is not looked up
    with pytest.raises(ConfigError, match="no limit set defines the limit 'no-such-limit'"):
        load_procedure(path, known_limits={})


def test_a_bundle_file_is_reused_until_it_changes(tmp_path):
    text = ("kind: bundle\nid: pair\nversion: 0.1.0\ntitle: Pair A\n"
            "procedures: [kvp-accuracy, output-reproducibility]\n")
    path = tmp_path / "pair.yaml"
    path.write_text(text, encoding="utf-8")
    first = load_bundle(path)
    assert load_bundle(path) is first
    _rewrite_keeping_size_and_time(path, text.replace("Pair A", "Pair B"))
    assert load_bundle(path).title == "Pair B"
