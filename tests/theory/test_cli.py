"""``weightlab theory phase`` and ``weightlab theory spectrum``: numbers, figures, help
and one-line errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from weightlab import cli


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


@pytest.mark.parametrize("command", [["theory"], ["theory", "phase"], ["theory", "spectrum"]])
def test_help(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run([*command, "--help"], capsys, monkeypatch)
    assert code == 0 and "Usage: weightlab theory" in out
    if len(command) == 2:
        assert "--json" in out and "--out" in out


def test_phase_json_holds_the_schemes_and_the_critical_point(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        ["theory", "phase", "--grid", "6", "--width", "100", "--json"], capsys, monkeypatch
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["critical_sigma_w2_at_zero_bias"] == pytest.approx(1.0, abs=1e-6)
    schemes = {p["scheme"]: p for p in payload["schemes"]}
    assert schemes["xavier_fan_in"]["phase"] == "critical"
    assert schemes["he_normal"]["phase"] == "chaotic"  # He is for ReLU: chaotic for tanh
    assert schemes["normal(std=0.01)"]["sigma_w2"] == pytest.approx(100 * 1e-4)
    assert schemes["normal(std=1.0)"]["sigma_w2"] == pytest.approx(100.0)
    assert {"q_star", "c_star", "chi1", "xi_c"} <= set(schemes["he_normal"])
    assert payload["files"] == []


def test_phase_table_and_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        ["theory", "phase", "--activation", "relu", "--grid", "6", "--out", str(tmp_path)],
        capsys,
        monkeypatch,
    )
    assert code == 0
    assert "relu: critical σ_w² = 2 at σ_b² = 0" in out
    assert "he_normal" in out and "critical" in out
    png = tmp_path / "theory-phase.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"Wrote {png}" in out


def test_spectrum_json(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    args = [
        "theory",
        "spectrum",
        "--activation",
        "linear",
        "--sigma-b2",
        "0",
        "--depths",
        "3,1",
        "--width",
        "16",
        "--inputs",
        "1",
        "--json",
    ]
    code, out, _ = run(args, capsys, monkeypatch)
    assert code == 0
    (study,) = json.loads(out)["studies"]
    assert study["sigma_w2"] == pytest.approx(1.0)  # the critical value of a linear network
    rows = {(r["weights"], r["depth"]): r for r in study["rows"]}
    assert set(rows) == {(w, d) for w in ("gaussian", "orthogonal") for d in (1, 3)}
    assert rows[("orthogonal", 3)]["std_log"] == pytest.approx(0.0, abs=1e-12)


def test_spectrum_table_and_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = [
        "theory",
        "spectrum",
        "--depths",
        "2,4",
        "--width",
        "16",
        "--inputs",
        "1",
        "--out",
        str(tmp_path),
    ]
    code, out, _ = run(args, capsys, monkeypatch)
    assert code == 0
    assert "tanh: σ_w² = " in out and "relu: σ_w² = 2" in out and "orthogonal" in out
    assert (tmp_path / "theory-spectrum.png").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["phase", "--grid", "3"],
            "Error: The 'grid' parameter of theory phase must be an int in [4, 256]. Got 3.",
        ),
        (
            ["phase", "--grid", str(10**30)],
            "Error: The 'grid' parameter of theory phase must be an int in [4, 256]. Got 1000000000000000000000000000000.",
        ),
        (
            ["phase", "--sigma-w2-max", "0"],
            "Error: The 'sigma_w2_max' parameter of theory phase must be a float in (0, 100]. Got 0.0.",
        ),
        (
            ["phase", "--sigma-b2-max", "nan"],
            "Error: The 'sigma_b2_max' parameter of theory phase must be a float in (0, 10]. Got nan.",
        ),
        (
            ["phase", "--width", "0"],
            "Error: The 'width' parameter of theory phase must be an int in [1, 100000]. Got 0.",
        ),
        (
            ["spectrum", "--depths", "4,0"],
            "Error: The 'depths' parameter of theory spectrum must be comma-separated ints in [1, 256]. Got '4,0'.",
        ),
        (
            ["spectrum", "--depths", ","],
            "Error: The 'depths' parameter of theory spectrum must be comma-separated ints in [1, 256]. Got ','.",
        ),
        (
            ["spectrum", "--width", "2000"],
            "Error: The 'width' parameter of theory spectrum must be an int in [2, 1024]. Got 2000.",
        ),
        (
            ["spectrum", "--inputs", "0"],
            "Error: The 'inputs' parameter of theory spectrum must be an int in [1, 64]. Got 0.",
        ),
        (
            ["spectrum", "--sigma-w2", "-1"],
            "Error: The 'sigma_w2' parameter of theory spectrum must be a float in (0, 100]. Got -1.0.",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run(["theory", *args], capsys, monkeypatch)
    assert code == 2 and out == ""
    assert err.strip() == message


def test_unknown_activation_lists_the_registry(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(["theory", "spectrum", "--activation", "tanh,swish"], capsys, monkeypatch)
    assert code == 2
    assert err.startswith(
        "Error: The 'activation' parameter of theory spectrum must be one of 'linear', 'relu', 'tanh'"
    )
    assert err.strip().endswith("Got 'swish'.")
