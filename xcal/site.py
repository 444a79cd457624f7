"""The site: facility, rooms (equipment, limit sets in priority order), instruments with calibration.

Loaded from a site YAML file (`--site PATH` or `XCAL_SITE`), or the built-in simulated demo site when
neither is given. An instrument whose `resource` is `simulated` is served by a protocol simulator wired to
its room's simulation model; every record made with one is marked SIMULATED.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import CalibrationExpiredError, ConfigError
from .parameters import parse_parameters
from .yamlfile import Mark, YList, YMap, check_keys, expect_list, expect_map, expect_str, fail, load_yaml, quantity_at

DEMO_SITE = Path(__file__).parent / "demo" / "site.yaml"
SIMULATED = "simulated"
WIRE_FAULT_KINDS = ("silence", "delay", "drop", "garble", "partial", "error")


class ProcedureIndex(Protocol):
    """The procedures a site file may name (in its schedule and its rooms' parameters), handed to `load_site`
    by its caller so that the site does not depend on the procedure loader: xcal.procedures.loader.LIBRARY_INDEX."""

    def ids(self) -> Collection[str]:
        """The ids of the built-in procedures and bundles."""

    def subject(self, procedure_id: str) -> str | None:
        """What a procedure inspects besides the room (`apparel`), or None (the room itself, or a bundle)."""


@dataclass(frozen=True)
class BeamQuality:
    """One row of a certificate's k_Q table: the radiation quality (e.g. RQR 5), its tube voltage, its HVL
    when the certificate gives it, and k_Q there."""

    quality: str
    kv: Any
    k_q: float
    hvl: Any = None

    def text(self) -> str:
        hvl = f" (HVL {self.hvl:~P})" if self.hvl is not None else ""
        factor = f"{self.k_q:.3f}" if round(self.k_q, 3) == self.k_q else f"{self.k_q:g}"
        return f"{self.quality + ' ' if self.quality else ''}{self.kv:~P}{hvl} k_Q {factor}"


@dataclass(frozen=True)
class KqTable:
    """A certificate's beam-quality correction k_Q by radiation quality, read at the tube voltage.

    Linear in kV between the two qualities around it; never extrapolated beyond the first or last (an
    error names the range), since a certificate says nothing about qualities it did not measure.
    """

    qualities: tuple[BeamQuality, ...]
    note: str = ""

    def at_voltage(self, kv: Any, certificate: str) -> tuple[Any, str]:
        """k_Q at `kv` and, in words, which qualities of `certificate` it was read between."""
        from .analysis import k_q_from_table

        rows = self.qualities
        try:
            value = k_q_from_table(kv, [(q.kv, q.k_q) for q in rows])
        except ValueError:
            raise ValueError(f"{kv:~P} lies outside the k_Q table of certificate {certificate} "
                             f"({rows[0].kv:~P} to {rows[-1].kv:~P}); k_Q is not extrapolated") from None
        volts = float(kv.to("kV").magnitude)
        exact = [q for q in rows if float(q.kv.to("kV").magnitude) == volts]
        if exact:
            how = f"{exact[0].text()} of certificate {certificate}"
        else:
            below = max((q for q in rows if q.kv.to("kV").magnitude < volts), key=lambda q: q.kv)
            above = min((q for q in rows if q.kv.to("kV").magnitude > volts), key=lambda q: q.kv)
            how = (f"linear in kV between {below.text()} and {above.text()} of certificate {certificate}")
        return value, f"k_Q {value.magnitude:.4g} at {kv:~P}: {how}"

    def text(self) -> str:
        return "; ".join(q.text() for q in self.qualities)


@dataclass(frozen=True)
class Calibration:
    """The instrument's calibration certificate; a vented ion chamber's certificate states the reference
    temperature and pressure its factor holds at (k_TP is computed against them, never a hidden default),
    and may give its beam-quality correction k_Q by radiation quality (`k_q`)."""

    certificate: str
    date: dt.date
    due: dt.date
    laboratory: str = ""
    note: str = ""
    reference_temperature: Any = None
    reference_pressure: Any = None
    k_q: KqTable | None = None

    def snapshot(self) -> dict[str, str]:
        snap = {"certificate": self.certificate, "laboratory": self.laboratory,
                "date": self.date.isoformat(), "due": self.due.isoformat(), "note": self.note}
        if self.reference_temperature is not None:
            snap["reference_temperature"] = f"{self.reference_temperature:~P}"
            snap["reference_pressure"] = f"{self.reference_pressure:~P}"
        if self.k_q is not None:
            snap["k_q_table"] = self.k_q.text() + (f" ({self.k_q.note})" if self.k_q.note else "")
        return snap


@dataclass(frozen=True)
class CheckSource:
    """A survey meter's check source and the reading taken with it at calibration (the constancy baseline)."""

    source: str
    nuclide: str
    baseline: Any
    date: dt.date
    half_life_years: float

    def expected(self, today: dt.date) -> Any:
        """The baseline decayed to `today`: baseline × 2^(−t/T½)."""
        from .analysis import decay
        from .units import Q_

        elapsed = Q_((today - self.date).days / 365.25, "year")
        return decay(self.baseline, elapsed, Q_(self.half_life_years, "year"))


@dataclass(frozen=True)
class Instrument:
    id: str
    make: str
    model: str
    serial: str
    driver: str
    resource: str
    capabilities: tuple[str, ...]
    calibration: Calibration
    options: dict[str, Any] = field(default_factory=dict)
    timeout: Any = None
    simulation: dict[str, Any] = field(default_factory=dict)
    check_source: CheckSource | None = None

    @property
    def simulated(self) -> bool:
        return self.resource == SIMULATED

    def values(self, today: dt.date) -> dict[str, Any]:
        """Quantities a procedure may use from this instrument's site entry (prefixed with its role there):
        calibration_temperature/pressure (the certificate's reference conditions) and check_source_expected
        (the check-source baseline decayed to today)."""
        values: dict[str, Any] = {}
        if self.calibration.reference_temperature is not None:
            values["calibration_temperature"] = self.calibration.reference_temperature
            values["calibration_pressure"] = self.calibration.reference_pressure
        if self.check_source is not None:
            values["check_source_expected"] = self.check_source.expected(today)
        return values

    def k_q_at(self, kv: Any) -> tuple[Any, str]:
        """k_Q at the tube voltage `kv` from the certificate's table, and where it came from; 1 where the
        certificate gives no k_Q, said so in the words returned. ValueError outside the table."""
        from .units import Q_

        cal = self.calibration
        if cal.k_q is None:
            return Q_(1.0, ""), (f"k_Q 1 at {kv:~P}: certificate {cal.certificate} of {self.id} gives no k_Q, so "
                                 "the reading is not corrected for beam quality")
        return cal.k_q.at_voltage(kv, f"{cal.certificate} of {self.id}")

    def describe(self) -> str:
        return f"{self.id} ({self.make} {self.model}, serial {self.serial})"

    def check_calibration(self, today: dt.date, allow_expired: str | None = None) -> bool:
        """True when in date; False when expired but overridden; raises when expired and not overridden."""
        if self.calibration.due >= today:
            return True
        if allow_expired:
            return False
        raise CalibrationExpiredError(
            f"instrument {self.describe()} is past its calibration due date {self.calibration.due.isoformat()} "
            f"(certificate {self.calibration.certificate})",
            fix="recalibrate it and update `calibration.due` in the site file, or run with "
                "--allow-expired-calibration \"REASON\" to proceed and record the reason")

    def snapshot(self) -> dict[str, Any]:
        return {"id": self.id, "make": self.make, "model": self.model, "serial": self.serial,
                "driver": self.driver, "resource": self.resource, "simulated": self.simulated,
                "capabilities": list(self.capabilities), "calibration": self.calibration.snapshot(),
                "options": self.measuring_options()}

    def measuring_options(self) -> dict[str, str]:
        """The driver options that shape a reading (a counter's sensitivity, a dead time, a command map), as text.

        Link settings (baud rate, terminations) and the options a driver declares as timing (a poll interval) are
        left out: they change how bytes travel, not what is measured; an option the driver does not declare is
        kept, as it may shape a reading."""
        from .drivers.link import LinkSettings
        from .drivers.registry import get_driver_class

        left_out = set(LinkSettings.__dataclass_fields__)
        with contextlib.suppress(ConfigError):
            left_out |= {o.name for o in getattr(get_driver_class(self.driver), "option_specs", ()) if o.timing}
        return {str(k): str(v) for k, v in sorted(self.options.items()) if k not in left_out}


@dataclass(frozen=True)
class Item:
    """A piece of the site's inventory that a procedure tests on its own, not as room equipment: a protective
    garment of the `apparel` list (apron, thyroid shield...), with its lead equivalence and where it is kept."""

    id: str
    kind: str
    make: str = ""
    model: str = ""
    serial: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        what = " ".join(p for p in (self.make, self.model) if p)
        return f"{self.id} ({self.kind}{', ' + what if what else ''}{', serial ' + self.serial if self.serial else ''})"

    def snapshot(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "make": self.make, "model": self.model, "serial": self.serial,
                **self.details}


@dataclass(frozen=True)
class RoomConfig:
    """A room as the site file describes it: equipment, limit sets in priority order, instruments by role,
    simulation. (`xcal.api.Room` is the Python API's room, which opens sessions on one of these.)"""

    id: str
    name: str
    modality: str
    equipment: dict[str, Any]
    limit_sets: tuple[str, ...]
    instruments: dict[str, str]
    simulation: dict[str, Any] | None = None
    wire_faults: tuple[dict[str, Any], ...] = ()
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per procedure id, this room's own parameter values (its survey points, its techniques)."""

    def label(self) -> str:
        return f"room {self.id} ({self.name})" if self.name else f"room {self.id}"


@dataclass(frozen=True)
class SiteConfig:
    """A loaded site file: facility, rooms, instruments, limit sets, schedule, retention, apparel, DICOM nodes.
    (`xcal.api.Site` is the Python API's site, which serves one of these with a record store.)"""

    facility: dict[str, Any]
    rooms: dict[str, RoomConfig]
    instruments: dict[str, Instrument]
    limit_sets: dict[str, Any]
    path: str
    sha256: str
    is_demo: bool
    folder: Path
    schedule: tuple[Any, ...] = ()
    retention: tuple[Any, ...] = ()
    apparel: dict[str, Item] = field(default_factory=dict)
    """The protective apparel inventory, by id."""
    dicom: Any = None
    """The `dicom:` section (xcal.dicom.nodes.DicomSettings), or None when the site has none."""

    def room(self, room_id: str | int) -> RoomConfig:
        key = str(room_id)
        if key not in self.rooms:
            raise ConfigError(f"{self.path} has no room '{key}'",
                              fix=f"{self.room_hint(key)}use one of: {', '.join(self.rooms)}")
        return self.rooms[key]

    def room_hint(self, key: str) -> str:
        """`did you mean 4 (Radiography 4)? ` for a room given by (nearly) its name or a near miss of a room id
        that is not a bare number (a guess from digits, 33 for 3, would mislead); "" when nothing is close."""
        import difflib

        names = {r.name.casefold(): r for r in self.rooms.values() if r.name}
        near = difflib.get_close_matches(key.casefold(), list(names), n=1)
        room = names[near[0]] if near else None
        if room is None and not key.isdigit():
            ids = difflib.get_close_matches(key, list(self.rooms), n=1, cutoff=0.8)
            room = self.rooms[ids[0]] if ids else None
        if room is None:
            return ""
        return f"did you mean {room.id}{f' ({room.name})' if room.name else ''}? "

    @property
    def name(self) -> str:
        return str(self.facility.get("name", ""))


def _plain_data(value: Any) -> Any:
    """YAML data as plain dicts, lists and scalars with text keys and dates as ISO text, as a snapshot stores it."""
    if isinstance(value, dict):
        return {str(k): _plain_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_data(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _date(node: YMap, key: str, what: str) -> dt.date:
    value = node[key]
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise fail(f"{what} {key} must be a date like 2027-03-31, got {value!r}", node.value_mark(key),
               fix="write the date as YYYY-MM-DD without quotes")


def _parse_instrument(node: Any, mark: Mark, capabilities: dict[str, Any], folder: Path) -> Instrument:
    node = expect_map(node, mark, "an instrument")
    check_keys(node, "an instrument", required=("id", "make", "model", "serial", "driver", "resource",
                                                "capabilities", "calibration"),
               optional=("options", "timeout", "note", "simulation", "check_source"))
    iid = expect_str(node["id"], node.value_mark("id"), "instrument id")
    caps = expect_list(node["capabilities"], node.value_mark("capabilities"), f"capabilities of {iid}")
    for i, cap in enumerate(caps):
        cap = expect_str(cap, caps.item_mark(i), f"a capability of {iid}")
        if cap not in capabilities:
            raise fail(f"instrument {iid}: unknown capability '{cap}'", caps.item_mark(i),
                       fix=f"use one of: {', '.join(capabilities)}")
    cal = expect_map(node["calibration"], node.value_mark("calibration"), f"calibration of {iid}")
    check_keys(cal, f"calibration of {iid}", required=("certificate", "date", "due"),
               optional=("laboratory", "note", "reference_temperature", "reference_pressure", "k_q"))
    conditions = [k for k in ("reference_temperature", "reference_pressure") if k in cal]
    if len(conditions) == 1:
        raise fail(f"calibration of {iid} gives {conditions[0]} without the other reference condition",
                   cal.value_mark(conditions[0]), fix="give both reference_temperature and reference_pressure, as "
                                                      "the certificate states them (e.g. 22 °C and 101.325 kPa)")
    temperature, pressure = _reference_conditions(cal, iid) if conditions else (None, None)
    calibration = Calibration(str(cal["certificate"]), _date(cal, "date", f"{iid} calibration"),
                              _date(cal, "due", f"{iid} calibration"), str(cal.get("laboratory", "")),
                              str(cal.get("note", "")), temperature, pressure,
                              _parse_k_q(cal, iid) if "k_q" in cal else None)
    if calibration.due < calibration.date:
        raise fail(f"instrument {iid}: calibration due {calibration.due} is before its date {calibration.date}",
                   cal.value_mark("due"), fix="check the two dates on the certificate")
    options = dict(expect_map(node.get("options", YMap(mark)), node.value_mark("options"), "options"))
    if "command_map" in options:
        options["command_map"] = str(_resolve_command_map(str(options["command_map"]), folder,
                                                          expect_map(node["options"], mark, "options")))
    _check_driver_options(str(node["driver"]), options, iid, node.value_mark("options") if "options" in node
                          else mark)
    timeout = _timeout(node, iid) if "timeout" in node else None
    simulation = _plain_data(expect_map(node.get("simulation", YMap(mark)), node.value_mark("simulation"),
                                   f"simulation settings of {iid}"))
    check_source = _parse_check_source(node, iid) if "check_source" in node else None
    return Instrument(iid, str(node["make"]), str(node["model"]), str(node["serial"]), str(node["driver"]),
                      str(node["resource"]), tuple(str(c) for c in caps), calibration, options, timeout,
                      simulation, check_source)


def _check_driver_options(driver: str, options: dict[str, Any], iid: str, mark: Mark) -> None:
    """The driver's declared options checked for unit and range now, not when the meter is opened mid-run.

    A driver that is not installed here is checked when it is used (a vendor's package may be missing at
    validate time on another console).
    """
    from .drivers.registry import get_driver_class

    try:
        cls = get_driver_class(driver)
    except ConfigError:
        return
    check = getattr(cls, "check_options", None)
    if check is None:
        return
    try:
        check(options, owner=f"instrument {iid}")
    except ConfigError as exc:
        raise fail(exc.message, mark, fix=exc.fix or "correct the option in the site file") from None


_RANGES: dict[str, tuple[Any, str]] = {
    "positive": (lambda x: x > 0, "more than zero"),
    "not negative": (lambda x: x >= 0, "zero or more"),
    "percent": (lambda x: 0 <= x <= 100, "between 0 % and 100 %"),
    "celsius": (lambda x: x > -273.15, "above absolute zero (-273.15 °C)"),
}
"""Ranges a site number may have to lie in: rule -> (test, the words an error uses for it)."""


def _check_range(number: float, rule: str, mark: Mark, what: str, written: Any, example: str) -> None:
    """Refuse a number outside its rule's range (see _RANGES) or not finite, at load rather than mid-run."""
    test, words = _RANGES[rule]
    if not (math.isfinite(number) and test(number)):
        raise fail(f"{what} must be {words}, got {written}", mark, fix=f"write e.g. `{example}`")


def _reference_conditions(cal: YMap, iid: str) -> tuple[Any, Any]:
    """The certificate's reference temperature and pressure; refused below absolute zero or at no pressure,
    since k_TP divides by them."""
    temperature = quantity_at(cal, "reference_temperature", "temperature", f"{iid} calibration reference_temperature")
    pressure = quantity_at(cal, "reference_pressure", "pressure", f"{iid} calibration reference_pressure")
    _check_range(float(temperature.to("degC").magnitude), "celsius", cal.value_mark("reference_temperature"),
                 f"{iid} calibration reference_temperature", cal["reference_temperature"],
                 "reference_temperature: 22 °C")
    _check_range(float(pressure.to("kPa").magnitude), "positive", cal.value_mark("reference_pressure"),
                 f"{iid} calibration reference_pressure", cal["reference_pressure"],
                 "reference_pressure: 101.325 kPa")
    return temperature, pressure


def _parse_k_q(cal: YMap, iid: str) -> KqTable:
    """`k_q: {qualities: [{quality, kv, hvl, k_q}, ...], note}`: at least two qualities at different kV, each
    k_Q a plain number of more than zero, kept in order of kV."""
    what = f"{iid} calibration k_q"
    node = expect_map(cal["k_q"], cal.value_mark("k_q"), what)
    check_keys(node, what, required=("qualities",), optional=("note",))
    rows = expect_list(node["qualities"], node.value_mark("qualities"), f"{what} qualities")
    if len(rows) < 2:
        raise fail(f"{what} needs at least two beam qualities to read k_Q between, got {len(rows)}",
                   node.value_mark("qualities"), fix="copy every quality of the certificate's k_Q table (e.g. RQR 3, "
                                                     "5, 7 and 9), or leave `k_q` out if it gives none")
    qualities: list[BeamQuality] = []
    for i, item in enumerate(rows):
        row = expect_map(item, rows.item_mark(i), f"a quality of {what}")
        check_keys(row, f"a quality of {what}", required=("kv", "k_q"), optional=("quality", "hvl"))
        kv = quantity_at(row, "kv", "voltage", f"{what} kv")
        _check_range(float(kv.to("kV").magnitude), "positive", row.value_mark("kv"), f"{what} kv", row["kv"],
                     "kv: 70 kV")
        factor = row["k_q"]
        if isinstance(factor, bool) or not isinstance(factor, (int, float)):
            raise fail(f"{what}: k_q must be a plain number (a ratio), got {factor!r}", row.value_mark("k_q"),
                       fix="write it as the certificate gives it, e.g. `k_q: 0.996`")
        _check_range(float(factor), "positive", row.value_mark("k_q"), f"{what} k_q", factor, "k_q: 0.996")
        hvl = quantity_at(row, "hvl", "length", f"{what} hvl") if "hvl" in row else None
        if hvl is not None:
            _check_range(float(hvl.to("mm").magnitude), "positive", row.value_mark("hvl"), f"{what} hvl",
                         row["hvl"], "hvl: 2.58 mm")
        if any(q.kv == kv for q in qualities):
            raise fail(f"{what} gives {kv:~P} twice", row.value_mark("kv"),
                       fix="give each quality of the certificate once, each at its own tube voltage")
        qualities.append(BeamQuality(str(row.get("quality", "")), kv, float(factor), hvl))
    return KqTable(tuple(sorted(qualities, key=lambda q: q.kv.to("kV").magnitude)),
                   str(node.get("note", "")).strip())


def _timeout(node: YMap, iid: str) -> Any:
    """The instrument's reply timeout: a time of more than zero (a driver refuses any other, mid-run)."""
    timeout = quantity_at(node, "timeout", "time", f"timeout of {iid}")
    _check_range(float(timeout.to("s").magnitude), "positive", node.value_mark("timeout"), f"timeout of {iid}",
                 node["timeout"], "timeout: 2 s")
    return timeout


def _parse_check_source(node: YMap, iid: str) -> CheckSource:
    from .analysis.counting import HALF_LIVES
    from .units import Q_

    what = f"check source of {iid}"
    cs = expect_map(node["check_source"], node.value_mark("check_source"), what)
    check_keys(cs, what, required=("source", "nuclide", "baseline", "date"), optional=("half_life",))
    nuclide = str(cs["nuclide"])
    if "half_life" in cs:
        half_life = float(quantity_at(cs, "half_life", "time", f"{what} half_life").to("year").magnitude)
        _check_range(half_life, "positive", cs.value_mark("half_life"), f"{what} half_life", cs["half_life"],
                     "half_life: 30.08 year")
    elif nuclide in HALF_LIVES:
        value, unit, _source = HALF_LIVES[nuclide]
        half_life = float(Q_(value, unit).to("year").magnitude)
    else:
        raise fail(f"{what}: no half-life known for '{nuclide}'", cs.value_mark("nuclide"),
                   fix=f"give `half_life:` (e.g. 30.08 year), or use one of: {', '.join(HALF_LIVES)}")
    baseline = quantity_at(cs, "baseline", "dose_rate", f"{what} baseline")
    _check_range(float(baseline.to("µSv/h").magnitude), "positive", cs.value_mark("baseline"), f"{what} baseline",
                 cs["baseline"], "baseline: 40 µSv/h")
    return CheckSource(str(cs["source"]), nuclide, baseline, _date(cs, "date", what), half_life)


def _resolve_command_map(value: str, folder: Path, options: YMap) -> Path:
    builtin = Path(__file__).parent / "demo" / "instruments" / f"{value}.yaml"
    candidate = folder / value
    if candidate.is_file():
        return candidate
    if builtin.is_file():
        return builtin
    raise fail(f"command map '{value}' not found (looked in {folder} and the built-in maps)",
               options.value_mark("command_map"), fix="give a path relative to the site file")


_SIM_KEYS = {  # site key -> (RoomSimulation field, dimension or None for plain numbers, unit to convert to)
    "generator": ("generator", None, None),
    "ripple": ("ripple_percent", "dimensionless", "percent"),
    "mains": ("mains_hz", "frequency", "Hz"),
    "filtration": ("total_filtration_mm_al", "length", "mm"),
    "anode_angle": ("anode_angle_deg", "angle", "degree"),
    "meter_distance": ("meter_distance_cm", "length", "cm"),
    "seed": ("seed", None, None),
    "ambient_dose_rate": ("ambient_dose_rate_usv_h", "dose_rate", "µSv/h"),
    "temperature": ("ambient_temperature_c", "temperature", "degC"),
    "pressure": ("ambient_pressure_kpa", "pressure", "kPa"),
    "leakage_fraction": ("leakage_fraction", None, None),
    "scatter_fraction": ("scatter_fraction", None, None),
    "phantom_attenuation": ("phantom_attenuation_per_cm", "1/length", "1/cm"),
}
_GROUP_KEYS = {  # grouped site keys -> their RoomSimulation fields
    "fluoroscopy": {"kv": ("fluoro_kv", "voltage", "kV"), "normal_current": ("fluoro_ma_normal", "current", "mA"),
                    "high_current": ("fluoro_ma_high", "current", "mA"),
                    "point_distance": ("fluoro_point_distance_cm", "length", "cm")},
    "aec": {"current": ("aec_ma", "current", "mA"),
            "detector_air_kerma": ("aec_detector_kerma_ugy", "air_kerma", "µGy"),
            "detector_distance": ("aec_detector_distance_cm", "length", "cm")},
}
_NOISE_KEYS = {"kv": "kv_noise_cv", "output": "output_noise_cv", "time": "time_noise_cv"}
_FAULT_KEYS = {
    "kvp_scale": ("kvp_scale", None, None),
    "kvp_scale_above": ("kvp_scale_above_kv", "voltage", "kV"),
    "kvp_offset": ("kvp_offset_kv", "voltage", "kV"),
    "timer_drift": ("timer_drift_percent", "dimensionless", "percent"),
    "missing_filtration": ("missing_filtration_mm_al", "length", "mm"),
    "extra_output_cv": ("extra_output_cv", None, None),
    "aec_noise_cv": ("aec_noise_cv", None, None),
}
GENERATORS = ("single-phase", "three-phase", "high-frequency")
_SIM_RANGES: dict[str, tuple[str, str]] = {  # RoomSimulation field -> (rule of _RANGES, example value)
    "ripple_percent": ("percent", "2 %"), "mains_hz": ("positive", "60 Hz"),
    "total_filtration_mm_al": ("not negative", "2.5 mm"), "anode_angle_deg": ("positive", "12 degree"),
    "meter_distance_cm": ("positive", "100 cm"), "ambient_dose_rate_usv_h": ("not negative", "0.1 µSv/h"),
    "ambient_temperature_c": ("celsius", "22 °C"), "ambient_pressure_kpa": ("positive", "101.325 kPa"),
    "leakage_fraction": ("not negative", "1.0e-4"), "scatter_fraction": ("not negative", "1.0e-3"),
    "phantom_attenuation_per_cm": ("not negative", "0.2 /cm"),
    "fluoro_kv": ("positive", "110 kV"), "fluoro_ma_normal": ("positive", "2.5 mA"),
    "fluoro_ma_high": ("positive", "5 mA"), "fluoro_point_distance_cm": ("positive", "50 cm"),
    "aec_ma": ("positive", "200 mA"), "aec_detector_kerma_ugy": ("positive", "2.5 µGy"),
    "aec_detector_distance_cm": ("positive", "110 cm"),
    "kv_noise_cv": ("not negative", "0.003"), "output_noise_cv": ("not negative", "0.01"),
    "time_noise_cv": ("not negative", "0.002"), "kvp_scale": ("positive", "1.07"),
    "missing_filtration_mm_al": ("not negative", "1.2 mm"), "extra_output_cv": ("not negative", "0.08"),
    "aec_noise_cv": ("not negative", "0.08"),
}
"""The range of each room simulation value that has one, checked at load (the room model would refuse it only
when a run starts, without the line)."""


def _sim_value(node: YMap, key: str, spec: tuple[str, str | None, str | None], what: str) -> Any:
    """One room simulation value: a generator name, a plain number, or a quantity converted to `unit`; each
    checked against its range in _SIM_RANGES, and the seed a whole number of 0 or more."""
    from .units import DIMENSIONS, Q_, parse_quantity

    field_name, dimension, unit = spec
    mark = node.value_mark(key)
    if dimension is None:
        value = node[key]
        if key == "generator":
            if value not in GENERATORS:
                raise fail(f"generator '{value}' is not one of {', '.join(GENERATORS)}", mark,
                           fix=f"use one of: {', '.join(GENERATORS)}")
            return value
        if field_name == "seed":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise fail(f"{what} seed must be a whole number of 0 or more, got {value}", mark,
                           fix="write e.g. `seed: 3` (any whole number; each gives its own repeatable noise)")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(f"{what} {key} must be a plain number", mark, fix="write e.g. 1.07")
        number = value
    else:
        try:
            q = parse_quantity(node[key])
        except ValueError as exc:
            raise fail(f"{what} {key}: {exc}", mark, fix=f"write a quantity in {unit}") from None
        if dimension not in DIMENSIONS:
            ok = q.dimensionality == Q_(1, unit).dimensionality
        else:
            ok = q.dimensionality == Q_(1, DIMENSIONS[dimension] or unit).dimensionality
        if not ok:
            raise fail(f"{what} {key}: '{node[key]}' does not convert to {unit}", mark,
                       fix=f"write a quantity in {unit}, e.g. '1 {unit}'")
        number = float(q.to(unit).magnitude)
    if field_name in _SIM_RANGES:
        rule, example = _SIM_RANGES[field_name]
        _check_range(float(number), rule, mark, f"{what} {key}", node[key], f"{key}: {example}")
    return number


def _parse_simulation(node: Any, mark: Mark, room_id: str, instruments: dict[str, Instrument]
                      ) -> tuple[dict[str, Any], tuple[dict[str, Any], ...]]:
    """A room's `simulation:`: the room model's values (each in its unit and range), its grouped values
    (fluoroscopy, aec), noise and faults, and the faults injected at the wire of its instruments."""
    what = f"room {room_id} simulation"
    node = expect_map(node, mark, what)
    check_keys(node, what, optional=(*_SIM_KEYS, *_GROUP_KEYS, "noise", "faults", "wire_faults"))
    sim = {spec[0]: _sim_value(node, key, spec, what) for key, spec in _SIM_KEYS.items() if key in node}
    sim.update(_sim_groups(node, what))
    sim.update(_sim_noise(node, what))
    sim["faults"] = _sim_faults(node, what)
    return sim, _parse_wire_faults(node, what, instruments)


def _sim_groups(node: YMap, what: str) -> dict[str, Any]:
    """The grouped values (`fluoroscopy:`, `aec:`), each group whole but for its optional keys."""
    values: dict[str, Any] = {}
    for group, keys in _GROUP_KEYS.items():
        if group in node:
            gnode = expect_map(node[group], node.value_mark(group), f"{what} {group}")
            check_keys(gnode, f"{what} {group}", required=tuple(k for k in keys if k != "detector_distance"),
                       optional=tuple(k for k in keys if k == "detector_distance"))
            values.update({spec[0]: _sim_value(gnode, key, spec, f"{what} {group}")
                           for key, spec in keys.items() if key in gnode})
    return values


def _sim_noise(node: YMap, what: str) -> dict[str, Any]:
    """`noise:` — the coefficients of variation of kV, output and time."""
    if "noise" not in node:
        return {}
    noise = expect_map(node["noise"], node.value_mark("noise"), f"{what} noise")
    check_keys(noise, f"{what} noise", optional=_NOISE_KEYS)
    return {field_name: _sim_value(noise, key, (field_name, None, None), f"{what} noise")
            for key, field_name in _NOISE_KEYS.items() if key in noise}


def _sim_faults(node: YMap, what: str) -> dict[str, Any]:
    """`faults:` — the generator's faults the procedures must catch, and the delivered fraction per mA station."""
    if "faults" not in node:
        return {}
    fnode = expect_map(node["faults"], node.value_mark("faults"), f"{what} faults")
    check_keys(fnode, f"{what} faults", optional=(*_FAULT_KEYS, "ma_factors"))
    faults = {spec[0]: _sim_value(fnode, key, spec, f"{what} faults")
              for key, spec in _FAULT_KEYS.items() if key in fnode}
    if "ma_factors" in fnode:
        faults["ma_factors"] = _ma_factors(fnode, what)
    return faults


def _ma_factors(fnode: YMap, what: str) -> dict[float, float]:
    """`ma_factors: {200 mA: 0.8}` — set current in mA -> the fraction of it the station delivers."""
    from .units import parse_quantity

    mnode = expect_map(fnode["ma_factors"], fnode.value_mark("ma_factors"), "ma_factors")
    factors = {}
    for key, value in mnode.items():
        try:
            ma = parse_quantity(key, "current").to("mA").magnitude
        except ValueError as exc:
            raise fail(f"ma_factors: {exc}", mnode.key_mark(key), fix="write e.g. `200 mA: 0.8`") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(f"{what} faults ma_factors {key}: the factor must be a plain number, got {value}",
                       mnode.value_mark(key), fix="write the fraction of the set current that station "
                                                  "delivers, e.g. `320 mA: 0.75`")
        _check_range(float(value), "not negative", mnode.value_mark(key), f"{what} faults ma_factors {key}",
                     value, f"{key}: 0.75")
        factors[float(ma)] = float(value)
    return factors


def _parse_wire_faults(node: YMap, what: str, instruments: dict[str, Instrument]) -> tuple[dict[str, Any], ...]:
    """`wire_faults:` — faults the simulators inject at the wire (silence, delay, drop...), per instrument."""
    if "wire_faults" not in node:
        return ()
    wnode = expect_list(node["wire_faults"], node.value_mark("wire_faults"), f"{what} wire_faults")
    return tuple(_parse_wire_fault(expect_map(item, wnode.item_mark(i), "a wire fault"), instruments)
                 for i, item in enumerate(wnode))


def _parse_wire_fault(item: YMap, instruments: dict[str, Instrument]) -> dict[str, Any]:
    """One wire fault: a site instrument, a kind, and optionally the command, after how many, how often, delay."""
    check_keys(item, "a wire fault", required=("instrument", "kind"), optional=("command", "after", "count", "delay"))
    target = expect_str(item["instrument"], item.value_mark("instrument"), "a wire fault's instrument")
    if target not in instruments:
        raise fail(f"wire fault names unknown instrument '{item['instrument']}'",
                   item.value_mark("instrument"), fix=f"use one of: {', '.join(instruments)}")
    if item["kind"] not in WIRE_FAULT_KINDS:
        raise fail(f"wire fault kind '{item['kind']}' is not one of {', '.join(WIRE_FAULT_KINDS)}",
                   item.value_mark("kind"), fix=f"use one of: {', '.join(WIRE_FAULT_KINDS)}")
    fault: dict[str, Any] = {
        "instrument": target, "kind": str(item["kind"]),
        "command": (expect_str(item["command"], item.value_mark("command"), "a wire fault's command")
                    if item.get("command") is not None else None),
        "after": _whole(item, "after", "wire fault", "after: 3") if "after" in item else 1,
        "count": _whole(item, "count", "wire fault", "count: 1") if item.get("count") is not None else None}
    if "delay" in item:
        fault["delay_s"] = float(quantity_at(item, "delay", "time", "wire fault delay").to("s").magnitude)
        _check_range(fault["delay_s"], "not negative", item.value_mark("delay"), "wire fault delay",
                     item["delay"], "delay: 3 s")
    return fault


def _whole(node: YMap, key: str, what: str, example: str) -> int:
    """A whole number of 1 or more at node[key] (a request count of a wire fault)."""
    value = node[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail(f"{what} {key} must be a whole number of 1 or more, got {value}", node.value_mark(key),
                   fix=f"write e.g. `{example}`")
    return value


def load_site(path: str | Path | None = None, *, procedures: ProcedureIndex | None = None) -> SiteConfig:
    """Load the site file at `path`, or `XCAL_SITE`, or the built-in demo site.

    `procedures` checks the procedure ids the file names (schedule, room parameters); without it they are taken
    as written. The front ends and `xcal.load_site` hand in the built-in library."""
    chosen = path or os.environ.get("XCAL_SITE") or None
    is_demo = chosen is None
    file = Path(chosen) if chosen else DEMO_SITE
    display = "<built-in demo site>" if is_demo else str(file)
    doc = load_yaml(file, display=display)
    folder = file.resolve().parent
    root = _site_root(doc)
    facility = _plain_data(expect_map(root["facility"], root.value_mark("facility"), "facility"))
    limit_sets = _load_limit_sets(root, folder)
    instruments = _parse_instruments(root, folder)
    rooms = _parse_rooms(root, limit_sets, instruments, procedures)
    apparel = _parse_apparel(root)
    schedule = _parse_schedule(root, rooms, apparel, procedures)
    retention = _parse_retention(root)
    dicom = _parse_dicom(root, rooms)
    return SiteConfig(facility, rooms, instruments, limit_sets, doc.path, doc.sha256, is_demo, folder, schedule,
                      retention, apparel, dicom)


def _site_root(doc: Any) -> YMap:
    """The top mapping of a site file, with only the keys a site has and `kind: site`."""
    root = expect_map(doc.data, Mark(doc.path, 1, 1), "a site file")
    check_keys(root, "a site", required=("kind", "facility", "instruments", "rooms"),
               optional=("limit_sets", "note", "schedule", "retention", "apparel", "dicom", "maintenance",
                         "dosimetry"))
    if root["kind"] != "site":
        raise fail(f"kind is '{root['kind']}' but this file is read as a site", root.value_mark("kind"),
                   fix="write `kind: site`")
    return root


def _load_limit_sets(root: YMap, folder: Path) -> dict[str, Any]:
    """The built-in limit sets and those of the files the site's `limit_sets:` lists (beside the site file)."""
    from .limits.sets import load_library

    extra_sets = expect_list(root.get("limit_sets", YList(root.mark)), root.value_mark("limit_sets"), "limit_sets")
    return load_library([folder / expect_str(p, extra_sets.item_mark(i), "a limit_sets file")
                         for i, p in enumerate(extra_sets)])


def _parse_instruments(root: YMap, folder: Path) -> dict[str, Instrument]:
    """`instruments:` by id, each id once."""
    from .drivers.capabilities import CAPABILITIES

    inst_nodes = expect_list(root["instruments"], root.value_mark("instruments"), "instruments")
    instruments: dict[str, Instrument] = {}
    for i, node in enumerate(inst_nodes):
        inst = _parse_instrument(node, inst_nodes.item_mark(i), CAPABILITIES, folder)
        if inst.id in instruments:
            raise fail(f"instrument id '{inst.id}' is used twice", inst_nodes.item_mark(i),
                       fix="give each instrument its own id")
        instruments[inst.id] = inst
    return instruments


def _parse_rooms(root: YMap, limit_sets: dict[str, Any], instruments: dict[str, Instrument],
                 procedures: ProcedureIndex | None) -> dict[str, RoomConfig]:
    """`rooms:` by id, each id once."""
    room_nodes = expect_list(root["rooms"], root.value_mark("rooms"), "rooms")
    rooms: dict[str, RoomConfig] = {}
    for i, node in enumerate(room_nodes):
        room = _parse_room(expect_map(node, room_nodes.item_mark(i), "a room"), limit_sets, instruments,
                           procedures, rooms)
        rooms[room.id] = room
    return rooms


def _parse_room(node: YMap, limit_sets: dict[str, Any], instruments: dict[str, Instrument],
                procedures: ProcedureIndex | None, taken: Collection[str]) -> RoomConfig:
    """One room: its limit sets (known ones, in priority order), instruments by role (site instruments), its
    simulation (needed when an instrument is simulated), equipment, an id not `taken`, own parameter values."""
    check_keys(node, "a room", required=("id", "limit_sets", "instruments"),
               optional=("name", "modality", "equipment", "simulation", "note", "parameters"))
    rid = str(node["id"])
    sets = _room_limit_sets(node, rid, limit_sets)
    role_ids = _room_instruments(node, rid, instruments)
    simulation: dict[str, Any] | None = None
    wire: tuple[dict[str, Any], ...] = ()
    if "simulation" in node:
        simulation, wire = _parse_simulation(node["simulation"], node.value_mark("simulation"), rid, instruments)
    elif any(instruments[iid].simulated for iid in role_ids.values()):
        raise fail(f"room {rid} uses simulated instruments but has no `simulation:` block",
                   node.mark, fix="add `simulation: {generator: high-frequency}` or give real resources")
    equipment = _plain_data(expect_map(node.get("equipment", YMap(node.mark)), node.value_mark("equipment"),
                                       "equipment"))
    if rid in taken:
        raise fail(f"room id '{rid}' is used twice", node.mark, fix="give each room its own id")
    return RoomConfig(rid, str(node.get("name", "")), str(node.get("modality", "")), equipment, sets, role_ids,
                      simulation, wire, _parse_room_parameters(node, rid, procedures))


def _room_limit_sets(node: YMap, rid: str, limit_sets: dict[str, Any]) -> tuple[str, ...]:
    """A room's `limit_sets:`, in priority order, each one the site knows."""
    sets = expect_list(node["limit_sets"], node.value_mark("limit_sets"), f"room {rid} limit_sets")
    for j, set_id in enumerate(sets):
        set_id = expect_str(set_id, sets.item_mark(j), f"a limit set of room {rid}")
        if set_id not in limit_sets:
            raise fail(f"room {rid}: unknown limit set '{set_id}'", sets.item_mark(j),
                       fix=f"use one of: {', '.join(limit_sets)}, or list its file under the site's "
                           "top-level `limit_sets`")
    return tuple(str(s) for s in sets)


def _room_instruments(node: YMap, rid: str, instruments: dict[str, Instrument]) -> dict[str, str]:
    """A room's `instruments: {ROLE: INSTRUMENT_ID}`, each id one of the site's instruments."""
    roles = expect_map(node["instruments"], node.value_mark("instruments"), f"room {rid} instruments")
    role_ids = {str(role): expect_str(iid, roles.value_mark(role), f"the {role} of room {rid}")
                for role, iid in roles.items()}
    for role, iid in role_ids.items():
        if iid not in instruments:
            raise fail(f"room {rid}: instrument '{iid}' (role {role}) is not in the site's instruments",
                       roles.value_mark(role), fix=f"use one of: {', '.join(instruments)}")
    return role_ids


def _parse_apparel(root: YMap) -> dict[str, Item]:
    """`apparel:` — each garment's id and kind (required), make, model, serial, lead_equivalence, location..."""
    if "apparel" not in root:
        return {}
    nodes = expect_list(root["apparel"], root.value_mark("apparel"), "apparel")
    items: dict[str, Item] = {}
    for i, node in enumerate(nodes):
        node = expect_map(node, nodes.item_mark(i), "a garment")
        check_keys(node, "a garment", required=("id", "kind"),
                   optional=("make", "model", "serial", "lead_equivalence", "location", "acquired", "note"))
        gid = expect_str(node["id"], node.value_mark("id"), "garment id")
        if gid in items:
            raise fail(f"apparel id '{gid}' is used twice", nodes.item_mark(i), fix="give each garment its own id")
        details: dict[str, Any] = {}
        if "lead_equivalence" in node:
            lead = quantity_at(node, "lead_equivalence", "length", f"{gid} lead_equivalence")
            details["lead_equivalence"] = f"{lead:~P} Pb"
        for key in ("location", "note"):
            if key in node:
                details[key] = str(node[key])
        if "acquired" in node:
            details["acquired"] = _date(node, "acquired", f"garment {gid}").isoformat()
        items[gid] = Item(gid, str(node["kind"]), str(node.get("make", "")), str(node.get("model", "")),
                          str(node.get("serial", "")), details)
    return items


def _parse_room_parameters(node: YMap, rid: str, procedures: ProcedureIndex | None
                           ) -> dict[str, dict[str, Any]]:
    """`parameters: {PROCEDURE_ID: {NAME: VALUE}}`, parsed as a procedure file's parameters are; an id close to
    a built-in one but not it is refused as a typing error."""
    import difflib

    if "parameters" not in node:
        return {}
    per_procedure = expect_map(node["parameters"], node.value_mark("parameters"), f"room {rid} parameters")
    builtin = list(procedures.ids()) if procedures is not None else []
    for pid in per_procedure:
        near = difflib.get_close_matches(str(pid), builtin, n=1, cutoff=0.8)
        if str(pid) not in builtin and near:
            raise fail(f"room {rid} parameters name the procedure '{pid}', which is not a built-in one",
                       per_procedure.key_mark(pid), fix=f"did you mean '{near[0]}'? (a procedure of your own may "
                                                        "have any id not this close to a built-in one)")
    return {str(pid): parse_parameters(expect_map(values, per_procedure.value_mark(pid),
                                                   f"room {rid} parameters of {pid}"))
            for pid, values in per_procedure.items()}


def _parse_schedule(root: YMap, rooms: dict[str, RoomConfig], apparel: dict[str, Item],
                    procedures: ProcedureIndex | None) -> tuple[Any, ...]:
    """`schedule:` — a list of {room, procedure, every[, item]}; every procedure must exist and every frequency parse.

    `item` names one garment for a procedure that inspects apparel; without it such an entry covers every
    garment of the inventory.
    """
    from .frequency import RULE_REFERENCE_DATE, FrequencyError, ScheduleItem, check_frequency

    nodes = expect_list(root.get("schedule", YList(root.mark)), root.value_mark("schedule"), "schedule")
    items = []
    for i, node in enumerate(nodes):
        node = expect_map(node, nodes.item_mark(i), "a schedule entry")
        check_keys(node, "a schedule entry", required=("room", "procedure", "every"), optional=("item",))
        room, procedure, every = str(node["room"]), str(node["procedure"]), str(node["every"])
        if room not in rooms:
            raise fail(f"schedule: unknown room '{room}'", node.value_mark("room"),
                       fix=f"use one of: {', '.join(rooms)}")
        if procedures is not None and procedure not in procedures.ids():
            raise fail(f"schedule: unknown procedure '{procedure}'", node.value_mark("procedure"),
                       fix="use a procedure id from `xcal list`")
        try:
            check_frequency(every, RULE_REFERENCE_DATE)
        except FrequencyError as exc:
            raise fail(f"schedule: {exc}", node.value_mark("every"), fix=exc.fix) from None
        item = str(node["item"]) if "item" in node else None
        if item is not None:
            if procedures is not None and procedures.subject(procedure) is None:
                raise fail(f"schedule: {procedure} tests the room, not a garment (item {item})",
                           node.value_mark("item"), fix="leave out item")
            if item not in apparel:
                raise fail(f"schedule: no garment '{item}' in the apparel inventory", node.value_mark("item"),
                           fix=f"use one of: {', '.join(apparel) or 'none: add an `apparel:` list'}")
        items.append(ScheduleItem(room, procedure, every, item, node.value_mark("every")))
    return tuple(items)


def _parse_retention(root: YMap) -> tuple[Any, ...]:
    """`retention:` — a list of {jurisdiction, record_type, days | years, source}; each rule cites its source."""
    from .records.retention import RetentionRule

    nodes = expect_list(root.get("retention", YList(root.mark)), root.value_mark("retention"), "retention")
    rules = []
    for i, node in enumerate(nodes):
        node = expect_map(node, nodes.item_mark(i), "a retention rule")
        check_keys(node, "a retention rule", required=("jurisdiction", "record_type", "source"),
                   optional=("days", "years"))
        try:
            rules.append(RetentionRule(str(node["jurisdiction"]), str(node["record_type"]), node.get("days"),
                                       node.get("years"), str(node["source"])))
        except ConfigError as exc:
            raise fail(exc.message, node.mark, fix=exc.fix) from None
    return tuple(rules)


def _parse_dicom(root: YMap, rooms: dict[str, RoomConfig]) -> Any:
    """`dicom:` — xcal's own `ae_title` and `port`, the `pacs` (optionally `storage_commitment: true`) and the
    `modalities` (one per room), each with ae_title, host (`simulated` for xcal's simulated SCP) and port;
    AE titles and ports are checked here."""
    from .dicom.nodes import DicomSettings

    if "dicom" not in root:
        return None
    node = expect_map(root["dicom"], root.value_mark("dicom"), "dicom")
    check_keys(node, "dicom", required=("ae_title",), optional=("port", "pacs", "modalities"))
    own_port = _dicom_port(node, "dicom") if "port" in node else 11112
    pacs = _dicom_node(node["pacs"], node.value_mark("pacs"), "the PACS", None) if "pacs" in node else None
    modalities = _dicom_modalities(node, rooms)
    return DicomSettings(_dicom_title(node, "dicom"), own_port, pacs, modalities)


def _dicom_title(at: YMap, what: str) -> str:
    from .dicom.nodes import ae_title_problem

    text = expect_str(at["ae_title"], at.value_mark("ae_title"), f"{what} ae_title")
    problem = ae_title_problem(text)
    if problem:
        raise fail(f"{what} ae_title '{text}' is not a DICOM AE title: {problem}", at.value_mark("ae_title"),
                   fix="use 1 to 16 letters, digits, spaces or _-. as the node is configured, e.g. XCAL_QC")
    return text.strip()


def _dicom_port(at: YMap, what: str) -> int:
    value = at["port"]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise fail(f"{what} port must be a whole number from 1 to 65535, got {value!r}", at.value_mark("port"),
                   fix="write the TCP port the node listens on, e.g. `port: 104` or `port: 11112`")
    return value


def _dicom_node(at: Any, mark: Mark, what: str, room: str | None) -> Any:
    """A remote node: the PACS (`room` None) or a room's modality, which may describe a simulated detector."""
    from .dicom.nodes import SIMULATED, DicomNode

    at = expect_map(at, mark, what)
    check_keys(at, what, required=("ae_title", "host"),
               optional=("port", "note") + (("room", "station_name", "device_serial", "detector")
                                             if room is not None else ("storage_commitment",)))
    commitment = at.get("storage_commitment", False)
    if not isinstance(commitment, bool):
        raise fail(f"{what} storage_commitment must be true or false, got {commitment!r}",
                   at.value_mark("storage_commitment"), fix="write `storage_commitment: true` or leave it out")
    host = expect_str(at["host"], at.value_mark("host"), f"{what} host").strip()
    if host != SIMULATED and "port" not in at:
        raise fail(f"{what} has no port", at.mark, fix="add `port:` with the node's TCP port, e.g. `port: 104`")
    faults = _detector_faults(at, what, host) if "detector" in at else ()
    return DicomNode(what, _dicom_title(at, what), host, _dicom_port(at, what) if "port" in at else None, room,
                     str(at.get("station_name", "")).strip(), str(at.get("device_serial", "")).strip(),
                     commitment, faults)


def _detector_faults(at: YMap, what: str, host: str) -> tuple[str, ...]:
    """The faults of a simulated modality's `detector:` (only a simulated node has one)."""
    from .dicom.nodes import DETECTOR_FAULTS, SIMULATED

    if host != SIMULATED:
        raise fail(f"{what} has a `detector:` but is not simulated", at.key_mark("detector"),
                   fix="leave out `detector:` (it describes a simulated DR detector), or write `host: simulated`")
    det = expect_map(at["detector"], at.value_mark("detector"), f"{what} detector")
    check_keys(det, f"{what} detector", optional=("faults",))
    names = expect_list(det.get("faults", YList(det.mark)), det.value_mark("faults"), f"{what} detector faults")
    for i, name in enumerate(names):
        if name not in DETECTOR_FAULTS:
            raise fail(f"{what}: unknown detector fault '{name}'", names.item_mark(i),
                       fix=f"use one of: {', '.join(DETECTOR_FAULTS)}")
    return tuple(str(name) for name in names)


def _dicom_modalities(node: YMap, rooms: dict[str, RoomConfig]) -> dict[str, Any]:
    """`dicom: modalities:`, one per room of the site."""
    modalities: dict[str, Any] = {}
    if "modalities" not in node:
        return modalities
    items = expect_list(node["modalities"], node.value_mark("modalities"), "dicom modalities")
    for i, item in enumerate(items):
        item = expect_map(item, items.item_mark(i), "a DICOM modality")
        if "room" not in item:
            raise fail("a DICOM modality is missing the key 'room'", item.mark,
                       fix="add `room:` with the id of the room the modality is in")
        rid = str(item["room"])
        if rid not in rooms:
            raise fail(f"dicom modalities: unknown room '{rid}'", item.value_mark("room"),
                       fix=f"use one of: {', '.join(rooms)}")
        if rid in modalities:
            raise fail(f"dicom modalities: room {rid} is listed twice", items.item_mark(i),
                       fix="give each room one modality entry")
        modalities[rid] = _dicom_node(item, items.item_mark(i), f"the modality of room {rid}", rid)
    return modalities
