"""Start-up time of `xcal --help` against `python -c "import click"`, measured side by side.

Runs both commands alternately N times and prints the median of each and their ratio. The CLI imports
only click and the standard library at start; a ratio near 1 means nothing heavy crept in.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main(n: int = 21) -> None:
    xcal = shutil.which("xcal") or str(Path(sys.executable).parent / "xcal")
    commands = {"xcal --help": [xcal, "--help"], "python -c 'import click'": [sys.executable, "-c", "import click"]}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for name, cmd in commands.items():
        _time(cmd)  # warm the file cache
    for _ in range(n):
        for name, cmd in commands.items():
            times[name].append(_time(cmd))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:<28} median {value * 1000:7.1f} ms over {n} runs")
    ratio = medians["xcal --help"] / medians["python -c 'import click'"]
    print(f"ratio xcal --help / import click: {ratio:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 21)
