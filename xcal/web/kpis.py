"""Program KPIs over a period (default, as `xcal kpi`: 1 January to today), for the site or one room, from
`program.kpi.compute_kpis`: QC on-time rate, PM compliance, corrective actions, downtime, calibration."""

from __future__ import annotations

from starlette.responses import Response

from .app import Page, page


@page("view")
def kpis(p: Page) -> Response:
    """GET /kpis?start=YYYY-MM-DD&end=YYYY-MM-DD&room=ID."""
    from ..program.kpi import CALIBRATION_DAYS, compute_kpis, period

    query = p.request.query_params
    start, end = period(query.get("start") or None, query.get("end") or None, p.today)
    room = query.get("room") or None
    result = compute_kpis(p.store, p.web.site, start=start, end=end, room=room, today=p.today)
    late = [line for line in result.qc_lines if not line["on_time"]]
    return p.render("kpis.html", k=result, late=late, chosen_room=room or "", calibration_days=CALIBRATION_DAYS)
