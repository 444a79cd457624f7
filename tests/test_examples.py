"""The examples do what examples/README.md says: the acceptance script, the vendor suite and the clinic site.

The third-party driver package under examples/ is installed and exercised by tests/drivers/test_entry_points.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ACCEPTANCE = EXAMPLES / "acceptance_radiographic.py"
VENDOR_SUITE = EXAMPLES / "vendor_suite" / "test_dxr500_room.py"
CLINIC = EXAMPLES / "clinic" / "site.yaml"


def _acceptance(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ACCEPTANCE), *args], capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


def test_acceptance_script_passes_room_3_and_prints_every_check():
    result = _acceptance()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "room 3 (Radiography 3)" in lines[0] and "SIMULATED" in lines[0]
    for procedure in ("kvp-accuracy", "timer-accuracy", "hvl"):
        assert any(line.startswith(f"{procedure}: PASS") for line in lines), result.stdout
    checks = [line for line in lines if line.startswith("  ")]
    assert len(checks) == 4 + 5 + 1
    assert all(line.split()[0] == "PASS" and "limit " in line and "[" in line for line in checks)
    assert lines[-1] == "ACCEPTANCE: PASS"


def test_acceptance_script_fails_room_4_on_kvp_at_120_kv():
    result = _acceptance("4")
    assert result.returncode == 1, result.stderr
    failed = [line for line in result.stdout.splitlines() if line.lstrip().startswith("FAIL ")]
    assert len(failed) == 1
    assert "kvp-accuracy at station 4" in failed[0] and "(set 120 kV)" in failed[0]
    assert "±max(5 %, 2 kV)" in failed[0] and "EX-DXR500-SM" in failed[0]
    assert result.stdout.splitlines()[-1] == "ACCEPTANCE: FAIL (kvp-accuracy)"


def test_acceptance_script_exits_2_on_an_unknown_room():
    result = _acceptance("44")
    assert result.returncode == 2
    assert "no room '44'" in result.stderr and "fix:" in result.stderr and result.stdout == ""


@pytest.fixture
def vendor_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """The vendor's test file, copied unchanged into pytester's folder."""
    pytester.makepyfile(test_dxr500_room=VENDOR_SUITE.read_text(encoding="utf-8"))
    return pytester


def test_vendor_suite_passes_on_room_3(vendor_suite):
    outcome = vendor_suite.runpytest_subprocess("--xcal-room", "3", "-p", "no:cacheprovider")
    outcome.assert_outcomes(passed=8)


def test_vendor_suite_fails_room_4_on_kvp_at_120_kv(vendor_suite):
    outcome = vendor_suite.runpytest_subprocess("--xcal-room", "4", "-p", "no:cacheprovider", "-rf")
    outcome.assert_outcomes(passed=7, failed=1)
    output = outcome.stdout.str()
    assert "FAILED test_dxr500_room.py::test_technique_factor_accuracy[kvp-accuracy]" in output
    assert "station 4: 127" in output and "(set 120 kV)" in output and "±max(5 %, 2 kV)" in output


def test_clinic_site_validates(xcal):
    result = xcal("validate", str(CLINIC))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok  site        Cedar Valley Imaging Clinic")


def test_clinic_site_is_a_real_site_whose_drivers_accept_their_settings():
    from xcal.drivers.generic.manual import ManualEntry
    from xcal.drivers.instruments.gq.gmc import CounterCalibration
    from xcal.drivers.link import resource_kind
    from xcal.drivers.registry import get_driver_class
    from xcal.site import load_site

    site = load_site(CLINIC)
    assert not site.is_demo and len(site.rooms) == 2
    assert not any(inst.simulated for inst in site.instruments.values())
    for inst in site.instruments.values():
        cls = get_driver_class(inst.driver)
        assert set(inst.capabilities) <= set(cls.capabilities), inst.id
        assert inst.calibration.certificate and inst.calibration.due > inst.calibration.date
        if inst.driver != "manual":
            resource_kind(inst.resource)
    assert site.instruments["ec-1"].resource == "TCPIP::192.168.10.21::8123::SOCKET"
    assert site.instruments["dap-1"].resource == "/dev/ttyUSB0"
    gm = site.instruments["gm-1"]
    assert gm.resource == "/dev/ttyUSB1"
    values = get_driver_class(gm.driver).check_options(gm.options, owner=gm.id)
    assert CounterCalibration.from_option_values(values).sensitivity.to("cpm/(µSv/h)").magnitude == 148.6
    kvp = ManualEntry(site.instruments["kvp-1"].resource, name="kvp-1", **site.instruments["kvp-1"].options)
    assert kvp.identify().model == "X2 R/F" and "waveform" not in kvp.readings
    assert {(item.room, item.procedure) for item in site.schedule} == {
        (room, procedure) for room in ("1", "2")
        for procedure in ("timer-accuracy", "hvl", "output-reproducibility-4", "collimation")}
    assert site.retention and all(rule.source for rule in site.retention)
    for room in site.rooms.values():
        assert room.limit_sets == ("wa", "cfr-1020", "aapm-74")
        assert {"generator", "tube", "collimator"} <= set(room.equipment)


def test_clinic_rooms_resolve_the_limits_of_the_radiographic_procedures():
    from xcal.procedures.loader import find_procedure
    from xcal.procedures.plan import known_limits, prepare
    from xcal.site import load_site

    site = load_site(CLINIC)
    limits = known_limits(site)
    calibrated = site.instruments["kvp-1"].calibration.date
    for room in site.rooms:
        # The clinic's kVp meter is read by hand, so its kVp test is the copy without a waveform.
        plan = prepare(site, room, find_procedure(str(CLINIC.parent / "kvp-accuracy-manual.yaml"), limits),
                       today=calibrated)
        assert plan.limits["kvp-accuracy"].set_id == "aapm-74"
        plan = prepare(site, room, find_procedure("output-reproducibility-4", limits), today=calibrated)
        assert plan.limits["output-reproducibility-4"].set_id == "wa"


def test_clinic_kvp_procedure_runs_with_readings_typed_by_hand(xcal, tmp_path):
    import json

    answers = tmp_path / "answers.yaml"
    answers.write_text("exposures:\n" + "".join(
        f"  - {{kvp_ppv: {kv * 1.01:.1f} kV, kvp_max: {kv * 1.02:.1f} kV, exposure_time: {ms} ms, "
        f"air_kerma: 1.2 mGy}}\n" for kv, ms in ((60, 100), (80, 100), (100, 50), (120, 50)) for _ in range(3)),
        encoding="utf-8")
    text = CLINIC.read_text(encoding="utf-8")
    assert "    resource: console\n" in text
    site = tmp_path / "site.yaml"
    site.write_text(text.replace("    resource: console\n", f"    resource: inputs:{answers}\n")
                    .replace("due: 20", "due: 2099-12-31  # was 20"), encoding="utf-8")
    result = xcal("--site", str(site), "run", str(EXAMPLES / "clinic" / "kvp-accuracy-manual.yaml"), "--room", "1",
                  "--json")
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)
    assert run["simulated"] is False and run["procedure"]["id"] == "kvp-accuracy-manual"
    assert [c["verdict"] for c in run["checks"]] == ["PASS"] * 4
    assert {c["limit_set"] for c in run["checks"]} == {"aapm-74"}


def test_a_procedure_reading_a_waveform_from_a_manual_meter_is_refused_before_it_starts(xcal, tmp_path):
    import json as _json

    result = xcal("--site", str(CLINIC),
                  "run", "kvp-accuracy", "--room", "1")
    assert result.returncode == 2 and "cannot give one" in result.stderr
    assert _json.loads(xcal("history", "--json").stdout) == []
