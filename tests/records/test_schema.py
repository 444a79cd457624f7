"""Schema versions: each upgrade is one numbered, recorded step, and a chain is never rebuilt behind anyone's back.

A store is built at every past version from that version's own CREATE statements (kept here as fixtures,
never derived from today's schema) and upgraded to the current one. Version-1 stores were only ever SQLite.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

import xcal
from xcal.errors import RecordError
from xcal.records import schema
from xcal.records.backend import display_location
from xcal.records.store import Store

from .factory import header, raw, reading

_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (run_id TEXT PRIMARY KEY, procedure_id TEXT NOT NULL, procedure_version TEXT NOT NULL,
    procedure_sha256 TEXT NOT NULL, procedure_title TEXT NOT NULL, site TEXT NOT NULL, room_id TEXT NOT NULL,
    room_name TEXT NOT NULL, operator TEXT NOT NULL, simulated INTEGER NOT NULL, status TEXT NOT NULL,
    verdict TEXT, started_at TEXT NOT NULL, finished_at TEXT, software_version TEXT NOT NULL, status_note TEXT,
    snapshot TEXT NOT NULL);
CREATE INDEX runs_room ON runs (room_id, started_at);
CREATE TABLE readings (reading_id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL REFERENCES runs (run_id),
    exposure INTEGER NOT NULL, station INTEGER NOT NULL, repeat INTEGER NOT NULL, role TEXT NOT NULL,
    instrument_id TEXT NOT NULL, quantity TEXT NOT NULL, value DOUBLE PRECISION, unit TEXT NOT NULL, data TEXT,
    taken_at TEXT NOT NULL, UNIQUE (run_id, exposure, role, quantity));
CREATE TABLE checks (check_row INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL REFERENCES runs (run_id),
    check_id TEXT NOT NULL, title TEXT NOT NULL, station INTEGER, setting TEXT, value DOUBLE PRECISION,
    nominal DOUBLE PRECISION, unit TEXT NOT NULL, deviation DOUBLE PRECISION, allowed DOUBLE PRECISION,
    limit_name TEXT NOT NULL, limit_text TEXT NOT NULL, limit_set TEXT NOT NULL, source TEXT NOT NULL,
    verdict TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO runs VALUES ('OLD', 'kvp-accuracy', '1.0.0', 'ab', 'kVp', 'Site', '3', 'Rad 3', 'tech', 1, 'complete',
    'PASS', '2025-01-02T09:00:00+00:00', '2025-01-02T09:10:00+00:00', '0.0.9', NULL, '{"limits": {}}');
INSERT INTO readings (run_id, exposure, station, repeat, role, instrument_id, quantity, value, unit, taken_at)
    VALUES ('OLD', 1, 1, 1, 'kvp_meter', 'kvp-1', 'kvp_ppv', 80.4, 'kV', 't1'),
           ('OLD', 2, 1, 2, 'kvp_meter', 'kvp-1', 'kvp_ppv', 79.9, 'kV', 't2');
INSERT INTO checks (run_id, check_id, title, station, setting, value, nominal, unit, deviation, allowed, limit_name,
    limit_text, limit_set, source, verdict)
    VALUES ('OLD', 'kvp', 'kVp', 1, '1: 80 kV', 80.15, 80.0, 'kV', 0.15, 4.0, 'kvp', '±5 %', 'aapm', 'AAPM', 'PASS');
"""

FIXTURES = {1: _V1}
PAST_VERSIONS = list(range(1, schema.SCHEMA_VERSION))



def _old_store(tmp_path, version: int):
    """A SQLite store at `version`: the newest fixture at or below it, brought up by the registry's own steps."""
    base = max(v for v in FIXTURES if v <= version)
    path = tmp_path / f"v{version}.sqlite3"
    con = sqlite3.connect(path)
    con.executescript(FIXTURES[base])
    con.close()
    if version > base:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(schema, "SCHEMA_VERSION", version)
            Store(path, upgrade_by="Fixture Builder").close()
    assert _version(path) == str(version)
    return path


def _version(db) -> str:
    return raw(db, "SELECT value FROM meta WHERE key = 'schema_version'")[0][0]


