"""The result functions a procedure may name: a fixed list, so no code ever runs from YAML.

Each takes the readings (or per-station results) it is given as pint Quantities and returns a Quantity.
`per` says where a function may be used: on each station's readings, over the whole run, or on each pair
of consecutive stations. `apply` works a result out over a run's stations and puts it where it belongs; an
expression result (`expression:` in the file, EXPRESSION here) is applied the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from .model import Station


@dataclass(frozen=True)
class ResultFunction:
    name: str
    per: tuple[str, ...]           # where it may be used: "station", "run", "pair"
    unit: Callable[[str], str]     # the unit of its result, from a unit of its input
    doc: str
    least: int = 1
    """The fewest values it can be computed from (for `pair`, the fewest stations); a run planned with fewer is
    refused before any exposure (procedures.plan)."""
    needs: str = ""
    """Why, in words: `a coefficient of variation needs 2` (the sample SD divides by n − 1)."""

    def apply(self, result: Any, over: list[Any], computed: Any) -> None:
        """Work out `result` (a ResultDef naming this function) on the stations `over` (runner.StationResult)
        into `computed` (runner.Computed): per station from each station's readings, per run from all of them."""
        if result.per == "station":
            for sr in over:
                sr.results[result.name] = over_values(self.name, computed.series(sr, result.of), sr.station)
        else:
            values = [v for sr in over for v in computed.series(sr, result.of)]
            computed.run[result.name] = over_values(self.name, values)


@dataclass(frozen=True)
class PairFunction(ResultFunction):
    """A function of two consecutive stations' results (linearity): one value per pair."""

    def apply(self, result: Any, over: list[Any], computed: Any) -> None:
        computed.pairs[result.name] = [(a, b, over_pair(self.name, a.results[result.of], b.results[result.of]))
                                       for a, b in pairwise(over)]


@dataclass(frozen=True)
class HvlFunction(ResultFunction):
    """The half-value layer: one value for the run from every station's added filtration and its result."""

    def apply(self, result: Any, over: list[Any], computed: Any) -> None:
        computed.run[result.name] = hvl_of([(sr.station, sr.results[result.of]) for sr in over])


class ExpressionFunction:
    """A result written as an expression (xcal.procedures.expressions) of named values: per run, of the run's
    values (parameters with units, instrument values, entered values, run results so far); per station, also
    of the station's settings, the values read for it (k_Q) and its results. A dimensionless value comes out as
    a plain ratio (not, say, µGy/mGy)."""

    def apply(self, result: Any, over: list[Any], computed: Any) -> None:
        from .expressions import Expression

        expression = Expression(result.of)
        names = {**computed.names, **computed.run}
        if result.per != "station":
            computed.run[result.name] = _as_ratio(expression.evaluate(names))
            return
        for sr in over:
            settings = {k: v for k, v in sr.station.values.items() if hasattr(v, "units")}
            read_here = {k: by.get(sr.station.index) for k, by in computed.station_values.items()}
            here = {k: v.value for k, v in read_here.items() if v is not None}
            sr.results[result.name] = _as_ratio(expression.evaluate({**names, **here, **settings, **sr.results}))


EXPRESSION = ExpressionFunction()


def result_function(result: Any) -> ResultFunction | ExpressionFunction:
    """What works out a result definition: its named function, or its expression."""
    return EXPRESSION if result.function == "expression" else FUNCTIONS[result.function]


def _as_ratio(value: Any) -> Any:
    """A dimensionless result as a plain ratio (not, say, µGy/mGy)."""
    return value.to("") if value.dimensionless else value


def _same(unit: str) -> str:
    return unit


def _none(unit: str) -> str:
    return ""


