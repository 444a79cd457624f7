"""Preventive maintenance end to end on the demo site: its `maintenance:` schedule has room 4's generator
(annual) and collimator (quarterly). Worked by hand: a generator PM logged on 2026-01-10 is next due on
2027-01-10; one logged on a day more than a year before today is OVERDUE since the day a year after it; a
collimator never maintained is NEVER DONE, due today.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from xcal.errors import ConfigError
from xcal.program.pm import load_pm_schedule
from xcal.site import load_site


def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _log(cli, *extra, component="generator", on="2026-01-10"):
    return cli("pm", "log", "--room", "4", "--component", component, "--done", "PM per the service manual",
                "--engineer", "A. Field", "--vendor", "in-house", "--date", on, "--name", "P. Hys", *extra)


def _pm_lines(cli):
    return {d["procedure"]: d for d in _json(cli("due", "--room", "4", "--json")) if d["procedure"].startswith("pm:")}


def test_the_maintenance_schedule_is_read_from_the_site_file():
    items = load_pm_schedule(load_site())
    assert [(i.room, i.component, i.every) for i in items] == [("4", "generator", "annual"),
                                                               ("4", "collimator", "quarterly")]


def test_a_pm_logged_sets_the_next_due_date_and_never_done_is_due_today(cli):
    entry = _json(_log(cli, "--part", "fan filter", "--json"))
    assert (entry["pm_id"], entry["room"], entry["component"], entry["date"], entry["parts"]) == \
        ("PM-1", "4", "generator", "2026-01-10", ["fan filter"])
    lines = _pm_lines(cli)
    generator = lines["pm:generator"]
    assert (generator["status"], generator["last_run"], generator["last_date"], generator["next_due"]) == \
        ("OK", "PM-1", "2026-01-10", "2027-01-10")
    collimator = lines["pm:collimator"]
    assert (collimator["status"], collimator["next_due"]) == ("NEVER DONE", dt.date.today().isoformat())
    assert generator["instruments"] == [] and generator["every"] == "annual"
    assert [p["pm_id"] for p in _json(cli("pm", "list", "--room", "4", "--json"))] == ["PM-1"]


def test_a_pm_more_than_a_year_ago_is_overdue(cli):
    long_ago = dt.date.today() - dt.timedelta(days=400)
    if (long_ago.month, long_ago.day) == (2, 29):          # a year after 29 February is not one day
        long_ago -= dt.timedelta(days=1)
    _log(cli, on=long_ago.isoformat())
    generator = _pm_lines(cli)["pm:generator"]
    assert generator["status"] == "OVERDUE"
    assert generator["next_due"] == long_ago.replace(year=long_ago.year + 1).isoformat()


@pytest.mark.parametrize("on, message", [("tomorrow", "--date 'tomorrow' is not a date"),
                                         ("2999-01-01", "--date 2999-01-01 is in the future")])
def test_a_bad_pm_date_is_refused_and_nothing_is_logged(cli, on, message):
    result = _log(cli, on=on)
    assert result.returncode == 2 and message in result.stderr and "fix:" in result.stderr
    assert _json(cli("pm", "list", "--json")) == []


def test_a_maintenance_line_for_a_room_the_site_lacks_is_refused_with_file_and_line(site_copy):
    path = site_copy({"  - {room: 4, component: collimator": "  - {room: 44, component: collimator"})
    with pytest.raises(ConfigError) as caught:
        load_pm_schedule(load_site(str(path)))
    text = str(caught.value)
    assert f"{path}:" in text and "room '44'" in text and "use one of the site's rooms" in text


def test_verify_covers_the_pm_log(cli):
    _log(cli)
    assert _json(cli("verify", "--json"))["ok"] is True


def test_xcal_validate_checks_the_maintenance_lines_of_a_site_file(cli, site_copy):
    bad = site_copy({"- {room: 4, component: collimator": "- {room: 44, component: collimator"}, name="pm.yaml")
    done = cli("validate", str(bad))
    assert done.returncode == 2
    assert "maintenance line 2 names room '44', which the site does not have" in done.stderr
    assert "pm.yaml:134" in done.stderr
