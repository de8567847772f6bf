"""Regularization strings: parsing, defaults, validation and what each term does."""

from __future__ import annotations

import pytest
import torch

from weightlab.regularize import elastic_net
from weightlab.train import parse_regularization


def test_none_and_canonical_forms() -> None:
    assert str(parse_regularization("none")) == "none"
    assert parse_regularization("l2(1e-3)") == parse_regularization(
        "l2(strength=0.001, convention=half_sum_sq)"
    )
    assert (
        str(parse_regularization("dropout(0.3)+l1(1e-4, rule=clip)"))
        == "dropout(0.3)+l1(0.0001, rule='clip')"
    )
    for text in ("l2(0.001, convention='sum_sq')", "elastic_net(0.1, l1_ratio=0.3)", "none"):
        assert str(parse_regularization(text)) == text
        assert parse_regularization(str(parse_regularization(text))) == parse_regularization(text)


def test_penalty_and_rules_split_by_kind() -> None:
    reg = parse_regularization("l1(0.1, rule=penalty)+l2(0.2)+decoupled_decay(0.01)")
    w = [torch.tensor([1.0, -2.0])]
    expected = elastic_net(w, 0.1, 1.0, convention="half_sum_sq") + elastic_net(
        w, 0.2, 0.0, convention="half_sum_sq"
    )
    assert torch.equal(reg.penalty(w), expected)  # type: ignore[arg-type]
    rule = reg.rule()
    assert rule is not None
    assert torch.allclose(rule(w[0], w[0], 0.5), w[0] * (1 - 0.5 * 0.01))
    proximal = parse_regularization("l1(0.1)")
    assert proximal.penalty(w) is None and proximal.rule() is not None
    assert parse_regularization("dropout(0.25)").dropout == (0.25, "inverted")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "l3(1)",
            r"The 'regularization' parameter of regularization must be one of 'none', 'l1', 'l2', 'elastic_net', 'decoupled_decay', 'dropout'\. Got 'l3'\.",
        ),
        ("l2(-1)", r"The 'strength' parameter of l2 must be a float >= 0\. Got -1\.0\."),
        ("dropout(1.0)", r"The 'p' parameter of dropout must be a float in \[0, 1\)\. Got 1\.0\."),
        (
            "l1(1e-4, rule=lasso)",
            r"The 'rule' parameter of l1 must be one of 'subgradient', 'clip', 'proximal', 'penalty'\. Got 'lasso'\.",
        ),
        (
            "l2()",
            r"The 'regularization' parameter of regularization must be l2 with its strength given\. Got 'l2\(\)'\.",
        ),
        (
            "l2(1, 2, 3)",
            r"must be a call using the parameters of l2 \(strength, convention\)\. Got 'l2\(1, 2, 3\)'\.",
        ),
        ("l2(1e-3)+l2(1e-2)", r"must be each term at most once\. Got 'l2\(1e-3\)\+l2\(1e-2\)'\."),
        ("l2(1e-3", r"must be a name or a call with literal arguments"),
    ],
)
def test_bad_regularization_strings(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_regularization(text)
