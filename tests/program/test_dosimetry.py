"""Personnel dosimetry: doses accumulated per person per quarter and year, compared with 10 CFR 20.1201 / 20.1208
and the ALARA investigation levels, worked by hand.

Limits (20.1201): TEDE 50 mSv, lens 150 mSv, skin and extremity 500 mSv a year; 20.1208: 5 mSv over a declared
pregnancy. Levels at 10 % / 30 % of a quarter of each limit: TEDE 50/4 = 12.5 mSv a quarter, so level I is
1.25 mSv and level II 3.75 mSv; extremity 500/4 = 125 mSv, so 12.5 and 37.5 mSv.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from xcal.errors import ConfigError
from xcal.program import dosimetry
from xcal.program.dose_import import import_report
from xcal.records.store import Store
from xcal.site import load_site


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "doses.sqlite3") as s:
        yield s


@pytest.fixture(scope="module")
def site():
    return load_site(None)


def _dose(store, badge, start, end, hp10=None, hp007=None, lens=None, person="J. Ray", location="collar"):
    return dosimetry.record_dose(store, badge=badge, period_start=start, period_end=end, tede=hp10, shallow=hp007,
                                 lens=lens, person=person, location=location, by="tester")


def _person(doc, name):
    return next(p for p in doc["people"] if p["person"] == name)


def test_doses_accumulate_across_periods_and_quarters_against_the_levels(store, site):
    # Q1: 0.5 + 0.9 + 0.4 = 1.8 mSv (above 1.25, below 3.75: level I); Q2: 4.0 mSv (above 3.75: level II);
    # the year to the end of Q2: 5.8 mSv of 50.
    for start, end, dose in (("2026-01-01", "2026-01-31", "0.5 mSv"), ("2026-02-01", "2026-02-28", "90 mrem"),
                             ("2026-03-01", "2026-03-31", "400 µSv"), ("2026-04-01", "2026-06-30", "4 mSv")):
        _dose(store, "B-1", start, end, hp10=dose)
    doc = dosimetry.report(store, site, year=2026, quarter=None)
    ray = _person(doc, "J. Ray")
    assert ray["annual"]["tede"]["dose_msv"] == pytest.approx(5.8)
    assert ray["quarters"]["Q1"]["tede"] == {"dose_msv": pytest.approx(1.8), "level": "I"}
    assert ray["quarters"]["Q2"]["tede"] == {"dose_msv": pytest.approx(4.0), "level": "II"}
    assert ray["quarters"]["Q3"]["tede"] == {"dose_msv": None, "level": None}
    assert [(f["level"], f["period"], f["threshold_msv"]) for f in ray["flags"]] == \
        [("I", "2026-Q1", pytest.approx(1.25)), ("II", "2026-Q2", pytest.approx(3.75))]
    assert "RSO reviews" in ray["flags"][0]["asks"] and "RSO investigates" in ray["flags"][1]["asks"]
    q1 = dosimetry.report(store, site, year=2026, quarter=1)
    assert _person(q1, "J. Ray")["annual"]["tede"]["dose_msv"] == pytest.approx(1.8)
    assert list(_person(q1, "J. Ray")["quarters"]) == ["Q1"]


def test_a_period_belongs_to_the_quarter_it_ends_in_and_the_highest_badge_is_the_dose_of_record(store, site):
    # A whole-body badge with 1.0 mSv and a collar badge with 1.2 mSv over Q1: the dose of record is 1.2 (not
    # 2.2). The collar's December-to-January period ends in Q1 2026, so it counts there, not in 2025.
    _dose(store, "WB-1", "2026-01-01", "2026-03-31", hp10="1.0 mSv", location="whole-body")
    _dose(store, "C-1", "2025-12-15", "2026-01-14", hp10="0.7 mSv")
    _dose(store, "C-1", "2026-01-15", "2026-03-31", hp10="0.5 mSv")
    ray = _person(dosimetry.report(store, site, year=2026), "J. Ray")
    assert ray["annual"]["tede"]["dose_msv"] == pytest.approx(1.2)
    assert ray["quarters"]["Q1"]["tede"]["level"] is None          # 1.2 is not above 1.25
    assert ray["badges"] == ["C-1", "WB-1"]


def test_above_the_annual_limit_asks_for_the_30_day_report(store, site):
    # 12 months of 4.5 mSv: 54 mSv in the year, above 50; each quarter 13.5 mSv, above level II (3.75).
    for month in range(1, 13):
        end = f"2026-{month:02d}-28"
        _dose(store, "B-9", f"2026-{month:02d}-01", end, hp10="4.5 mSv")
    ray = _person(dosimetry.report(store, site, year=2026), "J. Ray")
    (limit,) = [f for f in ray["flags"] if f["level"] == "limit"]
    assert (limit["quantity"], limit["dose_msv"], limit["threshold_msv"]) == ("tede", pytest.approx(54.0), 50.0)
    assert "20.2203(a)(2)(i)" in limit["asks"] and limit["section"] == "10 CFR 20.1201(a)(1)(i)"
    assert [f["period"] for f in ray["flags"] if f["level"] == "II"] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]


def test_extremity_and_lens_use_their_own_limits(store, site):
    # Ring 130 mSv Hp(0.07) in Q1: extremity level II is 37.5 mSv, so level II; the year, 130 of 500, no limit.
    # Collar lens 20 mSv: lens level I 0.1 x 150 / 4 = 3.75, level II 11.25, so level II for the lens too.
    _dose(store, "R-1", "2026-01-01", "2026-03-31", hp007="130 mSv", location="extremity")
    _dose(store, "C-2", "2026-01-01", "2026-03-31", hp10="0.1 mSv", lens="20 mSv")
    ray = _person(dosimetry.report(store, site, year=2026), "J. Ray")
    assert ray["annual"]["extremity"]["dose_msv"] == pytest.approx(130.0)
    assert ray["annual"]["skin"]["dose_msv"] is None
    assert {(f["quantity"], f["level"]) for f in ray["flags"]} == {("extremity", "II"), ("lens", "II")}


def test_a_declared_pregnancy_is_held_to_5_mSv_from_the_declaration(store, site):
    # Declared 2026-04-01: the March period (3.0 mSv) ended before it and does not count; April 2.0 + May 2.0 +
    # June 1.5 = 5.5 mSv, above 5 mSv.
    dosimetry.issue_badge(store, badge="P-1", person="A. Lee", location="collar", by="RSO")
    for start, end, dose in (("2026-03-01", "2026-03-31", "3 mSv"), ("2026-04-01", "2026-04-30", "2 mSv"),
                             ("2026-05-01", "2026-05-31", "2 mSv"), ("2026-06-01", "2026-06-30", "1.5 mSv")):
        _dose(store, "P-1", start, end, hp10=dose, person="A. Lee")
    dosimetry.issue_badge(store, badge="P-1", person="A. Lee", location="collar", declared_pregnant="2026-04-01",
                          by="RSO")
    lee = _person(dosimetry.report(store, site, year=2026), "A. Lee")
    assert lee["pregnancy"]["dose_msv"] == pytest.approx(5.5) and lee["pregnancy"]["limit_msv"] == 5.0
    (flag,) = [f for f in lee["flags"] if f["level"] == "pregnancy"]
    assert "20.2203(a)(2)(iii)" in flag["asks"]


def test_the_site_file_sets_the_levels(store, site_copy):
    # At 20 % the TEDE level I is 0.2 x 12.5 = 2.5 mSv: 1.8 mSv in Q1 is no longer flagged.
    site = load_site(site_copy({"level_I: 10 %": "level_I: 20 %", "level_II: 30 %": "level_II: 40 %"}))
    _dose(store, "B-1", "2026-01-01", "2026-03-31", hp10="1.8 mSv")
    doc = dosimetry.report(store, site, year=2026)
    assert _person(doc, "J. Ray")["flags"] == []
    assert doc["limits"]["investigation_levels"]["set_in_site_file"] is True
    bad = load_site(site_copy({"level_II: 30 %": "level_II: 5 %"}, name="bad.yaml"))
    with pytest.raises(ConfigError) as caught:
        dosimetry.report(store, bad, year=2026)
    assert "level_II (5.0 %) is not above level_I (10.0 %)" in str(caught.value) and "bad.yaml" in str(caught.value)


def test_the_default_levels_say_they_are_defaults(store, site_copy):
    text = site_copy().read_text(encoding="utf-8")
    start = text.index("dosimetry:")
    end = text.index("retention:")
    own = site_copy({text[start:end]: ""}, name="nolevels.yaml")
    doc = dosimetry.report(store, load_site(own), year=2026)
    levels = doc["limits"]["investigation_levels"]
    assert (levels["level_I_percent"], levels["level_II_percent"], levels["verified"]) == (10.0, 30.0, False)
    assert levels["set_in_site_file"] is False and "Regulatory Guide 10.8" in levels["source"]
    assert "DEFAULT" in "\n".join(dosimetry.report_lines(doc))


CSV = """person,badge,location,period_start,period_end,hp10_mrem,hp007_mrem,lens_mrem
J. Ray,B-1,collar,2026-01-01,2026-01-31,50,60,55
J. Ray,B-1,collar,2026-02-01,2026-02-28,90,M,
K. Lo,R-7,extremity,2026-01-01,2026-03-31,,1200,
"""


def test_import_reads_the_units_of_the_header(store, site, tmp_path):
    # 50 + 90 mrem = 140 mrem = 1.4 mSv Hp(10) (above 1.25: level I); 'M' is 0; 1200 mrem = 12 mSv.
    report = tmp_path / "jan.csv"
    report.write_text(CSV, encoding="utf-8")
    rows = import_report(store, report, by="tester")
    assert [r["dose_id"] for r in rows] == ["D-1", "D-2", "D-3"]
    assert rows[1]["doses"] == {"tede": pytest.approx(0.9), "shallow": 0.0, "lens": None}
    assert rows[0]["source"]["line"] == 2 and len(rows[0]["source"]["sha256"]) == 64
    doc = dosimetry.report(store, site, year=2026)
    assert _person(doc, "J. Ray")["annual"]["tede"]["dose_msv"] == pytest.approx(1.4)
    assert _person(doc, "K. Lo")["annual"]["extremity"]["dose_msv"] == pytest.approx(12.0)
    assert [f["level"] for f in _person(doc, "J. Ray")["flags"]] == ["I"]
    with pytest.raises(ConfigError) as again:
        import_report(store, report, by="tester")
    assert "line 2: badge B-1 already has a dose for 2026-01-01 to 2026-01-31 (D-1)" in str(again.value)
    assert len(dosimetry.load_doses(store)) == 3


def test_a_vendor_export_is_read_through_its_column_map(store, tmp_path):
    (tmp_path / "vendor.csv").write_text(
        "Participant,Serial,Loc,Begin,End,Deep DDE,Eye LDE\nJ. Ray,X1,COLLAR,01/01/2026,03/31/2026,125,130\n",
        encoding="utf-8")
    (tmp_path / "map.yaml").write_text(
        "kind: dose-columns\ncolumns: {person: Participant, badge: Serial, location: Loc, period_start: Begin,\n"
        "          period_end: End}\ndoses:\n  hp10: {column: Deep DDE, unit: mrem}\n"
        "  lens: {column: Eye LDE, unit: mrem}\nlocations: {COLLAR: collar}\ndate_format: '%m/%d/%Y'\n",
        encoding="utf-8")
    (row,) = import_report(store, tmp_path / "vendor.csv", columns=tmp_path / "map.yaml", by="tester")
    assert (row["period_start"], row["period_end"], row["location"]) == ("2026-01-01", "2026-03-31", "collar")
    assert row["doses"] == {"tede": pytest.approx(1.25), "shallow": None, "lens": pytest.approx(1.3)}


@pytest.mark.parametrize(("text", "message"), [
    ("person,badge,location,period_start,period_end\nJ,B,collar,2026-01-01,2026-01-31\n", "lacks a dose column"),
    (CSV.replace(",90,", ",ninety,"), "line 3, column hp10_mrem: 'ninety' is not a number"),
    (CSV.replace("collar,2026-02-01", "belt,2026-02-01"), "line 3: badge location 'belt'"),
    (CSV.replace("2026-02-28", "2026-01-28").replace("2026-02-01", "2026-02-11"), "ends (2026-01-28) before"),
    (CSV.replace("hp10_mrem", "hp10_kV"), "unit of column hp10_kV"),
])
def test_a_bad_report_is_refused_whole_naming_line_and_fix(store, tmp_path, text, message):
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        import_report(store, bad, by="tester")
    assert message in str(caught.value) and caught.value.fix
    assert dosimetry.load_doses(store) == [] and dosimetry.load_badges(store) == {}


def test_a_corrected_report_supersedes_the_row_it_names(store, site):
    first = _dose(store, "B-1", "2026-01-01", "2026-03-31", hp10="2 mSv")
    with pytest.raises(ConfigError):
        _dose(store, "B-1", "2026-01-01", "2026-03-31", hp10="1 mSv")
    dosimetry.record_dose(store, badge="B-1", period_start="2026-01-01", period_end="2026-03-31", tede="1 mSv",
                          supersedes=first["dose_id"], reason="vendor's corrected report", by="RSO")
    (row,) = dosimetry.load_doses(store)
    assert (row["dose_id"], row["supersedes"], row["doses"]["tede"]) == ("D-2", "D-1", 1.0)
    with pytest.raises(ConfigError) as other:
        _dose(store, "B-1", "2026-04-01", "2026-06-30", hp10="1 mSv", person="Someone Else")
    assert "issued to J. Ray, not Someone Else" in str(other.value)


def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_cli_import_report_export_without_names_and_verify(cli, tmp_path, _isolated_store):
    report = tmp_path / "q1.csv"
    report.write_text(CSV, encoding="utf-8")
    rows = _json(cli("dosimetry", "import", str(report), "--name", "RSO", "--json"))
    assert len(rows) == 3
    doc = _json(cli("dosimetry", "report", "--year", "2026", "--quarter", "1", "--json"))
    assert [p["person"] for p in doc["people"] if p["flags"]] == ["J. Ray"]
    anonymous = cli("dosimetry", "report", "--year", "2026", "--anonymous")
    assert anonymous.returncode == 0 and "wearer 1" in anonymous.stdout and "LEVEL I" in anonymous.stdout
    assert "J. Ray" not in anonymous.stdout and "B-1" not in anonymous.stdout
    for fmt in ("csv", "json"):
        out = tmp_path / f"doses.{fmt}"
        assert cli("dosimetry", "export", "-o", str(out), "--format", fmt).returncode == 0
        text = out.read_text(encoding="utf-8")
        assert "wearer 1" in text and "J. Ray" not in text and "K. Lo" not in text and "B-1" not in text
    records = tmp_path / "records.json"                    # `xcal export` carries runs only, never badge data
    assert cli("export", "--format", "json", "-o", str(records)).returncode == 0
    assert "J. Ray" not in records.read_text(encoding="utf-8") and "B-1" not in records.read_text(encoding="utf-8")
    personal = tmp_path / "personal.csv"
    assert cli("dosimetry", "export", "-o", str(personal), "--include-personal").returncode == 0
    assert "J. Ray,B-1,collar" in personal.read_text(encoding="utf-8")
    fixed = _json(cli("dosimetry", "record", "--badge", "B-1", "--from", "2026-01-01", "--to", "2026-01-31",
                      "--hp10", "40 mrem", "--supersedes", "D-1", "--reason", "vendor's corrected report", "--json"))
    assert (fixed["dose_id"], fixed["supersedes"], fixed["doses"]["tede"]) == ("D-4", "D-1", pytest.approx(0.4))
    assert [r["dose_id"] for r in _json(cli("dosimetry", "list", "--json"))] == ["D-2", "D-3", "D-4"]
    badge = _json(cli("dosimetry", "badge", "--badge", "B-1", "--person", "J. Ray", "--location", "collar",
                      "--declared-pregnant", "2026-02-01", "--json"))
    assert (badge["declared_pregnant"], badge["declared_on"]) == (True, "2026-02-01")
    assert _json(cli("verify", "--json"))["ok"] is True
    with sqlite3.connect(_isolated_store) as db:
        db.execute("UPDATE entries SET payload = replace(payload, '\"tede\":0.9', '\"tede\":0.09') "
                   "WHERE kind = 'dose_recorded'")
        assert db.execute("SELECT count(*) FROM entries WHERE payload LIKE '%\"tede\":0.09%'").fetchone() == (1,)
    broken = cli("verify", "--json")
    assert broken.returncode == 1 and "dose D-2 of badge B-1 recorded" in json.loads(broken.stdout)["reason"]


@pytest.mark.parametrize(("change", "found"), [
    ({"level_II: 30 %": "level_II: 5 %"}, "dosimetry level_II (5.0 %) is not above level_I (10.0 %)"),
    ({"level_I: 10 %": "level_I: ten"}, "dosimetry level_I 'ten' is not a percent between 0 and 100"),
])
def test_xcal_validate_checks_the_dosimetry_levels_of_a_site_file(cli, site_copy, change, found):
    done = cli("validate", str(site_copy(change, name="levels.yaml")))
    assert done.returncode == 2
    assert found in done.stderr and "levels.yaml:" in done.stderr
    assert cli("validate", str(site_copy(name="fine.yaml"))).returncode == 0
