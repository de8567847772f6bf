"""Loading a user's model by import path, and checking an input shape."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from weightlab.models import check_input_shape, cnn, load_model, parse_shape

USER_MODULE = """
import torch
from torch import nn


def build():
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(4))


def broken():
    raise RuntimeError("cannot build today")


def not_a_model():
    return 42
"""


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    (tmp_path / "wl_user_models.py").write_text(USER_MODULE)
    return tmp_path


def test_load_model_from_import_path(user_dir: Path) -> None:
    model = load_model("wl_user_models:build", search=user_dir)
    assert isinstance(model, torch.nn.Module)
    check_input_shape(model, (3, 8, 8))


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "wl_no_such_module:build",
            r"must be an importable module \(ModuleNotFoundError: No module named 'wl_no_such_module'\)\. Got 'wl_no_such_module:build'\.",
        ),
        (
            "wl_user_models:missing",
            r"must be a callable 'missing' in wl_user_models\. Got 'wl_user_models:missing'\.",
        ),
        (
            "wl_user_models:broken",
            r"must be a factory that builds a model \(RuntimeError: cannot build today\)\. Got 'wl_user_models:broken'\.",
        ),
        (
            "wl_user_models:not_a_model",
            r"must be a factory returning an nn.Module\. Got 'wl_user_models:not_a_model'\.",
        ),
        ("no colon", r"must be an import path 'package.module:factory'\. Got 'no colon'\."),
    ],
)
def test_load_model_errors_name_the_problem(path: str, message: str, user_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"The 'model' parameter of load_model " + message):
        load_model(path, search=user_dir)


def test_shape_that_does_not_fit_is_named() -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'input_shape' parameter of inspect must be a shape the model accepts \(RuntimeError: .*channels.*\)\. Got '5,8,8'\.",
    ):
        check_input_shape(cnn(3, [4], 2), (5, 8, 8))


@pytest.mark.parametrize("text", ["3,x", "", "0,4", "-1"])
def test_parse_shape_rejects_bad_text(text: str) -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'input_shape' parameter of inspect must be comma-separated positive ints",
    ):
        parse_shape(text)


def test_parse_shape() -> None:
    assert parse_shape("3, 32,32") == (3, 32, 32)
