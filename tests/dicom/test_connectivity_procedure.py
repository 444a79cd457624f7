"""The dicom-connectivity procedure: judged, recorded checks of the PACS and the room's modality, on the demo
site's simulated nodes and against nodes that are not there."""

from __future__ import annotations

import pytest

pytest.importorskip("pydicom", reason="the dicom extra (pydicom) is not installed")
pytest.importorskip("pynetdicom", reason="the dicom extra (pynetdicom) is not installed")

from xcal.demo.wiring import simulated_room
from xcal.procedures.session import start
from xcal.records.store import Store

from .conftest import free_port


def test_demo_room_passes_every_step_and_records_the_times(tmp_path):
    db = tmp_path / "r.sqlite3"
    result = start("dicom-connectivity", "3", db=db).run(simulated_room=simulated_room)
    assert result.verdict == "PASS"
    checks = {c.check_id: c for c in result.checks}
    assert float(checks["dicom-steps"].value.magnitude) == 0
    assert checks["dicom-echo"].limit.set_id == "dicom-acceptance"
    with Store(db) as store:
        readings = store.get_run(result.run_id).readings
    by = {(r.role, r.quantity): r for r in readings}
    assert by[("pacs", "commit_ms")].data["ok"] and by[("pacs", "store_ms")].value > 0
    assert by[("modality", "echo_ms")].data["node"].startswith("dicom-modality-DR3_DXR500 DR3_DXR500@127.0.0.1:")
    steps = [s["step"] for s in by[("pacs", "failed_steps")].data["steps"]]
    assert steps == ["connect", "associate", "echo", "store", "commit"]


def test_a_stopped_pacs_fails_with_the_refusal_named(site_file, tmp_path):
    site = site_file(port=free_port(), pacs_port=free_port(),
                     replace=("limit_sets: [cfr-1020], instruments: {}}\n  - {id: 2",
                              "limit_sets: [dicom-acceptance], instruments: {}}\n  - {id: 2"))
    result = start("dicom-connectivity", "1", db=tmp_path / "r.sqlite3", site=site).run()
    checks = {c.check_id: c for c in result.checks}
    # Nothing listens at the PACS nor at the modality's port 104: association, C-ECHO, C-STORE and commitment of
    # the PACS (3 steps: the test site asks no commitment) and association and C-ECHO of the modality (2): the
    # result is the worse node, 3.
    assert result.verdict == "FAIL" and checks["dicom-steps"].verdict == "FAIL"
    assert float(checks["dicom-steps"].value.magnitude) == 3
    with Store(tmp_path / "r.sqlite3") as store:
        readings = store.get_run(result.run_id).readings
    refused = next(r for r in readings if r.role == "pacs" and r.quantity == "association_ms")
    assert not refused.data["ok"] and "connection refused" in refused.data["message"]
    assert "start the DICOM service" in refused.data["fix"]
    assert refused.value == 5000.0            # not answered: the 5 s timeout is the time recorded
