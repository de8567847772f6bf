"""Measure what an initialization does to a model, beside what the theory predicts, and
say what is wrong and what to use instead."""

from weightlab.diagnose.compare import COMPARE_SCHEMES, Diagnosis, compare, diagnose, iter_compare
from weightlab.diagnose.propagation import (
    Histogram,
    LayerReport,
    Measurement,
    measure,
    recording,
    unit_noise,
)
from weightlab.diagnose.theory import chain_prediction, one_step_prediction, second_moment
from weightlab.diagnose.verdict import THRESHOLDS, Flag, Recommendation, flags, recommend

__all__ = [
    "COMPARE_SCHEMES",
    "THRESHOLDS",
    "Diagnosis",
    "Flag",
    "Histogram",
    "LayerReport",
    "Measurement",
    "Recommendation",
    "chain_prediction",
    "compare",
    "diagnose",
    "flags",
    "iter_compare",
    "measure",
    "one_step_prediction",
    "recommend",
    "recording",
    "second_moment",
    "unit_noise",
]
