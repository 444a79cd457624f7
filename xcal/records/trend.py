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

_FROM = (" FROM checks c JOIN runs r ON r.run_id = c.run_id"
         " WHERE c.room_id = ? AND c.check_id = ? AND r.status = 'complete'")
_COLUMNS = "SELECT r.run_id, r.started_at, r.simulated, " + ", ".join(f"c.{name}" for name in CHECK_FIELDS)
TREND_SQL = _COLUMNS + _FROM + " ORDER BY r.started_at, r.run_id, c.check_row"
_NEWEST_FIRST = " ORDER BY r.started_at DESC, r.run_id DESC, c.check_row DESC"
_ROOM_RUNS = (" FROM runs r JOIN checks c ON c.run_id = r.run_id"
              " WHERE r.room_id = ? AND c.check_id = ? AND r.status {status} 'complete'")
LATEST_SQL = _COLUMNS + _ROOM_RUNS.format(status="=") + _NEWEST_FIRST + " LIMIT ?"
"""The last points newest first, read from the room's runs newest first (index runs_room, then checks_run): the
database stops after the few runs that hold them, where starting from the checks would join every point."""
COUNT_SQL = ("SELECT (SELECT COUNT(*) FROM checks WHERE room_id = ? AND check_id = ?) - (SELECT COUNT(*)"
             + _ROOM_RUNS.format(status="<>") + ") AS n")
"""How many points `trend` has: the room's checks of that result (index checks_room_result alone) less those of
its runs not complete (a check's room_id is always its run's), without joining every point to its run."""


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
        total = next(iter(store.select(COUNT_SQL, (str(room), result) * 2)))["n"]
        points = [_point(r) for r in store.select(LATEST_SQL, (str(room), result, int(last)))]
    return points[::-1], total


def _point(r: Any) -> TrendPoint:
    check = StoredCheck(**{name: r[name] for name in CHECK_FIELDS})
    return TrendPoint(r["run_id"], r["started_at"], check.setting or "", check.value, check.unit, check.limit_text,
                      check.source, check.verdict, bool(r["simulated"]), check)
