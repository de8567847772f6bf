"""Dropout (inverted and classic) and Monte-Carlo dropout for predictive uncertainty.

Both modes have the same expected output in training as at inference: *inverted*
(torch, Keras, MLX) scales kept units by ``1/(1 − p)`` while training and does nothing at
inference; *classic* (the original paper, seed 001's description) keeps units unscaled
while training and scales by ``(1 − p)`` at inference.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import torch
from torch import Tensor, nn

from weightlab._validate import (
    GENERATOR,
    PROBABILITY,
    Constraint,
    Described,
    Instance,
    Interval,
    OneOf,
    check,
    check_generator,
    fail,
)
from weightlab._validate import Tensor as TensorRule
from weightlab.regularize.arrays import TORCH
from weightlab.regularize.terms import MODES, dropout_layer

__all__ = [
    "DROPOUT_MODULES",
    "MODES",
    "Dropout",
    "DropoutMode",
    "bit_words",
    "dropout",
    "fill_bits_",
    "keep_bits",
    "keep_mask",
    "keep_threshold",
    "mc_dropout",
    "mc_predict",
]

DropoutMode = Literal["inverted", "classic"]


_TABLE: dict[str, Constraint | tuple[Constraint, ...]] = {
    "x": TensorRule(floating=True),
    "p": PROBABILITY,
    "mode": OneOf(MODES),
    "training": Instance((bool,), "a bool"),
    "generator": GENERATOR,
    "model": Instance((nn.Module,), "a torch.nn.Module"),
    "samples": Interval(2, float("inf"), "both", integer=True),
}


def dropout(
    x: Tensor,
    p: float,
    *,
    mode: DropoutMode = "inverted",
    training: bool = True,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Drop each element of ``x`` independently with probability ``p``.

    With a mask ``m ~ Bernoulli(1 − p)`` drawn from ``generator`` (:func:`keep_mask`, 16
    random bits a unit):

    - ``"inverted"``: training ``x·m/(1 − p)``, inference ``x``;
    - ``"classic"``: training ``x·m``, inference ``x·(1 − p)``.

    Args:
        x: floating-point tensor, any shape, any device.
        p: drop probability in [0, 1); ``p = 0`` is the identity in both modes.
        mode: ``"inverted"`` or ``"classic"``.
        training: draw a mask (True) or apply the inference rule (False).
        generator: source of randomness, on ``x``'s device; None uses torch's default.

    Returns:
        A tensor shaped like ``x``.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> out = dropout(torch.ones(6), 0.5, generator=g)
        >>> sorted(set(out.tolist())) in ([0.0, 2.0], [0.0], [2.0])
        True

    Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov 2014, "Dropout: a simple way
    to prevent neural networks from overfitting".
    """
    values = {"x": x, "p": p, "mode": mode, "training": training, "generator": generator}
    check("dropout", values, _TABLE)
    check_generator("dropout", generator, x)
    return _dropout(x, p, mode, training, generator)


