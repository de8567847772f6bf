"""Hypothesis against the parsers of user text: scheme specs (``weightlab.init.resolve``),
regularization strings (``parse_regularization``) and experiment specs (``load_spec``).
Whatever the text, they answer with a value or the project's own error (ParameterError
or ParameterTypeError, one line in the one format), never another exception; and a
scheme they accept draws finite weights.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weightlab._validate import ParameterError, ParameterTypeError
from weightlab.init import resolve, scheme_names
from weightlab.regularize import parse_regularization, term_names
from weightlab.sweep import load_spec

OWN = (ParameterError, ParameterTypeError)
FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,  # the same inputs on every run
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Literal arguments as a user might type them, extremes included.
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 1e308, -1e308, 1e37, -1e37, 1e38, 1e-320, 5e-324, 10**400]),
)
WORDS = st.sampled_from(
    ["fan_in", "fan_out", "fan_avg", "normal", "uniform", "relu", "tanh", "leaky_relu", "x", ""]
)
LITERALS = st.recursive(
    st.one_of(NUMBERS, WORDS, st.booleans(), st.none()),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner),
    max_leaves=4,
)
PARAMS = st.sampled_from(
    ["gain", "a", "mode", "nonlinearity", "mean", "std", "low", "high", "value", "scale",
     "distribution", "b", "tol", "max_iter", "p", "rule", "convention", "l1_ratio", "rate",
     "strength", "lr_scaled", "max_value", "bogus"]
)  # fmt: skip


def _answer(parse: Callable[[Any], Any], text: Any) -> Any:
    """``parse(text)``, or None after checking that its refusal is the project's error:
    one line in the one format."""
    try:
        return parse(text)
    except OWN as error:
        message = str(error)
        assert message.startswith("The ") and "\n" not in message, message
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) and value.isidentifier() else repr(value)


@st.composite
def calls(draw: st.DrawFn, names: st.SearchStrategy[str]) -> str:
    """``name(arg, key=value, ...)`` with literal arguments of any kind."""
    name = draw(names)
    args = draw(st.lists(LITERALS, max_size=2))
    kwargs = draw(st.dictionaries(PARAMS, LITERALS, max_size=4))
    inner = [_text(a) for a in args] + [f"{k}={_text(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(inner)})" if inner or draw(st.booleans()) else name


TEXT = st.text(alphabet=st.sampled_from(string.printable + "\x00é∞[]{}"), max_size=60) | st.binary(
    max_size=40
).map(lambda b: b.decode("latin-1"))


@FUZZ
@given(st.one_of(TEXT, calls(st.sampled_from([*scheme_names(), "he_normla"]))))
def test_scheme_specs_give_a_scheme_or_the_projects_error(text: str) -> None:
    scheme = _answer(resolve, text)
    if scheme is None or scheme.data_dependent:
        return
    weights = scheme(torch.empty(4, 5), generator=torch.Generator().manual_seed(0))
    assert bool(torch.isfinite(weights).all()), f"{text!r} drew non-finite weights"
    assert math.isfinite(float(weights.double().square().sum()))


@FUZZ
@given(
    st.one_of(
        TEXT,
        calls(st.sampled_from([*term_names(), "l3"])),
        st.lists(calls(st.sampled_from(term_names())), min_size=2, max_size=3).map("+".join),
    )
)
def test_regularization_strings_give_terms_or_the_projects_error(text: str) -> None:
    _answer(parse_regularization, text)


# Specs: the right keys with values of any kind, wrong keys, and whole random documents.
SPEC_VALUES = st.recursive(
    st.one_of(NUMBERS, WORDS, st.booleans(), st.none(), st.text(max_size=10)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
KEYS = st.sampled_from(
    ["name", "dataset", "model", "init", "regularization", "optimizer", "train", "seeds",
     "claims", "bogus"]
)  # fmt: skip
GOOD = {
    "name": "fuzz",
    "dataset": {"name": "circle", "n_samples": 40},
    "model": {"arch": "mlp", "hidden": [4]},
    "train": {"steps": 2, "eval_every": 1},
}


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    spec: dict[str, Any] = dict(GOOD)
    for key, value in draw(st.dictionaries(KEYS, SPEC_VALUES, max_size=3)).items():
        spec[key] = value
    section = draw(st.sampled_from(["model", "optimizer", "train", "dataset"]))
    nested = draw(st.dictionaries(PARAMS | st.sampled_from(["hidden", "lr", "steps"]), LITERALS))
    if isinstance(spec.get(section), dict):
        spec[section] = {**spec[section], **nested}
    return spec


@FUZZ
@given(specs())
def test_spec_dicts_give_a_spec_or_the_projects_error(spec: dict[str, Any]) -> None:
    _answer(load_spec, spec)


@settings(FUZZ, max_examples=100)
@given(st.one_of(st.binary(max_size=200), specs().map(lambda s: yaml.safe_dump(s).encode())))
def test_spec_files_give_a_spec_or_the_projects_error(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    path = Path(tmp_path_factory.mktemp("spec")) / "fuzz.yaml"
    path.write_bytes(content)
    _answer(load_spec, path)
