"""Pure analysis functions over pint Quantities: statistics, waveforms, linearity, HVL, dosimetry, counting,
shielding and protective apparel, plus the named limit tables that limit sets refer to."""

from xcal.analysis.apparel import APRON_DEFECT_LIMITS_MM2, ApronDefectVerdict, apron_defect_verdict
from xcal.analysis.counting import HALF_LIVES, dead_time_correct, decay
from xcal.analysis.dosimetry import air_kerma, esak, inverse_square, k_q_from_table, k_tp
from xcal.analysis.hvl import HVL_TABLE_1, HvlBand, HvlResult, HvlRow, hvl, hvl_minimum
from xcal.analysis.limit_tables import LIMIT_TABLES, LimitTable, limit_table
from xcal.analysis.linearity import linearity, range_ratio
from xcal.analysis.shielding import (
    DESIGN_GOALS,
    K1_PRIMARY_MGY,
    K1_SECONDARY_MGY,
    NCRP147_FITS,
    OCCUPANCY_FACTORS,
    PRESHIELDING_MM,
    ArcherFit,
    barrier_thickness,
    design_goal,
    fit_parameters,
    occupancy_factor,
    required_transmission,
    transmission,
)
from xcal.analysis.statistics import as_quantity_array, cv, error, mean, percent_error, sample_sd
from xcal.analysis.waveform import WEIGHTINGS, PpvWeighting, exposure_time, ppv, ripple

__all__ = [
    "APRON_DEFECT_LIMITS_MM2",
    "DESIGN_GOALS",
    "HALF_LIVES",
    "HVL_TABLE_1",
    "K1_PRIMARY_MGY",
    "K1_SECONDARY_MGY",
    "LIMIT_TABLES",
    "NCRP147_FITS",
    "OCCUPANCY_FACTORS",
    "PRESHIELDING_MM",
    "WEIGHTINGS",
    "ApronDefectVerdict",
    "ArcherFit",
    "HvlBand",
    "HvlResult",
    "HvlRow",
    "LimitTable",
    "PpvWeighting",
    "air_kerma",
    "apron_defect_verdict",
    "as_quantity_array",
    "barrier_thickness",
    "cv",
    "dead_time_correct",
    "decay",
    "design_goal",
    "error",
    "esak",
    "exposure_time",
    "fit_parameters",
    "hvl",
    "hvl_minimum",
    "inverse_square",
    "k_q_from_table",
    "k_tp",
    "limit_table",
    "linearity",
    "mean",
    "occupancy_factor",
    "percent_error",
    "ppv",
    "range_ratio",
    "required_transmission",
    "ripple",
    "sample_sd",
    "transmission",
]
