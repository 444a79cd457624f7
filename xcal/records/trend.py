"""One check's results over time in one room: the series a physicist plots to see drift before it fails.

Only complete runs count. The query goes through `checks.room_id` (denormalised from the run) and the index
checks_room_result (room_id, check_id, run_id), so one room and result is found without scanning the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from .models import StoredCheck
from .projection import CHECK_FIELDS

if TYPE_CHECKING:
    from .store import Store

TREND_SQL = (
    "SELECT r.run_id, r.started_at, r.simulated, " + ", ".join(f"c.{name}" for name in CHECK_FIELDS) +
    " FROM checks c JOIN runs r ON r.run_id = c.run_id"
    " WHERE c.room_id = ? AND c.check_id = ? AND r.status = 'complete'"
    " ORDER BY r.started_at, r.run_id, c.check_row"
)


@dataclass(frozen=True)
class TrendPoint:
    """One check outcome of one run; `where` is the check's setting text (station and technique, or 'run').

    `check` is the stored check in full (set value, allowed deviation or bound, title, limit set), from which
    a plot rebuilds the limit band. It is not part of the point's record (`record()`, the `--json` output)
    and not compared: it only says again, in more detail, the outcome the other fields state.
    """

    run_id: str
    started_at: str
    where: str
    value: float
    unit: str
    limit_text: str
    source: str
    verdict: str
    simulated: bool
    check: StoredCheck | None = field(default=None, compare=False, repr=False)

    def record(self) -> dict[str, Any]:
        """The point as `xcal trend --json` prints it (docs/exit-codes.rst): every field but `check`."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "check"}


def trend(store: "Store", room: str, result: str) -> list[TrendPoint]:
    """Outcomes of check `result` in `room` from complete runs, oldest first."""
    points = []
    for r in store.select(TREND_SQL, (str(room), result)):
        check = StoredCheck(*(r[name] for name in CHECK_FIELDS))
        points.append(TrendPoint(r["run_id"], r["started_at"], check.setting or "", check.value, check.unit,
                                 check.limit_text, check.source, check.verdict, bool(r["simulated"]), check))
    return points
