"""Diagnose one initialized model, or compare several schemes on one architecture.

``diagnose`` = :func:`measure` + :func:`flags` + :func:`recommend`; ``compare`` builds a
fresh model per scheme, initializes it with the same generator stream and diagnoses it
on the same batch: the data behind the classic zeros / too small / 1/n / Xavier / He /
too large figure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from weightlab.diagnose.propagation import Measurement, measure
from weightlab.diagnose.verdict import Flag, Recommendation, flags, recommend
from weightlab.init import init_module, resolve

__all__ = ["COMPARE_SCHEMES", "Diagnosis", "compare", "diagnose"]

COMPARE_SCHEMES: tuple[str, ...] = (
    "zeros",
    "normal(std=0.01)",
    "xavier_fan_in",
    "xavier_normal",
    "he_normal",
    "normal(std=1.0)",
    "orthogonal",
    "lsuv",
)


@dataclass
class Diagnosis:
    """A measurement with what is wrong and what to use instead."""

    measurement: Measurement
    flags: list[Flag]
    recommendation: Recommendation

    def to_json(self) -> dict[str, Any]:
        return {
            **self.measurement.to_json(),
            "flags": [f.__dict__ for f in self.flags],
            "recommendation": self.recommendation.__dict__,
        }


def diagnose(
    model: nn.Module,
    x: torch.Tensor,
    *,
    train: bool = False,
    generator: torch.Generator | None = None,
) -> Diagnosis:
    """Measure ``model`` on ``x`` and say what is wrong and what to use instead."""
    m = measure(model, x, train=train, generator=generator)
    return Diagnosis(m, flags(m), recommend(m))


def iter_compare(
    build: Callable[[], nn.Module],
    schemes: Sequence[str],
    x: torch.Tensor,
    *,
    gain_from_activation: bool = False,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[str, Diagnosis]]:
    """Yield ``(scheme, diagnosis)`` one scheme at a time (for progress display)."""
    resolved = [resolve(s) for s in schemes]  # reject a bad name before any work
    for spec, scheme in zip(schemes, resolved, strict=True):
        model = build().to(x.device)
        init_module(
            model, scheme, gain_from_activation=gain_from_activation, data=x, generator=generator
        )
        yield spec, diagnose(model, x, generator=generator)


def compare(
    build: Callable[[], nn.Module],
    x: torch.Tensor,
    schemes: Sequence[str] = COMPARE_SCHEMES,
    *,
    gain_from_activation: bool = False,
    generator: torch.Generator | None = None,
) -> dict[str, Diagnosis]:
    """Diagnose a fresh ``build()`` per scheme on the same batch ``x``.

    Example:
        >>> from weightlab.models import mlp
        >>> out = compare(lambda: mlp(32, [32] * 6, 4, "tanh"), torch.randn(128, 32),
        ...               ["zeros", "xavier_normal"])
        >>> [f.kind for f in out["zeros"].flags][-1]
        'symmetry'
    """
    return dict(
        iter_compare(
            build, schemes, x, gain_from_activation=gain_from_activation, generator=generator
        )
    )
