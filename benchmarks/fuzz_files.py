"""A longer fuzzing run than the test suite's: mutated site, procedure, limit set and inputs files, typed entries
and expressions, each of which must load (or compute) or be refused with xcal's own error.

Uses the mutations of tests/test_fuzz_files.py with a seeded random generator, so a run is repeatable:
`python benchmarks/fuzz_files.py [N_PER_KIND] [SEED]`. Prints, per kind, how many inputs it tried, how many
loaded and were refused, and the tracebacks (any other exception) and hangs (over the time bound) it met, with
the first input of each kind of traceback written to a file to reproduce it. Exit status 1 when any was met.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_fuzz_files import ODD_TEXT, SEEDS, TIME_BOUND, TOKENS, Hang, Workspace, mutate, render, time_bound  # noqa: E402

UNITS = ["cm", "kV", "mGy", "R", "mR", "µGy", "kPa", "1/0", "", "cm**9999", "mm2", "uGy", "°C"]


def _scalar(rng: random.Random) -> Any:
    """A random scalar: null, yes/no, an integer of any size, a float, a short text or an odd text as written."""
    pick = rng.randrange(7)
    if pick == 0:
        return None
    if pick == 1:
        return rng.random() < 0.5
    if pick == 2:
        return rng.choice([0, -1, 1, 2 ** 31, 2 ** 63, -(10 ** 30), rng.randrange(-1000, 1000)])
    if pick == 3:
        return rng.choice([0.0, -0.0, 1e-320, 1e308, -1e308, float("inf"), float("nan"), rng.uniform(-1e6, 1e6)])
    if pick == 4:
        return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0xA0, 0x3000)]))
                       for _ in range(rng.randrange(8)))
    return (rng.choice(ODD_TEXT),)


def _value(rng: random.Random) -> str:
    """A random scalar, list or mapping, as YAML text."""
    pick = rng.randrange(4)
    if pick == 0:
        return render([_scalar(rng) if not isinstance(s := _scalar(rng), tuple) else s[0]
                       for _ in range(rng.randrange(4))])
    if pick == 1:
        return render({f"k{i}": (v[0] if isinstance(v := _scalar(rng), tuple) else v) for i in range(rng.randrange(3))})
    return render(_scalar(rng))


def _ops(rng: random.Random) -> list[tuple[Any, ...]]:
    """One to four mutations, as tests/test_fuzz_files.py's `mutate` takes them."""
    ops: list[tuple[Any, ...]] = []
    for _ in range(rng.randrange(1, 5)):
        kind = rng.choice(["delete", "duplicate", "replace", "value", "value", "value", "insert"])
        i = rng.randrange(10_000)
        if kind == "replace":
            ops.append((kind, i, rng.randrange(10_000)))
        elif kind == "value":
            ops.append((kind, i, _value(rng)))
        elif kind == "insert":
            ops.append((kind, i, "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(20)))))
        else:
            ops.append((kind, i))
    return ops


class Tally:
    """What one kind of input gave: counts of each outcome and the first input of each traceback type."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind, self.folder = kind, folder
        self.outcomes: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.examples: dict[str, Path] = {}

    def run(self, attempt: Callable[[], str], text: str) -> None:
        try:
            self.outcomes[attempt()] += 1
        except Hang:
            self.outcomes["hang"] += 1
            self._keep("hang", text)
        except Exception as exc:  # noqa: BLE001 - every other exception is what the run counts
            self.outcomes["traceback"] += 1
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"
            self.faults[where] += 1
            self._keep(where, text)

    def _keep(self, where: str, text: str) -> None:
        if where not in self.examples:
            path = self.folder / f"{self.kind}-{len(self.examples) + 1}.txt"
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            self.examples[where] = path


def main(n: int = 500, seed: int = 20261205) -> int:
    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="xcal-fuzz-"))
    workspace = Workspace(folder)
    tallies: list[Tally] = []
    started = time.perf_counter()
    for kind, seeds in SEEDS.items():
        tally = Tally(kind, folder)
        for _ in range(n):
            text = mutate(rng.choice(seeds).read_text(encoding="utf-8"), _ops(rng))
            tally.run(lambda kind=kind, text=text: workspace.outcome(kind, text), text)
        tallies.append(tally)

    from xcal.units import parse_typed

    typed = Tally("typed", folder)
    for _ in range(n):
        text = rng.choice([f"{_scalar(rng)} {rng.choice(UNITS)}", rng.choice(ODD_TEXT), str(_scalar(rng))])
        unit = rng.choice(["cm", "kV", "mGy", "kPa", "degC", "µGy/mAs"])

        def entry(text: str = text, unit: str = unit) -> str:
            with time_bound(TIME_BOUND):
                try:
                    parse_typed(text, unit)
                except ValueError:
                    return "refused"
            return "loaded"

        typed.run(entry, f"{text!r} in {unit}")
    tallies.append(typed)

    from xcal.procedures.expressions import Expression, ExpressionError
    from xcal.units import Q_

    expressions = Tally("expression", folder)
    for _ in range(n):
        text = "".join(rng.choice(TOKENS) for _ in range(rng.randrange(1, 30)))
        x, y = rng.choice([0.0, -2.0, 1e200, 1e-200, 3.5]), rng.choice([0.0, -1.0, 1e300, 2.0])

        def compute(text: str = text, x: float = x, y: float = y) -> str:
            with time_bound(TIME_BOUND):
                try:
                    value = Expression(text).evaluate({"x": Q_(x, ""), "y": Q_(y, "")})
                except ExpressionError:
                    return "refused"
            magnitude = float(getattr(value, "magnitude", value))
            if not abs(magnitude) <= 1e300:
                raise ArithmeticError(f"{text} gave {magnitude}, which was not refused")
            return "loaded"

        expressions.run(compute, f"{text}  with x={x}, y={y}")
    tallies.append(expressions)
    elapsed = time.perf_counter() - started

    tried = sum(sum(t.outcomes.values()) for t in tallies)
    print(f"fuzzed {tried} inputs in {elapsed:.0f} s (seed {seed}, {n} per kind, time bound {TIME_BOUND} s each)")
    print(f"{'kind':<12}{'tried':>7}{'loaded':>8}{'refused':>9}{'tracebacks':>12}{'hangs':>7}")
    for t in tallies:
        o = t.outcomes
        print(f"{t.kind:<12}{sum(o.values()):>7}{o['loaded']:>8}{o['refused']:>9}{o['traceback']:>12}{o['hang']:>7}")
        for where, count in t.faults.most_common():
            print(f"    {count} × {where}  (first input: {t.examples[where]})")
    faults = sum(t.outcomes["traceback"] + t.outcomes["hang"] for t in tallies)
    print(f"{sum(t.outcomes['traceback'] for t in tallies)} tracebacks, {sum(t.outcomes['hang'] for t in tallies)} "
          f"hangs")
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:3])))
