"""Experiment specs and sweeps."""

from weightlab.sweep.runner import prepare, run_sweep
from weightlab.sweep.spec import SweepSpec, expand, load_spec

__all__ = ["SweepSpec", "expand", "load_spec", "prepare", "run_sweep"]
