"""Schemes: reference comparisons with torch.nn.init, statistics with fixed seeds,
exact invariants, and contract tests over the whole registry."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pytest
import torch
from scipy import stats

from weightlab import init
from weightlab._validate import Interval, ParameterError
from weightlab.init.schemes import REGISTRY

SEED = 1234


def _pair(seed: int = SEED) -> tuple[torch.Generator, torch.Generator]:
    return torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)


# --- Reference: the same draws as torch.nn.init for the schemes torch also has. -------

TORCH_TWINS: list[
    tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor], dict[str, Any]]
] = [
    (init.xavier_normal_, torch.nn.init.xavier_normal_, {"gain": 1.7}),
    (init.xavier_uniform_, torch.nn.init.xavier_uniform_, {"gain": 0.5}),
    (init.he_normal_, torch.nn.init.kaiming_normal_, {}),
    (init.he_normal_, torch.nn.init.kaiming_normal_, {"a": 0.2, "mode": "fan_out"}),
    (init.he_uniform_, torch.nn.init.kaiming_uniform_, {}),
    (init.he_uniform_, torch.nn.init.kaiming_uniform_, {"a": math.sqrt(5)}),
    (init.he_normal_, torch.nn.init.kaiming_normal_, {"nonlinearity": "tanh"}),
    (init.normal_, torch.nn.init.normal_, {"mean": 0.5, "std": 0.01}),
    (init.truncated_normal_, torch.nn.init.trunc_normal_, {"std": 0.3, "a": -0.5, "b": 0.4}),
    (init.orthogonal_, torch.nn.init.orthogonal_, {"gain": 1.5}),
]


@pytest.mark.parametrize(("ours", "theirs", "kwargs"), TORCH_TWINS)
@pytest.mark.parametrize("shape", [(64, 32), (16, 8, 3, 3)])
def test_schemes_draw_exactly_what_torch_draws(
    ours: Callable[..., torch.Tensor],
    theirs: Callable[..., torch.Tensor],
    kwargs: dict[str, Any],
    shape: tuple[int, ...],
) -> None:
    g1, g2 = _pair()
    a = ours(torch.empty(shape), **kwargs, generator=g1)
    b = theirs(torch.empty(shape), **kwargs, generator=g2)
    torch.testing.assert_close(a, b, rtol=1e-6, atol=0)


def test_uniform_matches_torch_bounds() -> None:
    g1, g2 = _pair()
    a = init.uniform_(torch.empty(50, 50), -0.3, 0.7, generator=g1)
    b = torch.nn.init.uniform_(torch.empty(50, 50), -0.3, 0.7, generator=g2)
    torch.testing.assert_close(a, b)


def test_xavier_fan_in_is_lecun_normal() -> None:
    g1, g2 = _pair()
    a = init.xavier_fan_in_(torch.empty(40, 60), generator=g1)
    b = init.lecun_normal_(torch.empty(40, 60), generator=g2)
    assert torch.equal(a, b)


# --- Statistics: each preset has the variance its formula states. ------------------

N_OUT, N_IN = 512, 256  # 131072 draws: relative SE of a normal variance ≈ 0.39%
FAN_IN, FAN_OUT, FAN_AVG = N_IN, N_OUT, (N_IN + N_OUT) / 2

VARIANCES: list[tuple[str, float]] = [
    ("xavier_normal", 2 / (FAN_IN + FAN_OUT)),
    ("xavier_uniform", 2 / (FAN_IN + FAN_OUT)),
    ("xavier_normal(gain=2.0)", 4 * 2 / (FAN_IN + FAN_OUT)),
    ("he_normal", 2 / FAN_IN),
    ("he_uniform(mode=fan_out)", 2 / FAN_OUT),
    ("he_normal(a=0.5)", 2 / (1 + 0.25) / FAN_IN),
    ("lecun_normal", 1 / FAN_IN),
    ("lecun_uniform", 1 / FAN_IN),
    ("xavier_fan_in", 1 / FAN_IN),
    ("variance_scaling(scale=3.0, mode=fan_avg, distribution=truncated_normal)", 3 / FAN_AVG),
    ("variance_scaling(scale=0.5, mode=fan_out, distribution=uniform)", 0.5 / FAN_OUT),
    ("orthogonal", 1 / max(FAN_IN, FAN_OUT)),  # min(out, in) unit vectors over out·in entries
    ("normal(std=0.01)", 1e-4),
]


@pytest.mark.parametrize(("spec", "variance"), VARIANCES)
def test_preset_variance(spec: str, variance: float, gen: torch.Generator) -> None:
    w = init.resolve(spec)(torch.empty(N_OUT, N_IN), generator=gen)
    n = w.numel()
    # Normal draws: Var(s²) = 2σ⁴/n; uniform and truncated draws are lighter-tailed.
    tol = 5 * variance * math.sqrt(2 / n)
    assert w.var().item() == pytest.approx(variance, abs=tol)
    assert abs(w.mean().item()) < 5 * math.sqrt(variance / n)


@pytest.mark.parametrize(
    ("spec", "bound"),
    [
        ("xavier_uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
        ("he_uniform", math.sqrt(6 / FAN_IN)),
        ("lecun_uniform", math.sqrt(3 / FAN_IN)),
    ],
)
def test_uniform_presets_fill_their_bounds(spec: str, bound: float, gen: torch.Generator) -> None:
    w = init.resolve(spec)(torch.empty(N_OUT, N_IN), generator=gen)
    assert w.abs().max().item() <= bound
    assert w.abs().max().item() > 0.999 * bound
    # Kolmogorov–Smirnov against U(-bound, bound).
    result = stats.kstest(w.flatten().double().numpy(), stats.uniform(-bound, 2 * bound).cdf)
    assert result.pvalue > 1e-3


def test_normal_passes_ks_test(gen: torch.Generator) -> None:
    w = init.normal_(torch.empty(200, 100), mean=0.3, std=2.0, generator=gen)
    assert stats.kstest(w.flatten().double().numpy(), stats.norm(0.3, 2.0).cdf).pvalue > 1e-3


def test_truncated_variance_scaling_is_cut_at_two_sigma(gen: torch.Generator) -> None:
    w = init.variance_scaling_(
        torch.empty(N_OUT, N_IN), 2.0, "fan_in", "truncated_normal", generator=gen
    )
    sigma = math.sqrt(2.0 / FAN_IN) / stats.truncnorm(-2, 2).std()
    assert w.abs().max().item() <= 2 * sigma
    dist = stats.truncnorm(-2, 2, scale=sigma)
    assert stats.kstest(w.flatten().double().numpy(), dist.cdf).pvalue > 1e-3


# --- Declared variances: each preset's (scale, mode, distribution) is what it draws. ---

DECLARED = [name for name in init.scheme_names() if REGISTRY[name].variance is not None]
DECLARED_SPECS = [
    *DECLARED,
    "xavier_normal(gain=1.7)",
    "xavier_uniform(gain=0.5)",
    "he_normal(a=0.5, mode=fan_out)",
    "he_uniform(nonlinearity=tanh)",
    "lecun_normal(gain=2.0)",
    "lecun_uniform(gain=0.3)",
    "variance_scaling(scale=3.0, mode=fan_avg, distribution=truncated_normal)",
    "variance_scaling(scale=0.5, mode=fan_out, distribution=uniform)",
]


def test_variance_is_declared_by_exactly_the_variance_scaling_schemes() -> None:
    undeclared = {n for n in init.scheme_names() if init.resolve(n).variance() is None}
    assert undeclared == {
        "zeros",
        "constant",
        "normal",
        "uniform",
        "truncated_normal",
        "orthogonal",
        "lsuv",
    }
    assert set(DECLARED) == set(init.scheme_names()) - undeclared


@pytest.mark.parametrize(
    ("spec", "declared"),
    [
        ("xavier_normal(gain=1.7)", (1.7**2, "fan_avg", "normal")),
        ("xavier_uniform", (1.0, "fan_avg", "uniform")),
        ("he_normal", (2.0, "fan_in", "normal")),
        ("he_uniform(a=0.5, mode=fan_out)", (2 / 1.25, "fan_out", "uniform")),
        ("he_normal(nonlinearity=tanh)", (25 / 9, "fan_in", "normal")),
        ("he_normal(nonlinearity=selu)", (9 / 16, "fan_in", "normal")),
        ("lecun_normal", (1.0, "fan_in", "normal")),
        ("lecun_uniform(gain=0.5)", (0.25, "fan_in", "uniform")),
        ("xavier_fan_in", (1.0, "fan_in", "normal")),
        (
            "variance_scaling(scale=3.0, mode=fan_avg, distribution=truncated_normal)",
            (3.0, "fan_avg", "truncated_normal"),
        ),
    ],
)
def test_declared_variance_is_the_documented_formula(
    spec: str, declared: tuple[float, str, str]
) -> None:
    v = init.resolve(spec).variance()
    assert isinstance(v, init.Variance)
    assert (v.mode, v.distribution) == declared[1:]
    assert v.scale == pytest.approx(declared[0], rel=1e-12)


@pytest.mark.parametrize("spec", DECLARED_SPECS)
def test_every_declared_preset_draws_through_its_declaration(spec: str) -> None:
    scheme = init.resolve(spec)
    v = scheme.variance()
    assert v is not None
    g1, g2 = _pair()
    a = scheme(torch.empty(16, 8, 3), generator=g1)
    b = init.variance_scaling_(torch.empty(16, 8, 3), *v, generator=g2)
    assert torch.equal(a, b)


def _declared_distribution(v: init.Variance, n: float) -> Any:
    std = math.sqrt(v.scale / n)
    if v.distribution == "normal":
        return stats.norm(0.0, std)
    if v.distribution == "uniform":
        bound = math.sqrt(3.0) * std
        return stats.uniform(-bound, 2 * bound)
    return stats.truncnorm(-2, 2, scale=std / stats.truncnorm(-2, 2).std())


@pytest.mark.parametrize("spec", DECLARED_SPECS)
def test_every_declared_variance_is_what_the_preset_draws(spec: str, gen: torch.Generator) -> None:
    # A non-square weight, so that the three fans differ and a wrong mode shows.
    scheme = init.resolve(spec)
    v = scheme.variance()
    assert v is not None
    w = scheme(torch.empty(N_OUT, N_IN), generator=gen)
    n = {"fan_in": FAN_IN, "fan_out": FAN_OUT, "fan_avg": FAN_AVG}[v.mode]
    variance = v.scale / n
    # Sample variance of normal draws has relative SE √(2/N) ≈ 0.39%; uniform and truncated
    # draws are lighter-tailed, so five of those SEs is an honest bound for all three.
    assert w.var().item() == pytest.approx(variance, abs=5 * variance * math.sqrt(2 / w.numel()))
    result = stats.kstest(w.flatten().double().numpy(), _declared_distribution(v, n).cdf)
    assert result.pvalue > 1e-3


# --- Exact invariants. -----------------------------------------------------------------


@pytest.mark.parametrize("shape", [(64, 32), (32, 64), (16, 8, 3, 3), (20, 20)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_gram_is_gain_squared_identity(
    shape: tuple[int, ...], gain: float, gen: torch.Generator
) -> None:
    w = init.orthogonal_(torch.empty(shape, dtype=torch.float64), gain, generator=gen)
    flat = w.reshape(shape[0], -1)
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    torch.testing.assert_close(gram, gain**2 * torch.eye(gram.shape[0], dtype=torch.float64))


def test_orthogonal_is_haar_not_biased_to_positive_diagonal(gen: torch.Generator) -> None:
    # Without the sign correction, QR's Q has a skewed diagonal; with it, mean ≈ 0.
    diags = torch.stack(
        [init.orthogonal_(torch.empty(8, 8), generator=gen).diagonal() for _ in range(500)]
    )
    assert abs(diags.mean().item()) < 5 * diags.std().item() / math.sqrt(diags.numel())


def test_zeros_and_constant_are_exact() -> None:
    assert torch.equal(init.zeros_(torch.ones(3, 4)), torch.zeros(3, 4))
    assert torch.equal(init.constant_(torch.ones(5), 0.25), torch.full((5,), 0.25))


def test_schemes_do_not_record_gradients() -> None:
    w = torch.nn.Parameter(torch.empty(4, 4))
    init.he_normal_(w)
    assert w.grad_fn is None and w.requires_grad


# --- Contract tests over the registry. ---------------------------------------------------

PER_TENSOR = [name for name in init.scheme_names() if not REGISTRY[name].data_dependent]


@pytest.mark.parametrize("name", PER_TENSOR)
@pytest.mark.parametrize("shape", [(16, 8), (8, 4, 3, 3)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_scheme_keeps_shape_dtype_and_is_reproducible(
    name: str, shape: tuple[int, ...], dtype: torch.dtype
) -> None:
    scheme = init.resolve(name)
    out = torch.empty(shape, dtype=dtype)
    g1, g2 = _pair()
    a = scheme(out, generator=g1)
    b = scheme(torch.empty(shape, dtype=dtype), generator=g2)
    assert a is out and a.shape == shape and a.dtype == dtype
    assert torch.equal(a, b)
    assert torch.isfinite(a).all()
    if name not in ("zeros", "constant"):
        c = scheme(
            torch.empty(shape, dtype=dtype), generator=torch.Generator().manual_seed(SEED + 1)
        )
        assert not torch.equal(a, c)


def _bad_values(default: Any) -> list[tuple[Any, type[Exception]]]:
    if isinstance(default, str):
        return [("bogus", ValueError), (3, TypeError)]
    return [
        (math.nan, ValueError),
        (math.inf, ValueError),
        (-math.inf, ValueError),
        ("1.0", TypeError),
    ]


@pytest.mark.parametrize(
    ("name", "param", "bad", "error"),
    [
        (n, p, bad, error)
        for n in PER_TENSOR
        for p, spec in REGISTRY[n].signature.parameters.items()
        for bad, error in _bad_values(spec.default)
    ],
)
def test_every_scheme_rejects_bad_parameters(
    name: str, param: str, bad: Any, error: type[Exception]
) -> None:
    with pytest.raises(
        error, match=rf"The '{param}' parameter of {name} must be .* Got {re.escape(repr(bad))}\."
    ):
        REGISTRY[name].fn(torch.empty(4, 4), **{param: bad})


@pytest.mark.parametrize("name", PER_TENSOR)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_every_scheme_fills_half_precision(name: str, dtype: torch.dtype) -> None:
    w = init.resolve(name)(
        torch.empty(16, 8, dtype=dtype), generator=torch.Generator().manual_seed(SEED)
    )
    assert w.dtype == dtype and torch.isfinite(w).all()


@pytest.mark.parametrize("name", PER_TENSOR)
def test_every_scheme_fills_non_contiguous_views_and_empty_tensors(name: str) -> None:
    base = torch.zeros(8, 16)
    view = base.T  # [16, 8], non-contiguous
    init.resolve(name)(view, generator=torch.Generator().manual_seed(SEED))
    if name not in ("zeros", "constant"):
        assert torch.count_nonzero(base) > 0
    empty = init.resolve(name)(torch.empty(0, 5), generator=torch.Generator().manual_seed(SEED))
    assert empty.shape == (0, 5)


@pytest.mark.parametrize("name", PER_TENSOR)
def test_every_scheme_rejects_integer_tensors(name: str) -> None:
    with pytest.raises(
        ValueError,
        match=rf"The 'tensor' parameter of {name} must be a floating-point torch.Tensor.* Got a tensor of shape \(3, 3\) and dtype torch.int64\.",
    ):
        REGISTRY[name].fn(torch.zeros(3, 3, dtype=torch.long))


# --- Extreme but finite parameters: refused where the draws or their variance would
# overflow float32, accepted up to the bound with finite draws. ---------------------------

UNBOUNDED = [
    (name, param, side)
    for name in PER_TENSOR
    for param, rule in REGISTRY[name].table.items()
    if isinstance(rule, Interval) and not rule.integer
    for side, limit in (("high", rule.high), ("low", rule.low))
    if math.isinf(limit)
]


def test_extreme_parameters_are_found() -> None:
    found = {(n, p) for n, p, _ in UNBOUNDED}
    assert {
        ("constant", "value"),
        ("he_normal", "a"),
        ("uniform", "low"),
        ("normal", "std"),
    } <= found
    assert ("xavier_normal", "gain") in found and ("variance_scaling", "scale") in found


@pytest.mark.parametrize(("name", "param", "side"), UNBOUNDED)
def test_every_scheme_refuses_parameters_beyond_the_float32_bound(
    name: str, param: str, side: str
) -> None:
    value = 1e308 if side == "high" else -1e308
    with pytest.raises(ParameterError) as error:
        init.resolve(f"{name}({param}={value!r})")
    message = str(error.value)
    assert message.startswith(f"The '{param}' parameter of {name} must be a float in ")
    bound = "1e+37]" if side == "high" else "[-1e+37, "
    assert bound in message and message.endswith(f"Got {value!r}.")
    with pytest.raises(ParameterError, match="e\\+37"):  # direct calls check the same
        REGISTRY[name].fn(torch.empty(4, 5), **{param: value})


BOUNDARY = [
    "constant(value=1e37)",
    "constant(value=-1e37)",
    "normal(mean=-1e37, std=1e37)",
    "normal(mean=1e37, std=0.0)",
    "uniform(low=-1e37, high=1e37)",
    "truncated_normal(mean=1e37, std=1e37, a=-1e37, b=1e37)",
    "truncated_normal(mean=-1e37, std=1e-30, a=-1e37, b=1e37)",
    "variance_scaling(scale=1e37, distribution='uniform')",
    "variance_scaling(scale=1e37, distribution='truncated_normal')",
    "xavier_normal(gain=1e37)",
    "xavier_uniform(gain=1e37)",
    "he_normal(a=1e37)",
    "he_uniform(a=1e37, mode='fan_out')",
    "lecun_normal(gain=1e37)",
    "lecun_uniform(gain=1e37)",
    "orthogonal(gain=1e37)",
]


def test_the_boundary_cases_cover_every_unbounded_parameter() -> None:
    covered = {
        (scheme.name, param)
        for scheme in map(init.resolve, BOUNDARY)
        for param, value in scheme.params
        if isinstance(value, float) and abs(value) == 1e37
    }
    assert {(n, p) for n, p, _ in UNBOUNDED} <= covered


@pytest.mark.filterwarnings("ignore:mean is more than 2 std")
@pytest.mark.parametrize("spec", BOUNDARY)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_parameters_at_the_bound_draw_finite_weights(spec: str, dtype: torch.dtype) -> None:
    weights = init.resolve(spec)(
        torch.empty(64, 32, dtype=dtype), generator=torch.Generator().manual_seed(0)
    )
    assert bool(torch.isfinite(weights).all())


def test_spec_cross_checks_run_when_resolving() -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'high' parameter of uniform must be a float > low \(1\.0\)\. Got 0\.0\.",
    ):
        init.resolve("uniform(low=1, high=0)")
    with pytest.raises(
        ValueError, match=r"The 'std' parameter of normal must be a float >= 0\. Got -inf\."
    ):
        init.resolve("normal(std=-inf)")


@pytest.mark.parametrize("name", [n for n in PER_TENSOR if REGISTRY[n].table.get("gain")])
def test_gain_schemes_reject_non_positive_gain(name: str) -> None:
    with pytest.raises(
        ValueError, match=rf"The 'gain' parameter of {name} must be a float > 0\. Got -1\.0\."
    ):
        init.resolve(f"{name}(gain=-1.0)")


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in PER_TENSOR
        if n not in ("zeros", "constant", "normal", "uniform", "truncated_normal")
    ],
)
def test_scaling_schemes_reject_tensors_without_fans(name: str) -> None:
    with pytest.raises(
        ValueError,
        match=rf"The 'tensor' parameter of {name} must be a floating-point torch.Tensor with at least 2 dimensions\. Got a tensor of shape \(7,\)\.",
    ):
        REGISTRY[name].fn(torch.empty(7))


def test_uniform_and_truncated_reject_empty_ranges() -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'high' parameter of uniform must be a float > low \(1\.0\)\. Got 0\.5\.",
    ):
        init.uniform_(torch.empty(3), 1.0, 0.5)
    with pytest.raises(
        ValueError,
        match=r"The 'b' parameter of truncated_normal must be a float > a \(1\.0\)\. Got -1\.0\.",
    ):
        init.truncated_normal_(torch.empty(3), a=1.0, b=-1.0)


def test_generator_must_be_a_generator() -> None:
    with pytest.raises(
        TypeError,
        match=r"The 'generator' parameter of he_normal must be a torch.Generator or None\. Got 0\.",
    ):
        init.he_normal_(torch.empty(3, 3), generator=0)


# --- Spec strings. -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        "he_normal",
        "normal(std=0.01)",
        "he_normal(mode='fan_out', a=0.1)",
        "constant(0.5)",
        "orthogonal(gain=2.0)",
    ],
)
def test_spec_strings_round_trip(spec: str) -> None:
    scheme = init.resolve(spec)
    assert init.resolve(str(scheme)) == scheme
    assert hash(init.resolve(str(scheme))) == hash(scheme)


def test_spec_forms_are_equivalent() -> None:
    assert (
        init.resolve("normal(std=1)") == init.resolve("normal(0.0, 1.0)") == init.resolve("normal")
    )
    assert init.resolve("he_normal(mode=fan_out)") == init.resolve("he_normal(mode='fan_out')")
    assert str(init.resolve("normal(0, 0.01)")) == "normal(std=0.01)"


def test_unknown_scheme_lists_the_valid_ones() -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'scheme' parameter of resolve must be one of 'variance_scaling', .*'he_normal'.*'lsuv'\. Got 'he_normla'\.",
    ):
        init.resolve("he_normla")


@pytest.mark.parametrize(
    "spec", ["normal(std=", "1+2", "normal(std=foo())", "he.normal", "normal(**kw)"]
)
def test_malformed_specs_are_rejected(spec: str) -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'scheme' parameter of resolve must be a name or a call with literal arguments such as 'normal\(std=0\.01\)'\. Got ",
    ):
        init.resolve(spec)


def test_unknown_spec_parameter_names_the_valid_ones() -> None:
    with pytest.raises(
        ValueError,
        match=r"must be a call using the parameters of normal \(mean, std\)\. Got 'normal\(sd=1\)'\.",
    ):
        init.resolve("normal(sd=1)")
    with pytest.raises(
        ValueError, match=r"must be a call using the parameters of zeros \(no parameters\)"
    ):
        init.resolve("zeros(1)")


def test_spec_values_are_validated() -> None:
    with pytest.raises(
        ValueError, match=r"The 'std' parameter of normal must be a float >= 0\. Got nan\."
    ):
        init.resolve("normal(std=nan)")
    with pytest.raises(
        ValueError,
        match=r"The 'mode' parameter of he_normal must be one of 'fan_in', 'fan_out'\. Got 'fan_avg'\.",
    ):
        init.resolve("he_normal(mode=fan_avg)")


def test_spec_must_be_a_string() -> None:
    with pytest.raises(
        TypeError, match=r"The 'scheme' parameter of resolve must be a str\. Got 3\."
    ):
        init.resolve(3)  # type: ignore[arg-type]


def test_data_dependent_scheme_cannot_fill_a_bare_tensor() -> None:
    with pytest.raises(TypeError, match=r"'lsuv' needs a module and a batch of inputs"):
        init.resolve("lsuv")(torch.empty(3, 3))


DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", PER_TENSOR)
def test_every_scheme_runs_on_the_tensors_device_with_its_generator(name: str, device: str) -> None:
    a = init.resolve(name)(
        torch.empty(32, 16, device=device), generator=torch.Generator(device).manual_seed(SEED)
    )
    b = init.resolve(name)(
        torch.empty(32, 16, device=device), generator=torch.Generator(device).manual_seed(SEED)
    )
    assert a.device.type == device and torch.equal(a, b)


@pytest.mark.parametrize("device", DEVICES)
def test_init_module_and_lsuv_on_device(device: str) -> None:
    net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)).to(
        device
    )
    gen = torch.Generator(device).manual_seed(SEED)
    init.init_module(net, "he_normal", gain_from_activation=True, generator=gen)
    init.init_module(
        net, "lsuv", data=torch.randn(64, 8, device=device, generator=gen), generator=gen
    )
    assert all(p.device.type == device for p in net.parameters())
