"""The HTML report of a kvp-accuracy run on demo room 4 shows what an inspector expects (QC reference §8)."""

from __future__ import annotations

import copy
import dataclasses
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from xcal import __version__
from xcal.demo.wiring import simulated_room
from xcal.procedures.session import plan_run, run_plan
from xcal.records.models import RunHeader, StoredReading, StoredRun
from xcal.records.store import Store
from xcal.reports import render_html

DEMO_SITE = Path(__file__).resolve().parents[2] / "xcal" / "demo" / "site.yaml"
BANNER = "SIMULATED — not a measurement"


class Rows(HTMLParser):
    """Every table row of a page as (cell texts, cell classes), with entities decoded."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[list[str], list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append(([], []))
        elif tag in ("td", "th") and self.rows:
            self._cell = []
            self.rows[-1][1].append(dict(attrs).get("class") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1][0].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def rows_of(page: str) -> list[tuple[list[str], list[str]]]:
    parser = Rows()
    parser.feed(page)
    return parser.rows


def field(page: str, label: str) -> str:
    found = [cells[1] for cells, _ in rows_of(page) if len(cells) == 2 and cells[0] == label]
    assert found, f"no '{label}' row in the report"
    return found[0]


def section(page: str, key: str) -> str:
    found = re.search(rf'<section id="{key}">(.*?)</section>', page, re.S)
    assert found, f"no section '{key}'"
    return found.group(1)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("html-report") / "records.sqlite3"


@pytest.fixture(scope="module")
def run(db: Path) -> StoredRun:
    result = run_plan(plan_run("kvp-accuracy", 4), db=db, operator="Dana Tester", simulated_room=simulated_room)
    with Store(db) as store:
        return store.get_run(result.run_id)


@pytest.fixture(scope="module")
def page(run: StoredRun) -> str:
    return render_html(run)


def test_facility_name_address_and_registration(page: str) -> None:
    assert field(page, "Name") == "xcal Demo Hospital (SIMULATED)"
    assert field(page, "Address") == "1 Example Way, Springfield"
    assert field(page, "Registration") == "DEMO-0000"


def test_room_equipment_make_model_serial_and_installed_date(page: str) -> None:
    equipment = {cells[0]: cells[1:4] for cells, _ in rows_of(section(page, "room")) if len(cells) == 5}
    assert equipment["Generator"] == ["Example X-Ray Co.", "DXR-500", "DXR5-10377"]
    assert equipment["Tube"] == ["Example X-Ray Co.", "XT-150", "XT-90125"]
    assert equipment["Collimator"] == ["Example X-Ray Co.", "XC-2", "XC2-5610"]
    assert field(page, "Installed") == "2019-08-02"
    assert field(page, "Limit sets (priority order)") == (
        "example-dxr-manufacturer > cfr-1020 > aapm-74 > lambert-mckeon-2001 > 10cfr35-survey > detector-qc > "
        "dicom-acceptance")


def test_instrument_identity_and_calibration(page: str) -> None:
    assert field(page, "Instrument") == "Example Instruments XR-1"
    assert field(page, "Serial") == "XR1-004217"
    assert field(page, "Calibration certificate") == "SIM-CAL-2026-0117 (simulated instrument)"
    assert field(page, "Calibrated on") == "2026-01-15"
    assert field(page, "Calibration due") == "2099-12-31"
    assert field(page, "Calibration at the run").startswith("in calibration")


def test_procedure_id_version_and_file_hash(page: str, run: StoredRun) -> None:
    procedure = section(page, "procedure")
    assert field(procedure, "Procedure") == "kVp accuracy (kvp-accuracy)"
    assert field(procedure, "Version") == "1.0.0"
    assert field(procedure, "File sha256") == run.procedure_sha256
    assert re.fullmatch(r"[0-9a-f]{64}", run.procedure_sha256)


def test_conditions_list_each_station_with_sid(page: str) -> None:
    rows = rows_of(section(page, "conditions"))
    assert rows[2][0] == ["Station", "kV", "mA", "Time", "SID"]
    assert [cells for cells, _ in rows[3:]] == [
        ["1", "60 kV", "200 mA", "100 ms", "100 cm"], ["2", "80 kV", "200 mA", "100 ms", "100 cm"],
        ["3", "100 kV", "200 mA", "50 ms", "100 cm"], ["4", "120 kV", "200 mA", "50 ms", "100 cm"]]


def test_120_kv_station_fails_against_the_manufacturer_limit_with_its_source(page: str) -> None:
    checks = {cells[1]: (cells, classes) for cells, classes in rows_of(section(page, "results"))[1:]}
    cells, classes = checks["4: 120 kV 200 mA 50 ms"]
    assert cells[2:5] == ["120 kV", "127.4 kV", "+7.42 kV (+6.2 %)"]
    assert cells[5] == "±max(5 %, 2 kV) = ±6 kV (114–126 kV)"
    assert cells[6].startswith("example-dxr-manufacturer: EX-DXR500-SM rev. C, section 9.2")
    assert cells[6].endswith("[verification: fictional]")
    assert (cells[7], classes[7]) == ("FAIL", "t-fail")
    assert [checks[s][0][7] for s in sorted(checks)] == ["PASS", "PASS", "PASS", "FAIL"]


def test_overall_verdict_operator_times_and_software_version(page: str, run: StoredRun) -> None:
    assert re.search(r'<div class="verdict t-fail">FAIL \(SIMULATED\)</div>', page)
    assert field(page, "Overall verdict") == "FAIL"
    assert field(page, "Performed by (operator)") == "Dana Tester"
    assert field(page, "Started (UTC)") == run.started_at
    assert field(page, "Finished (UTC)") == run.finished_at
    assert field(page, "Software version") == f"xcal {__version__}"
    assert field(page, "Run ID") == run.run_id


def test_readings_one_row_per_exposure_with_waveforms_summarised(page: str, run: StoredRun) -> None:
    rows = rows_of(section(page, "readings"))
    assert rows[0][0][:5] == ["Exposure", "Station", "Repeat", "Taken (UTC)", "kVp (PPV)"]
    assert len(rows) == 1 + 12
    first_wave = next(r for r in run.readings if r.quantity == "waveform")
    cell = rows[1][0][rows[0][0].index("kV waveform")]
    assert re.fullmatch(rf"{len(first_wave.data['samples'])} samples every 0\.05 ms \(.+ ms\), peak 59\.88 kV", cell)
    assert rows[1][0][4] == "59.46 kV"
    dumped = ", ".join(str(s) for s in first_wave.data["samples"][30:36])
    assert dumped not in page


def test_plots_are_inline_svg_and_nothing_is_fetched(page: str) -> None:
    assert page.count("<svg") == 1 + 4
    assert not re.search(r"<script|<link|<img|\ssrc=|url\((?!#)", page)
    assert all(ref.startswith("#") for ref in re.findall(r'href="([^"]*)"', page))


def test_empty_corrective_actions_and_corrections_say_none_recorded(page: str) -> None:
    for key in ("corrective-actions", "corrections"):
        assert '<div class="note t-empty">none recorded</div>' in section(page, key)


def test_every_section_of_a_simulated_run_carries_the_banner(page: str) -> None:
    sections = re.findall(r"<section id=.*?</section>", page, re.S)
    assert len(sections) >= 12
    assert all(f'<div class="sim-section">{BANNER}</div>' in s for s in sections)
    assert f'<div class="sim-top" role="alert">{BANNER}</div>' in page
    assert "<title>[SIMULATED] " in page


def test_a_real_run_has_no_simulated_banner(run: StoredRun) -> None:
    snap = copy.deepcopy(run.snapshot)
    snap["site"]["facility"]["name"] = "St Example Clinic"
    page = render_html(dataclasses.replace(run, simulated=False, site="St Example Clinic", snapshot=snap,
                                           readings=[r for r in run.readings if r.station == 1]))
    assert "not a measurement" not in page
    assert "sim-section" not in page.split("</style>")[1]


def test_text_from_the_record_is_escaped(run: StoredRun) -> None:
    snap = copy.deepcopy(run.snapshot)
    evil = "<script>alert('x')</script> & Sons"
    snap["site"]["facility"]["name"] = evil
    snap["room"]["equipment"]["tube"]["serial"] = '"><img src=x onerror=alert(1)>'
    page = render_html(dataclasses.replace(run, site=evil, operator="<b>bold</b>", snapshot=snap,
                                           readings=[r for r in run.readings if r.station == 1]))
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Sons" in page
    assert field(page, "Name") == evil
    assert field(page, "Performed by (operator)") == "<b>bold</b>"


def test_incomplete_run_says_incomplete_and_why(run: StoredRun, tmp_path: Path) -> None:
    with Store(tmp_path / "cut.sqlite3") as store:
        run_id = store.create_run(RunHeader(
            run.procedure_id, run.procedure_version, run.procedure_sha256, run.procedure_title, run.site,
            run.room_id, run.room_name, "Dana Tester", True, run.software_version, run.snapshot))
        store.add_reading(run_id, StoredReading(exposure=1, station=1, repeat=1, role="kvp_meter",
                                                instrument_id="kvp-1", quantity="kvp_ppv", value=59.46, unit="kV",
                                                taken_at=run.started_at))
        store.mark_incomplete(run_id, "kvp-1 stopped answering after exposure 1")
        page = render_html(store.get_run(run_id))
    assert '<div class="verdict t-fail">INCOMPLETE (SIMULATED)</div>' in page
    assert "INCOMPLETE — the run stopped before every reading was taken: kvp-1 stopped answering after " \
           "exposure 1" in page
    assert "no checks were judged: the run is incomplete" in section(page, "results")
    assert field(page, "Overall verdict") == "INCOMPLETE"


def test_signatures_show_name_meaning_time_and_validity_and_corrections_are_listed(run: StoredRun, db: Path) -> None:
    with Store(db) as store:
        store.sign(run.run_id, "performed", "Dana Tester")
        store.correct_reading(run.run_id, 1, 59.5, "kV", "display misread", "Dana Tester")
        store.sign(run.run_id, "reviewed", "Lee Physicist")
        signatures = store.signatures(run.run_id)
        page = render_html(store.get_run(run.run_id), signatures)
    signed = {cells[0]: cells for cells, _ in rows_of(section(page, "signatures"))[1:]}
    assert signed["Dana Tester"][1:3] == ["(no account: name as typed)", "performed"]
    assert signed["Dana Tester"][3] == signatures[0].at
    assert signed["Dana Tester"][4].startswith("INVALID: the run changed after signing")
    assert signed["Lee Physicist"][2:5] == ["reviewed", signatures[1].at, "valid"]
    corrections = rows_of(section(page, "corrections"))
    assert corrections[1][0][2:6] == ["59.46 kV", "59.5 kV", "display misread", "Dana Tester"]
    assert "59.5 kV (corrected, #" in section(page, "readings")


def test_calibration_override_reason_is_highlighted(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(DEMO_SITE.read_text(encoding="utf-8").replace("date: 2026-01-15", "date: 2019-01-15")
                    .replace("due: 2099-12-31", "due: 2020-01-31"), encoding="utf-8")
    plan = plan_run("kvp-accuracy", 4, site=site, allow_expired_calibration="reference meter away for repair")
    result = run_plan(plan, db=tmp_path / "override.sqlite3", operator="Dana Tester", simulated_room=simulated_room)
    with Store(tmp_path / "override.sqlite3") as store:
        page = render_html(store.get_run(result.run_id))
    assert ('<div class="note t-alert">CALIBRATION OVERRIDE: kvp-1 used past the calibration due date. '
            'Reason recorded: reference meter away for repair</div>') in page
    assert '<td class="t-alert">reference meter away for repair</td>' in page
    assert field(page, "Calibration at the run").startswith("PAST DUE on the day of the run (due 2020-01-31)")


def test_an_apron_inspection_report_names_the_garment(tmp_path: Path) -> None:
    from xcal.procedures.loader import load_inputs

    inputs = Path(__file__).parents[2] / "xcal" / "demo" / "inputs" / "apron-good.yaml"
    result = run_plan(plan_run("apron-inspection", 10, item="APR-01"), db=tmp_path / "r.sqlite3",
                      inputs=load_inputs(inputs), simulated_room=simulated_room)
    with Store(tmp_path / "r.sqlite3") as store:
        page = render_html(store.get_run(result.run_id))
    # From the demo site's apparel list.
    assert field(page, "Item tested") == ("APR-01: apron (wrap-around), Example Shielding Co. Wrap 0.5, serial "
                                          "ESW-22-0193, 0.5 mm Pb, kept in room 10")


def test_a_background_list_is_numbered_on_from_the_stations_as_in_the_readings(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite3"
    result = run_plan(plan_run("check-source-constancy", 3), db=db, simulated_room=simulated_room)
    with Store(db) as store:
        stored = store.get_run(result.run_id)
    rows = [cells for cells, _ in rows_of(section(render_html(stored), "conditions"))]
    numbered = [cells[:2] for cells in rows if cells and cells[0] in ("1", "2")]
    assert numbered == [["1", "check-source"], ["2", "background"]]
    assert {r.station for r in stored.readings} == {1, 2}


def test_the_chamber_k_q_table_and_the_k_q_used_are_in_the_report(tmp_path: Path) -> None:
    from xcal.units import Q_

    db = tmp_path / "r.sqlite3"
    result = run_plan(plan_run("output", 3), db=db, inputs={"temperature": Q_(24, "degC"), "pressure": Q_(99, "kPa")},
                      simulated_room=simulated_room)
    with Store(db) as store:
        page = render_html(store.get_run(result.run_id))
    assert "RQR 5 70 kV (HVL 2.58 mm) k_Q 1.000" in field(section(page, "instruments"), "k_Q table")
    k_q = next(cells for cells, _ in rows_of(section(page, "results")) if cells and cells[0] == "k q")
    assert "k_Q 0.998 at 80 kV: linear in kV between RQR 5" in " ".join(k_q)
