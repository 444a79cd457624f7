"""Air kerma from an ion chamber reading, and its transfer to other distances (qc-reference.md §3).

K = M · N_K · k_TP · k_Q (· k_elec · k_pol), inverse square, and entrance surface air kerma. The reference
conditions T0, P0 and the k_Q table come from the calibration certificate, never from a hidden default.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from xcal.analysis._checks import number, positive, scalar
from xcal.analysis.interpolation import interpolate
from xcal.units import Q_

if TYPE_CHECKING:  # pragma: no cover
    import pint


def k_tp(temperature: pint.Quantity, pressure: pint.Quantity, t0: pint.Quantity,
         p0: pint.Quantity) -> pint.Quantity:
    """k_TP = ((273.15 + T)/(273.15 + T0)) · (P0/P) for a vented chamber (qc-reference.md §3, IAEA TRS-457).

    T0 and P0 are those of the calibration certificate (22 °C for NIST/ADCL, 20 °C for IEC 61674 / TRS-457;
    usually 101.325 kPa). Temperatures in any unit (°C, K); the result is dimensionless.
    """
    t = positive(scalar(temperature, "temperature", "K").to("K"), "the absolute temperature")
    t_ref = positive(scalar(t0, "t0", "K").to("K"), "the absolute reference temperature")
    p = positive(scalar(pressure, "pressure", "kPa"), "pressure")
    p_ref = positive(scalar(p0, "p0", "kPa"), "p0")
    return Q_((t.magnitude / t_ref.magnitude) * (p_ref / p).to("").magnitude, "")


_QUALITY_UNITS = (("mm", "HVL"), ("kV", "tube voltage"))
"""What a k_Q table may be read against: the HVL (mm Al) or the tube voltage (kV) of the beam quality."""


def k_q_from_table(quality: pint.Quantity, table: Sequence[tuple[pint.Quantity, Any]]) -> pint.Quantity:
    """Beam-quality factor k_Q at `quality`, linear between the certificate's (quality, k_Q) points.

    `quality` is the beam's HVL (a length) or its tube voltage (kV), of the same kind as the table's first
    column. ValueError outside the table's range: a certificate value is not extrapolated.
    """
    unit, what = next(((u, w) for u, w in _QUALITY_UNITS
                       if hasattr(quality, "dimensionality") and quality.dimensionality == Q_(1, u).dimensionality),
                      ("mm", "HVL"))
    x = scalar(quality, what, unit).to(unit).magnitude
    if not table:
        raise ValueError(f"the k_Q table is empty; copy the ({what}, k_Q) pairs from the calibration certificate")
    points = sorted((scalar(pt, f"a table {what}", unit).to(unit).magnitude, number(kq, "a table k_Q"))
                    for pt, kq in table)
    try:
        return Q_(interpolate(points, x, extrapolate=False), "")
    except ValueError as exc:
        raise ValueError(f"{what} {x:g} {unit}: {exc}; the k_Q table covers "
                         f"{points[0][0]:g}-{points[-1][0]:g} {unit}") from None


def air_kerma(reading: pint.Quantity, n_k: pint.Quantity, *, k_tp: Any, k_q: Any = None,
              hvl: pint.Quantity | None = None, k_q_table: Sequence[tuple[pint.Quantity, Any]] | None = None,
              k_elec: Any = 1.0, k_pol: Any = 1.0) -> pint.Quantity:
    """K = M · N_K · k_TP · k_Q · k_elec · k_pol, in mGy (or mGy/s for a current reading).

    Give k_Q either directly (`k_q`) or as the certificate table with the beam's HVL (`k_q_table`, `hvl`).
    `k_tp` is required (pass 1 for a sealed chamber); k_elec and k_pol are 1 unless the certificate gives them.
    """
    m = scalar(reading, "reading")
    nk = scalar(n_k, "n_k")
    if (k_q is None) == (k_q_table is None):
        raise ValueError("give either k_q, or k_q_table together with hvl (not both, not neither)")
    if k_q_table is not None:
        if hvl is None:
            raise ValueError("k_q_table needs the HVL of the beam (hvl=...) to interpolate in")
        kq = k_q_from_table(hvl, k_q_table).magnitude
    else:
        kq = number(k_q, "k_q")
    factor = number(k_tp, "k_tp") * kq * number(k_elec, "k_elec") * number(k_pol, "k_pol")
    kerma = m * nk * factor
    for unit in ("mGy", "mGy/s"):
        if kerma.dimensionality == Q_(1, unit).dimensionality:
            return kerma.to(unit)
    raise ValueError(f"reading × N_K is in {kerma.units:~P}, not an air kerma (or rate); check that N_K "
                     "is in air kerma per unit of the reading, e.g. mGy/nC")


def inverse_square(k: pint.Quantity, d_ref: pint.Quantity, d: pint.Quantity) -> pint.Quantity:
    """K(d) = K(d_ref) · (d_ref/d)², for air kerma, its rate or any point-source quantity; unit of `k`."""
    value = scalar(k, "k")
    ratio = (positive(scalar(d_ref, "d_ref", "m"), "d_ref") / positive(scalar(d, "d", "m"), "d")).to("")
    return value * ratio.magnitude ** 2


def esak(output_per_mas_at_ref: pint.Quantity, mas: pint.Quantity, d_ref: pint.Quantity,
         d_fsd: pint.Quantity) -> pint.Quantity:
    """Entrance surface air kerma ESAK = Y(d_ref) · mAs · (d_ref/d_FSD)², in mGy, without backscatter.

    Y is the tube output per mAs measured at d_ref (e.g. µGy/mAs at 100 cm); d_FSD is the focus-skin
    distance (qc-reference.md §3). Multiply by a backscatter factor for entrance surface dose.
    """
    y = scalar(output_per_mas_at_ref, "output_per_mas_at_ref")
    q = scalar(mas, "mas", "mAs")
    kerma = inverse_square(y * q, d_ref, d_fsd)
    if kerma.dimensionality != Q_(1, "mGy").dimensionality:
        raise ValueError(f"output per mAs × mAs is in {kerma.units:~P}, not an air kerma; give the output "
                         "per mAs as e.g. µGy/mAs")
    return kerma.to("mGy")