def _tables(db) -> set[str]:
    if isinstance(db, str):
        return {r[0] for r in raw(db, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
    return {r[0] for r in raw(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def _upgrades(store: Store) -> list[dict]:
    return [json.loads(e.payload) for e in store.entries() if e.kind == "schema_upgraded"]


def test_the_registry_has_one_step_per_past_version():
    assert sorted(schema.UPGRADES) == PAST_VERSIONS
    assert all(step.version == v for v, step in schema.UPGRADES.items())
    assert sorted(schema.TABLES_AT) == PAST_VERSIONS + [schema.SCHEMA_VERSION]


# The hole: a chain table dropped (or emptied) and the version set back made the next open adopt the edited rows.

def test_a_dropped_chain_table_is_refused_not_rebuilt(db, store, make_run):
    make_run("R1")
    raw(db, "DROP TABLE entries")
    raw(db, "UPDATE readings SET value = 99.9 WHERE exposure = 2")
    with pytest.raises(RecordError) as refused:
        Store(db)
    assert "no audit chain (table entries)" in refused.value.message
    assert "restore the store from a backup" in refused.value.fix
    assert "entries" not in _tables(db)


@pytest.mark.parametrize("damage", ["DROP TABLE entries", "DELETE FROM entries"])
def test_a_lost_chain_with_its_version_set_back_is_never_adopted(db, store, make_run, cli, damage):
    make_run("R1")
    raw(db, damage)
    raw(db, "UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    raw(db, "UPDATE readings SET value = 99.9 WHERE exposure = 2")
    verify = cli("--db", str(db), "verify")
    assert verify.returncode == 2, verify.stdout + verify.stderr
    assert verify.stderr.startswith("error: the record store ") and "Traceback" not in verify.stderr
    assert "ok:" not in verify.stdout
    with pytest.raises(RecordError, match="version 1"):
        Store(db)
    with pytest.raises(RecordError) as upgrade:
        Store(db, upgrade_by="M. Allory")
    assert "is not a version-1 store" in upgrade.value.message
    assert _version(db) == "1"


def test_an_emptied_chain_is_a_verify_failure(db, store, make_run):
    make_run("R1")
    raw(db, "DELETE FROM entries")
    with Store(db) as reopened:
        report = reopened.verify()
    assert not report.ok and report.reason == "run R1 has a runs row but no entry in the audit chain"


# Upgrades

def test_a_version_1_store_is_refused_until_a_person_upgrades_it(tmp_path, cli):
    path = _old_store(tmp_path, 1)
    history = cli("--db", str(path), "history")
    assert history.returncode == 2 and "Traceback" not in history.stderr
    assert f"the record store {path} is at schema version 1" in history.stderr
    assert f"xcal --db {path} upgrade-store --name" in history.stderr
    assert _version(path) == "1" and "entries" not in _tables(path)

    done = cli("--db", str(path), "upgrade-store", "--name", "M. Allory")
    assert done.returncode == 0, done.stderr
    assert f"upgraded {path} from schema version 1 to {schema.SCHEMA_VERSION}" in done.stdout
    with Store(path) as store:
        assert [(e.seq, e.kind, e.run_id) for e in store.entries()][:2] == [(1, "adopted", "OLD"),
                                                                           (2, "schema_upgraded", "")]
        assert _upgrades(store)[0] == {"from": 1, "to": 2, "by": "M. Allory", "xcal": xcal_version(),
                                       "what": schema.UPGRADES[1].summary, "runs_adopted": 1}
        assert store.verify().ok
        run = store.get_run("OLD")
        assert [r.value for r in run.readings] == [80.4, 79.9] and run.checks[0].verdict == "PASS"
        store.create_run(header("NEW"))
    assert raw(path, "SELECT room_id FROM checks") == [("3",)]
    raw(path, "UPDATE readings SET value = 80.5 WHERE exposure = 2")
    with Store(path) as store:
        report = store.verify()
    assert report.first_broken == 1
    assert report.reason == ("entry 1 (run OLD adopted from a store older than the chain, reading 2: exposure 2 "
                             "kvp_ppv): stored value 80.5 differs from the recorded 79.9")


def xcal_version() -> str:
    return xcal.__version__


@pytest.mark.parametrize("version", PAST_VERSIONS)
def test_every_past_version_upgrades_to_the_current_one(tmp_path, version):
    path = _old_store(tmp_path, version)
    with Store(path, upgrade_by="M. Allory") as store:
        steps = [(u["from"], u["to"]) for u in _upgrades(store)]
        assert steps == [(v, v + 1) for v in range(1, schema.SCHEMA_VERSION)]
        assert {u["by"] for u in _upgrades(store)[version - 1:]} == {"M. Allory"}
        assert store.verify().ok
        assert store.get_run("OLD").status == "complete"
        store.create_run(header("NEW"))
        store.add_reading("NEW", reading(1, 80.0))
        assert store.verify().ok
    assert _version(path) == str(schema.SCHEMA_VERSION)
    assert _tables(path) >= set(schema.TABLES_AT[schema.SCHEMA_VERSION])
    with Store(path) as store:
        assert len(_upgrades(store)) == schema.SCHEMA_VERSION - 1


def test_an_automatic_step_runs_at_open_once_and_is_recorded(db, store, make_run, monkeypatch):
    """A step that adopts nothing (here a made-up 'version 3' adding a table) needs no person and is recorded."""
    make_run("R1")
    current = schema.SCHEMA_VERSION

    def add_notes(tx):
        tx.execute("CREATE TABLE notes (note TEXT)")
        return {}

    monkeypatch.setattr(schema, "SCHEMA_VERSION", current + 1)
    monkeypatch.setitem(schema.UPGRADES, current, schema.Upgrade(current, "adds the notes table", add_notes))
    monkeypatch.setitem(schema.TABLES_AT, current + 1, schema.TABLES_AT[current] + ("notes",))
    with Store(db) as upgraded:
        assert _upgrades(upgraded) == [{"from": current, "to": current + 1, "by": "xcal (automatic)",
                                        "xcal": xcal_version(), "what": "adds the notes table"}]
        assert upgraded.verify().ok
    with Store(db) as again:
        assert len(_upgrades(again)) == 1
    assert _version(db) == str(current + 1) and "notes" in _tables(db)


def test_a_store_from_a_newer_xcal_is_refused(db, store, cli):
    raw(db, "UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    with pytest.raises(RecordError) as refused:
        Store(db)
    shown = display_location(db)
    assert refused.value.message == (
        f"the record store {shown} is at schema version 9, newer than this xcal {xcal_version()} reads "
        f"(up to schema version {schema.SCHEMA_VERSION})")
    assert refused.value.fix == "upgrade xcal (pip install --upgrade xcal) to open this store; leave the store as it is"
    history = cli("--db", str(db), "history")
    assert history.returncode == 2 and "schema version 9" in history.stderr and "Traceback" not in history.stderr
    assert _version(db) == "9"


def test_a_store_without_a_schema_version_is_refused(db, store):
    raw(db, "DELETE FROM meta")
    with pytest.raises(RecordError, match="has no schema version"):
        Store(db)


def test_a_store_without_its_meta_table_is_refused_not_recreated(db, store, make_run):
    make_run("R1")
    raw(db, "DROP TABLE meta")
    with pytest.raises(RecordError, match="has xcal's tables .* but no meta table"):
        Store(db)
    assert "meta" not in _tables(db)


def test_a_current_store_with_its_version_set_back_is_refused(db, store):
    raw(db, "UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with pytest.raises(RecordError, match="is not a version-2 store: it has the table leases, which came with "
                                          "version 3"):
        Store(db)


def test_an_upgrade_needs_a_name(tmp_path, cli):
    path = _old_store(tmp_path, 1)
    done = cli("--db", str(path), "upgrade-store", "--name", "  ")
    assert done.returncode == 2
    assert done.stderr == (f"error: an upgrade of the record store {path} needs the name of the person doing it\n"
                           f"  fix: give your full name with --name\n")
    assert _version(path) == "1"


def _foreign_keys(db) -> set[str]:
    """The tables of the store whose rows name their run through a foreign key."""
    if isinstance(db, str):
        rows = raw(db, "SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND connamespace = "
                       "current_schema()::regnamespace")
        return {r[0] for r in rows}
    return {table for table in ("readings", "checks") if raw(db, f"PRAGMA foreign_key_list({table})")}


def test_readings_and_checks_name_their_run_by_foreign_key_only_on_sqlite(db, store, backend):
    assert _foreign_keys(db) == (set() if backend == "postgres" else {"readings", "checks"})


def test_a_version_5_postgresql_store_loses_its_foreign_keys_in_one_recorded_step(db, store, backend, make_run):
    if backend != "postgres":
        pytest.skip("the step changes only PostgreSQL stores (a SQLite version-5 store is tested above)")
    make_run("R1")
    raw(db, "ALTER TABLE readings ADD FOREIGN KEY (run_id) REFERENCES runs (run_id)")
    raw(db, "ALTER TABLE checks ADD CONSTRAINT checks_run_fk FOREIGN KEY (run_id) REFERENCES runs (run_id)")
    raw(db, "UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    assert _foreign_keys(db) == {"readings", "checks"}
    with Store(db) as reopened:
        assert reopened.upgraded_from == [5]
        step = _upgrades(reopened)[-1]
        assert (step["from"], step["to"], step["by"]) == (5, 6, schema.AUTOMATIC)
        assert step["foreign_keys_dropped"] == ["readings.readings_run_id_fkey", "checks.checks_run_fk"]
        assert reopened.verify().ok
    assert _foreign_keys(db) == set()
    assert _version(db) == "6"


def test_a_reading_for_a_run_the_store_lacks_is_refused_before_anything_is_written(db, store, backend):
    before = len(list(store.entries()))
    with pytest.raises(RecordError, match="no run 'GHOST' in"):
        store.add_reading("GHOST", reading(1, 80.0))
    assert len(list(store.entries())) == before
    assert raw(db, "SELECT COUNT(*) FROM readings")[0][0] == 0


@pytest.mark.parametrize("table", ["readings", "checks"])
def test_a_row_whose_run_does_not_exist_is_named_by_verify(db, store, make_run, table):
    make_run("R1")
    if table == "readings":
        raw(db, "INSERT INTO readings (run_id, exposure, station, repeat, role, instrument_id, quantity, value, unit,"
                " taken_at) VALUES ('GHOST', 1, 1, 1, 'kvp_meter', 'kvp-1', 'kvp_ppv', 80.1, 'kV', 't')")
    else:
        raw(db, "INSERT INTO checks (run_id, room_id, check_id, title, unit, limit_name, limit_text, limit_set, "
                "source, verdict) VALUES ('GHOST', '3', 'kvp', 'kVp', 'kV', 'kvp', '±4 kV', 'aapm', 'AAPM', 'PASS')")
    report = store.verify()
    assert not report.ok
    assert "GHOST" in report.reason and "has no entry in the audit chain" in report.reason
