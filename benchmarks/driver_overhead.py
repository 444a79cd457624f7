"""Time per status query through the `ptw-unidos` driver against a plain pyvisa query, side by side.

Both talk to the same UNIDOS simulator over loopback TCP (pyvisa-py): the driver's `status()` (transport
lock, stale-input check, logging, echo and status parsing) and `resource.query("S")`, plus the driver's
transport alone, to tell the driver's parsing from the transport's checks. The calls alternate so drift in
machine load hits all alike; the script prints each median and the ratios (target driver / pyvisa ≤ 1.2).
"""

from __future__ import annotations

import statistics
import sys
import time

import pyvisa

from xcal.drivers.instruments.ptw.unidos import PtwUnidos
from xcal.simulators.ptw_unidos import UnidosSimulator
from xcal.simulators.server import serve_tcp


def _timed(call: object) -> float:
    start = time.perf_counter()
    call()  # type: ignore[operator]
    return time.perf_counter() - start


def main(n: int = 2000) -> None:
    with serve_tcp(UnidosSimulator()) as server:
        driver = PtwUnidos(server.resource, name="bench")
        manager = pyvisa.ResourceManager("@py")
        plain = manager.open_resource(server.resource, read_termination="\r\n", write_termination="\r\n",
                                      encoding="utf-8", timeout=2000)
        try:
            calls = {"driver status()": driver.status, "pyvisa query('S')": lambda: plain.query("S"),
                     "transport query('S')": lambda: driver.transport.query("S")}
            assert driver.status() == "RES" and plain.query("S") == "S;RES"
            for call in calls.values():
                for _ in range(50):
                    call()
            times: dict[str, list[float]] = {name: [] for name in calls}
            for _ in range(n):
                for name, call in calls.items():
                    times[name].append(_timed(call))
        finally:
            plain.close()
            manager.close()
            driver.close()
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:<20} median {value * 1e6:8.1f} µs over {n} queries")
    ratio = medians["driver status()"] / medians["pyvisa query('S')"]
    print(f"ratio driver / plain pyvisa: {ratio:.2f} (target ≤ 1.2)")
    layers = medians["driver status()"] / medians["transport query('S')"]
    print(f"of which the driver's own layer (driver / its transport): {layers:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
