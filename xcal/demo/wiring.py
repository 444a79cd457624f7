"""Wire simulated instruments to a simulated room for one run.

For each instrument whose resource is `simulated`, start its protocol simulator on loopback, subscribe it to
the room model, and hand the run the simulator's resource string, so the real driver talks to it over a real
socket. The run's exposure control fires the room model instead of asking a technician.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..errors import ConfigError
from ..procedures.model import Station
from ..procedures.plan import RunPlan
from ..site import Instrument, Room


class SimulatedControl:
    """Exposure control of a simulated room: the exposure fires by itself at the station's technique."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def request_exposure(self, station: Station) -> None:
        values = station.values
        kv = values["kv"].to("kV").magnitude
        if "ma" in values and "time" in values:
            ma, ms = values["ma"].to("mA").magnitude, values["time"].to("ms").magnitude
        elif "mas" in values and "ma" in values:
            ma = values["ma"].to("mA").magnitude
            ms = (values["mas"] / values["ma"]).to("ms").magnitude
        else:
            raise ConfigError(f"station {station.index} ({station.label()}) does not give mA with a time or mAs",
                              fix="give `ma:` and `time:` (or `ma:` and `mas:`) for every station")
        self.model.fire(float(kv), float(ma), float(ms))


@dataclass
class SimulatedRoom:
    model: Any
    resources: dict[str, str]
    control: SimulatedControl


def room_model(room: Room) -> Any:
    """Build the room's physics model from its `simulation:` block."""
    from ..simulators.room import GeneratorFaults, RoomModel, RoomSimulation

    if room.simulation is None:
        raise ConfigError(f"{room.label()} has no `simulation:` block",
                          fix="add one to the room in the site file, or give its instruments real resources")
    settings = dict(room.simulation)
    try:
        faults = GeneratorFaults(**settings.pop("faults", {}))
        return RoomModel(RoomSimulation(**settings, faults=faults))
    except ValueError as exc:
        raise ConfigError(f"{room.label()} simulation: {exc}",
                          fix="correct the room's `simulation:` block in the site file") from None


def _kvp_meter_feed(command_map: Any, deliver: Callable[..., None]) -> Callable[[Any], None]:
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


def _wire_faults(room: Room, instrument: Instrument) -> list[Any]:
    from ..simulators.server import WireFault

    return [WireFault(kind=f["kind"], command=f.get("command"), after=f.get("after", 1), count=f.get("count"),
                      delay_s=f.get("delay_s", 0.0))
            for f in room.wire_faults if f["instrument"] == instrument.id]


@contextlib.contextmanager
def simulated_room(plan: RunPlan) -> Iterator[SimulatedRoom]:
    """Start the room model and the simulators of the plan's simulated instruments; stop them on exit."""
    from .. import __version__
    from ..drivers.capabilities import InstrumentIdentity
    from ..drivers.commandmap import load_command_map
    from ..simulators.commandmap_sim import CommandMapSimulator

    model = room_model(plan.room)
    resources: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        for inst in plan.instruments.values():
            if not inst.simulated or inst.id in resources:
                continue
            if inst.driver != "declarative" or "KvpMeter" not in inst.capabilities:
                raise ConfigError(f"instrument {inst.id}: no simulator for driver '{inst.driver}' yet",
                                  fix="give the instrument a real resource")
            command_map = load_command_map(inst.options["command_map"])
            identity = InstrumentIdentity(inst.make, inst.model, inst.serial, f"SIM-{__version__}")
            simulator = CommandMapSimulator(command_map, identity, faults=_wire_faults(plan.room, inst))
            server = simulator.serve()
            stack.callback(server.stop)
            model.subscribe(_kvp_meter_feed(command_map, simulator.deliver))
            resources[inst.id] = server.resource
        yield SimulatedRoom(model, resources, SimulatedControl(model))
