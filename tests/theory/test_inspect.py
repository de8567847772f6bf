"""``weightlab inspect --correlation --spectrum``: the mean-field theory beside the
inspected network's own measurement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from theory.test_cli import run
from weightlab.cli.common import num
from weightlab.theory import phase_of


def test_correlation_and_spectrum_of_an_inspected_mlp(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["inspect", "--depth", "6", "--width", "128", "--activation", "tanh"]
    args += ["--init", "orthogonal", "--correlation", "--spectrum", "--out", str(tmp_path)]
    code, out, err = run([*args, "--json"], capsys, monkeypatch)
    assert code == 0, err
    payload = json.loads(out)
    trace, study = payload["correlation"], payload["spectrum"]
    assert trace["weights"] == "orthogonal" and trace["sigma_w2"] == 1.0
    assert len(trace["measured"]) == len(trace["predicted"]) == 6
    # Within 5 standard errors of the c-map at every layer (4 networks of 8 pairs).
    for measured, se, predicted in zip(
        trace["measured"], trace["measured_se"], trace["predicted"], strict=True
    ):
        assert abs(measured - predicted) <= 5 * max(se, 1e-3)
    (row,) = study["rows"]
    assert row["weights"] == "orthogonal" and row["depth"] == 6
    assert {Path(p).name for p in payload["figures"]} >= {"correlation.png", "spectrum.png"}
    code, out, _ = run(args, capsys, monkeypatch)
    assert code == 0
    assert "Two inputs' correlation" in out and "c-map" in out and "Jacobian singular values" in out
    words = " ".join(out.split())
    assert f"χ₁ = {trace['chi1']:.3f} ({phase_of(trace['chi1'])})" in words
    assert "Two views of a good init" in words and "inf" not in words.split("Two inputs")[1]
    # The spread is printed as free probability predicts it: var σ² / mean², both sides.
    spread = row["var_sq"] / row["mean_sq"] ** 2
    predicted = row["predicted_var_sq"] / row["predicted_mean_sq"] ** 2
    assert f"var σ² / mean² {num(spread)} ({num(predicted)})" in " ".join(out.split())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--init", "zeros", "--correlation"],
            "The 'correlation' parameter of inspect must be used with a zero-mean scheme of fixed variance (variance scaling, normal, uniform, orthogonal). Got 'zeros'.",
        ),
        (
            ["--compare", "he_normal,xavier_normal", "--spectrum"],
            "The 'spectrum' parameter of inspect must be used with the built-in MLP (--arch mlp, no --model) and one scheme. Got True.",
        ),
        (
            ["--arch", "cnn", "--correlation"],
            "The 'correlation' parameter of inspect must be used with the built-in MLP (--arch mlp, no --model) and one scheme. Got True.",
        ),
    ],
)
def test_theory_options_need_a_built_in_mlp_and_one_scheme(
    extra: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    code, _, err = run(
        ["inspect", "--depth", "2", "--width", "8", *extra, "--out", str(tmp_path)],
        capsys,
        monkeypatch,
    )
    assert code == 2
    assert err.strip() == f"Error: {message}"
