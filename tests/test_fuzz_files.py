"""Bad input never hangs, crashes or reads as a verdict: mutated site, procedure, limit set and inputs files,
typed entries and expressions either load or are refused with xcal's own error.

The files are the demo site and the built-in library, mutated line by line (deleted, duplicated, replaced,
values swapped for random scalars, lists and mappings, random text inserted). Hypothesis runs derandomized, so
CI sees the same inputs every time; each input has a time bound. `benchmarks/fuzz_files.py` runs the same
mutations longer. The first tests are the findings of the fuzzing that led here, kept as plain cases.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xcal.errors import ConfigError
from xcal.procedures.expressions import Expression, ExpressionError
from xcal.procedures.loader import LIBRARY, load_inputs, load_procedure
from xcal.yamlfile import parse_yaml

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "xcal" / "demo"
LIMITS = ROOT / "xcal" / "limits" / "library"
TIME_BOUND = 10.0
"""Seconds one input may take before it counts as a hang (the slowest, a site, takes about 0.1 s)."""

SEEDS: dict[str, list[Path]] = {
    "site": [DEMO / "site.yaml"],
    "procedure": sorted(p for p in LIBRARY.glob("*.yaml") if "kind: procedure" in p.read_text(encoding="utf-8")),
    "limits": sorted(LIMITS.glob("*.yaml")),
    "inputs": sorted((DEMO / "inputs").glob("*.yaml")),
}
"""The files mutated, by kind."""

ODD_TEXT = ["80 kV", "1e18 cm", "-1 mA", "2147483648", "[]", "{}", "*a", "&a x", "!!python/object:os.system x",
            "'", '"\\uD800"', "~", "<<: *x", "2026-02-30", "0x1F", ".inf", ".nan", "9 ** 9999999", "sqrt(-x)",
            "1e308 kV", "0 kV", "- - -", "{a: [", "null", "yes", "on", "\t", "é ü 中 \U0001F600", "\\u0000"]
"""Texts written in place of a value: units, bounds, YAML's special words and syntax, tags, escapes."""


class Hang(BaseException):
    """Raised by the alarm when an input takes longer than its bound (a BaseException, so no handler eats it)."""


@contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    """Raise Hang inside the block after `seconds` (SIGALRM: the main thread of a POSIX process)."""
    def ring(signum: int, frame: Any) -> None:
        raise Hang(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def render(value: Any) -> str:
    """A value as YAML text: JSON (a subset of YAML flow) for data, or a raw text as written."""
    if isinstance(value, tuple):
        return value[0]
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        return str(value)


def mutate(text: str, ops: list[tuple[Any, ...]]) -> str:
    """Apply the operations to the lines of `text`: ("delete", i), ("duplicate", i), ("replace", i, j),
    ("value", i, yaml_text) for the text after a line's `key:` or `- `, ("insert", i, text). Indexes wrap."""
    lines = text.splitlines()
    for op in ops:
        if not lines:
            break
        i = op[1] % len(lines)
        if op[0] == "delete":
            del lines[i]
        elif op[0] == "duplicate":
            lines.insert(i, lines[i])
        elif op[0] == "replace":
            lines[i] = lines[op[2] % len(lines)]
        elif op[0] == "value":
            line = lines[i]
            cut = line.find(": ")
            cut = cut + 2 if cut >= 0 else (line.find("- ") + 2 if "- " in line else len(line))
            lines[i] = line[:cut] + op[2]
        elif op[0] == "insert":
            lines.insert(i, op[2])
    return "\n".join(lines) + "\n"


class Workspace:
    """A folder holding a copy of the demo site's folder (its instruments' command maps), where a mutated file is
    written and loaded by the loader of its kind."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        shutil.copytree(DEMO, folder / "demo", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
        from xcal.procedures.plan import known_limits
        from xcal.site import load_site

        self.limits = known_limits(load_site())
        self.loaders: dict[str, Callable[[Path], Any]] = {
            "site": self._site, "procedure": lambda p: load_procedure(p, known_limits=self.limits),
            "limits": self._limits, "inputs": load_inputs}

    def _site(self, path: Path) -> Any:
        from xcal.site import load_site

        return load_site(path)

    def _limits(self, path: Path) -> Any:
        from xcal.limits.sets import load_limit_set

        return load_limit_set(path)

    def outcome(self, kind: str, text: str) -> str:
        """"loaded" or "refused" (ConfigError, whose text can be printed); Hang or any other exception
        propagates to fail the test with the input that caused it."""
        path = self.folder / "demo" / f"fuzzed-{kind}.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        with time_bound(TIME_BOUND):
            try:
                self.loaders[kind](path)
            except ConfigError as exc:
                assert str(exc).strip(), "an empty error message"
                str(exc).encode("utf-8")
                return "refused"
        return "loaded"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("fuzz"))


# The findings, as plain cases -----------------------------------------------------------------------------


def _library(name: str, old: str, new: str, tmp_path: Path) -> Path:
    text = (LIBRARY / name).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("old, new, words", [
    ("kvp_meter: KvpMeter", "kvp_meter: []", "the capability of instrument role 'kvp_meter' must be text, got a list"),
    ("repeats: 3", "repeats: 2147483648", "parameter 'repeats' is 2147483648, more than 100"),
    ("repeats: repeats", "repeats: 2147483648", "expose step: repeats is 2147483648, more than 100"),
    ("nominal: kv", "nominal: [kv]", "check 'kvp-accuracy' nominal must be text, got a list"),
])
def test_a_procedure_of_the_wrong_shape_or_size_is_refused_at_its_line(tmp_path, old, new, words):
    path = _library("kvp-accuracy.yaml", old, new, tmp_path)
    with pytest.raises(ConfigError) as err:
        load_procedure(path)
    text = path.read_text(encoding="utf-8")
    assert err.value.line == text[:text.index(new)].count("\n") + 1
    assert words in err.value.message and err.value.fix


def test_a_lone_surrogate_in_an_inputs_key_is_refused_with_a_message_that_prints(tmp_path):
    path = tmp_path / "in.yaml"
    path.write_text('kind: inputs\nprocedure: collimation\nvalues:\n  "\\uD800": 0.4 cm\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_inputs(path)
    assert err.value.line == 4 and "lone UTF-16 surrogate" in err.value.message
    str(err.value).encode("utf-8")


def test_the_mutations_change_the_file_as_described():
    text = "a: 1\nb: 2\n- c\n"
    assert mutate(text, [("delete", 0)]) == "b: 2\n- c\n"
    assert mutate(text, [("duplicate", 4)]) == "a: 1\nb: 2\nb: 2\n- c\n"
    assert mutate(text, [("replace", 0, 2)]) == "- c\nb: 2\n- c\n"
    assert mutate(text, [("value", 1, "[x]"), ("value", 2, "{}")]) == "a: 1\nb: [x]\n- {}\n"
    assert mutate(text, [("insert", 1, "é")]) == "a: 1\né\nb: 2\n- c\n"


def test_the_time_bound_stops_a_hang():
    started = time.monotonic()
    with pytest.raises(Hang), time_bound(0.2):
        while True:
            pass
    assert time.monotonic() - started < 2


# The fuzzing -------------------------------------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
                    st.sampled_from(ODD_TEXT).map(lambda t: (t,)))
values = st.one_of(scalars, st.lists(scalars, max_size=4), st.dictionaries(st.text(max_size=6), scalars, max_size=3))
index = st.integers(min_value=0, max_value=10_000)
operations = st.lists(st.one_of(
    st.tuples(st.just("delete"), index),
    st.tuples(st.just("duplicate"), index),
    st.tuples(st.just("replace"), index, index),
    st.tuples(st.just("value"), index, values.map(render)),
    st.tuples(st.just("insert"), index, st.text(max_size=30)),
), min_size=1, max_size=4)

FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("kind, examples", [("site", 12), ("procedure", 50), ("limits", 30), ("inputs", 30)])
def test_a_mutated_file_loads_or_is_refused_with_a_config_error(workspace, kind, examples):
    @settings(FUZZ, max_examples=examples)
    @given(seed=st.sampled_from(SEEDS[kind]), ops=operations)
    def check(seed: Path, ops: list[tuple[Any, ...]]) -> None:
        workspace.outcome(kind, mutate(seed.read_text(encoding="utf-8"), ops))

    check()


@settings(FUZZ, max_examples=150)
@given(text=st.one_of(st.text(max_size=40), st.sampled_from(ODD_TEXT), st.builds(
    lambda n, u: f"{n} {u}", st.floats(), st.sampled_from(["cm", "kV", "mGy", "R", "mR", "µGy", "kPa", "1/0", "",
                                                           "cm**9999", "mm2", "uGy", "°C"]))),
       unit=st.sampled_from(["cm", "kV", "mGy", "kPa", "degC", "µGy/mAs"]))
def test_a_typed_entry_is_read_or_refused_with_a_value_error(text, unit):
    from xcal.units import parse_typed

    with time_bound(TIME_BOUND):
        try:
            typed = parse_typed(text, unit)
        except ValueError as exc:
            assert str(exc).strip()
            return
    assert typed.value.magnitude == typed.value.magnitude      # a number, not NaN


TOKENS = ["x", "y", "1", "0", "2.5", "1e308", "9", "9999999", "+", "-", "*", "/", "**", "(", ")", ",", "sqrt(",
          "abs(", "min(", "max(", "k_tp(", "__import__(", ".real", "[0]", "lambda", " "]


@settings(FUZZ, max_examples=200)
@given(text=st.one_of(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join), st.text(max_size=30)),
       x=st.floats(allow_nan=False, allow_infinity=False), y=st.floats(allow_nan=False, allow_infinity=False))
def test_an_expression_is_computed_or_refused_with_an_expression_error(text, x, y):
    import pint

    from xcal.units import Q_

    with time_bound(TIME_BOUND):
        try:
            value = Expression(text).evaluate({"x": Q_(x, ""), "y": Q_(y, "")})
        except ExpressionError as exc:
            assert str(exc).strip()
            return
        except pint.DimensionalityError:               # k_tp of plain numbers: the loader names the units
            assert "k_tp" in text
            return
    magnitude = getattr(value, "magnitude", value)
    assert isinstance(magnitude, (int, float)) and abs(magnitude) <= 1e300, (text, value)


@pytest.mark.parametrize("text", ["a: &a [x]\nb: [*a, *a]\n", "x: " + "[" * 50 + "]" * 50 + "\n"])
def test_the_yaml_reader_takes_odd_structure_within_its_bounds(text):
    assert parse_yaml(text, "f.yaml")
