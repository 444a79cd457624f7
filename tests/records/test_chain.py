"""The audit chain: every write is an entry, the hashes link as specified, and `verify` names the first tampering.

Tampering is done on the database directly, outside the Store, as someone with the file (or the database's
password) would do it; every test taking `db` runs on SQLite and on PostgreSQL (conftest.py).
Entry numbers: make_run writes run_created (1), readings 80.4/79.9/80.2 kV (2-4), checks (5), run_finished (6);
a second run continues at 7.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from xcal.errors import RecordError

from .factory import header, raw, reading


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_every_write_is_an_entry_in_order(store, make_run):
    make_run("R1")
    store.create_run(header("R2"))
    store.add_reading("R2", reading(1, 81.0))
    store.mark_incomplete("R2", "kvp-1 did not answer")
    kinds = [(e.seq, e.kind, e.run_id) for e in store.entries()]
    assert kinds == [(1, "run_created", "R1"), (2, "reading", "R1"), (3, "reading", "R1"), (4, "reading", "R1"),
                     (5, "checks", "R1"), (6, "run_finished", "R1"), (7, "run_created", "R2"),
                     (8, "reading", "R2"), (9, "run_incomplete", "R2")]
    assert json.loads(list(store.entries("R2"))[-1].payload)["status_note"] == "kvp-1 did not answer"


def test_hashes_follow_the_formula_from_64_zeros(db, store, make_run):
    make_run("R1")
    rows = raw(db, "SELECT seq, at, kind, run_id, payload, prev_hash, hash FROM entries ORDER BY seq")
    assert rows[0][5] == "0" * 64
    prev = "0" * 64
    for _seq, at, kind, run_id, payload, prev_hash, digest in rows:
        assert prev_hash == prev
        assert digest == _sha(prev_hash + kind + run_id + payload + at)
        prev = digest


def test_payloads_are_canonical_and_keep_every_float_bit(db, store):
    store.create_run(header("R1"))
    store.add_reading("R1", reading(1, 0.1 + 0.2))
    payload = raw(db, "SELECT payload FROM entries WHERE kind = 'reading'")[0][0]
    assert '"value":0.30000000000000004' in payload
    assert json.loads(payload)["value"] == 0.1 + 0.2
    decoded = json.loads(payload)
    assert payload == json.dumps(decoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert list(decoded) == sorted(decoded)


def test_a_refused_write_leaves_neither_row_nor_entry(db, store):
    store.create_run(header("R1"))
    store.add_reading("R1", reading(1, 80.4))
    with pytest.raises(RecordError):
        store.add_reading("R1", reading(1, 81.0))
    with pytest.raises(RecordError, match="not a finite number"):
        store.add_reading("R1", reading(2, float("nan")))
    with pytest.raises(RecordError, match="no run 'nope'"):
        store.finish_run("nope", "PASS")
    assert raw(db, "SELECT COUNT(*) FROM entries")[0][0] == 2
    assert raw(db, "SELECT COUNT(*) FROM readings")[0][0] == 1
    assert store.verify().ok


def test_an_untouched_store_verifies(store, make_run):
    make_run("R1")
    make_run("R2", room="4")
    report = store.verify()
    assert report.ok and report.entries == 12 and report.first_broken is None
    assert report.head == list(store.entries())[-1].hash


def test_an_empty_store_verifies(store):
    report = store.verify()
    assert report.ok and report.entries == 0 and report.head == "0" * 64


def test_a_changed_reading_value_names_its_entry(db, store, make_run):
    make_run("R1")
    make_run("R2")
    raw(db, "UPDATE readings SET value = 81.2 WHERE run_id = 'R2' AND exposure = 1")
    report = store.verify()
    assert not report.ok and report.first_broken == 8
    assert report.reason == ("entry 8 (reading of run R2, exposure 1 kvp_ppv): "
                             "stored value 81.2 differs from the recorded 80.4")


def test_a_deleted_reading_row_names_its_entry(db, store, make_run):
    make_run("R1")
    raw(db, "DELETE FROM readings WHERE exposure = 3")
    report = store.verify()
    assert report.first_broken == 4
    assert "entry 4 (reading of run R1, exposure 3 kvp_ppv)" in report.reason and "missing" in report.reason


def test_a_deleted_entry_is_named_as_missing(db, store, make_run):
    make_run("R1")
    make_run("R2")
    raw(db, "DELETE FROM entries WHERE seq = 9")
    report = store.verify()
    assert not report.ok and report.first_broken == 9 and report.entries == 11
    assert report.reason.startswith("entry 9 is missing: the chain goes from entry 8 to entry 10")


def test_deleting_the_first_entry_is_found(db, store, make_run):
    make_run("R1")
    raw(db, "DELETE FROM entries WHERE seq = 1")
    report = store.verify()
    assert report.first_broken == 1 and "the chain starts at entry 2" in report.reason


def test_swapped_payloads_break_the_first_of_the_two(db, store, make_run):
    make_run("R1")
    raw(db, "UPDATE entries SET payload = CASE seq WHEN 2 THEN (SELECT payload FROM entries WHERE seq = 3) "
            "ELSE (SELECT payload FROM entries WHERE seq = 2) END WHERE seq IN (2, 3)")
    report = store.verify()
    assert report.first_broken == 2 and "hash does not match its content" in report.reason


def test_swapped_seqs_break_the_link(db, store, make_run):
    make_run("R1")
    raw(db, "UPDATE entries SET seq = 100 WHERE seq = 3")
    raw(db, "UPDATE entries SET seq = 3 WHERE seq = 4")
    raw(db, "UPDATE entries SET seq = 4 WHERE seq = 100")
    report = store.verify()
    assert report.first_broken == 3 and "prev_hash does not match the hash of entry 2" in report.reason


def test_an_entry_rewritten_with_a_fresh_hash_still_shows(db, store, make_run):
    """Editing an entry and recomputing its hash moves the break, but the row and the next link still tell."""
    make_run("R1")
    seq, at, kind, run_id, payload, prev = raw(db, "SELECT seq, at, kind, run_id, payload, prev_hash "
                                                   "FROM entries WHERE seq = 3")[0]
    forged = payload.replace('"value":79.9', '"value":80.0')
    raw(db, "UPDATE entries SET payload = ?, hash = ? WHERE seq = 3",
        (forged, _sha(prev + kind + run_id + forged + at)))
    report = store.verify()
    assert report.first_broken == 3
    assert report.reason.endswith("stored value 79.9 differs from the recorded 80.0")


@pytest.mark.parametrize("field, edited", [("source", "made up"), ("tolerance", "±10 %")])
def test_an_edited_snapshot_limit_names_the_run_created_entry(db, store, make_run, field, edited):
    make_run("R1")
    snapshot = json.loads(raw(db, "SELECT snapshot FROM runs")[0][0])
    original = snapshot["limits"]["kvp-accuracy"][field]
    snapshot["limits"]["kvp-accuracy"][field] = edited
    raw(db, "UPDATE runs SET snapshot = ?", (json.dumps(snapshot),))
    report = store.verify()
    assert report.first_broken == 1
    assert report.reason == (f"entry 1 (run R1 created): stored snapshot.limits.kvp-accuracy.{field} "
                             f"'{edited}' differs from the recorded '{original}'")


def test_an_edited_check_verdict_names_the_checks_entry(db, store, make_run):
    make_run("R1", check_value=85.0, verdict="FAIL")
    raw(db, "UPDATE checks SET verdict = 'PASS'")
    report = store.verify()
    assert report.first_broken == 5
    assert report.reason == ("entry 5 (checks of run R1, check kvp at 1: 80 kV 200 mA 100 ms): "
                             "stored verdict 'PASS' differs from the recorded 'FAIL'")


def test_an_edited_run_verdict_names_the_finish_entry(db, store, make_run):
    make_run("R1", check_value=85.0, verdict="FAIL")
    raw(db, "UPDATE runs SET verdict = 'PASS'")
    report = store.verify()
    assert report.first_broken == 6 and "stored verdict 'PASS' differs from the recorded 'FAIL'" in report.reason


def test_a_simulated_run_cannot_be_passed_off_as_real(db, store, make_run):
    make_run("R1")
    raw(db, "UPDATE runs SET simulated = 0")
    report = store.verify()
    assert report.first_broken == 1 and "stored simulated False differs from the recorded True" in report.reason


def test_the_lowest_broken_entry_is_reported(db, store, make_run):
    make_run("R1", check_value=85.0, verdict="FAIL")
    raw(db, "UPDATE checks SET verdict = 'PASS'")
    raw(db, "UPDATE readings SET value = 80.0 WHERE exposure = 2")
    assert store.verify().first_broken == 3


def test_a_row_without_an_entry_is_found(db, store, make_run):
    make_run("R1")
    raw(db, "INSERT INTO readings (run_id, exposure, station, repeat, role, instrument_id, quantity, value, unit,"
            " taken_at) VALUES ('R1', 4, 1, 4, 'kvp_meter', 'kvp-1', 'kvp_ppv', 80.1, 'kV', 't')")
    report = store.verify()
    assert not report.ok and report.first_broken is None
    assert report.reason == "readings row 4 of run R1 has no entry in the audit chain"


def test_a_truncated_tail_shows_through_the_status_it_set(db, store, make_run):
    make_run("R1")
    raw(db, "DELETE FROM entries WHERE seq = 6")
    report = store.verify()
    assert report.first_broken == 1
    assert "stored status 'complete' differs from the recorded 'running'" in report.reason


def test_select_only_reads(store):
    with pytest.raises(RecordError, match="only reads"):
        list(store.select("DELETE FROM entries"))


@pytest.mark.parametrize("forged", ['{"checks":[1]}', "[]", "not json"])
def test_a_nonsense_payload_is_reported_not_raised(db, store, make_run, forged):
    make_run("R1")
    seq, at, kind, run_id, prev = raw(db, "SELECT seq, at, kind, run_id, prev_hash FROM entries WHERE seq = 5")[0]
    raw(db, "UPDATE entries SET payload = ?, hash = ? WHERE seq = 5",
        (forged, _sha(prev + kind + run_id + forged + at)))
    report = store.verify()
    assert not report.ok and report.first_broken == 5
    assert report.reason.startswith("entry 5 (checks of run R1")


@pytest.mark.parametrize("page", [1, 5, 6, 12, 13])
def test_the_whole_chain_is_read_page_by_page_without_loss(db, store, make_run, page):
    """12 entries read `page` at a time: every entry once, in order, also past a gap left by a deleted entry."""
    make_run("R1")
    make_run("R2")
    assert [e.seq for e in store.entries(page=page)] == list(range(1, 13))
    raw(db, "DELETE FROM entries WHERE seq = 6")
    assert [e.seq for e in store.entries(page=page)] == [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12]


def test_a_rewrite_with_fresh_hashes_is_caught_by_the_anchor_after_it(db, store, make_run):
    """Anchors in the chain hold heads no one can re-sign: a rewrite before one shows, named from the last holder."""
    from xcal.records.anchor import anchor_store, site_key

    key = site_key()
    make_run("R1")
    anchor_store(store, key)
    make_run("R2")
    anchor_store(store, key)
    rows = raw(db, "SELECT seq, at, kind, run_id, payload FROM entries ORDER BY seq")
    prev = "0" * 64
    for seq, at, kind, run_id, payload in rows:
        if seq == 10:
            payload = payload.replace('"value":79.9', '"value":80.0')
            raw(db, "UPDATE entries SET payload = ? WHERE seq = 10", (payload,))
            raw(db, "UPDATE readings SET value = 80.0 WHERE run_id = 'R2' AND exposure = 2")
        digest = _sha(prev + kind + run_id + payload + at)
        raw(db, "UPDATE entries SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, seq))
        prev = digest
    assert store.verify().first_broken == 8
    report = store.verify(public=key.public)
    assert not report.ok and report.first_broken == 8
    assert report.reason.startswith("entry 8 (run R2 created) or a later entry up to entry 13 was rewritten after "
                                    "it was anchored: entry 13 now hashes to")


def test_the_rows_are_checked_by_worker_processes_with_the_same_findings(db, store, make_run, monkeypatch):
    """A large SQLite store's rows are compared by two workers while the chain is walked; they find what one does."""
    from xcal.records import verify

    for n in range(1, 6):
        make_run(f"R{n}")
    raw(db, "UPDATE readings SET value = 81.2 WHERE run_id = 'R4' AND exposure = 1")
    alone = store.verify()
    monkeypatch.setattr(verify, "PARALLEL_RUNS", 2)
    started = []
    real = verify._share_out
    monkeypatch.setattr(verify, "_share_out", lambda *a: started.append(real(*a)) or started[-1])
    shared = store.verify()
    assert started[0] is not None or store.backend != "sqlite"
    assert (shared.first_broken, shared.reason) == (alone.first_broken, alone.reason) == \
        (20, "entry 20 (reading of run R4, exposure 1 kvp_ppv): stored value 81.2 differs from the recorded 80.4")


def test_rows_equal_to_their_entries_as_text_are_not_parsed_and_a_check_moved_to_another_room_is_found(
        db, store, make_run, monkeypatch):
    """Readings and checks whose rows write out their entries' text exactly are matched without parsing (only
    run_created and run_finished are); the check rows' room, not part of that text, is still held to the run's."""
    from xcal.records.chain import Entry

    make_run("R1")
    parsed = []
    real = Entry.data
    monkeypatch.setattr(Entry, "data", lambda self: parsed.append(self.kind) or real(self))
    assert store.verify().ok
    assert sorted(parsed) == ["run_created", "run_finished"]
    raw(db, "UPDATE checks SET room_id = '9' WHERE run_id = 'R1'")
    report = store.verify()
    assert (report.first_broken, report.reason) == (
        5, "entry 5 (checks of run R1, check kvp at 1: 80 kV 200 mA 100 ms): stored room_id '9' differs from the "
           "recorded '3'")
