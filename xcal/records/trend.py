"""One check's results over time in one room: the series a physicist plots to see drift before it fails.

Only complete runs count. The queries read the room's runs (index runs_room) and each run's checks of that
result (index checks_run_result), so one room and result is found without scanning a table; the checks are not
indexed by room, which every bulk import would have to rewrite (schema.OBSOLETE_INDEXES).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from .models import StoredCheck
from .projection import CHECK_FIELDS

if TYPE_CHECKING:
    from .store import Store

_COLUMNS = "SELECT r.run_id, r.started_at, r.simulated, " + ", ".join(f"c.{name}" for name in CHECK_FIELDS)
_COMPLETE = (" FROM runs r JOIN checks c ON c.run_id = r.run_id"
             " WHERE r.room_id = ? AND c.check_id = ? AND r.status = 'complete'")
TREND_SQL = _COLUMNS + _COMPLETE + " ORDER BY r.started_at, r.run_id, c.check_row"
LATEST_SQL = _COLUMNS + _COMPLETE + " ORDER BY r.started_at DESC, r.run_id DESC, c.check_row DESC LIMIT ?"
"""The last points newest first, read from the room's runs newest first: the database stops after the few runs
that hold them."""
COUNT_SQL = "SELECT COUNT(*) AS n" + _COMPLETE
"""How many points `trend` has (each of the room's runs read once, for its status)."""


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


def trend(store: Store, room: str, result: str) -> list[TrendPoint]:
    """Outcomes of check `result` in `room` from complete runs, oldest first."""
    return [_point(r) for r in store.select(TREND_SQL, (str(room), result))]


def latest(store: Store, room: str, result: str, last: int) -> tuple[list[TrendPoint], int]:
    """The last `last` points of `trend(store, room, result)`, oldest first, and how many points it has in all:
    what the table of `xcal trend` shows, without making a point of every one."""
    with store._snapshot():
        total = next(iter(store.select(COUNT_SQL, (str(room), result))))["n"]
        points = [_point(r) for r in store.select(LATEST_SQL, (str(room), result, int(last)))]
    return points[::-1], total


def _point(r: Any) -> TrendPoint:
    check = StoredCheck(**{name: r[name] for name in CHECK_FIELDS})
    return TrendPoint(r["run_id"], r["started_at"], check.setting or "", check.value, check.unit, check.limit_text,
                      check.source, check.verdict, bool(r["simulated"]), check)
