"""Time of the detector analysis of a 3000 × 3000 16-bit flat field (uniformity, SNR, defects), against reading
the same image from its DICOM file.

The image is a SIMULATED flat field (xcal.simulators.detector, at 2.5 µGy, with dead pixels and a dead
column), written once as a DX file. Each round reads the file (pydicom, pixel array to float) and then runs
what `xcal dicom detector` and the detector-qc procedure run on a flat field: a 5 × 5 ROI grid with its global
and local non-uniformity, the SNR of the central ROI and the defect search. The figure for each is the median
over the rounds (after one round not counted). Target: the analysis in at most 1 s on 2 cores.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

TARGET_S = 1.0
SIZE = 3000


def main(rounds: int = 5) -> int:
    import numpy as np
    import pydicom

    from xcal.analysis import detector as metrics
    from xcal.dicom.objects import read_image, save
    from xcal.simulators.detector import DetectorFaults, DetectorModel

    model = DetectorModel(rows=SIZE, columns=SIZE, faults=DetectorFaults(
        dead_pixels=((10, 12), (1500, 977), (2999, 0)), dead_columns=(2047,)))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "flat.dcm"
        save(model.dx(2.5, seed=1), path)
        size_mb = path.stat().st_size / 1e6
        reading: list[float] = []
        analysing: list[float] = []
        found = None
        for n in range(rounds + 1):
            start = time.perf_counter()
            pixels = read_image(pydicom.dcmread(str(path))).pixels
            read_s = time.perf_counter() - start
            start = time.perf_counter()
            grid = metrics.roi_grid(pixels, 5, 5, offset=100.0)
            metrics.global_nonuniformity(grid)
            metrics.local_nonuniformity(grid)
            metrics.snr(pixels, offset=100.0)
            found = metrics.defects(pixels, offset=100.0)
            analyse_s = time.perf_counter() - start
            if n:
                reading.append(read_s)
                analysing.append(analyse_s)
    read_median, analyse_median = statistics.median(reading), statistics.median(analysing)
    assert found is not None
    print(f"image: {SIZE} × {SIZE} 16-bit DX, {size_mb:.1f} MB; found {found.count} defective pixels, dead columns "
          f"{list(found.columns)}")
    print(f"read (pydicom, to float):            {read_median * 1e3:8.1f} ms")
    print(f"analysis (grid, SNR, defects):       {analyse_median * 1e3:8.1f} ms")
    print(f"analysis / read:                     {analyse_median / read_median:8.2f}")
    ok = analyse_median <= TARGET_S
    print(f"target: analysis ≤ {TARGET_S:g} s: {'met' if ok else 'NOT met'} (median of {rounds} rounds, "
          f"numpy {np.__version__})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
