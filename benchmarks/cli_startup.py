"""Start-up time of `xcal --help`, `xcal list` and a whole `xcal run` against `python -c "import click"`.

Runs the commands alternately N times and prints the median of each and its ratio to `import click`. The CLI
imports only click and the standard library at start, so `--help` should stay near 1; `xcal list` reads every
built-in procedure's YAML (the C YAML loader's gain shows there); the run is the README's main job on the
demo site, with a throwaway record store.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main(n: int = 21) -> None:
    xcal = shutil.which("xcal") or str(Path(sys.executable).parent / "xcal")
    store = str(Path(tempfile.mkdtemp()) / "records.sqlite3")
    commands = {"xcal --help": [xcal, "--help"], "xcal list": [xcal, "list"],
                "xcal run kvp-accuracy --room 3": [xcal, "--db", store, "run", "kvp-accuracy", "--room", "3"],
                "python -c 'import click'": [sys.executable, "-c", "import click"]}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():
        _time(cmd)  # warm the file cache
    for _ in range(n):
        for name, cmd in commands.items():
            times[name].append(_time(cmd))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:<28} median {value * 1000:7.1f} ms over {n} runs")
    base = medians["python -c 'import click'"]
    for name in commands:
        if name.startswith("xcal"):
            print(f"ratio {name} / import click: {medians[name] / base:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 21)
