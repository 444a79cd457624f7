"""Sign-offs bind name, time and meaning to the run's hash; later changes or tampering make them not hold."""

from __future__ import annotations

import hashlib
import json

import pytest

from xcal.errors import RecordError

from .factory import header, raw


def _run_hash_by_hand(db, run_id: str) -> str:
    """sha256 over the run's entry hashes (sha256(prev + kind + run + payload + at)), signatures left out."""
    digest = hashlib.sha256()
    for at, kind, run, payload, prev in raw(db, "SELECT at, kind, run_id, payload, prev_hash FROM entries "
                                                "WHERE run_id = ? AND kind <> 'signature' ORDER BY seq", (run_id,)):
        digest.update(hashlib.sha256((prev + kind + run + payload + at).encode()).hexdigest().encode())
    return digest.hexdigest()


def test_a_signature_binds_name_meaning_and_time_to_the_run_hash(db, store, make_run):
    make_run("R1")
    make_run("R2")
    signed = store.sign("R1", "performed", "  A. Tech ")
    assert (signed.run_id, signed.meaning, signed.name, signed.seq) == ("R1", "performed", "A. Tech", 13)
    assert signed.run_hash == _run_hash_by_hand(db, "R1")
    assert signed.at.endswith("+00:00")
    [status] = store.signatures("R1")
    assert (status.name, status.meaning, status.at, status.run_hash, status.valid) == \
        ("A. Tech", "performed", signed.at, signed.run_hash, True)
    assert store.verify().ok


def test_several_signatures_on_the_same_content_all_hold(store, make_run):
    make_run("R1")
    for meaning, name in (("performed", "A. Tech"), ("reviewed", "B. Physicist"), ("approved", "C. Chief")):
        store.sign("R1", meaning, name)
    statuses = store.signatures("R1")
    assert [(s.meaning, s.valid) for s in statuses] == [("performed", True), ("reviewed", True), ("approved", True)]
    assert len({s.run_hash for s in statuses}) == 1


def test_a_later_correction_voids_earlier_signatures_only(store, make_run):
    make_run("R1")
    make_run("R2")
    store.sign("R1", "performed", "A. Tech")
    store.sign("R2", "performed", "A. Tech")
    correction = store.correct_reading("R1", 2, 80.0, "kV", "display misread", "B. Physicist")
    store.sign("R1", "reviewed", "B. Physicist")
    before, after = store.signatures("R1")
    assert not before.valid and after.valid
    assert before.reason.startswith(f"the run changed after signing: entry {correction} (correction of reading 2")
    assert [s.valid for s in store.signatures("R2")] == [True]


def test_a_tampered_run_voids_its_signatures(db, store, make_run):
    make_run("R1")
    store.sign("R1", "approved", "C. Chief")
    raw(db, "UPDATE readings SET value = 81.0 WHERE exposure = 1")
    [status] = store.signatures("R1")
    assert not status.valid
    assert "stored value 81.0 differs from the recorded 80.4" in status.reason


def test_an_edited_signature_does_not_hold(db, store, make_run):
    make_run("R1")
    store.sign("R1", "reviewed", "B. Physicist")
    raw(db, "UPDATE entries SET payload = replace(payload, 'B. Physicist', 'D. Impostor') WHERE kind = 'signature'")
    [status] = store.signatures("R1")
    assert status.name == "D. Impostor" and not status.valid and "edited" in status.reason


def test_an_edited_entry_of_the_run_voids_the_signature(db, store, make_run):
    make_run("R1")
    store.sign("R1", "performed", "A. Tech")
    raw(db, "UPDATE entries SET at = '2020-01-01T00:00:00.000+00:00' WHERE seq = 2")
    [status] = store.signatures("R1")
    assert not status.valid and status.reason == "the run's entries were altered after signing"


@pytest.mark.parametrize("meaning, name, message", [("witnessed", "A. Tech", "not a signature meaning"),
                                                    ("Performed", "A. Tech", "not a signature meaning"),
                                                    ("performed", "  ", "needs the signer's name")])
def test_meaning_and_name_are_checked(db, store, make_run, meaning, name, message):
    make_run("R1")
    with pytest.raises(RecordError, match=message) as err:
        store.sign("R1", meaning, name)
    assert "performed, reviewed, approved" in err.value.fix or "name" in err.value.fix
    assert raw(db, "SELECT COUNT(*) FROM entries")[0][0] == 6


def test_a_running_unknown_or_tampered_run_is_not_signed(db, store, make_run):
    store.create_run(header("R0"))
    with pytest.raises(RecordError, match="still running"):
        store.sign("R0", "performed", "A. Tech")
    with pytest.raises(RecordError, match="no run 'nope'"):
        store.sign("nope", "performed", "A. Tech")
    with pytest.raises(RecordError, match="no run 'nope'"):
        store.signatures("nope")
    make_run("R1")
    raw(db, "UPDATE checks SET verdict = 'FAIL'")
    with pytest.raises(RecordError, match="does not verify"):
        store.sign("R1", "performed", "A. Tech")


def test_a_signature_records_the_head_it_was_made_at_sealed_by_the_site_key(db, store, make_run):
    from xcal.records.anchor import check_signature, seal_message, site_key

    make_run("R1")
    signed = store.sign("R1", "performed", "A. Tech")
    payload = json.loads(raw(db, "SELECT payload FROM entries WHERE seq = 7")[0][0])
    head = raw(db, "SELECT hash FROM entries WHERE seq = 6")[0][0]
    assert payload["anchor"] == {"seq": 6, "head": head, "store_id": ""}
    assert check_signature(site_key().public, seal_message("R1", "performed", "A. Tech", signed.run_hash, 6, head, ""),
                           payload["seal"])


def test_an_unsealed_signature_after_anchoring_is_named(db, store, make_run):
    from xcal.records.anchor import anchor_store, site_key

    make_run("R1")
    anchor_store(store, site_key())
    at, prev = "2026-12-01T10:00:00.000+00:00", raw(db, "SELECT hash FROM entries WHERE seq = 7")[0][0]
    payload = json.dumps({"meaning": "approved", "name": "D. Impostor", "run_hash": _run_hash_by_hand(db, "R1")},
                         sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256((prev + "signature" + "R1" + payload + at).encode()).hexdigest()
    raw(db, "INSERT INTO entries (seq, at, kind, run_id, payload, prev_hash, hash) VALUES (8, ?, 'signature', 'R1', ?,"
            " ?, ?)", (at, payload, prev, digest))
    report = store.verify()
    assert report.first_broken == 8
    assert report.reason.startswith("entry 8 (approved signature of run R1 by D. Impostor): it carries no site-key "
                                    "seal, yet the store was anchored before it")
