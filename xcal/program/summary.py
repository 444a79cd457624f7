"""What the program records add to a room's annual report and to the inspection binder, in one call.

The corrective actions, service events, PM and incidents of the room and year, and the site's personnel dose
report for the year. Names of people (incident people, badge wearers) and badge ids are personal data: they are
left out unless `personal` is asked for, since these reports leave the site.
"""

from __future__ import annotations

from typing import Any


def program_summary(store: Any, site: Any, *, room: str, year: int, personal: bool = False) -> dict[str, Any]:
    """The room's program records of `year` and the site's dose report of `year` (names withheld unless
    `personal`)."""
    from .actions import load_actions
    from .dosimetry import dosimetry_summary
    from .incidents import incident_summary
    from .pm import load_pm_log
    from .service import load_services

    room_id = site.room(room).id
    in_year = str(year)
    return {"room": room_id, "year": year, "personal": personal,
            "actions": [a.to_dict() for a in load_actions(store)
                        if a.room == room_id and (a.opened_at[:4] == in_year or a.status != "verified")],
            "services": [s for s in load_services(store) if s["room"] == room_id and s["down_from"][:4] == in_year],
            "pm": [p for p in load_pm_log(store) if p["room"] == room_id and p["date"][:4] == in_year],
            "incidents": incident_summary(store, room=room_id, year=year, personal=personal),
            "dosimetry": dosimetry_summary(store, site, year=year, personal=personal)}


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The incident and dosimetry part of the summary as text, for a report's sections."""
    from .dosimetry import report_lines

    lines = [f"Incidents, room {summary['room']}, {summary['year']}:"]
    for i in summary["incidents"]:
        level = i["notification_level"]
        lines.append(f"  {i['incident_id']} {i['date'][:10]} ({i['kind']}): {i['what']}; "
                     f"{level['title'] if level else 'no notification level reached'}; {i['notification_due']}")
    if not summary["incidents"]:
        lines.append("  none recorded")
    return lines + report_lines(summary["dosimetry"])
