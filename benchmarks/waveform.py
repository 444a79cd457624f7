"""Time of `ppv` and `exposure_time` on a 1 000 000-sample waveform, against `numpy.max` on the same array.

Measured side by side in one run (median of repeated calls); target: each at most 5 × numpy.max.
"""

from __future__ import annotations

import statistics
import time

import numpy as np


def _median_time(fn, repeats: int = 15) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    from xcal.analysis import exposure_time, ppv
    from xcal.units import Q_

    n = 1_000_000
    t = np.arange(n) * 1e-4                                     # 0.1 µs samples, 100 ms
    kv = 80.0 * (1 - 0.01 + 0.01 * np.cos(2 * np.pi * 2000 * t / 1000))
    kv[:1000] = np.linspace(0, 80, 1000)
    kv[-1000:] = np.linspace(80, 0, 1000)
    samples = Q_(kv, "kV")
    interval = Q_(1e-4, "ms")
    base = _median_time(lambda: np.max(kv))
    t_ppv = _median_time(lambda: ppv(samples[1000:-1000], "tungsten"))
    t_time = _median_time(lambda: exposure_time(samples, interval, 0.5))
    print(f"numpy.max        {base * 1000:8.3f} ms")
    print(f"ppv              {t_ppv * 1000:8.3f} ms  ratio {t_ppv / base:5.2f} (target ≤ 5)")
    print(f"exposure_time    {t_time * 1000:8.3f} ms  ratio {t_time / base:5.2f} (target ≤ 5)")


if __name__ == "__main__":
    main()
