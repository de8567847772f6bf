"""Measure what an initialization does to a model: signal propagation and symmetry."""

from weightlab.diagnose.propagation import LayerSignal, forward_backward_stats, recording

__all__ = ["LayerSignal", "forward_backward_stats", "recording"]
