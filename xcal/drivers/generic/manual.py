"""Manual entry: the technician types what a meter's display shows, for meters with no usable remote protocol.

Each reading is asked with its expected unit, read as a person types it (xcal.units.parse_typed: `59.5 kv`,
`812 uGy`, `12 mR` where air kerma is asked), and checked for its dimension (mA where kV is expected is
refused) and for a plausible range (PLAUSIBLE). What was understood is said back; `back` at the next question
retypes the previous reading of the same exposure, whose readings are committed together only once all are
typed. For tests, demos and unattended runs the answers come from an inputs YAML file instead of the console.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError, InstrumentError
from ...yamlfile import Mark, YMap, check_keys, expect_list, expect_map, fail, load_yaml, quantity_at
from ..base import Driver
from ..capabilities import CAPABILITIES, READING_UNITS, InstrumentIdentity, Waveform

if TYPE_CHECKING:  # pragma: no cover
    import pint

MAX_ATTEMPTS = 3
CONSOLE = "console"
INPUTS_PREFIX = "inputs:"
POSITION_KEYS = ("station", "repeat")
YES = ("y", "yes")
BACK = "back"
"""Typed at a question instead of a value: ask the previous reading of this exposure again."""

PLAUSIBLE: dict[str, tuple[str, str]] = {
    "kvp_max": ("20 kV", "150 kV"),
    "kvp_avg": ("20 kV", "150 kV"),
    "kvp_ppv": ("20 kV", "150 kV"),
    "exposure_time": ("0.1 ms", "10 s"),
    "air_kerma": ("0 Gy", "10 Gy"),
    "charge": ("-1 mC", "1 mC"),
    "current": ("-10 µA", "10 µA"),
    "air_kerma_rate": ("0 Gy/s", "10 Gy/s"),
    "dap": ("0 Gy*cm**2", "10000 Gy*cm**2"),
    "dap_rate": ("0 Gy*cm**2/s", "100 Gy*cm**2/s"),
    "dose_rate": ("0 Sv/h", "10 Sv/h"),
    "count_rate": ("0 cpm", "10000000 cpm"),
    "dose": ("0 Sv", "10 Sv"),
    "temperature": ("-10 degC", "50 degC"),
    "pressure": ("50 kPa", "110 kPa"),
}
"""What a reading may plausibly be (inclusive). Beyond it the console asks to confirm; an inputs file is refused."""

LABELS: dict[str, str] = {
    "kvp_max": "kVp (maximum)", "kvp_avg": "kVp (average)", "kvp_ppv": "kVp (PPV)",
    "exposure_time": "exposure time", "air_kerma": "air kerma", "charge": "charge", "current": "current",
    "air_kerma_rate": "air kerma rate", "dap": "DAP", "dap_rate": "DAP rate", "dose_rate": "dose rate",
    "count_rate": "count rate", "dose": "dose", "temperature": "temperature", "pressure": "pressure",
}
NOW_DEFAULTS: dict[str, tuple[str, ...]] = {"SurveyMeter": ("dose_rate",),
                                           "Environment": ("temperature", "pressure")}
"""read_now asks these when no `now_readings` option is given (a survey meter's display shows one dose rate)."""


def check_reading(name: str, value: pint.Quantity) -> None:
    """ValueError unless `value` has the dimension of reading `name` (a bare number has none)."""
    from ...units import Q_

    unit = READING_UNITS[name]
    if value.dimensionality != Q_(1, unit).dimensionality:
        if value.dimensionless:
            raise ValueError(f"{value.magnitude:g} has no unit; {LABELS[name]} needs one like {unit}")
        raise ValueError(f"{value:~P} cannot be the {LABELS[name]}: that needs a unit like {unit}")


def out_of_range(name: str, value: pint.Quantity) -> str | None:
    """Why `value` is implausible for reading `name`, or None if it lies in PLAUSIBLE."""
    from ...units import Q_

    low, high = (Q_(text) for text in PLAUSIBLE[name])
    if low <= value <= high:
        return None
    return f"{value:~P} is outside the plausible range {low:~P} to {high:~P} for {LABELS[name]}"


def parse_typed(text: str, name: str) -> pint.Quantity:
    """A value as typed at the prompt: `80.3 kV`, or a bare number meaning the prompted unit."""
    return typed_reading(text, name).value


def typed_reading(text: str, name: str) -> Any:
    """xcal.units.parse_typed for reading `name`: lenient unit spelling, and an exposure (R, mR) taken as air
    kerma; ValueError naming the text and the unit to type otherwise."""
    from ...units import parse_typed as parse

    entry = parse(text, READING_UNITS[name])
    check_reading(name, entry.value)
    return entry


def understood(label: str, entry: Any) -> str:
    """What a typed value was taken as, in words: `air kerma 12 mR = 0.1051 mGy (8.76 mGy/R)`."""
    from ...units import AIR_KERMA_PER_ROENTGEN, format_quantity

    said = f"{label} {format_quantity(entry.read)}"
    if entry.converted:
        return f"{said} = {format_quantity(entry.value)} ({AIR_KERMA_PER_ROENTGEN})"
    return said


def reading_names(value: Any, what: str) -> tuple[str, ...]:
    """A list of reading names from an option (a list, or text separated by commas); ConfigError if unknown."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise ConfigError(f"{what} must be a list of reading names, got {value!r}",
                          fix="write e.g. `readings: [kvp_ppv, exposure_time]`")
    names = tuple(str(item).strip() for item in items)
    unknown = [n for n in names if n not in READING_UNITS]
    if unknown:
        raise ConfigError(f"{what}: unknown reading(s) {', '.join(unknown)}",
                          fix=f"use names among: {', '.join(READING_UNITS)}")
    return names


def _ask_console(prompt: str) -> str:
    """The question on standard input; Ctrl-C and Ctrl-D reach the runner as KeyboardInterrupt and EOFError,
    which stop the run and keep what was committed (click.prompt would turn both into its own Abort)."""
    return input(f"{prompt}: ")


class InputsFile:
    """Prepared answers, from a YAML file with two lists of `reading: value unit` mappings.

    `exposures:` answers read_exposure in order; an entry may name its `station:` and `repeat:`, and when the
    driver is told the position (ManualEntry.expect_exposure) the entry with that station and repeat is taken.
    `now:` answers read_now in order. The file is read again when an answer is missing, so a writer may
    append to it while a run goes on.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._exposures: list[YMap] | None = None
        self._now: list[YMap] | None = None

    def exposure(self, n: int, position: tuple[int, int] | None) -> YMap:
        """The entry for the n-th exposure (1-based), or the one keyed by `position`; ConfigError if none."""
        for fresh in (False, True):
            exposures, _ = self._load(fresh)
            keyed = [e for e in exposures if position and self._position(e) == position]
            if keyed:
                return keyed[0]
            if n <= len(exposures):
                entry = exposures[n - 1]
                if position and self._position(entry) not in (None, position):
                    raise fail(f"exposure {n} is station {position[0]}, repeat {position[1]}, but this entry "
                               f"is marked station {entry.get('station')}, repeat {entry.get('repeat')}",
                               entry.mark, fix="correct the entry's station and repeat, or remove them")
                return entry
        where = f" (station {position[0]}, repeat {position[1]})" if position else ""
        raise ConfigError(f"no answer for exposure {n}{where}: `exposures:` has {len(exposures)} entries",
                          file=self.path, fix=f"add an entry for exposure {n} under `exposures:`")

    def now(self, n: int) -> YMap:
        """The entry for the n-th read_now (1-based); ConfigError if there is none."""
        for fresh in (False, True):
            _, now = self._load(fresh)
            if n <= len(now):
                return now[n - 1]
        raise ConfigError(f"no answer for reading {n} of `now:` (it has {len(now)} entries)", file=self.path,
                          fix=f"add entry {n} under `now:`")

    @staticmethod
    def _position(entry: YMap) -> tuple[int, int] | None:
        if "station" not in entry:
            return None
        return int(entry["station"]), int(entry["repeat"])

    def _load(self, fresh: bool) -> tuple[list[YMap], list[YMap]]:
        if self._exposures is None or self._now is None or fresh:
            doc = load_yaml(self.path)
            root = expect_map(doc.data, getattr(doc.data, "mark", Mark(self.path, 1, 1)), "an inputs file")
            check_keys(root, "an inputs file", optional=("exposures", "now"))
            self._exposures = self._entries(root, "exposures", (*POSITION_KEYS, *READING_UNITS))
            self._now = self._entries(root, "now", tuple(READING_UNITS))
        return self._exposures, self._now

    def _entries(self, root: YMap, key: str, allowed: tuple[str, ...]) -> list[YMap]:
        if key not in root:
            return []
        items = expect_list(root[key], root.value_mark(key), f"`{key}:`")
        entries = []
        for index, item in enumerate(items, start=1):
            entry = expect_map(item, items.item_mark(index - 1), f"entry {index} of `{key}:`")
            check_keys(entry, f"entry {index} of `{key}:`", optional=allowed)
            self._check_position(entry, index)
            entries.append(entry)
        return entries

    @staticmethod
    def _check_position(entry: YMap, index: int) -> None:
        given = [k for k in POSITION_KEYS if k in entry]
        if given and len(given) != len(POSITION_KEYS):
            raise fail(f"entry {index} names only its {given[0]}", entry.mark,
                       fix="give both `station:` and `repeat:`, or neither")
        for key in given:
            value = entry[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise fail(f"{key} must be a whole number from 1, got {value!r}", entry.value_mark(key),
                           fix=f"write e.g. `{key}: 1`")

    def values(self, entry: YMap, names: tuple[str, ...], what: str) -> tuple[dict[str, Any], dict[str, str]]:
        """The answers for `names` in `entry`, checked, and the text of those converted (`100 mR` for air
        kerma), to be kept beside them."""
        values = {n: self.value(entry, n, what) for n in names}
        converted = {n: entry[n] for n in names if isinstance(entry[n], str)
                     and typed_reading(entry[n], n).converted}
        return values, converted

    def value(self, entry: YMap, name: str, what: str) -> pint.Quantity:
        """The answer for reading `name` in `entry`, checked; ConfigError at its line and column otherwise."""
        if name not in entry:
            raise fail(f"{what} has no answer for '{name}'", entry.mark,
                       fix=f"add `{name}: <value> {READING_UNITS[name]}` to it")
        raw = entry[name]
        try:
            value = typed_reading(raw, name).value if isinstance(raw, str) else \
                quantity_at(entry, name, None, f"{what}, {name}")
            check_reading(name, value)
        except ConfigError:
            raise
        except ValueError as exc:
            raise fail(f"{what}, {name}: {exc}", entry.value_mark(name),
                       fix=f"write it with a unit like {READING_UNITS[name]}") from None
        problem = out_of_range(name, value)
        if problem:
            raise fail(f"{what}: {problem}", entry.value_mark(name),
                       fix="correct the value or its unit (an inputs file cannot confirm an implausible value)")
        return value


class ManualEntry(Driver):
    """Readings typed by the technician (resource `console`) or taken from an inputs file (`inputs:<path>`).

    Options: `readings` (what read_exposure asks; default: the names of the `capability` option, or a kVp
    meter's), `now_readings` (what read_now asks; default by capability: dose_rate, or temperature and
    pressure), `inputs` (an inputs file, as the resource `inputs:<path>` does), `make`/`model`/`serial`
    (the identity to report). A bare number typed at the prompt is taken in the prompted unit. A value of the
    wrong dimension, or one outside PLAUSIBLE that the technician does not confirm, is asked again, at most
    MAX_ATTEMPTS times, then InstrumentError. Nothing is opened, so `transport` and `timeout` are ignored.
    """

    driver_name = "manual"
    capabilities = tuple(CAPABILITIES)
    protocol_status = "MANUAL"
    transports = ("console",)
    reports_serial = False
    simulator = "xcal.simulators.manual_inputs:ManualInputsWriter"

    def __init__(self, resource: str = CONSOLE, *, name: str = "instrument", timeout: Any = None,
                 transport: Any = None, ask: Callable[[str], str] | None = None,
                 inputs: str | Path | None = None, expected_serial: str | None = None, **options: Any) -> None:
        self.resource = resource
        self.name = name
        self.expected_serial = expected_serial
        self.options = options
        self.settings = self.link
        if resource.startswith(INPUTS_PREFIX):
            inputs = inputs or resource[len(INPUTS_PREFIX):].strip()
        elif resource != CONSOLE:
            raise ConfigError(f"{name}: the manual driver's resource is `console` or `inputs:<file>`, "
                              f"not {resource!r}", fix="write `resource: console`")
        self._ask = ask or _ask_console
        self.inputs = InputsFile(inputs) if inputs else None
        capability = str(options.get("capability", "KvpMeter"))
        if capability not in CAPABILITIES:
            raise ConfigError(f"{name}: option capability must be one of {', '.join(CAPABILITIES)}, "
                              f"got {capability!r}", fix="write e.g. `capability: Dosimeter`")
        default = tuple(n for n in CAPABILITIES[capability] if n != "waveform")
        self.readings = reading_names(options["readings"], f"{name}: option readings") \
            if "readings" in options else default
        self.now_readings = reading_names(options["now_readings"], f"{name}: option now_readings") \
            if "now_readings" in options else NOW_DEFAULTS.get(capability, ("dose_rate",))
        self._exposures = 0
        self._nows = 0
        self._position: tuple[int, int] | None = None
        self._number: int | None = None
        self._tell: Callable[[str], None] | None = None
        self.as_typed: dict[str, str] = {}
        """The text typed for each reading of the last read whose value was converted (R to air kerma)."""

    def identify(self) -> InstrumentIdentity:
        """The identity the options give (make, model, serial); the meter itself is not asked."""
        return InstrumentIdentity(str(self.options.get("make", "manual entry")),
                                  str(self.options.get("model", "readings typed from the display")),
                                  str(self.options.get("serial", "")), "")

    def expect_exposure(self, station: int, repeat: int, number: int | None = None) -> None:
        """Tell the driver which station and repeat the next read_exposure is (for keyed inputs files) and, from
        the runner, its exposure number in the record, so that after a resume it is asked as stored."""
        self._position = (int(station), int(repeat))
        self._number = number

    def ask_through(self, ask: Callable[[str], str] | None, tell: Callable[[str], None] | None = None) -> None:
        """Ask through the run's front end (which keeps its progress display off the line being typed) and
        tell it what each typed value was understood as; a driver given its own `ask` keeps it."""
        if ask is not None and self._ask is _ask_console:
            self._ask = ask
        self._tell = tell

    def arm(self) -> None:
        """Nothing to send: the technician resets the meter as the procedure's prompt says."""

    def wait_for_exposure(self, timeout: pint.Quantity) -> None:
        """Returns at once: the technician types the reading once the meter shows it."""

    def read_exposure(self) -> dict[str, pint.Quantity]:
        """Ask each of `readings` for the next exposure."""
        self._exposures = self._number or self._exposures + 1
        position, self._position, self._number = self._position, None, None
        what = f"exposure {self._exposures}"
        if position:
            what += f" (station {position[0]}, repeat {position[1]})"
        if self.inputs is not None:
            entry = self.inputs.exposure(self._exposures, position)
            values, self.as_typed = self.inputs.values(entry, self.readings, f"{self.inputs.path}: {what}")
            return values
        return self._ask_readings(self.readings, f"{self.name}, {what}")

    def read_now(self) -> dict[str, pint.Quantity]:
        """Ask each of `now_readings` as the display shows them now."""
        self._nows += 1
        if self.inputs is not None:
            entry = self.inputs.now(self._nows)
            values, self.as_typed = self.inputs.values(entry, self.now_readings,
                                                       f"{self.inputs.path}: reading {self._nows} of `now:`")
            return values
        return self._ask_readings(self.now_readings, self.name)

    gives_waveform = False

    def read_waveform(self) -> Waveform:
        """A waveform cannot be typed: InstrumentError."""
        raise InstrumentError(f"{self.name}: a waveform cannot be entered by hand", instrument=self.name,
                              resource=self.resource, fix="leave `waveform` out of the procedure's readings")

    def close(self) -> None:
        """Nothing to release."""

    def _ask_readings(self, names: tuple[str, ...], context: str) -> dict[str, pint.Quantity]:
        """Ask each of `names` in turn; `back` at a question asks the one before it again."""
        values: dict[str, Any] = {}
        index = 0
        while index < len(names):
            name = names[index]
            entry = self._ask_reading(name, context, index > 0, index == len(names) - 1)
            if entry is None:
                index -= 1
                continue
            values[name] = entry
            index += 1
        self.as_typed = {n: e.typed for n, e in values.items() if e.converted}
        return {n: e.value for n, e in values.items()}

    def _ask_reading(self, name: str, context: str, can_go_back: bool, last: bool) -> Any:
        """A units.Typed for reading `name`, or None when `back` was typed (and can_go_back); once taken it is
        said back, with the offer to retype it unless it is the `last` before the readings are committed."""
        unit, label = READING_UNITS[name], LABELS[name]
        prompt = f"{context}: {label} in {unit}"
        for attempt in range(2, MAX_ATTEMPTS + 2):
            again = f"type {label} again, in {unit} (try {attempt} of {MAX_ATTEMPTS})"
            text = self._ask(prompt)
            if can_go_back and text.strip().lower() == BACK:
                return None
            try:
                entry = typed_reading(text, name)
            except ValueError as exc:
                prompt = f"{exc}; {again}"
                continue
            problem = out_of_range(name, entry.value)
            if problem is None or self._ask(f"{problem}. Keep it? (yes/no)").strip().lower() in YES:
                if self._tell is not None:
                    self._tell(understood(label, entry) + ("" if last else
                                                           "; type 'back' at the next question to retype it"))
                return entry
            prompt = again
        raise InstrumentError(f"{self.name}: no usable {label} after {MAX_ATTEMPTS} tries", instrument=self.name,
                              resource=self.resource,
                              fix=f"type the value the meter shows with its unit, e.g. '80.3 {unit}'")
