"""A bundle is a record of its own: an id, its members in order with their runs, a stored verdict, resumable
as a whole, shown by history and show-run, reported as one acceptance document; the CLI and the API take one
path into a run; a resume accepts site-file edits that leave what was measured alone."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import xcal
from xcal.cli import main
from xcal.demo.wiring import simulated_room
from xcal.errors import ConfigError, RunAborted
from xcal.procedures.runner import RunObserver
from xcal.procedures.session import plan_resume, plan_run, run_plan, start
from xcal.records.chain import BUNDLE_CREATED, BUNDLE_FINISHED, BUNDLE_MEMBER, RESUME_CHANGES
from xcal.records.store import Store

TWO = "kind: bundle\nid: two-step\nversion: 1.0.0\ntitle: Two steps\nprocedures: [kvp-accuracy, hvl]\n"


class CtrlCIn(RunObserver):
    """Presses Ctrl-C as exposure `at` of procedure `procedure` is about to be made."""

    def __init__(self, procedure: str, at: int) -> None:
        self.procedure, self.at, self.current = procedure, at, None

    def started(self, run_id, plan, identities):
        self.current = plan.procedure.id

    def exposure(self, n, total, station, repeat):
        if self.current == self.procedure and n == self.at:
            raise KeyboardInterrupt


@pytest.fixture
def two(tmp_path: Path) -> Path:
    path = tmp_path / "two.yaml"
    path.write_text(TWO, encoding="utf-8")
    return path


def _cut_bundle(two: Path, db: Path, room: int = 3) -> tuple[str, RunAborted]:
    """Start the two-step bundle and press Ctrl-C in its second member (hvl) at the second exposure."""
    with pytest.raises(RunAborted) as caught:
        start(str(two), room, db=db).run(observer=CtrlCIn("hvl", 2), simulated_room=simulated_room)
    with Store(db) as store:
        bundle = store.list_bundles(limit=1)[0]
    return bundle.bundle_id, caught.value


def test_a_bundle_is_recorded_with_its_members_runs_and_verdict(two, tmp_path):
    db = tmp_path / "r.sqlite3"
    result = start(str(two), 3, db=db).run(simulated_room=simulated_room)
    with Store(db) as store:
        bundle = store.get_bundle(result.bundle_id)
        kinds = [e.kind for e in store.entries(result.bundle_id)]
        assert store.verify().ok
    assert bundle.bundle == "two-step" and bundle.status == "complete" and bundle.verdict == "PASS"
    assert [(m.procedure, m.run_id) for m in bundle.members] == [("kvp-accuracy", result.results[0].run_id),
                                                                 ("hvl", result.results[1].run_id)]
    assert kinds == [BUNDLE_CREATED, BUNDLE_MEMBER, BUNDLE_MEMBER, BUNDLE_FINISHED]
    assert result.to_dict()["bundle_id"] == result.bundle_id


def test_a_failed_member_fails_the_bundle_and_a_missing_one_leaves_it_incomplete(two, tmp_path):
    db = tmp_path / "r.sqlite3"
    failed = start(str(two), 4, db=db).run(simulated_room=simulated_room)  # room 4's kV runs high above 100 kV
    assert failed.verdict == "FAIL"
    bundle_id, stopped = _cut_bundle(two, db)
    with Store(db) as store:
        assert store.get_bundle(failed.bundle_id).verdict == "FAIL"
        cut = store.get_bundle(bundle_id)
    assert cut.status == "incomplete" and cut.verdict == "INCOMPLETE"
    assert cut.members[0].status == "complete" and cut.members[1].status == "incomplete"


def test_resume_of_a_cut_bundle_finishes_the_cut_member_and_runs_the_rest(tmp_path):
    three = tmp_path / "three.yaml"
    three.write_text(TWO.replace("[kvp-accuracy, hvl]", "[kvp-accuracy, hvl, timer-accuracy]"), encoding="utf-8")
    db = tmp_path / "r.sqlite3"
    bundle_id, stopped = _cut_bundle(three, db)
    assert f"`xcal run --resume {bundle_id}`" in stopped.fix and bundle_id in stopped.message
    with Store(db) as store:
        cut_run = store.get_bundle(bundle_id).members[1].run_id
    result = start(resume=bundle_id, db=db).run(simulated_room=simulated_room)
    assert [r.plan.procedure.id for r in result.results] == ["hvl", "timer-accuracy"]
    assert result.results[0].run_id == cut_run                   # the same record continued, not a new one
    with Store(db) as store:
        bundle = store.get_bundle(bundle_id)
        assert store.verify().ok
    assert bundle.status == "complete" and bundle.verdict == "PASS"
    assert [m.status for m in bundle.members] == ["complete"] * 3


def test_a_complete_bundle_is_not_resumed(two, tmp_path):
    db = tmp_path / "r.sqlite3"
    done = start(str(two), 3, db=db).run(simulated_room=simulated_room)
    with pytest.raises(ConfigError) as refused:
        start(resume=done.bundle_id, db=db)
    assert "is complete" in refused.value.message and "xcal run two-step --room 3" in refused.value.fix


def test_verify_catches_an_edited_bundle_row(two, tmp_path):
    db = tmp_path / "r.sqlite3"
    done = start(str(two), 4, db=db).run(simulated_room=simulated_room)
    con = sqlite3.connect(db)
    con.execute("UPDATE bundles SET verdict = 'PASS' WHERE bundle_id = ?", (done.bundle_id,))
    con.commit()
    con.close()
    with Store(db) as store:
        report = store.verify()
    assert not report.ok and "verdict 'PASS' differs from the recorded 'FAIL'" in report.reason


def test_history_show_run_and_report_of_a_bundle(two, tmp_path):
    db = tmp_path / "r.sqlite3"
    bundle_id, _ = _cut_bundle(two, db)
    cli = CliRunner()
    history = cli.invoke(main, ["--db", str(db), "history"], terminal_width=200)
    assert history.exit_code == 0 and bundle_id in history.output
    assert "2. hvl" in history.output and "(not run)" not in history.output
    shown = cli.invoke(main, ["--db", str(db), "show-run", bundle_id, "--json"])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert document["status"] == "incomplete" and [m["procedure"] for m in document["members"]] == \
        ["kvp-accuracy", "hvl"]
    text = cli.invoke(main, ["--db", str(db), "show-run", bundle_id], terminal_width=200).output
    assert f"xcal run --resume {bundle_id}" in text
    out = tmp_path / "acceptance.html"
    report = cli.invoke(main, ["--db", str(db), "report", bundle_id, "-o", str(out)])
    assert report.exit_code == 0, report.output
    html = out.read_text(encoding="utf-8")
    assert "acceptance record" in html and 'id="verdicts"' in html and "INCOMPLETE" in html
    assert html.count("<h2>1. ") >= 2 and html.count("<h2>2. ") >= 2        # each member has its own sections


def test_cli_resume_of_a_bundle_id_runs_the_rest(two, tmp_path):
    db = tmp_path / "r.sqlite3"
    bundle_id, _ = _cut_bundle(two, db)
    done = CliRunner().invoke(main, ["--db", str(db), "run", "--resume", bundle_id, "--json"])
    assert done.exit_code == 0, done.output
    document = json.loads(done.output[done.output.index("{"):])
    assert document["bundle_id"] == bundle_id and document["verdict"] == "PASS"
    assert [m["status"] for m in document["members"]] == ["complete", "complete"]


def test_the_api_resumes_a_bundle_through_the_same_path(two, tmp_path):
    db = tmp_path / "r.sqlite3"
    bundle_id, _ = _cut_bundle(two, db)
    with xcal.load_site(db=db).room(3).session(operator="api") as session:
        result = session.resume(bundle_id)
    assert result.passed and result.bundle_id == bundle_id and len(result.run_ids) == 2


def _stopped_on_site(site: Path, db: Path) -> str:
    with pytest.raises(RunAborted) as caught:
        run_plan(plan_run("kvp-accuracy", 3, site=str(site)), db=db, observer=CtrlCIn("kvp-accuracy", 3),
                 simulated_room=simulated_room)
    return caught.value.run_id


def test_resume_accepts_a_changed_timeout_and_records_it(site_copy, tmp_path):
    site = site_copy()
    db = tmp_path / "r.sqlite3"
    run_id = _stopped_on_site(site, db)
    text = site.read_text(encoding="utf-8")
    site.write_text(text.replace("timeout: 2 s", "timeout: 5 s", 1), encoding="utf-8")
    plan, stored = plan_resume(run_id, db=db, site=str(site))
    result = run_plan(plan, db=db, resume=stored, simulated_room=simulated_room)
    assert result.verdict == "PASS"
    with Store(db) as store:
        (entry,) = [e for e in store.entries(run_id) if e.kind == RESUME_CHANGES]
        assert store.verify().ok
    data = entry.data()
    assert data["sha256_then"] != data["sha256_now"] and data["site_file"] == str(site)


def test_resume_refuses_a_change_to_what_was_measured_naming_it(site_copy, tmp_path):
    site = site_copy()
    db = tmp_path / "r.sqlite3"
    run_id = _stopped_on_site(site, db)
    text = site.read_text(encoding="utf-8")
    site.write_text(text.replace("serial: DXR5-10293", "serial: DXR5-99999"), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        plan_resume(run_id, db=db, site=str(site))
    assert "room.equipment.generator.serial: 'DXR5-10293' then, 'DXR5-99999' now" in refused.value.message
    assert "timeouts, ports, resource strings and notes" in refused.value.fix


def _bundle_record(store, bundle_id: str, started: str, status: str = "complete", verdict: str | None = "PASS"):
    """A radiographic-acceptance bundle record in room 3 started on `started`, finished as given."""
    from xcal.records.bundles import BundleMember, StoredBundle

    store.create_bundle(StoredBundle(bundle_id, "radiographic-acceptance", "1.0.0", "ab" * 32, "Acceptance",
                                     "Site", "3", "Rad 3", "tech", True, "0", {}, f"{started}T09:00:00.000+00:00",
                                     "running", None, None, None, [BundleMember("kvp-accuracy")]))
    if status != "running":
        store.finish_bundle(bundle_id, status, verdict or "INCOMPLETE")


def test_due_takes_a_bundle_from_its_record_and_names_an_open_one(tmp_path):
    import datetime as dt

    from xcal.schedule import due_report
    from xcal.site import load_site

    db = tmp_path / "r.sqlite3"
    with Store(db) as store:
        _bundle_record(store, "B-OLD", "2026-03-02")
        (item,) = [i for i in due_report(load_site(None), store, dt.date(2026, 11, 26), "3")
                   if i.procedure == "radiographic-acceptance"]
        assert (item.last_run, item.status, item.next_due) == ("B-OLD", "OK", dt.date(2027, 3, 2))
        _bundle_record(store, "B-CUT", "2026-11-20", status="incomplete", verdict=None)
        (item,) = [i for i in due_report(load_site(None), store, dt.date(2026, 11, 26), "3")
                   if i.procedure == "radiographic-acceptance"]
    assert (item.status, item.open_run, item.next_due) == ("INCOMPLETE", "B-CUT", dt.date(2026, 11, 26))


def test_a_bundle_whose_cut_member_was_resumed_alone_is_closed_by_its_resume(two, tmp_path):
    db = tmp_path / "r.sqlite3"
    bundle_id, stopped = _cut_bundle(two, db)
    start(resume=stopped.run_id, db=db).run(simulated_room=simulated_room)  # the member's run on its own, as before
    with Store(db) as store:
        assert store.get_bundle(bundle_id).status == "incomplete"
    closed = start(resume=bundle_id, db=db).run(simulated_room=simulated_room)
    assert closed.results == [] and closed.verdict == "PASS"
    with Store(db) as store:
        assert store.get_bundle(bundle_id).status == "complete"


def test_the_cli_and_the_api_take_one_path_into_a_run(monkeypatch, tmp_path):
    import xcal.procedures.session as session

    calls = []

    def recording(*args, **kwargs):
        calls.append((args, kwargs.get("resume")))
        raise ConfigError("stopped here by the test", fix="none")

    monkeypatch.setattr(session, "start", recording)
    assert CliRunner().invoke(main, ["run", "kvp-accuracy", "--room", "3"]).exit_code == 2
    assert CliRunner().invoke(main, ["run", "--resume", "B123"]).exit_code == 2
    session_ = xcal.load_site(db=tmp_path / "r.sqlite3").room(3).session()
    for call in (lambda: session_.run("kvp-accuracy"), lambda: session_.resume("B123")):
        with pytest.raises(ConfigError):
            call()
    assert [c[1] for c in calls] == [None, "B123", None, "B123"]
    assert calls[0][0][:2] == ("kvp-accuracy", "3") and calls[2][0][:2] == ("kvp-accuracy", "3")


def test_a_version_3_store_gains_the_bundles_table_when_opened(tmp_path):
    db = tmp_path / "v3.sqlite3"
    Store(db).close()
    con = sqlite3.connect(db)
    for table in ("bundles", "credentials", "login_attempts", "accounts", "sessions"):   # versions 4 and 5
        con.execute(f"DROP TABLE {table}")
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with Store(db) as store:                                    # no name asked: the step changes no record
        assert store.upgraded_from == [3, 4, 5]                   # versions 4, 5 and 6 add tables or change none
        (entry, _, _) = [e for e in store.entries() if e.kind == "schema_upgraded"]
        assert store.list_bundles() == [] and store.verify().ok
    assert entry.data()["what"] == "adds the bundles table: a bundle of procedures as one record"


def test_resume_refuses_another_command_map_and_takes_a_changed_poll_interval_or_baud_rate(site_copy, tmp_path):
    # kvp-1 reads through its command map: another map may be another meter's reading; a poll interval or a baud
    # rate only paces the bytes.
    import shutil

    site = site_copy()
    db = tmp_path / "r.sqlite3"
    run_id = _stopped_on_site(site, db)
    text = site.read_text(encoding="utf-8")
    assert "      command_map: example-xr1\n" in text
    paced = "      command_map: example-xr1\n      poll_interval: 50 ms\n      baudrate: 19200\n"
    site.write_text(text.replace("      command_map: example-xr1\n", paced, 1), encoding="utf-8")
    plan_resume(run_id, db=db, site=str(site))
    shutil.copy(Path(xcal.__file__).parent / "demo" / "instruments" / "example-xr1.yaml", site.parent / "xr1-copy.yaml")
    site.write_text(text.replace("command_map: example-xr1", "command_map: xr1-copy.yaml", 1), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        plan_resume(run_id, db=db, site=str(site))
    assert "instruments.kvp_meter.options.command_map:" in refused.value.message
    assert "xr1-copy.yaml' now" in refused.value.message
