"""Radiation Dose Structured Reports: made, read back through pydicom and DCMTK, summarised, kept, and compared
with a DAP meter."""

from __future__ import annotations

import pytest

pytest.importorskip("pydicom", reason="the dicom extra (pydicom) is not installed")
pytest.importorskip("pynetdicom", reason="the dicom extra (pynetdicom) is not installed")

import shutil
import subprocess

from xcal.dicom.objects import save
from xcal.dicom.rdsr import XRAY_DOSE_SR, build_report, dap_ratio, read_report, read_reports
from xcal.errors import ConfigError
from xcal.units import Q_

EVENTS = [{"dap_gy_m2": 2.5e-5, "rp_air_kerma_gy": 1.2e-3, "kvp": 70.0, "ma": 100.0, "ms": 28.0},
          {"dap_gy_m2": 5.0e-5, "rp_air_kerma_gy": 2.4e-3, "kvp": 80.0, "ma": 200.0, "ms": 10.0}]


@pytest.fixture
def report_file(tmp_path):
    return save(build_report(EVENTS, station_name="RAD3", device_serial="FD43-0917"), tmp_path / "sr.dcm")


def test_round_trip_through_a_file(report_file):
    report = read_report(report_file)
    assert report.station_name == "RAD3" and report.device_serial == "FD43-0917" and report.simulated
    # Totals are the sums: DAP 2.5e-5 + 5e-5 = 7.5e-5 Gy·m² (75 µGy·m²); Dose (RP) 1.2 + 2.4 = 3.6 mGy.
    assert report.dap_total.to("µGy*m**2").magnitude == pytest.approx(75.0)
    assert report.rp_total.to("mGy").magnitude == pytest.approx(3.6)
    first, second = report.events
    assert first.dap.to("Gy*m**2").magnitude == pytest.approx(2.5e-5)
    assert first.rp_air_kerma.to("mGy").magnitude == pytest.approx(1.2)
    assert first.kvp.to("kV").magnitude == 70 and first.exposure_time.to("ms").magnitude == 28
    # Exposure (113736) is written in µAs: 100 mA × 28 ms = 2800 µAs = 2.8 mAs; 200 mA × 10 ms = 2 mAs.
    assert first.mas.to("mAs").magnitude == pytest.approx(2.8) and second.mas.to("mAs").magnitude == pytest.approx(2)
    assert first.event_type == "Stationary Acquisition" and first.uid != second.uid


def test_dcmtk_reads_our_dose_report_without_complaint(report_file):
    tool = shutil.which("dsrdump") or shutil.which("dcmdump")
    if tool is None:
        pytest.skip("DCMTK (dsrdump or dcmdump) is not installed: apt-get install dcmtk")
    dsr = tool.endswith("dsrdump")
    done = subprocess.run([tool, *(["-ll", "warn", "+Pc"] if dsr else []), str(report_file)], capture_output=True,
                          text=True, timeout=30, check=False)
    assert done.returncode == 0 and done.stderr == ""
    if dsr:
        assert "X-Ray Radiation Dose SR Document" in done.stdout and "invalid code" not in done.stdout
        assert '(113722,DCM,"Dose Area Product Total")="7.5e-05" (Gy.m2,UCUM,"Gy.m2")' in done.stdout
        assert '(113721,DCM,"Irradiation Event Type")=(113611,DCM,"Stationary Acquisition")' in done.stdout


def test_dap_ratio_of_report_to_meter(report_file):
    report = read_report(report_file)
    # 7.5e-5 Gy·m² reported against 0.6 Gy·cm² = 6e-5 Gy·m² measured: 1.25.
    assert dap_ratio(report, Q_(0.6, "Gy*cm**2")) == pytest.approx(1.25)
    with pytest.raises(ValueError, match="positive"):
        dap_ratio(report, Q_(0, "Gy*cm**2"))


def test_an_image_is_not_a_dose_report(tmp_path):
    from xcal.dicom.objects import qc_test_object

    path = save(qc_test_object(), tmp_path / "sc.dcm")
    with pytest.raises(ConfigError, match="is not an X-Ray Radiation Dose SR") as caught:
        read_report(path)
    assert XRAY_DOSE_SR in caught.value.fix
    with pytest.raises(ConfigError, match="holds no X-Ray Radiation Dose SR"):
        read_reports(tmp_path)


def test_a_unit_xcal_does_not_read_is_named(tmp_path):
    ds = build_report(EVENTS[:1], station_name="RAD3", device_serial="X")
    ds.ContentSequence[-1].ContentSequence[4].MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue = "R"
    with pytest.raises(ConfigError, match="the unit 'R' of Dose Area Product"):
        read_report(ds)


def test_the_simulated_modality_reports_dap_as_kerma_times_field_area():
    from xcal.simulators.detector import DetectorModel, SimulatedModality

    class Exposure:
        air_kerma_ugy, kv_set, ma_set, ms_set = 2.5, 70.0, 100.0, 28.0

    modality = SimulatedModality(DetectorModel(), "DR", None, field_area_cm2=100.0)
    modality.on_exposure(Exposure())
    report = read_report(modality.dose_report())
    # 2.5 µGy × 100 cm² = 250 µGy·cm² = 2.5e-4 Gy × 1e-4 m² = 2.5e-8 Gy·m²; the reference-point air kerma 2.5 µGy.
    assert report.events[0].dap.to("Gy*m**2").magnitude == pytest.approx(2.5e-8)
    assert report.events[0].rp_air_kerma.to("µGy").magnitude == pytest.approx(2.5)


def test_cli_dose_summary_kept_once_and_compared_with_a_dap_run(report_file, tmp_path):
    import json

    from click.testing import CliRunner

    from xcal.cli import main
    from xcal.records.store import RunHeader, Store, StoredReading

    db = tmp_path / "r.sqlite3"
    with Store(db) as store:          # a dap-accuracy run whose DAP meter read 0.3 and 0.3 Gy·cm²
        run_id = store.create_run(RunHeader("dap-accuracy", "1.1.0", "ab" * 32, "DAP", "Test", "3", "Rad 3", "t",
                                            True, "0", {}))
        store.add_readings(run_id, [StoredReading(exposure=n, station=1, repeat=n, role="dap_meter",
                                                  instrument_id="dap-1", quantity="dap", value=0.3, unit="Gy·cm²",
                                                  taken_at="2026-12-05T10:00:00+00:00") for n in (1, 2)])
    runner = CliRunner()
    out = runner.invoke(main, ["--db", str(db), "dicom", "dose", str(report_file), "--run", run_id, "--record",
                               "--json"])
    assert out.exit_code == 0, out.output
    (summary,) = json.loads(out.output)
    assert summary["recorded"] and summary["dap_total_gy_m2"] == pytest.approx(7.5e-5)
    # 0.6 Gy·cm² measured = 6e-5 Gy·m²; 7.5e-5 reported: 1.25.
    assert summary["compared_with"]["measured_dap_gy_m2"] == pytest.approx(6e-5)
    assert summary["compared_with"]["ratio"] == pytest.approx(1.25)
    again = runner.invoke(main, ["--db", str(db), "dicom", "dose", str(report_file), "--record", "--json"])
    assert json.loads(again.output)[0]["recorded"] is False
    text = runner.invoke(main, ["--db", str(db), "dicom", "dose", str(report_file)])
    assert "DAP total 75 µGy·m², Dose (RP) total 3.6 mGy" in text.output
    from xcal.records.chain import DOSE_REPORT

    with Store(db) as store:
        kept = store.entries_of_kind([DOSE_REPORT])
        assert len(kept) == 1 and store.verify().ok
