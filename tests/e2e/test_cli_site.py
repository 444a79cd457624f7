"""The site at a glance (`xcal site rooms`, `xcal site instruments`) and "did you mean" for a misspelt name."""

from __future__ import annotations

import datetime as dt
import json

import pytest

pytestmark = pytest.mark.e2e

KVP_CAL = ("certificate: SIM-CAL-2026-0117 (simulated instrument)\n      laboratory: none (simulated)\n"
           "      date: 2026-01-15\n      due: 2099-12-31")
EC_CAL = ("certificate: SIM-CAL-2026-0118 (simulated instrument)\n      laboratory: none (simulated)\n"
          "      date: 2026-01-15\n      due: 2099-12-31")


def _site_due(site_copy, kvp_due: dt.date, ec_due: dt.date):
    """The demo site with kvp-1 and ec-1 falling due on the given days (calibrated long before)."""
    return site_copy({KVP_CAL: KVP_CAL.replace("2026-01-15", "2020-01-01").replace("2099-12-31", kvp_due.isoformat()),
                      EC_CAL: EC_CAL.replace("2026-01-15", "2020-01-01").replace("2099-12-31", ec_due.isoformat())})


def test_site_rooms_lists_each_room_with_its_equipment_limit_sets_and_instruments(xcal):
    result = xcal("site", "rooms", "--json")
    assert result.returncode == 0, result.stderr
    rooms = json.loads(result.stdout)
    assert [r["id"] for r in rooms] == [str(n) for n in range(3, 15)]
    room3 = rooms[0]
    assert set(room3) == {"id", "name", "modality", "equipment", "limit_sets", "instruments"}
    assert (room3["name"], room3["modality"]) == ("Radiography 3", "radiography")
    assert room3["limit_sets"][:2] == ["example-dxr-manufacturer", "cfr-1020"]
    assert room3["instruments"] == {"kvp_meter": "kvp-1", "electrometer": "ec-1", "dap_meter": "dap-1",
                                    "survey_meter": "gm-1"}
    assert room3["equipment"]["generator"]["serial"] == "DXR5-10293" and room3["equipment"]["installed"] == "2022-03-14"


def test_site_rooms_table(xcal):
    result = xcal("site", "rooms")
    assert result.returncode == 0, result.stderr
    assert "Radiography 3" in result.stdout and "DXR-500" in result.stdout and "kvp_meter: kvp-1" in result.stdout


def test_site_instruments_shows_calibration_status_and_warns_of_what_falls_due(xcal, site_copy):
    today = dt.date.today()
    site = _site_due(site_copy, today + dt.timedelta(days=30), today - dt.timedelta(days=1))
    result = xcal("--site", str(site), "site", "instruments", "--json")
    assert result.returncode == 0, result.stderr
    by_id = {i["id"]: i for i in json.loads(result.stdout)}
    assert (by_id["kvp-1"]["status"], by_id["kvp-1"]["days_left"]) == ("DUE SOON", 30)
    assert (by_id["ec-1"]["status"], by_id["ec-1"]["days_left"]) == ("EXPIRED", -1)
    assert (by_id["dap-1"]["status"], by_id["dap-1"]["calibration"]["due"]) == ("OK", "2099-12-31")
    assert {"room": "4", "role": "kvp_meter"} in by_id["kvp-1"]["rooms"]
    assert by_id["kvp-1"]["calibration"]["certificate"] == "SIM-CAL-2026-0117 (simulated instrument)"
    due = (today + dt.timedelta(days=30)).isoformat()
    assert f"warning: kvp-1 falls due for calibration on {due}, in 30 days" in result.stderr
    assert f"warning: ec-1 is past its calibration due date {(today - dt.timedelta(days=1)).isoformat()}" \
        in result.stderr


@pytest.mark.parametrize("within, status", [("30d", "DUE SOON"), ("29 days", "OK"), ("12 weeks", "DUE SOON"),
                                            ("2 weeks", "OK")])
def test_the_warning_window_is_an_option(xcal, site_copy, within, status):
    # kvp-1 falls due in exactly 30 days: inside a 30-day window (its last day counts), outside 29 days.
    today = dt.date.today()
    site = _site_due(site_copy, today + dt.timedelta(days=30), today + dt.timedelta(days=400))
    result = xcal("--site", str(site), "site", "instruments", "--within", within, "--json")
    assert result.returncode == 0, result.stderr
    assert {i["id"]: i["status"] for i in json.loads(result.stdout)}["kvp-1"] == status


def test_site_instruments_table(xcal, site_copy):
    today = dt.date.today()
    site = _site_due(site_copy, today + dt.timedelta(days=30), today + dt.timedelta(days=400))
    result = xcal("--site", str(site), "site", "instruments")
    assert result.returncode == 0, result.stderr
    assert "DUE SOON" in result.stdout and "XR1-004217" in result.stdout and "within 60 days" in result.stdout


@pytest.mark.parametrize("within", ["60", "-5 d", "5 kV", "soon"])
def test_a_window_without_a_time_unit_is_refused(xcal, within):
    result = xcal("site", "instruments", "--within", within)
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert "--within" in result.stderr and "e.g. --within 90d" in result.stderr


def test_a_misspelt_procedure_gets_a_suggestion(xcal):
    result = xcal("run", "kvp-acuracy", "--room", "3")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no procedure named 'kvp-acuracy'" in result.stderr and "did you mean kvp-accuracy?" in result.stderr


def test_a_room_given_by_its_name_gets_a_suggestion_of_its_id(xcal):
    result = xcal("run", "kvp-accuracy", "--room", "radiography 4")
    assert result.returncode == 2
    assert "did you mean 4 (Radiography 4)?" in result.stderr and "3, 4, 5" in result.stderr


def test_an_unknown_room_lists_the_rooms_without_a_guess_from_digits(xcal):
    result = xcal("run", "kvp-accuracy", "--room", "33")
    assert result.returncode == 2
    assert "no room '33'" in result.stderr and "3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14" in result.stderr
    assert "did you mean" not in result.stderr
