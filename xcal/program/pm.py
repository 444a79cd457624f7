"""Preventive maintenance: the site file's `maintenance:` schedule per room and component, and PM log entries.

The schedule is read from the site file itself (`maintenance:`, beside `schedule:`), each line
`{room, component, task, every}` with `every` as in `schedule:` (daily ... annual or an RRULE), so one file
says what is due. A PM done is one store-level `pm_logged` entry (run_id ''), covered by the chain. `xcal due`
shows one line per schedule line with procedure `pm:COMPONENT`: NEVER DONE, OK, DUE or OVERDUE from the latest
PM logged for that room and component, counted from the day it was done.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..records.chain import PM_LOGGED


@dataclass(frozen=True)
class PmItem:
    """One line of the site's maintenance schedule."""

    room: str
    component: str
    task: str
    every: str


def _site_file(site: Any) -> tuple[Path, str]:
    from ..site import DEMO_SITE

    return (DEMO_SITE, site.path) if site.is_demo else (Path(site.path), site.path)


_SCHEDULES: dict[tuple[str, str], tuple[PmItem, ...]] = {}
"""The maintenance lines of each site file read, by its path and sha256 as loaded: `xcal due` and every page of
`xcal serve` ask for them, and a site of hundreds of rooms takes a second to parse."""


def load_pm_schedule(site: Any) -> list[PmItem]:
    """The `maintenance:` lines of the site file (none when it has no such key); ConfigError naming file, line
    and fix for an unknown room, a missing key or a frequency that cannot be used. Parsed once per site file."""
    key = (str(site.path), str(site.sha256))
    if key not in _SCHEDULES:
        _SCHEDULES[key] = tuple(_read_pm_schedule(site))
    return list(_SCHEDULES[key])


def _read_pm_schedule(site: Any) -> list[PmItem]:
    from ..frequency import FrequencyError, check_frequency
    from ..yamlfile import check_keys, expect_list, expect_map, expect_str, fail, load_yaml

    file, display = _site_file(site)
    root = load_yaml(file, display=display).data
    if "maintenance" not in root:
        return []
    nodes = expect_list(root["maintenance"], root.value_mark("maintenance"), "maintenance")
    items = []
    for i, node in enumerate(nodes):
        what = f"maintenance line {i + 1}"
        line = expect_map(node, nodes.item_mark(i), what)
        check_keys(line, what, ("room", "component", "task", "every"))
        room = expect_str(line["room"], line.value_mark("room"), "room")
        if room not in site.rooms:
            raise fail(f"{what} names room '{room}', which the site does not have", line.value_mark("room"),
                       fix=f"use one of the site's rooms: {', '.join(site.rooms)}")
        every = expect_str(line["every"], line.value_mark("every"), "every")
        try:
            check_frequency(every)
        except FrequencyError as exc:
            raise fail(str(exc), line.value_mark("every"), fix=exc.fix) from None
        items.append(PmItem(room, expect_str(line["component"], line.value_mark("component"), "component"),
                            expect_str(line["task"], line.value_mark("task"), "task"), every))
    return items


def log_pm(store: Any, site: Any, *, room: str, component: str, done: str, engineer: str, vendor: str,
           on: str | None, parts: list[str], by: str) -> dict[str, Any]:
    """Record a PM done on a room's component (on `on`, YYYY-MM-DD, default today) and return it as recorded."""
    room_id = site.room(room).id
    try:
        day = dt.date.fromisoformat(on.strip()) if on else dt.date.today()
    except ValueError:
        raise ConfigError(f"--date {on!r} is not a date", fix="give the day the PM was done as YYYY-MM-DD") from None
    if day > dt.date.today():
        raise ConfigError(f"--date {day.isoformat()} is in the future", fix="log a PM on or after the day it was done")
    for text, what in ((component, "--component"), (done, "--done"), (engineer, "--engineer"),
                       (vendor, "--vendor"), (by, "--name")):
        if not text or not text.strip():
            raise ConfigError(f"{what} is empty", fix=f"give {what} with the words or name it asks for")
    made: list[str] = []

    def build() -> list[tuple[str, dict[str, Any]]]:
        pm_id = f"PM-{len(store.entries_of_kind([PM_LOGGED])) + 1}"
        made.append(pm_id)
        return [(PM_LOGGED, {"pm_id": pm_id, "room": room_id, "component": component.strip(), "date": day.isoformat(),
                             "done": done.strip(), "engineer": engineer.strip(), "vendor": vendor.strip(),
                             "parts": [p.strip() for p in parts if p.strip()], "by": by.strip()})]

    store.append_entries(build)
    return next(p for p in load_pm_log(store) if p["pm_id"] == made[0])


def load_pm_log(store: Any) -> list[dict[str, Any]]:
    """Every PM logged, oldest first, each as recorded with `recorded_at`."""
    return [{**e.data(), "recorded_at": e.at} for e in store.entries_of_kind([PM_LOGGED])]


def pm_due(site: Any, store: Any, today: dt.date, room: str | None) -> list[Any]:
    """One `xcal due` line per maintenance line: the latest PM of that room and component and when the next is
    due (procedure `pm:COMPONENT`, last_run the PM id, no instruments)."""
    from ..frequency import DueItem, FrequencyError, next_due

    log = load_pm_log(store)
    lines = []
    for item in load_pm_schedule(site):
        if room is not None and item.room != str(room):
            continue
        done = [p for p in log if p["room"] == item.room and p["component"] == item.component]
        last = max(done, key=lambda p: (p["date"], p["recorded_at"])) if done else None
        last_date = dt.date.fromisoformat(last["date"]) if last else None
        try:
            due: dt.date | None = next_due(item.every, last_date, today)
        except FrequencyError:
            due = None
        status = ("ENDED" if due is None else "NEVER DONE" if last is None else "OVERDUE" if due < today
                  else "DUE" if due == today else "OK")
        lines.append(DueItem(item.room, f"pm:{item.component}", item.every, last["pm_id"] if last else None,
                             last_date, None, due, status, ()))
    return lines