class Dropout(nn.Module):
    """Module form of :func:`dropout`; follows ``self.training`` (``.train()``/``.eval()``).

    Args:
        p: drop probability in [0, 1).
        mode: ``"inverted"`` (default, like ``nn.Dropout``) or ``"classic"``.
        generator: source of randomness, on the inputs' device; None uses torch's default.

    Example:
        >>> layer = Dropout(0.5, mode="classic").eval()
        >>> layer(torch.ones(3))
        tensor([0.5000, 0.5000, 0.5000])

    Srivastava et al. 2014.
    """

    def __init__(
        self,
        p: float = 0.5,
        mode: DropoutMode = "inverted",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        check("Dropout", {"p": p, "mode": mode, "generator": generator}, _TABLE)
        self.p = p
        self.mode = mode
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        check_generator("Dropout", self.generator, x)
        return _dropout(x, self.p, self.mode, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode!r}"


# Every module whose training flag means "drop units": ours and torch's.
DROPOUT_MODULES: tuple[type[nn.Module], ...] = (
    Dropout,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
)


@contextmanager
def mc_dropout(model: nn.Module) -> Iterator[nn.Module]:
    """Put every dropout module of ``model`` in training mode; leave the rest alone.

    On exit (normal or by an exception) every module gets back its own mode, so e.g.
    BatchNorm stays in eval mode throughout and the model ends as it started.

    Args:
        model: any module; dropout modules are those in :data:`DROPOUT_MODULES`.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).eval()
        >>> with mc_dropout(net):
        ...     net[1].training, net[0].training
        (True, False)
        >>> net[1].training
        False

    Gal & Ghahramani 2016, "Dropout as a Bayesian approximation".
    """
    check("mc_dropout", {"model": model}, _TABLE)
    saved = [(module, module.training) for module in model.modules()]
    try:
        for module, _ in saved:
            if isinstance(module, DROPOUT_MODULES):
                module.training = True
        yield model
    finally:
        for module, was_training in saved:
            module.training = was_training


def mc_predict(model: nn.Module, x: Tensor, samples: int) -> tuple[Tensor, Tensor]:
    """Monte-Carlo dropout prediction: mean and standard deviation over ``samples`` passes.

    ``mean = (1/T) Σ_t f_t(x)``, ``std = sqrt(Σ_t (f_t(x) − mean)² / (T − 1))`` with dropout
    active (:func:`mc_dropout`) and no gradients.  Randomness comes from the dropout
    modules: give :class:`Dropout` modules a ``generator`` for reproducible samples.

    Args:
        model: a module returning one tensor; its modes are unchanged afterwards.
        x: its input.
        samples: number of stochastic passes T ≥ 2.

    Returns:
        ``(mean, std)``, each shaped like ``model(x)``; ``std`` is 0 without dropout.

    Example:
        >>> net = nn.Sequential(nn.Linear(3, 1), Dropout(0.5)).eval()
        >>> mean, std = mc_predict(net, torch.ones(4, 3), samples=8)
        >>> mean.shape, std.shape
        (torch.Size([4, 1]), torch.Size([4, 1]))

    Gal & Ghahramani 2016, "Dropout as a Bayesian approximation: representing model
    uncertainty in deep learning".
    """
    check("mc_predict", {"model": model, "samples": samples}, _TABLE)
    check("mc_predict", {"x": x}, {"x": TensorRule()})
    with mc_dropout(model), torch.no_grad():
        outputs = torch.stack([_forward(model, x) for _ in range(samples)])
    std, mean = torch.std_mean(outputs, dim=0)
    return mean, std


def _forward(model: nn.Module, x: Tensor) -> Tensor:
    out = model(x)
    if not isinstance(out, Tensor):
        got = Described(f"a module returning {type(out).__name__}")
        raise fail("mc_predict", "model", "a module returning one tensor", got, wrong_type=True)
    return out


def _dropout(
    x: Tensor, p: float, mode: str, training: bool, generator: torch.Generator | None
) -> Tensor:
    if p == 0.0:
        return x
    keep = keep_mask(x, p, generator) if training else None
    out: Tensor = dropout_layer(TORCH, x, keep, training, p=p, mode=mode)
    return out


def bit_words(count: int) -> int:
    """The 64-bit draws that ``count`` keep-or-drop decisions take: ``⌈count/4⌉``.

    Example:
        >>> bit_words(8), bit_words(9)
        (2, 3)
    """
    return -(-count // 4)


def fill_bits_(words: Tensor, generator: torch.Generator | None) -> Tensor:
    """``words`` (int64) filled in place with 64 random bits each from ``generator``."""
    return words.random_(-(2**63), None, generator=generator)


def keep_bits(count: int, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """``count`` independent uniform 16-bit integers in ``[−32768, 32767]`` (int16), the
    random numbers of ``count`` keep-or-drop decisions: ``⌈count/4⌉`` draws of 64 bits
    from ``generator``, each read as four 16-bit numbers.

    A third of the cost of one float32 uniform per decision on the CPU (it draws 32 bits
    for each), and on the CPU a draw of ``a`` numbers then of ``b`` is one draw of
    ``a + b`` whenever ``a`` is a multiple of 4."""
    words = torch.empty(bit_words(count), dtype=torch.int64, device=device)
    return fill_bits_(words, generator).view(torch.int16)[:count]


def keep_threshold(p: float) -> int:
    """The smallest :func:`keep_bits` value that keeps a unit:
    ``min(round(65536·p), 65535) − 32768``.  A unit is then dropped with probability
    ``min(round(65536·p), 65535)/65536``: ``p`` to within ``2⁻¹⁷`` (and never every unit).

    Example:
        >>> keep_threshold(0.0), keep_threshold(0.5), keep_threshold(0.1)
        (-32768, 0, -26214)
    """
    return min(round(65536 * p), 65535) - 32768


def keep_mask(x: Tensor, p: float, generator: torch.Generator | None) -> Tensor:
    """The keep mask of :class:`Dropout` for ``x``, a bool tensor shaped like it:
    ``b ≥ keep_threshold(p)`` for ``b`` from :func:`keep_bits`, so a unit is kept with
    probability ``1 − p`` (to within ``2⁻¹⁷``) and one seed gives one mask whatever
    ``x``'s dtype."""
    bits = keep_bits(x.numel(), generator, x.device)
    return (bits >= keep_threshold(float(p))).view(x.shape)
