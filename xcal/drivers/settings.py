"""Instrument settings and driver options, each declared once with its command, unit and allowed values.

A setting is one line in the driver class, in the spirit of pymeasure's `Instrument.control`:

    range = Setting("RGE", "RGE;{}", "The measuring range.", Choice("VERY_LOW", "LOW", "MEDIUM", "HIGH"))

Reading `driver.range` sends the get command through the driver's `ask_setting` and decodes the reply; assigning
checks the value with the validator before any byte is sent, then sends the set command through `apply_setting`.
The driver says how its protocol frames a query and a change (an echo, a write token, an error queue); the
declaration says the rest, so `xcal.testing.setting_cases` can generate each setting's protocol test from it.

Driver options from the site file (`poll_interval: 200 ms`) are declared the same way (`Option`) and checked
once, when the site file is loaded, by `check_options`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from ..errors import ConfigError, InstrumentError

_T = TypeVar("_T")


class Refused(ValueError):
    """A value a validator does not take: why, and how to give one it takes."""

    def __init__(self, why: str, fix: str) -> None:
        super().__init__(why)
        self.why = why
        self.fix = fix


class Validator:
    """Checks a value for a setting, turns it into the text sent, and turns the instrument's text back.

    `encode` refuses (Refused) a value outside what the instrument takes; `decode` returns None for text that
    does not fit, so the driver can raise its ProtocolError naming the reply. `examples` are values it takes and
    `refused_examples` values it must refuse, for generated protocol tests.
    """

    def encode(self, value: Any) -> str:
        raise NotImplementedError

    def decode(self, text: str) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def examples(self) -> tuple[Any, ...]:
        return ()

    def refused_examples(self) -> tuple[Any, ...]:
        return ()


class Choice(Validator):
    """One of a fixed set of words; with `wire`, each value is sent as its code (9600 -> `0`)."""

    def __init__(self, *values: Any, wire: Mapping[Any, str] | None = None) -> None:
        self.values = tuple(wire) if wire is not None else values
        self.wire = dict(wire) if wire is not None else {v: str(v) for v in values}
        self._back = {text: value for value, text in self.wire.items()}

    def encode(self, value: Any) -> str:
        if value not in self.wire or isinstance(value, bool) != any(isinstance(v, bool) for v in self.values):
            raise Refused(f"{value!r} is not one of {self.describe()}", f"use one of {self.describe()}")
        return self.wire[value]

    def decode(self, text: str) -> Any:
        return self._back.get(text)

    def describe(self) -> str:
        return ", ".join(str(v) for v in self.values)

    def examples(self) -> tuple[Any, ...]:
        return self.values

    def refused_examples(self) -> tuple[Any, ...]:
        return ("NOT_A_CHOICE",)


class Flag(Choice):
    """True or False, sent as the instrument's two words (`true` / `false`, `ON` / `OFF`, `1` / `0`)."""

    def __init__(self, on: str = "true", off: str = "false") -> None:
        super().__init__(wire={True: on, False: off})

    def refused_examples(self) -> tuple[Any, ...]:
        return ("yes", 1)


@dataclass(frozen=True)
class Number(Validator):
    """A number in `low` … `high`, of `unit` when given (then passed and returned as a Quantity).

    `whole` asks for a whole number; `format` is how the number is written on the wire (`{:d}`, `{:04d}`,
    `{:.3f}`); `pattern` is the text that decode accepts (a plain decimal number by default).
    """

    low: float
    high: float
    unit: str | None = None
    whole: bool = False
    format: str = "{:g}"
    parse: Callable[[str], float | None] | None = None

    def _number(self, value: Any) -> float:
        if self.unit is None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise Refused(f"{value!r} is not a number", f"give a number in {self.describe()}")
            return float(value)
        import pint

        example = self.low if self.low > 0 else self.high
        try:
            return float(value.to(self.unit).magnitude)
        except (AttributeError, pint.DimensionalityError):
            raise Refused(f"{value!r} is not a quantity in {self.unit}",
                          f"pass a Quantity, e.g. Q_({example:g}, '{self.unit}')") from None

    def encode(self, value: Any) -> str:
        number = self._number(value)
        if not math.isfinite(number) or (self.whole and not number.is_integer()) \
                or not self.low <= number <= self.high:
            shown = f"{value:~P}" if self.unit is not None else f"{value!r}"
            kind = f"a whole number of {self.unit or 'units'}" if self.whole else "a number"
            raise Refused(f"{shown} is not {kind} in {self.describe()}", f"give a value in {self.describe()}")
        return self.format.format(int(number) if self.whole else number)

    def decode(self, text: str) -> Any:
        number = self.parse(text) if self.parse is not None else _decimal(text)
        if number is None or (self.whole and not float(number).is_integer()):
            return None
        value: Any = int(number) if self.whole else float(number)
        if self.unit is None:
            return value
        from ..units import Q_

        return Q_(value, self.unit)

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.low:g} … {self.high:g}{unit}"

    def examples(self) -> tuple[Any, ...]:
        values = (self.low, self.high) if not self.whole else (int(self.low), int(self.high))
        return tuple(self._quantity(v) for v in values)

    def refused_examples(self) -> tuple[Any, ...]:
        step = 1 if self.whole else max(abs(self.high - self.low) * 1e-3, 1e-9)
        return tuple(self._quantity(v) for v in (self.low - step, self.high + step))

    def _quantity(self, number: float) -> Any:
        if self.unit is None:
            return number
        from ..units import Q_

        return Q_(number, self.unit)


