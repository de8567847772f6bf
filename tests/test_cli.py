"""The command line: help everywhere, --json output, exit code 2 with one line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from weightlab import cli
from weightlab.init import scheme_names


def run(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["weightlab", *args])
    code = 0
    try:
        cli.main()
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", [[], ["demo"], ["seed-example"], ["schemes"]])
def test_every_command_has_help(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run([*command, "--help"], capsys, monkeypatch)
    assert code == 0
    assert "Usage: weightlab" in out and "--help" in out
    if command:
        assert "--json" in out


def test_seed_example_json_holds_the_seed_numbers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["seed-example", "--json"], capsys, monkeypatch)
    assert code == 0
    payload = json.loads(out)
    for name in ("l1", "l2"):
        for row in payload["tables"][name]:
            assert row["theta"] == pytest.approx(row["seed"], abs=5e-5)
    assert payload["tables"]["l1"][4]["theta"][1] == 0.0
    assert payload["max_abs_difference"]["l2"] < 5e-5


def test_seed_example_options_change_the_run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        ["seed-example", "--json", "--l1-rule", "proximal", "--steps", "7", "--lambda", "0.2"],
        capsys,
        monkeypatch,
    )
    payload = json.loads(out)
    assert code == 0 and payload["config"]["l1_rule"] == "proximal"
    assert len(payload["tables"]["l1"]) == 7 and payload["tables"]["l1"][0]["seed"] is None
    assert payload["tables"]["l1"][0]["theta"] == pytest.approx(
        [1.5 - 0.1 - 0.02, 0.5 - 0.1 - 0.02]
    )


def test_seed_example_table_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["seed-example"], capsys, monkeypatch)
    assert code == 0
    assert (
        "L1 (clip rule)" in out
        and "θ2 (seed)" in out
        and "Largest |exact − seed| difference: 1.6e-05 (l2)" in out
    )


def test_schemes_json_lists_the_registry(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["schemes", "--json"], capsys, monkeypatch)
    rows = json.loads(out)
    assert code == 0 and [r["name"] for r in rows] == list(scheme_names())
    he = next(r for r in rows if r["name"] == "he_normal")
    assert he["parameters"] == {"a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu"}


def test_demo_json_tells_the_schemes_apart(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["demo", "--json", "--depth", "6", "--width", "64"], capsys, monkeypatch)
    assert code == 0
    payload = json.loads(out)
    verdicts = {k: v["verdict"] for k, v in payload["init_check"]["schemes"].items()}
    assert verdicts["zeros"] == "symmetric"
    assert verdicts["normal(std=0.01)"] == "vanishing"
    assert verdicts["xavier_normal"] == "healthy"
    assert verdicts["normal(std=1.0)"] == "exploding"
    assert len(payload["init_check"]["schemes"]["he_normal"]["layers"]) == 6
    assert payload["seed_example"]["tables"]["l1"][4]["theta"][1] == 0.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["seed-example", "--lambda", "-1"],
            "Error: The 'strength' parameter of seed_example must be a float >= 0. Got -1.0.",
        ),
        (
            ["seed-example", "--l1-rule", "lasso"],
            "Error: The 'l1_rule' parameter of seed_example must be one of 'subgradient', 'clip', 'proximal'. Got 'lasso'.",
        ),
        (
            ["seed-example", "--lr", "nan"],
            "Error: The 'lr' parameter of seed_example must be a float > 0. Got nan.",
        ),
        (
            ["demo", "--activation", "relu6"],
            "Error: The 'activation' parameter of mlp must be one of 'linear', 'relu', 'tanh', 'sigmoid', 'leaky_relu', 'selu', 'gelu', 'silu'. Got 'relu6'.",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run(args, capsys, monkeypatch)
    assert code == 2
    assert err.strip() == message
    assert "Traceback" not in err and out == ""


def test_wrong_option_type_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(["seed-example", "--steps", "many"], capsys, monkeypatch)
    assert code == 2 and "many" in err and "Traceback" not in err


def test_console_script_runs_as_a_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "weightlab.cli", "seed-example", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["tables"]["l1"][4]["seed"] == [0.95, 0.0]
