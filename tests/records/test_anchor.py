"""Anchors: the chain head signed with the site key catches what the chain alone cannot (rewrites that recompute
every hash, a cut-off tail, another store), each with the entry named; and the site key is kept safely.

The store every tamper test starts from (`anchored`), entry by entry:
  1-6  run R1 (FAIL: check 85.0 kV)      7  anchor of 6        8  R1 performed by A. Tech (sealed at 7)
  9-14 run R2                            15 anchor of 14       16 correction of R2's reading 5 (exposure 2)
  17   anchor of 16                      18 R2 reviewed by B. Physicist (sealed at 17)
  19   anchor of 18: the inspector's anchor file
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from xcal.errors import RecordError
from xcal.records import anchor as anchors
from xcal.records.anchor import Anchor, anchor_store, read_anchor, site_key
from xcal.records.store import Store

from .factory import header, raw, reading


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Anchored:
    """A store of two anchored, signed runs (see the module's table), its key and the inspector's anchor."""

    db: Any
    store: Store
    key: anchors.SiteKey
    outside: Anchor


@pytest.fixture
def key() -> anchors.SiteKey:
    """The site key of XCAL_SITE_KEY (the test's own, tests/conftest.py), which `Store.sign` seals with too."""
    return site_key()


@pytest.fixture
def anchored(db, store, make_run, key) -> Anchored:
    make_run("R1", check_value=85.0, verdict="FAIL")
    anchor_store(store, key)
    store.sign("R1", "performed", "A. Tech")
    make_run("R2", values=(81.0, 80.5, 80.7))
    anchor_store(store, key)
    store.correct_reading("R2", 5, 80.0, "kV", "display misread", "B. Physicist")
    anchor_store(store, key)
    store.sign("R2", "reviewed", "B. Physicist")
    outside = anchor_store(store, key)
    assert [e.kind for e in store.entries()][6::] == ["anchor", "signature", "run_created", "reading", "reading",
                                                      "reading", "checks", "run_finished", "anchor", "correction",
                                                      "anchor", "signature", "anchor"]
    return Anchored(db, store, key, outside)


def _rechain(db, first: int = 1) -> None:
    """Recompute prev_hash and hash of every entry from `first` on, as someone holding the file would."""
    rows = raw(db, "SELECT seq, at, kind, run_id, payload FROM entries ORDER BY seq")
    prev = "0" * 64
    for seq, at, kind, run_id, payload in rows:
        digest = _sha(prev + kind + run_id + payload + at)
        if seq >= first:
            raw(db, "UPDATE entries SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, seq))
        prev = digest


def _edit_payload(db, seq: int, change: Callable[[dict], None], **columns: str) -> None:
    payload = json.loads(raw(db, "SELECT payload FROM entries WHERE seq = ?", (seq,))[0][0])
    change(payload)
    sets = ", ".join(["payload = ?"] + [f"{name} = ?" for name in columns])
    raw(db, f"UPDATE entries SET {sets} WHERE seq = ?",
        (json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False), *columns.values(), seq))


def _run_hash(db, run_id: str) -> str:
    digest = hashlib.sha256()
    for (h,) in raw(db, "SELECT hash FROM entries WHERE run_id = ? AND kind <> 'signature' ORDER BY seq", (run_id,)):
        digest.update(h.encode("ascii"))
    return digest.hexdigest()


# --- the 10 tamperings that leave hashes as they are (found before anchors existed) -------------------------

def _row_value(db, other_db):
    raw(db, "UPDATE readings SET value = 81.2 WHERE run_id = 'R2' AND exposure = 1")


def _row_deleted(db, other_db):
    raw(db, "DELETE FROM readings WHERE run_id = 'R1' AND exposure = 3")


def _entry_deleted(db, other_db):
    raw(db, "DELETE FROM entries WHERE seq = 10")


def _first_entry_deleted(db, other_db):
    raw(db, "DELETE FROM entries WHERE seq = 1")


def _payloads_swapped(db, other_db):
    raw(db, "UPDATE entries SET payload = CASE seq WHEN 2 THEN (SELECT payload FROM entries WHERE seq = 3) "
            "ELSE (SELECT payload FROM entries WHERE seq = 2) END WHERE seq IN (2, 3)")


def _seqs_swapped(db, other_db):
    raw(db, "UPDATE entries SET seq = 100 WHERE seq = 3")
    raw(db, "UPDATE entries SET seq = 3 WHERE seq = 4")
    raw(db, "UPDATE entries SET seq = 4 WHERE seq = 100")


def _snapshot_row(db, other_db):
    snapshot = json.loads(raw(db, "SELECT snapshot FROM runs WHERE run_id = 'R1'")[0][0])
    snapshot["limits"]["kvp-accuracy"]["tolerance"] = "±10 %"
    raw(db, "UPDATE runs SET snapshot = ? WHERE run_id = 'R1'", (json.dumps(snapshot),))


def _check_row(db, other_db):
    raw(db, "UPDATE checks SET verdict = 'PASS' WHERE run_id = 'R1'")


def _run_verdict_row(db, other_db):
    raw(db, "UPDATE runs SET verdict = 'PASS' WHERE run_id = 'R1'")


def _simulated_row(db, other_db):
    raw(db, "UPDATE runs SET simulated = 0 WHERE run_id = 'R1'")


# --- the 13 that recompute every hash after the edit, or cut the chain short, or swap the store --------------

def _reading_rechained(db, other_db):
    _edit_payload(db, 10, lambda p: p.update(value=80.0))
    raw(db, "UPDATE readings SET value = 80.0 WHERE run_id = 'R2' AND exposure = 1")
    _rechain(db, 10)


def _fail_made_pass(db, other_db):
    """The FAIL of R1 made PASS in its checks and finish entries and rows, the signature re-bound to the new hash."""
    _edit_payload(db, 5, lambda p: p["checks"][0].update(verdict="PASS"))
    _edit_payload(db, 6, lambda p: p.update(verdict="PASS"))
    raw(db, "UPDATE checks SET verdict = 'PASS' WHERE run_id = 'R1'")
    raw(db, "UPDATE runs SET verdict = 'PASS' WHERE run_id = 'R1'")
    _rechain(db, 5)
    _edit_payload(db, 8, lambda p: p.update(run_hash=_run_hash(db, "R1")))
    _rechain(db, 8)


def _readings_swapped_between_runs(db, other_db):
    _edit_payload(db, 2, lambda p: p.update(value=81.0))
    _edit_payload(db, 10, lambda p: p.update(value=80.4))
    raw(db, "UPDATE readings SET value = 81.0 WHERE run_id = 'R1' AND exposure = 1")
    raw(db, "UPDATE readings SET value = 80.4 WHERE run_id = 'R2' AND exposure = 1")
    _rechain(db, 2)


def _meaning_changed(db, other_db):
    _edit_payload(db, 8, lambda p: p.update(meaning="approved"))
    _rechain(db, 8)


def _signature_forged(db, other_db):
    """A signature added after the last anchor, with the seal of a real one copied into it."""
    seal = json.loads(raw(db, "SELECT payload FROM entries WHERE seq = 18")[0][0])
    seal.update(name="D. Impostor", meaning="approved", anchor={**seal["anchor"], "seq": 19})
    raw(db, "INSERT INTO entries (seq, at, kind, run_id, payload, prev_hash, hash) VALUES (20, ?, 'signature', "
            "'R2', ?, '', '')", ("2026-12-01T10:00:00.000+00:00", json.dumps(seal, sort_keys=True)))
    _rechain(db, 20)


def _signature_moved(db, other_db):
    """R1's signature made R2's: its run id and run hash changed."""
    _edit_payload(db, 8, lambda p: p.update(run_hash=_run_hash(db, "R2")), run_id="R2")
    _rechain(db, 8)


def _limit_snapshot_rechained(db, other_db):
    def loosen(payload: dict) -> None:
        payload["snapshot"]["limits"]["kvp-accuracy"]["tolerance"] = "±10 %"

    _edit_payload(db, 1, loosen)
    snapshot = json.loads(raw(db, "SELECT snapshot FROM runs WHERE run_id = 'R1'")[0][0])
    loosen({"snapshot": snapshot})
    raw(db, "UPDATE runs SET snapshot = ? WHERE run_id = 'R1'", (json.dumps(snapshot, sort_keys=True),))
    _rechain(db, 1)


def _reading_backdated(db, other_db):
    _edit_payload(db, 11, lambda p: p.update(taken_at="2026-11-20T09:02:00+00:00"),
                  at="2026-11-20T09:02:00.000+00:00")
    raw(db, "UPDATE readings SET taken_at = '2026-11-20T09:02:00+00:00' WHERE run_id = 'R2' AND exposure = 2")
    _rechain(db, 11)


def _correction_deleted(db, other_db):
    raw(db, "DELETE FROM entries WHERE seq = 16")
    for seq in range(17, 20):
        raw(db, "UPDATE entries SET seq = ? WHERE seq = ?", (seq - 1, seq))
    _rechain(db, 16)


def _tail_cut(db, other_db):
    raw(db, "DELETE FROM entries WHERE seq >= 16")


def _tail_cut_with_rows(db, other_db):
    """The whole of run R2 gone: its entries and its rows."""
    raw(db, "DELETE FROM entries WHERE seq >= 9")
    for table in ("readings", "checks", "runs"):
        raw(db, f"DELETE FROM {table} WHERE run_id = 'R2'")


def _tail_cut_and_refilled(db, other_db):
    """The correction and what follows cut off, and as many entries written again so the head number matches."""
    rows = raw(db, "SELECT seq, at, kind, run_id, payload FROM entries WHERE seq IN (15, 17) ORDER BY seq")
    raw(db, "DELETE FROM entries WHERE seq >= 16")
    for seq in range(16, 20):
        _, at, kind, run_id, payload = rows[seq % 2]
        raw(db, "INSERT INTO entries (seq, at, kind, run_id, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, '', '')",
            (seq, at, kind, run_id, payload))
    _rechain(db, 16)


def _store_swapped(db, other_db):
    """Not an edit: the inspector is handed another store of the same site (see `_verify`)."""


TAMPERINGS: dict[str, tuple[Callable[[Any, Any], None], int | None, str]] = {
    # name: (tampering, the entry verify must name, words the reason must hold)
    "reading row changed": (_row_value, 10, "stored value 81.2 differs from the recorded 81.0"),
    "reading row deleted": (_row_deleted, 4, "missing"),
    "entry deleted": (_entry_deleted, 10, "entry 10 is missing"),
    "first entry deleted": (_first_entry_deleted, 1, "the chain starts at entry 2"),
    "payloads swapped": (_payloads_swapped, 2, "hash does not match its content"),
    "seqs swapped": (_seqs_swapped, 3, "prev_hash does not match the hash of entry 2"),
    "snapshot row edited": (_snapshot_row, 1, "stored snapshot.limits.kvp-accuracy.tolerance '±10 %'"),
    "check verdict row edited": (_check_row, 5, "stored verdict 'PASS' differs from the recorded 'FAIL'"),
    "run verdict row edited": (_run_verdict_row, 6, "stored verdict 'PASS' differs from the recorded 'FAIL'"),
    "simulated flag row edited": (_simulated_row, 1, "stored simulated False"),
    "reading changed, rechained": (_reading_rechained, 9, "entry 9 (run R2 created) or a later entry up to entry 14 "
                                                          "was rewritten"),
    "FAIL made PASS, signature re-bound": (_fail_made_pass, 1, "entry 1 (run R1 created) or a later entry up to "
                                                               "entry 6 was rewritten"),
    "readings swapped between runs": (_readings_swapped_between_runs, 1, "up to entry 6 was rewritten"),
    "signature meaning changed": (_meaning_changed, 8, "entry 8 (approved signature of run R1 by A. Tech)"),
    "signature forged": (_signature_forged, 20, "entry 20 (approved signature of run R2 by D. Impostor): its "
                                                "site-key seal does not hold"),
    "signature moved": (_signature_moved, 8, "entry 8 (performed signature of run R2 by A. Tech)"),
    "limit snapshot edited, rechained": (_limit_snapshot_rechained, 1, "entry 1 (run R1 created) or a later entry"),
    "reading backdated": (_reading_backdated, 9, "up to entry 14 was rewritten"),
    "correction deleted": (_correction_deleted, 16, "entry 16 (anchor of entry 16 signed with the site key): it "
                                                    "vouches for entry 16, not the entry before it (15)"),
    "tail cut": (_tail_cut, 16, "entry 16 is missing: the anchor of"),
    "tail cut with its rows": (_tail_cut_with_rows, 9, "entry 9 is missing"),
    "tail cut and refilled": (_tail_cut_and_refilled, 16, "entry 16 (anchor of entry 14 signed with the site key): "
                                                          "it vouches for entry 14, not the entry before it (15)"),
    "store swapped": (_store_swapped, 3, "this is not the store the anchor was made for"),
}


def _verify(case: str, anchored: Anchored, other_db: Any, *, against_anchor: bool) -> Any:
    """Tamper as `case` says, then verify: with the site's public key and the inspector's anchor file, or as
    before anchors existed (the chain and the tables only, no key)."""
    tamper = TAMPERINGS[case][0]
    tamper(anchored.db, other_db)
    options = {"public": anchored.key.public, "anchor": anchored.outside} if against_anchor else {}
    if case != "store swapped":
        return anchored.store.verify(**options)
    with Store(other_db) as other:
        other.create_run(header("R9"))
        other.add_reading("R9", reading(1, 80.0))
        anchor_store(other, anchored.key)
        return other.verify(**options)


@pytest.mark.parametrize("case", list(TAMPERINGS))
def test_each_tampering_is_caught_against_the_anchor_with_its_entry_named(anchored, other_db, case):
    _, seq, words = TAMPERINGS[case]
    report = _verify(case, anchored, other_db, against_anchor=True)
    assert not report.ok and report.first_broken == seq, report.reason
    assert words in report.reason


def test_23_of_23_tamperings_are_caught_against_an_anchor(db, other_db, tmp_path, make_run, key, capsys):
    """The issue's count: before anchors 10 of 23 were caught, none of the 13 that recompute hashes. Also printed:
    how many the chain catches with the anchor entries it holds but no key and no anchor file."""
    caught = {True: 0, False: 0}
    for case in TAMPERINGS:
        for against_anchor in (True, False):
            db_path = tmp_path / f"{len(os.listdir(tmp_path))}.sqlite3" if not isinstance(db, str) else None
            if db_path is None:
                pytest.skip("counted on SQLite; the per-case test covers PostgreSQL")
            with Store(db_path) as store:
                runs = _Runs(store)
                made = _anchored_at(db_path, store, runs, key)
                report = _verify(case, made, tmp_path / f"other-{case}-{against_anchor}.sqlite3",
                                 against_anchor=against_anchor)
                caught[against_anchor] += not report.ok
    with capsys.disabled():
        print(f"\ntamperings caught: {caught[True]} of {len(TAMPERINGS)} against an anchor; "
              f"{caught[False]} of {len(TAMPERINGS)} by the chain alone")
    assert caught[True] == len(TAMPERINGS) == 23


class _Runs:
    """make_run for a store the test opens itself."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, run_id: str, values=(80.4, 79.9, 80.2), check_value=80.2, verdict="PASS") -> None:
        from .factory import check

        self.store.create_run(header(run_id))
        for n, v in enumerate(values, start=1):
            self.store.add_reading(run_id, reading(n, v))
        self.store.finish_run(run_id, verdict, checks=[check(check_value, verdict)])


def _anchored_at(db, store, make_run, key) -> Anchored:
    make_run("R1", check_value=85.0, verdict="FAIL")
    anchor_store(store, key)
    store.sign("R1", "performed", "A. Tech")
    make_run("R2", values=(81.0, 80.5, 80.7))
    anchor_store(store, key)
    store.correct_reading("R2", 5, 80.0, "kV", "display misread", "B. Physicist")
    anchor_store(store, key)
    store.sign("R2", "reviewed", "B. Physicist")
    return Anchored(db, store, key, anchor_store(store, key))


def test_an_untouched_anchored_store_verifies_against_its_anchor(anchored):
    report = anchored.store.verify(public=anchored.key.public, anchor=anchored.outside)
    assert report.ok and report.entries == 19, report.reason
    assert anchored.outside.seq == 18 and anchored.outside.head == list(anchored.store.entries())[17].hash


def test_an_anchor_is_refused_by_another_key_and_when_edited(anchored, tmp_path):
    other = site_key(tmp_path / "other.pem")
    assert anchored.outside.holds(anchored.key.public)
    assert not anchored.outside.holds(other.public)
    edited = Anchor(**{**anchored.outside.__dict__, "seq": 17})
    assert not edited.holds(anchored.key.public)


def test_an_anchor_file_round_trips_and_names_what_it_lacks(anchored, tmp_path):
    path = tmp_path / "anchor.json"
    path.write_text(anchored.outside.to_json())
    assert read_anchor(path) == anchored.outside
    assert set(json.loads(path.read_text())) == {"store_id", "seq", "head", "at", "key", "signature"}
    path.write_text('{"seq": 3}')
    with pytest.raises(RecordError, match="is not an xcal anchor: it needs store_id") as err:
        read_anchor(path)
    assert "xcal anchor --out FILE" in err.value.fix


def test_every_anchor_of_a_store_carries_its_first_id(anchored):
    ids = {json.loads(e.payload)["store_id"] for e in anchored.store.entries() if e.kind == "anchor"}
    assert ids == {anchored.outside.store_id} and anchors.store_id(anchored.store) == anchored.outside.store_id


def test_a_signature_records_and_seals_the_head_it_was_made_at(anchored):
    entries = list(anchored.store.entries())
    payload = json.loads(entries[7].payload)
    assert payload["anchor"] == {"seq": 7, "head": entries[6].hash, "store_id": anchored.outside.store_id}
    message = anchors.seal_message("R1", "performed", "A. Tech", payload["run_hash"], 7, entries[6].hash,
                                   anchored.outside.store_id)
    assert anchors.check_signature(anchored.key.public, message, payload["seal"])


def test_a_moved_signature_no_longer_holds_in_its_status(anchored):
    _signature_moved(anchored.db, None)
    [status] = [s for s in anchored.store.signatures("R2") if s.name == "A. Tech"]
    assert not status.valid


def test_since_anchor_checks_only_the_entries_after_the_last_anchor(anchored, make_run):
    make_run("R3")
    report = anchored.store.verify(public=anchored.key.public, since_anchor=True)
    assert report.ok and report.entries == 8, report.reason
    assert "since the anchor of entry 18" in report.reason


def test_since_anchor_catches_an_edit_after_the_anchor_and_a_rewritten_anchored_entry(anchored, make_run):
    make_run("R3")
    raw(anchored.db, "UPDATE readings SET value = 70.0 WHERE run_id = 'R3' AND exposure = 1")
    report = anchored.store.verify(public=anchored.key.public, since_anchor=True)
    assert report.first_broken == 21 and "stored value 70.0" in report.reason
    raw(anchored.db, "UPDATE readings SET value = 80.4 WHERE run_id = 'R3' AND exposure = 1")
    _edit_payload(anchored.db, 18, lambda p: p.update(name="D. Impostor"))
    _rechain(anchored.db, 18)
    report = anchored.store.verify(public=anchored.key.public, since_anchor=True)
    assert not report.ok and report.first_broken == 18


def test_since_anchor_needs_the_key(anchored):
    with pytest.raises(RecordError, match="needs the site's public key"):
        anchored.store.verify(since_anchor=True)


def test_the_site_key_is_made_once_private_to_its_owner(tmp_path, monkeypatch):
    monkeypatch.setenv("XCAL_SITE_KEY", str(tmp_path / "env" / "k.pem"))
    made = site_key()
    assert made.path == tmp_path / "env" / "k.pem"
    assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
    assert site_key().fingerprint == made.fingerprint
    assert anchors.public_key(made.path).public_bytes_raw() == made.public.public_bytes_raw()


def test_a_site_key_others_can_read_is_refused(tmp_path):
    made = site_key(tmp_path / "k.pem")
    os.chmod(made.path, 0o644)
    with pytest.raises(RecordError, match="can be read by other users") as err:
        site_key(made.path)
    assert err.value.fix == f"chmod 600 {made.path}"


def test_a_missing_key_is_not_made_when_only_checking(tmp_path):
    with pytest.raises(RecordError, match="there is no site key at") as err:
        site_key(tmp_path / "none.pem", create=False)
    assert "xcal anchor" in err.value.fix and not (tmp_path / "none.pem").exists()


def test_the_commands_anchor_export_the_key_and_verify_against_the_anchor(cli, tmp_path, _isolated_store):
    """`xcal run` anchors at its end; `xcal anchor` files an anchor and the public key; `verify --anchor` holds the
    store against them, and names the cut-off tail once entries are deleted."""
    db = _isolated_store
    assert cli("run", "kvp-accuracy", "--room", "3").returncode == 0
    kinds = raw(db, "SELECT kind FROM entries ORDER BY seq")
    assert kinds[-2:] == [("run_finished",), ("anchor",)]
    made = cli("anchor", "--out", str(tmp_path / "anchor.json"))
    assert made.returncode == 0 and "wrote" in made.stderr
    public = cli("anchor", "--public-key")
    assert public.returncode == 0 and public.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    (tmp_path / "site.pub").write_text(public.stdout)
    filed = json.loads((tmp_path / "anchor.json").read_text())
    assert filed["seq"] == len(kinds) and filed["key"].startswith("sha256:")
    check = ("verify", "--anchor", str(tmp_path / "anchor.json"), "--public-key", str(tmp_path / "site.pub"))
    assert cli(*check).returncode == 0
    since = cli("verify", "--since-anchor")
    assert since.returncode == 0 and f"since the anchor of entry {filed['seq']}" in since.stdout
    raw(db, "DELETE FROM entries WHERE seq >= ?", (filed["seq"],))
    broken = cli(*check, "--json")
    assert broken.returncode == 1
    report = json.loads(broken.stdout)
    assert report["first_broken"] == filed["seq"] and "its tail was cut off" in report["reason"]


def test_verify_refuses_an_edited_anchor_file_and_a_missing_key(cli, tmp_path, monkeypatch):
    assert cli("anchor", "--out", str(tmp_path / "anchor.json")).returncode == 0
    edited = json.loads((tmp_path / "anchor.json").read_text())
    edited["seq"] += 1
    (tmp_path / "anchor.json").write_text(json.dumps(edited))
    refused = cli("verify", "--anchor", str(tmp_path / "anchor.json"))
    assert refused.returncode == 2 and "does not hold" in refused.stderr and "Traceback" not in refused.stderr
    nokey = cli("verify", "--since-anchor", env={"XCAL_SITE_KEY": str(tmp_path / "none.pem")})
    assert nokey.returncode == 2 and "there is no site key at" in nokey.stderr and "--public-key FILE" in nokey.stderr


def test_a_store_checked_with_another_sites_key_names_the_key_that_signed(anchored, tmp_path):
    other = site_key(tmp_path / "other-site.pem")
    report = anchored.store.verify(public=other.public)
    assert not report.ok and report.first_broken == 7
    assert report.reason == (f"entry 7 (anchor of entry 6 signed with the site key): its signature does not hold "
                             f"for the site key {other.fingerprint} (it names key {anchored.key.fingerprint}: for "
                             f"a store of another site, give that site's --public-key FILE); the anchor was forged "
                             f"or edited")


def test_a_run_whose_anchor_cannot_be_made_is_done_with_a_warning(cli, tmp_path, _isolated_store):
    """The run is complete and stored, so it keeps its verdict's exit code; the anchor failure is a warning
    with its fix, on stderr and in the JSON, and `xcal anchor` makes the anchor once the key is put right."""
    key = site_key(tmp_path / "shared-key.pem")
    os.chmod(key.path, 0o644)
    done = cli("run", "kvp-accuracy", "--room", "3", "--json", env={"XCAL_SITE_KEY": str(key.path)})
    assert done.returncode == 0 and "Traceback" not in done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "PASS" and result["status"] == "complete"
    [warning] = result["warnings"]
    assert warning["message"].startswith(f"run {result['run_id']} is complete and recorded in ")
    assert "its anchor could not be made" in warning["message"] and "can be read by other users" in warning["message"]
    assert warning["fix"] == f"chmod 600 {key.path}; then run `xcal anchor`, which anchors every entry so far, " \
                             f"this run's included"
    assert f"warning: {warning['message']}\n  fix: {warning['fix']}" in done.stderr
    assert raw(_isolated_store, "SELECT kind, run_id FROM entries ORDER BY seq DESC LIMIT 1") == \
        [("run_finished", result["run_id"])]
    os.chmod(key.path, 0o600)
    assert cli("anchor", env={"XCAL_SITE_KEY": str(key.path)}).returncode == 0
    assert raw(_isolated_store, "SELECT kind FROM entries ORDER BY seq DESC LIMIT 1") == [("anchor",)]