def _decimal(text: str) -> float | None:
    """A plain decimal number (`300`, `-13`, `300.0`, `+1.5E-3`) or None; no inf, nan or words."""
    stripped = text.strip()
    if not stripped or any(c not in "+-.0123456789eE" for c in stripped):
        return None
    try:
        number = float(stripped)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class Setting(Generic[_T]):
    """One instrument setting: the command that reads it, the command that writes it, doc and validator.

    `get` is the query (None: write-only), `set` a format with one `{}` for the encoded value (None: read-only).
    """

    def __init__(self, get: str | None, set: str | None, doc: str, validator: Validator) -> None:
        self.get = get
        self.set = set
        self.validator = validator
        self.__doc__ = f"{doc} ({validator.describe()})"
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, driver: None, owner: type) -> Setting[_T]: ...

    @overload
    def __get__(self, driver: Any, owner: type) -> _T: ...

    def __get__(self, driver: Any, owner: type) -> Any:
        if driver is None:
            return self
        if self.get is None:
            raise AttributeError(f"{type(driver).__name__}.{self.name} can be set, not read")
        text = driver.ask_setting(self, self.get)
        value = self.validator.decode(text)
        if value is None:
            raise driver.unexpected(self.get, text, f"{self.name} as {self.validator.describe()}")
        return value

    def __set__(self, driver: Any, value: _T) -> None:
        if self.set is None:
            raise AttributeError(f"{type(driver).__name__}.{self.name} can be read, not set")
        driver.apply_setting(self, self.line(value, driver))

    def line(self, value: Any, driver: Any = None) -> str:
        """The command that sets `value`; InstrumentError (naming the driver) for a value it does not take."""
        assert self.set is not None
        try:
            return self.set.format(self.validator.encode(value))
        except Refused as refused:
            name = getattr(driver, "name", "instrument")
            raise InstrumentError(f"{name}: {self.name}: {refused.why}", instrument=name,
                                  resource=getattr(driver, "resource", None), fix=refused.fix) from None


def settings_of(cls: type) -> dict[str, Setting[Any]]:
    """The settings a driver class declares, by attribute name, its own and inherited."""
    found: dict[str, Setting[Any]] = {}
    for klass in reversed(cls.__mro__):
        found.update({k: v for k, v in vars(klass).items() if isinstance(v, Setting)})
    return found


@dataclass(frozen=True)
class Option:
    """A driver option from the site file: its dimension or kind, default, and the range it must lie in.

    `kind` is a pint dimension name (`time`, `charge`...) for a quantity, `number` for a plain number, `whole`
    for a whole number (a count: rows, repeats), or `text`. Bounds are in `unit` (for quantities) and both
    inclusive unless `above` is set (then strictly above `low`).
    """

    name: str
    kind: str
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    above: bool = False
    choices: tuple[str, ...] = ()
    timing: bool = False
    """True for an option that only paces the exchange (a poll interval, a wait): it changes no reading."""

    def check(self, value: Any, owner: str) -> Any:
        """The option's value (a Quantity in `unit`, a float, an int, or text); ConfigError naming the option and
        fix."""
        shown = self.example() if self.kind == "whole" else repr(self.example())
        fix = f"give {self.name} like {shown} ({self.doc})"
        if self.kind == "text":
            text = str(value)
            if self.choices and text not in self.choices:
                raise ConfigError(f"{owner}: option {self.name} is {text!r}, not one of {', '.join(self.choices)}",
                                  fix=f"use one of {', '.join(self.choices)}")
            return text
        if self.kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{owner}: option {self.name} must be a number, got {value!r}", fix=fix)
            number = float(value)
            result: Any = number
        elif self.kind == "whole":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
                raise ConfigError(f"{owner}: option {self.name} must be a whole number {self.bounds()}, got "
                                  f"{value!r}", fix=fix)
            number = float(value)
            result = int(value)
        else:
            result, number = self._quantity(value, owner, fix)
        if not math.isfinite(number) or (self.low is not None and (number <= self.low if self.above
                                                                   else number < self.low)) \
                or (self.high is not None and number > self.high):
            whole = "a whole number " if self.kind == "whole" else ""
            raise ConfigError(f"{owner}: option {self.name} must be {whole}{self.bounds()}, got {value}", fix=fix)
        return result

    def _quantity(self, value: Any, owner: str, fix: str) -> tuple[Any, float]:
        import pint

        from ..units import has_dimension, parse_quantity

        try:
            quantity = value if isinstance(value, pint.Quantity) else parse_quantity(str(value), self.kind)
        except ValueError as exc:
            raise ConfigError(f"{owner}: option {self.name}: {exc}", fix=fix) from None
        if not has_dimension(quantity, self.kind):
            raise ConfigError(f"{owner}: option {self.name} must be a {self.kind}, got {value!r}", fix=fix)
        in_unit = quantity.to(self.unit) if self.unit else quantity
        return in_unit, float(in_unit.magnitude)

    def bounds(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        low = "" if self.low is None else (f"more than {self.low:g}{unit}" if self.above else f"≥ {self.low:g}{unit}")
        high = "" if self.high is None else f"≤ {self.high:g}{unit}"
        return " and ".join(p for p in (low, high) if p) or "any value"

    def example(self) -> str:
        return str(self.default)


def check_options(owner: str, declared: Iterable[Option], given: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared option's checked value (given or default), by name; unknown names are left to the caller."""
    values: dict[str, Any] = {}
    for option in declared:
        raw = given.get(option.name, option.default)
        values[option.name] = None if raw is None else option.check(raw, owner)
    return values

