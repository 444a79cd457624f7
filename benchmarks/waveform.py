"""Time of `ppv` and `exposure_time` on a 1 000 000-sample waveform, against `numpy.max` on the same array.

Measured side by side in one run: in every round numpy.max, ppv and exposure_time are each called once, in
turn, so that all three see the same load on the machine; the figure for each is the median over the rounds
(after one round that is not counted), with the fastest round beside it. The functions are called as a user
calls them, on pint Quantities.
Target: each at most 5 × numpy.max.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

TARGET = 5.0


def _times(functions: dict[str, Callable[[], object]], rounds: int = 31) -> dict[str, tuple[float, float]]:
    """(median, fastest) time of each function over the rounds."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for round_number in range(rounds + 1):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - start
            if round_number > 0:
                times[name].append(elapsed)
    return {name: (statistics.median(values), min(values)) for name, values in times.items()}


def _ppv_path() -> str:
    from xcal.analysis import compiled
    if compiled.loops().power_sums_at_or_above is compiled.numpy_power_sums_at_or_above:
        return "numpy (numba, the [fast] extra, is not installed)"
    import numba
    return f"loops compiled by numba {numba.__version__}"


def _without_numba(call: Callable[[], object]) -> object:
    """`call()` with numpy's loops in place of numba's, as on an install without the [fast] extra."""
    from xcal.analysis import compiled, waveform

    numpy_loops = compiled.Loops(power_sums_at_or_above=compiled.numpy_power_sums_at_or_above,
                                 samples_not_at_or_above=compiled.numpy_samples_not_at_or_above)
    saved = waveform.loops
    waveform.loops = lambda: numpy_loops
    try:
        return call()
    finally:
        waveform.loops = saved


def main() -> None:
    from xcal.analysis import compiled, exposure_time, ppv
    from xcal.units import Q_

    n = 1_000_000
    t = np.arange(n) * 1e-4                                     # 0.1 µs samples, 100 ms
    kv = 80.0 * (1 - 0.01 + 0.01 * np.cos(2 * np.pi * 2000 * t / 1000))
    kv[:1000] = np.linspace(0, 80, 1000)
    kv[-1000:] = np.linspace(80, 0, 1000)
    samples = Q_(kv, "kV")
    interval = Q_(1e-4, "ms")
    functions = {
        "numpy.max": lambda: np.max(kv),
        "ppv": lambda: ppv(samples[1000:-1000], "tungsten"),
        "exposure_time": lambda: exposure_time(samples, interval, 0.5),
    }
    if compiled.loops().power_sums_at_or_above is not compiled.numpy_power_sums_at_or_above:
        functions["ppv (numpy only)"] = lambda: _without_numba(lambda: ppv(samples[1000:-1000], "tungsten"))
    times = _times(functions)
    base, base_fastest = times.pop("numpy.max")
    print(f"ppv adds up long waveforms with {_ppv_path()}; 'numpy only' is a default install without the "
          f"[fast] extra")
    print("median over the rounds (and the fastest round, less disturbed by other work on the machine)")
    print(f"numpy.max        {base * 1000:8.3f} ms              ({base_fastest * 1000:.3f} ms)")
    for name, (elapsed, fastest) in times.items():
        ratio = elapsed / base
        verdict = "met" if ratio <= TARGET else "NOT met"
        print(f"{name:16s} {elapsed * 1000:8.3f} ms  ratio {ratio:5.2f} ({fastest * 1000:.3f} ms, ratio "
              f"{fastest / base_fastest:5.2f}) target ≤ {TARGET:g}: {verdict}")


if __name__ == "__main__":
    main()
