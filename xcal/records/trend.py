"""One check's results over time in one room: the series a physicist plots to see drift before it fails.

Only complete runs count. The query goes through `checks.room_id` (denormalised from the run) and the index
checks_room_result (room_id, check_id, run_id), so one room and result is found without scanning the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import Store

TREND_SQL = (
    "SELECT r.run_id, r.started_at, c.setting, c.value, c.unit, c.limit_text, c.source, c.verdict, r.simulated"
    " FROM checks c JOIN runs r ON r.run_id = c.run_id"
    " WHERE c.room_id = ? AND c.check_id = ? AND r.status = 'complete'"
    " ORDER BY r.started_at, r.run_id, c.check_row"
)


@dataclass(frozen=True)
class TrendPoint:
    """One check outcome of one run; `where` is the check's setting text (station and technique, or 'run')."""

    run_id: str
    started_at: str
    where: str
    value: float
    unit: str
    limit_text: str
    source: str
    verdict: str
    simulated: bool


def trend(store: "Store", room: str, result: str) -> list[TrendPoint]:
    """Outcomes of check `result` in `room` from complete runs, oldest first."""
    return [TrendPoint(r["run_id"], r["started_at"], r["setting"] or "", r["value"], r["unit"], r["limit_text"],
                       r["source"], r["verdict"], bool(r["simulated"]))
            for r in store.select(TREND_SQL, (str(room), result))]
