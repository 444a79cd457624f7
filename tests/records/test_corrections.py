"""Corrections are new entries naming the old reading; the original value stays where it was recorded."""

from __future__ import annotations

import json

import pytest

from xcal.errors import RecordError
from xcal.records.store import StoredReading

from .factory import raw


def test_a_correction_is_an_entry_and_the_reading_row_is_untouched(db, store, make_run):
    make_run("R1")
    before = raw(db, "SELECT * FROM readings ORDER BY reading_id")
    correction_id = store.correct_reading("R1", 2, 80.0, "kV", "display misread", "A. Physicist")
    assert correction_id == 7
    assert raw(db, "SELECT * FROM readings ORDER BY reading_id") == before
    entry = list(store.entries("R1"))[-1]
    assert (entry.seq, entry.kind) == (7, "correction")
    assert json.loads(entry.payload) == {"reading_id": 2, "reading_seq": 3, "original_value": 79.9,
                                         "original_unit": "kV", "new_value": 80.0, "unit": "kV",
                                         "reason": "display misread", "person": "A. Physicist", "supersedes": None}
    assert store.verify().ok


def test_get_run_shows_the_correction_beside_the_original(store, make_run):
    make_run("R1")
    first = store.correct_reading("R1", 2, 80.0, "kV", "display misread", "A. Physicist")
    second = store.correct_reading("R1", 2, 80.1, "kV", "second look at the printout", "B. Reviewer")
    run = store.get_run("R1")
    assert [r.value for r in run.readings] == [80.4, 79.9, 80.2]
    assert [r.reading_id for r in run.readings] == [1, 2, 3]
    assert run.readings[0].corrected is None and run.readings[2].corrected is None
    latest = run.readings[1].corrected
    assert (latest.correction_id, latest.new_value, latest.person, latest.supersedes) == \
        (second, 80.1, "B. Reviewer", first)
    assert latest.original_value == 79.9 and latest.reading_seq == 3 and latest.at
    assert [(c.correction_id, c.new_value) for c in run.corrections] == [(first, 80.0), (second, 80.1)]


def test_a_correction_does_not_rejudge_the_run(store, make_run):
    make_run("R1", check_value=85.0, verdict="FAIL")
    store.correct_reading("R1", 3, 80.2, "kV", "transcription", "A. Physicist")
    run = store.get_run("R1")
    assert run.verdict == "FAIL" and run.checks[0].verdict == "FAIL" and run.checks[0].value == 85.0


@pytest.mark.parametrize("reason, person, needs", [("", "A. Physicist", "a reason"),
                                                   ("  ", "A. Physicist", "a reason"),
                                                   ("misread", "", "the person"),
                                                   ("misread", " \t", "the person")])
def test_a_correction_needs_a_reason_and_a_person(db, store, make_run, reason, person, needs):
    make_run("R1")
    with pytest.raises(RecordError, match=f"a correction needs {needs}") as err:
        store.correct_reading("R1", 1, 80.0, "kV", reason, person)
    assert err.value.fix
    assert raw(db, "SELECT COUNT(*) FROM entries")[0][0] == 6


@pytest.mark.parametrize("value, unit", [(float("nan"), "kV"), (float("inf"), "kV"), ("80", "kV"), (80.0, "")])
def test_a_correction_needs_a_finite_value_and_a_unit(store, make_run, value, unit):
    make_run("R1")
    with pytest.raises(RecordError):
        store.correct_reading("R1", 1, value, unit, "misread", "A. Physicist")


def test_only_a_reading_of_that_run_can_be_corrected(store, make_run):
    make_run("R1")
    make_run("R2")
    with pytest.raises(RecordError, match="run R1 has no reading 4"):
        store.correct_reading("R1", 4, 80.0, "kV", "misread", "A. Physicist")
    with pytest.raises(RecordError, match="no reading 99"):
        store.correct_reading("R2", 99, 80.0, "kV", "misread", "A. Physicist")


def test_a_waveform_is_not_corrected_as_one_value(store, make_run):
    make_run("R1", finish=False)
    store.add_reading("R1", StoredReading(exposure=1, station=1, repeat=1, role="kvp_meter", instrument_id="kvp-1",
                                          quantity="waveform", value=None, unit="kV", taken_at="t",
                                          data={"interval": 0.1, "interval_unit": "ms", "samples": [80.0, 80.5]}))
    with pytest.raises(RecordError, match="is a waveform"):
        store.correct_reading("R1", 4, 80.0, "kV", "misread", "A. Physicist")


def test_a_tampered_correction_is_found(db, store, make_run):
    make_run("R1")
    store.correct_reading("R1", 2, 80.0, "kV", "display misread", "A. Physicist")
    raw(db, "UPDATE entries SET payload = replace(payload, 'A. Physicist', 'Someone Else') WHERE seq = 7")
    report = store.verify()
    assert report.first_broken == 7 and "hash does not match" in report.reason


def test_the_run_listing_carries_each_runs_corrections(store, make_run):
    make_run("R1")
    make_run("R2")
    store.correct_reading("R1", 2, 80.0, "kV", "display misread", "A. Physicist")
    listed = {run.run_id: run.corrections for run in store.list_runs()}
    assert [(c.reading_id, c.new_value, c.person) for c in listed["R1"]] == [(2, 80.0, "A. Physicist")]
    assert listed["R2"] == []
