"""Seed 001's worked example: the printed numbers, exact arithmetic, and the notes."""

from __future__ import annotations

import math

import pytest

from weightlab.seed_example import SEED_PRINTED, SeedConfig, run_seed_example


def _reference(
    theta: float, lr: float, lam: float, g: float, steps: int, l2_factor: float
) -> list[float]:
    """Plain-Python gradient descent on g·θ + l2_factor·λθ² (an independent reference)."""
    out = []
    for _ in range(steps):
        theta = theta - lr * (g + 2 * l2_factor * lam * theta)
        out.append(theta)
    return out


def test_clip_rule_reproduces_every_printed_value_within_5e_5() -> None:
    result = run_seed_example()
    for name, printed in SEED_PRINTED.items():
        for row, seed in zip(result.tables[name], printed, strict=False):
            assert row == pytest.approx(list(seed), abs=5e-5)
    assert max(result.differences().values()) <= 5e-5


def test_l1_clip_is_exact_and_lands_on_zero() -> None:
    rows = run_seed_example().tables["l1"]
    assert rows[-1][1] == 0.0
    for row, seed in zip(rows, SEED_PRINTED["l1"], strict=True):
        assert row == pytest.approx(list(seed), abs=1e-12)


def test_l2_matches_exact_arithmetic_not_the_seeds_rounding() -> None:
    rows = run_seed_example().tables["l2"]
    for j, start in enumerate((1.5, 0.5)):
        assert [r[j] for r in rows] == pytest.approx(
            _reference(start, 0.1, 0.1, 1.0, 5, 0.5), abs=1e-12
        )
    # REFERENCES.md: exact θ1 from iteration 3 on.
    assert [r[0] for r in rows[2:]] == pytest.approx([1.1584385, 1.0468541, 0.9363856], abs=1e-7)
    exact = {(i, j): rows[i][j] for i in range(5) for j in range(2)}
    drift = max(abs(exact[i, j] - SEED_PRINTED["l2"][i][j]) for i, j in exact)
    assert run_seed_example().differences()["l2"] == drift
    assert 1e-5 < drift < 5e-5  # REFERENCES.md: the seed's rounding drifts by up to about 2e-5


@pytest.mark.parametrize(
    ("rule", "expected"), [("subgradient", -0.05), ("proximal", -0.03), ("clip", 0.0)]
)
def test_l1_rules_part_ways_at_iteration_5(rule: str, expected: float) -> None:
    rows = run_seed_example(SeedConfig(l1_rule=rule)).tables["l1"]
    assert rows[-1][1] == pytest.approx(expected, abs=1e-12)
    assert rows[-1][0] == pytest.approx(0.95, abs=1e-12)


def test_sum_sq_convention_doubles_the_l2_pull() -> None:
    rows = run_seed_example(SeedConfig(l2_convention="sum_sq")).tables["l2"]
    assert [r[0] for r in rows] == pytest.approx(_reference(1.5, 0.1, 0.1, 1.0, 5, 1.0), abs=1e-12)


def test_notes_explain_where_text_and_arithmetic_part_ways() -> None:
    notes = " ".join(run_seed_example().notes)
    assert "clip rule set it to exactly 0" in notes and "gives -0.05 there" in notes
    assert "moves it to -0.1" in notes  # not frozen: the data gradient moves it on
    assert "crosses zero at iteration 5 (-0.014604)" in notes
    assert "drift from exact arithmetic by up to 1.6e-05" in notes


def test_other_settings_are_not_compared_with_the_seed() -> None:
    result = run_seed_example(SeedConfig(theta=(2.0, -1.0), strength=0.3, steps=8))
    assert result.printed == {} and result.differences() == {}
    assert len(result.tables["l1"]) == 8
    assert result.to_json()["tables"]["l1"][0]["seed"] is None


def test_json_holds_the_seed_numbers() -> None:
    payload = run_seed_example().to_json()
    last = payload["tables"]["l1"][4]
    assert last["iteration"] == 5 and last["seed"] == [0.95, 0.0]
    assert last["theta"] == pytest.approx([0.95, 0.0], abs=1e-12)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            SeedConfig(strength=-0.1),
            r"The 'strength' parameter of seed_example must be a float >= 0\. Got -0\.1\.",
        ),
        (
            SeedConfig(strength=math.nan),
            r"The 'strength' parameter of seed_example must be a float >= 0\. Got nan\.",
        ),
        (
            SeedConfig(lr=0.0),
            r"The 'lr' parameter of seed_example must be a float > 0\. Got 0\.0\.",
        ),
        (
            SeedConfig(steps=0),
            r"The 'steps' parameter of seed_example must be an int in \[1, 10000\]\. Got 0\.",
        ),
        (
            SeedConfig(l1_rule="lasso"),
            r"The 'l1_rule' parameter of seed_example must be one of 'subgradient', 'clip', 'proximal'\. Got 'lasso'\.",
        ),
        (
            SeedConfig(l2_convention="keras"),
            r"The 'l2_convention' parameter of seed_example must be one of 'sum_sq', 'half_sum_sq'\. Got 'keras'\.",
        ),
        (
            SeedConfig(theta=(math.inf, 0.5)),
            r"The 'theta' parameter of seed_example must be two finite floats\. Got \(inf, 0\.5\)\.",
        ),
    ],
)
def test_bad_settings_are_rejected(config: SeedConfig, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_seed_example(config)


def test_other_rules_are_shown_beside_the_printed_values() -> None:
    result = run_seed_example(SeedConfig(l1_rule="subgradient"))
    assert result.printed["l1"][4] == (0.95, 0.0)
    assert result.differences()["l1"] == pytest.approx(0.05, abs=1e-12)
    assert any("parts from the seed's printed values by up to 0.05" in n for n in result.notes)


def test_printed_rows_follow_steps_and_convention() -> None:
    short = run_seed_example(SeedConfig(steps=3))
    assert len(short.printed["l1"]) == 3 and short.to_json()["tables"]["l1"][2]["seed"] == [
        1.17,
        0.17,
    ]
    keras = run_seed_example(SeedConfig(l2_convention="sum_sq"))
    assert "l2" not in keras.printed and "l1" in keras.printed


def test_notes_follow_the_settings() -> None:
    still = run_seed_example(SeedConfig(theta=(1.5, 0.05), grad=0.0, strength=1.0))
    assert any("with no data gradient it stays there" in n for n in still.notes)
    flip = run_seed_example(SeedConfig(theta=(1.0, 0.5), grad=0.0, strength=15.0))
    assert any("flips its sign every step" in n and "multiplies θ by -0.5" in n for n in flip.notes)
    assert not any("driven by the data gradient" in n for n in flip.notes)
