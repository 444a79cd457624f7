"""Wire simulated instruments to a simulated room for one run.

For each instrument whose resource is `simulated`, start its protocol simulator on loopback, subscribe it to
the room model, and hand the run the simulator's resource string, so the real driver talks to it over a real
socket. The run's exposure control fires the room model instead of asking a technician.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..procedures.model import Station
from ..procedures.plan import RunPlan
from ..site import Instrument, RoomConfig


class SimulatedControl:
    """Exposure control of a simulated room: the exposure fires by itself at the station's technique.

    A station's `mode` picks how: none (radiographic, at its kV, mA and time, the meter at `distance` when
    given), `aec` (the AEC ends the exposure behind `phantom`), `fluoro-normal` / `fluoro-high` (the ABC
    drives to the room's fluoroscopy technique, for the station's `time`, the meter at the room's
    measurement point) and `leakage` (collimator closed: the meter, 1 m from the focal spot, sees only the
    housing's leakage). Fields for instruments read without an exposure come from the station's
    `reference_rate`, its survey `point` (scatter through the barrier), or the instruments' check sources;
    at a `mode: background` station no source is out, so a simulated meter sees only its own background.
    """

    def __init__(self, model: Any, fields: list[tuple[Any, Instrument]] | None = None,
                 today: dt.date | None = None) -> None:
        self.model = model
        self.fields = fields if fields is not None else []
        self.today = today or dt.date.today()

    def set_field(self, station: Station) -> None:
        """Put the simulated survey instruments in the station's field (µSv/h)."""
        values = station.values
        if values.get("mode") == "background":
            for simulator, _ in self.fields:
                simulator.set_field(0.0)
            return
        if values.get("mode") == "check-source":
            for simulator, inst in self.fields:
                if inst.check_source is None:
                    raise ConfigError(f"instrument {inst.describe()} has no check source",
                                      fix="add `check_source:` (source, nuclide, baseline, date) to it in the site "
                                          "file")
                simulator.set_field(float(inst.check_source.expected(self.today).to("µSv/h").magnitude))
            return
        if "point" in values:
            rate = self._point_rate(station)
        elif "reference_rate" in values:
            rate = float(values["reference_rate"].to("µSv/h").magnitude)
        else:
            raise ConfigError(f"station {station.index} ({station.label()}) gives no reference_rate",
                              fix="give `reference_rate:` (e.g. 20 µSv/h) for stations read without an exposure")
        for simulator, _ in self.fields:
            simulator.set_field(rate)

    def _point_rate(self, station: Station) -> float:
        """Scatter at a survey point during the station's beam-on technique (µGy/h, read as µSv/h)."""
        from ..analysis.shielding import fit_parameters, transmission

        values = station.values
        for key in ("kv", "ma", "distance"):
            if key not in values:
                raise ConfigError(f"survey point station {station.index} ({station.label()}) gives no `{key}`",
                                  fix="give kv, ma (the beam-on technique), distance (patient to point) and "
                                      "barrier (its lead) for every survey point")
        fit = fit_parameters("Rad Room (all barriers)", "secondary", "lead")
        lead = values.get("barrier")
        b = 1.0 if lead is None else float(transmission(lead, fit.alpha, fit.beta, fit.gamma).magnitude)
        return self.model.scatter_rate_ugy_h(float(values["kv"].to("kV").magnitude),
                                             float(values["ma"].to("mA").magnitude),
                                             float(values["distance"].to("m").magnitude), b)

    def request_exposure(self, station: Station) -> None:
        values = station.values
        mode = values.get("mode")
        distance = values["distance"].to("cm").magnitude if "distance" in values else None
        try:
            if mode == "aec":
                if "phantom" not in values:
                    raise ConfigError(f"AEC station {station.index} ({station.label()}) gives no phantom",
                                      fix="give `phantom:` (e.g. 20 cm of acrylic) for every AEC station")
                self.model.fire_aec(float(values["kv"].to("kV").magnitude),
                                    float(values["phantom"].to("cm").magnitude), distance)
                return
            if mode in ("fluoro-normal", "fluoro-high"):
                kv, ma, point = self.model.fluoro_technique(mode.removeprefix("fluoro-"))
                ms = self._time(station)
                self.model.fire(kv, ma, ms, distance_cm=point if distance is None else distance)
                return
            kv = values["kv"].to("kV").magnitude
            if "ma" in values and "time" in values:
                ma, ms = values["ma"].to("mA").magnitude, self._time(station)
            elif "mas" in values and "ma" in values:
                ma = values["ma"].to("mA").magnitude
                ms = (values["mas"] / values["ma"]).to("ms").magnitude
            else:
                raise ConfigError(f"station {station.index} ({station.label()}) does not give mA with a time or mAs",
                                  fix="give `ma:` and `time:` (or `ma:` and `mas:`) for every station")
            added = values["added_filtration"].to("mm").magnitude if "added_filtration" in values else 0.0
            factor = self.model.simulation.leakage_fraction if mode == "leakage" else 1.0
            self.model.fire(float(kv), float(ma), float(ms), float(added),
                            distance_cm=100.0 if mode == "leakage" else distance, field_factor=factor)
        except ValueError as exc:
            raise ConfigError(f"station {station.index} ({station.label()}): {exc}",
                              fix="run the procedure in a room that has what the station asks for") from None

    @staticmethod
    def _time(station: Station) -> float:
        if "time" not in station.values:
            raise ConfigError(f"station {station.index} ({station.label()}) gives no time",
                              fix="give `time:` for how long the beam is on")
        return float(station.values["time"].to("ms").magnitude)


@dataclass
class SimulatedRoom:
    model: Any
    resources: dict[str, str]
    control: SimulatedControl


def room_model(room: RoomConfig) -> Any:
    """Build the room's physics model from its `simulation:` block."""
    from ..simulators.room import GeneratorFaults, RoomModel, RoomSimulation

    if room.simulation is None:
        raise ConfigError(f"{room.label()} has no `simulation:` block",
                          fix="add one to the room in the site file, or give its instruments real resources")
    settings = dict(room.simulation)
    settings.pop("ambient_dose_rate_usv_h", None)
    try:
        faults = GeneratorFaults(**settings.pop("faults", {}))
        return RoomModel(RoomSimulation(**settings, faults=faults))
    except ValueError as exc:
        raise ConfigError(f"{room.label()} simulation: {exc}",
                          fix="correct the room's `simulation:` block in the site file") from None


def _kvp_meter_feed(command_map: Any, deliver: Callable[..., object]) -> Callable[[Any], None]:
    """A room listener that measures each exposure as a kVp meter and hands the values to the simulator."""
    from ..simulators.meters import measure_kvp
    from ..units import Q_

    read_fields = dict(command_map.commands["read"].fields)
    wave = command_map.commands.get("waveform")
    canonical = {"kvp_max": ("kvp_max", "kV"), "kvp_avg": ("kvp_avg", "kV"), "kvp_ppv": ("kvp_ppv", "kV"),
                 "exposure_time": ("exposure_time_ms", "ms"), "air_kerma": ("air_kerma_ugy", "µGy")}

    def listener(exposure: Any) -> None:
        measured = measure_kvp(exposure)
        values = {name: float(Q_(getattr(measured, canonical[name][0]), canonical[name][1]).to(unit).magnitude)
                  for name, unit in read_fields.items() if name in canonical}
        waveform = None
        if wave is not None:
            interval = Q_(measured.sample_interval_ms, "ms").to(wave.fields["interval"]).magnitude
            factor = Q_(1.0, "kV").to(wave.fields["samples"]).magnitude
            waveform = (float(interval), [v * factor for v in measured.kv_waveform])
        deliver(values, waveform)

    return listener


def _wire_faults(room: RoomConfig, instrument: Instrument) -> list[Any]:
    from ..simulators.server import WireFault

    return [WireFault(kind=f["kind"], command=f.get("command"), after=f.get("after", 1), count=f.get("count"),
                      delay_s=f.get("delay_s", 0.0))
            for f in room.wire_faults if f["instrument"] == instrument.id]


def start_simulator(inst: Instrument, room: RoomConfig | None, model: Any | None,
                    fields: list[Any] | None = None) -> Any:
    """Start the protocol simulator of one simulated instrument and connect it to the room model.

    The command-map meter is served on a loopback socket; other drivers' simulators on a socket when the
    driver speaks TCP, else on a pty. Returns the running server (`.resource`, `.stop()`).
    """
    from .. import __version__
    from ..drivers.capabilities import InstrumentIdentity
    from ..drivers.registry import get_driver_class

    identity = InstrumentIdentity(inst.make, inst.model, inst.serial, f"SIM-{__version__}")
    faults = _wire_faults(room, inst) if room is not None else []
    if inst.driver == "declarative":
        from ..drivers.generic.commandmap import load_command_map
        from ..simulators.commandmap_sim import CommandMapSimulator

        command_map = load_command_map(inst.options["command_map"])
        simulator = CommandMapSimulator(command_map, identity, faults=faults)
        line_server = simulator.serve()
        if model is not None:
            model.subscribe(_kvp_meter_feed(command_map, simulator.deliver))
        return line_server
    cls = get_driver_class(inst.driver)
    target = getattr(cls, "simulator", "")
    transports = tuple(getattr(cls, "transports", ()))
    if not target or not {"tcp", "serial", "gpib"} & set(transports):
        raise ConfigError(f"instrument {inst.id}: the '{inst.driver}' driver has no wire simulator",
                          fix="give the instrument a real resource (or use the manual / csv-import drivers' "
                              "inputs)")
    import importlib

    from ..simulators.server import serve_pty, serve_tcp

    module, _, attribute = target.partition(":")
    settings = dict(inst.simulation)
    conditions = inst.calibration
    if conditions.reference_temperature is not None and room is not None and room.simulation is not None:
        settings["air_density_factor"] = _air_density_factor(inst, room)
    simulator = getattr(importlib.import_module(module), attribute)(identity, **settings)
    serve = serve_tcp if "tcp" in transports else serve_pty
    server = serve(simulator, faults=faults, name=inst.id)
    if model is not None and hasattr(simulator, "on_exposure"):
        model.subscribe(simulator.on_exposure)
    if hasattr(simulator, "set_field"):
        if room is not None and room.simulation is not None:
            simulator.set_field(float(room.simulation.get("ambient_dose_rate_usv_h", 0.1)))
        if fields is not None:
            fields.append((simulator, inst))
    return server


def _air_density_factor(inst: Instrument, room: RoomConfig) -> float:
    """A vented chamber's response in the room's air relative to its calibration: 1 / k_TP."""
    from ..analysis import k_tp
    from ..units import Q_

    sim = room.simulation or {}
    factor = k_tp(Q_(sim.get("ambient_temperature_c", 22.0), "degC"),
                  Q_(sim.get("ambient_pressure_kpa", 101.325), "kPa"), inst.calibration.reference_temperature,
                  inst.calibration.reference_pressure)
    return 1.0 / float(factor.magnitude)


def _check_modes(plan: RunPlan, model: Any) -> None:
    """Refuse, before a run starts, a station mode the simulated room cannot do (fluoroscopy, an AEC)."""
    for step in plan.expose_steps():
        for station in plan.stations(step):
            mode = station.values.get("mode")
            try:
                if mode in ("fluoro-normal", "fluoro-high"):
                    model.fluoro_technique(mode.removeprefix("fluoro-"))
                elif mode == "aec" and model.simulation.aec_ma is None:
                    raise ValueError("this room has no automatic exposure control (give `aec:` in its simulation)")
            except ValueError as exc:
                raise ConfigError(f"{plan.procedure.id} station {station.index} ({station.label()}) cannot be made in "
                                  f"{plan.room.label()}: {exc}",
                                  fix="run the procedure in a room that has it (see `xcal show PROCEDURE --room N`)"
                                  ) from None


DICOM_DRIVERS = ("dicom-detector", "dicom-connection")
"""The drivers of DICOM roles (xcal.dicom.acquire), whose simulated counterpart is a DICOM node, not a meter."""


def _start_dicom_node(plan: RunPlan, inst: Instrument, model: Any, fields: list[Any],
                      stack: contextlib.ExitStack) -> str:
    """Stand up the simulated DICOM node of a DICOM role and return the resource its driver uses: for the
    detector, the room's modality imaging the room model's exposures (and a dark image in a zero field) and
    sending them to the storage SCP the driver starts on a free loopback port; for a connectivity role, a
    simulated SCP (the PACS stores, a modality answers C-ECHO) that knows only xcal's AE title."""
    import socket

    sim, own_ae = inst.simulation, plan.site.dicom.ae_title
    if inst.driver == "dicom-detector":
        from ..simulators.detector import SimulatedModality, with_faults

        with socket.socket() as probe:           # a free port for the run's storage SCP, taken by the driver next
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        detector = with_faults(list(sim["faults"]), station_name=sim["station_name"] or "SIMDR",
                               device_serial=sim["device_serial"] or "SIM-DR-0001", seed=int(plan.room.id)
                               if str(plan.room.id).isdigit() else 0)
        modality = SimulatedModality(detector, sim["ae_title"], (own_ae, "127.0.0.1", port))
        model.subscribe(modality.on_exposure)
        fields.append((modality, inst))
        return f"dicom://{own_ae}@127.0.0.1:{port}"
    from ..simulators.pacs import SimulatedScp

    scp = stack.enter_context(SimulatedScp(sim["ae_title"], storage=bool(inst.options.get("store")),
                                           known_callers=[own_ae]))
    return f"dicom://{scp.ae_title}@127.0.0.1:{scp.port}"


@contextlib.contextmanager
def simulated_room(plan: RunPlan) -> Iterator[SimulatedRoom]:
    """Start the room model and the simulators of the plan's simulated instruments; stop them on exit."""
    model = room_model(plan.room)
    _check_modes(plan, model)
    resources: dict[str, str] = {}
    fields: list[tuple[Any, Instrument]] = []
    with contextlib.ExitStack() as stack:
        for inst in plan.instruments.values():
            if not inst.simulated or inst.id in resources:
                continue
            if inst.driver in DICOM_DRIVERS:
                resources[inst.id] = _start_dicom_node(plan, inst, model, fields, stack)
                continue
            server = start_simulator(inst, plan.room, model, fields)
            stack.callback(server.stop)
            resources[inst.id] = server.resource
        yield SimulatedRoom(model, resources, SimulatedControl(model, fields))


@contextlib.contextmanager
def serve_site(site: Any, room_id: str | None = None, instrument_id: str | None = None
               ) -> Iterator[list[tuple[Instrument, RoomConfig | None, str]]]:
    """Start the simulators of a site's simulated instruments (one room's, or one instrument) for `xcal sim serve`.

    Each instrument is attached to the room model of the room that lists it (the first one when several do).
    """
    rooms = [site.room(room_id)] if room_id is not None else list(site.rooms.values())
    chosen: list[tuple[Instrument, RoomConfig | None]] = []
    for room in rooms:
        for iid in room.instruments.values():
            inst = site.instruments[iid]
            if inst.simulated and all(inst.id != c[0].id for c in chosen):
                chosen.append((inst, room))
    if instrument_id is not None:
        if instrument_id not in site.instruments:
            raise ConfigError(f"{site.path} has no instrument '{instrument_id}'",
                              fix=f"use one of: {', '.join(site.instruments)}")
        chosen = [c for c in chosen if c[0].id == instrument_id] or [(site.instruments[instrument_id], None)]
        if not chosen[0][0].simulated:
            raise ConfigError(f"instrument {instrument_id} is not simulated (resource {chosen[0][0].resource})",
                              fix="pick an instrument whose resource is `simulated`")
    models: dict[str, Any] = {}
    started: list[tuple[Instrument, RoomConfig | None, str]] = []
    with contextlib.ExitStack() as stack:
        for inst, room in chosen:
            model = None
            if room is not None and room.simulation is not None:
                model = models.setdefault(room.id, room_model(room))
            server = start_simulator(inst, room, model)
            stack.callback(server.stop)
            started.append((inst, room, server.resource))
        yield started