FUNCTIONS: dict[str, ResultFunction] = {f.name: f for f in (
    ResultFunction("mean", ("station", "run"), _same, "arithmetic mean"),
    ResultFunction("sd", ("station", "run"), _same, "sample standard deviation (n − 1)", 2,
                   "a sample standard deviation (n − 1) needs 2"),
    ResultFunction("cv", ("station", "run"), _none, "coefficient of variation, sample SD / mean (21 CFR 1020.30(b))",
                   2, "a coefficient of variation needs 2 (its SD divides by n − 1)"),
    ResultFunction("min", ("station", "run"), _same, "smallest value"),
    ResultFunction("max", ("station", "run"), _same, "largest value"),
    ResultFunction("range", ("station", "run"), _same, "largest − smallest", 2, "a range needs 2"),
    ResultFunction("range_ratio", ("station", "run"), _none,
                   "(max − min) / mean, the 4-exposure state reproducibility rules", 2, "a range needs 2"),
    ResultFunction("per_mas", ("station",), lambda u: f"({u})/mAs" if u else "1/mAs",
                   "mean divided by the station's mAs (mA × time, or mas)"),
    PairFunction("linearity", ("pair",), _none,
                   "|X1 − X2| / (X1 + X2) of two consecutive stations (21 CFR 1020.31(c))", 2,
                   "a linearity compares 2 consecutive stations"),
    HvlFunction("hvl", ("run",), lambda u: "mm",
                   "half-value layer from the stations' added filtration and their mean readings, log-linear "
                   "between the readings straddling half the unfiltered one (never extrapolated)"),
)}


def station_mas(station: Station) -> Any:
    """The station's tube current-time product: `mas`, or `ma` × `time`."""
    values = station.values
    if "mas" in values:
        return values["mas"]
    if "ma" in values and "time" in values:
        return (values["ma"] * values["time"]).to("mAs")
    raise ValueError(f"station {station.index} ({station.label()}) gives neither mas nor ma and time")


def _finite(name: str, value: Any, what: str = "the readings") -> Any:
    """The value when its number is finite; else a ValueError (which the runner makes a resumable stop), so that
    readings too large to compute with (1.7e308 kV) are never judged as an infinite FAIL."""
    import math
    import warnings

    number = getattr(value, "magnitude", value)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            finite = math.isfinite(float(number))
    except (TypeError, ValueError, OverflowError):
        finite = False
    if not finite:
        raise ValueError(f"{name} of {what} is not a finite number ({number}): the values are too large to "
                         "compute with")
    return value


def over_values(name: str, values: list[Any], station: Station | None = None) -> Any:
    """Apply a station- or run-level function to a list of Quantities; a result that is not finite is refused."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return _finite(name, _over_values(name, values, station))
        except (ArithmeticError, FloatingPointError) as exc:
            raise ValueError(f"{name} of the readings cannot be computed ({exc or type(exc).__name__})") from None


def _over_values(name: str, values: list[Any], station: Station | None = None) -> Any:
    """The function `name` over the values, as analysis computes it (over_values checks the result)."""
    from .. import analysis

    if not values:
        raise ValueError(f"{name}: no values to work on")
    if name == "mean":
        return analysis.mean(values)
    if name == "sd":
        return analysis.sample_sd(values)
    if name == "cv":
        return analysis.cv(values)
    if name == "min":
        return min(values)
    if name == "max":
        return max(values)
    if name == "range":
        return max(values) - min(values)
    if name == "range_ratio":
        return analysis.range_ratio(values)
    if name == "per_mas":
        if station is None:
            raise ValueError("per_mas works on one station")
        mean = analysis.mean(values)
        return (mean / station_mas(station)).to(f"{mean.units}/mAs")
    raise ValueError(f"{name} is not a station or run function")


def over_pair(name: str, first: Any, second: Any) -> Any:
    """A pair function of two consecutive stations' results; a result that is not finite is refused."""
    import warnings

    from .. import analysis

    if name == "linearity":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return _finite(name, analysis.linearity(first, second), "two stations")
    raise ValueError(f"{name} is not a pair function")


def hvl_of(stations: list[tuple[Station, Any]]) -> Any:
    """HVL from (station, mean reading) in run order: unfiltered stations bracket the filtered ones."""
    from .. import analysis
    from ..units import Q_

    open_beam = [value for st, value in stations if st.values.get("added_filtration", Q_(0, "mm")).magnitude == 0]
    filtered = [(st.values["added_filtration"], value) for st, value in stations
                if st.values.get("added_filtration", Q_(0, "mm")).magnitude > 0]
    if not open_beam or len(filtered) < 2:
        raise ValueError("an HVL needs at least one unfiltered station and two with added filtration")
    filtered.sort(key=lambda pair: pair[0].to("mm").magnitude)
    result = analysis.hvl([t for t, _ in filtered], [v for _, v in filtered], open_beam)
    return result.value.to("mm")
