"""The command line: help everywhere, --json output, exit code 2 with one line on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

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


COMMANDS = sorted(c.name or c.callback.__name__ for c in cli.app.registered_commands if c.callback)
# Commands that print no results (a server) have no --json.
NO_JSON = {"lab"}


def test_the_commands_are_all_there() -> None:
    expected = {"demo", "seed-example", "schemes", "inspect", "run", "runs", "report", "figure"}
    assert expected | {"translate", "lab"} <= set(COMMANDS)


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_every_command_has_help(
    command: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run([*command, "--help"], capsys, monkeypatch)
    assert code == 0
    assert "Usage: weightlab" in out and "--help" in out
    if command and command[0] not in NO_JSON:
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
    code, out, _ = run(
        ["demo", "--json", "--depth", "6", "--width", "64", "--no-train"], capsys, monkeypatch
    )
    assert code == 0
    payload = json.loads(out)
    schemes = payload["init_check"]["schemes"]
    kinds = {k: {f["kind"] for f in v["flags"]} for k, v in schemes.items()}
    assert "symmetry" in kinds["zeros"]
    assert "vanishing_forward" in kinds["normal(std=0.01)"]
    assert kinds["xavier_normal"] == set() and kinds["lsuv"] == set()
    assert "saturation" in kinds["normal(std=1.0)"]
    assert len(schemes["he_normal"]["layers"]) == 7
    assert payload["seed_example"]["tables"]["l1"][4]["theta"][1] == 0.0


def test_inspect_single_scheme_json(
    tmp_path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    args = [
        "inspect",
        "--depth",
        "4",
        "--width",
        "32",
        "--activation",
        "relu",
        "--init",
        "he_normal",
        "--out",
        str(tmp_path),
        "--json",
    ]
    code, out, _ = run(args, capsys, monkeypatch)
    assert code == 0
    payload = json.loads(out)
    layers = payload["schemes"]["he_normal"]["layers"]
    assert [row["activation"] for row in layers] == ["relu"] * 4 + ["linear"]
    assert payload["schemes"]["he_normal"]["recommendation"]["scheme"] == "he_normal"
    assert sorted(Path(p).name for p in payload["figures"]) == [
        "activation_histograms.png",
        "variance_vs_depth.png",
    ]
    assert all(Path(p).stat().st_size > 5000 for p in payload["figures"])


def test_inspect_table_and_compare(
    tmp_path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(
        ["inspect", "--depth", "3", "--width", "16", "--no-figures"], capsys, monkeypatch
    )
    assert (
        code == 0
        and "he_normal: per-layer statistics" in out
        and "Recommendation: he_normal" in out
    )
    args = [
        "inspect",
        "--depth",
        "3",
        "--width",
        "16",
        "--activation",
        "tanh",
        "--compare",
        "zeros,normal(mean=0.0, std=0.01),xavier_normal",
        "--out",
        str(tmp_path),
    ]
    code, out, _ = run(args, capsys, monkeypatch)
    assert code == 0 and "normal(mean=0.0, std=0.01): Var(z) falls" in out
    assert (
        "zeros: Every layer's weight gradient is exactly zero.; Layer 0 has 1 distinct unit(s) out of 16"
        in out
    )
    assert (tmp_path / "activation_histograms.png").exists()


def test_inspect_user_model_by_import_path(
    tmp_path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "wl_cli_models.py").write_text(
        "from torch import nn\n\ndef net():\n    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.Tanh(), nn.Flatten(), nn.Linear(8 * 6 * 6, 5))\n"
    )
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(
        [
            "inspect",
            "--model",
            "wl_cli_models:net",
            "--input-shape",
            "3,8,8",
            "--no-figures",
            "--json",
        ],
        capsys,
        monkeypatch,
    )
    assert code == 0
    layers = json.loads(out)["schemes"]["he_normal"]["layers"]
    assert [row["fan_in"] for row in layers] == [27, 288]
    assert layers[0]["activation"] == "tanh"


def test_inspect_inputs_from_a_file(
    tmp_path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    data = torch.full((50, 8), 3.0)
    torch.save(data, tmp_path / "x.pt")
    code, out, _ = run(
        [
            "inspect",
            "--depth",
            "2",
            "--width",
            "8",
            "--inputs",
            str(tmp_path / "x.pt"),
            "--no-figures",
            "--json",
        ],
        capsys,
        monkeypatch,
    )
    assert code == 0
    assert json.loads(out)["schemes"]["he_normal"]["input_sq"] == pytest.approx(9.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["inspect", "--arch", "rnn"],
            "Error: The 'arch' parameter of inspect must be one of 'mlp', 'cnn'. Got 'rnn'.",
        ),
        (
            ["inspect", "--model", "wl_nowhere:f", "--input-shape", "3"],
            "Error: The 'model' parameter of load_model must be an importable module (ModuleNotFoundError: No module named 'wl_nowhere'). Got 'wl_nowhere:f'.",
        ),
        (
            ["inspect", "--model", "torch.nn:Identity"],
            "Error: The 'input_shape' parameter of inspect must be given with --model (e.g. 3,32,32). Got None.",
        ),
        (
            ["inspect", "--arch", "mlp", "--input-shape", "3,8,8"],
            "Error: The 'input_shape' parameter of inspect must be one dimension (features) for --arch mlp. Got (3, 8, 8).",
        ),
        (
            ["inspect", "--init", "he_normla"],
            "Error: The 'init' parameter of inspect must be one of 'variance_scaling', 'zeros', 'constant', 'normal', 'uniform', 'truncated_normal', 'xavier_normal', 'xavier_uniform', 'he_normal', 'he_uniform', 'lecun_normal', 'lecun_uniform', 'xavier_fan_in', 'orthogonal', 'lsuv'. Got 'he_normla'.",
        ),
        (
            ["inspect", "--inputs", "missing.npy"],
            "Error: The 'inputs' parameter of inspect must be 'noise', a dataset name, or an existing .pt or .npy file. Got 'missing.npy'.",
        ),
        (
            ["inspect", "--depth", "0"],
            "Error: The 'depth' parameter of inspect must be an int in [1, 1000]. Got 0.",
        ),
    ],
)
def test_inspect_bad_input_exits_2_with_one_line(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run(args, capsys, monkeypatch)
    assert code == 2
    assert err.strip() == message
    assert out == ""


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
            "Error: The 'activation' parameter of demo must be one of 'linear', 'relu', 'tanh', 'sigmoid', 'leaky_relu', 'selu', 'gelu', 'silu'. Got 'relu6'.",
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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["seed-example", "--steps", "many"],
            "Error: Invalid value for '--steps': Input should be a valid integer, unable to parse string as an integer. Got 'many'. See 'weightlab seed-example --help'.",
        ),
        (
            ["demo", "--seed", "99999999999999999999"],
            "Error: Invalid value for '--seed': Input should be less than or equal to 9223372036854775807. Got '99999999999999999999'. See 'weightlab demo --help'.",
        ),
        (
            ["inspect", "--bogus"],
            "Error: No such option: --bogus (Possible options: --figures, --no-figures, --out). See 'weightlab inspect --help'.",
        ),
        (["nosuch"], "Error: No such command 'nosuch'. See 'weightlab --help'."),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run(args, capsys, monkeypatch)
    assert code == 2 and out == ""
    assert err == message + "\n"


def test_json_output_is_strict_even_when_numbers_overflow(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        ["seed-example", "--theta1", "1e300", "--lambda", "1e300", "--alpha", "1e10", "--json"],
        capsys,
        monkeypatch,
    )
    assert code == 0
    payload = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert "inf" in json.dumps(payload["tables"]["l2"]) or "nan" in json.dumps(
        payload["tables"]["l2"]
    )


def test_console_script_runs_as_a_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "weightlab", "seed-example", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["tables"]["l1"][4]["seed"] == [0.95, 0.0]


def test_the_command_leaves_fast_with_its_output_and_exit_code(tmp_path: Path) -> None:
    # entry() skips the interpreter's teardown: the output must be flushed first, and
    # errors keep their exit code and message.
    many = subprocess.run(
        [sys.executable, "-m", "weightlab", "terms", "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert many.returncode == 0, many.stderr
    assert len(json.loads(many.stdout)) >= 5  # every term, the whole JSON document
    bad = subprocess.run(
        [sys.executable, "-m", "weightlab", "run", str(tmp_path / "no.yaml")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.startswith("Error: The 'spec' parameter of run must be an existing")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sets a pipe's size")
def test_a_reader_that_goes_away_stops_the_command_quietly() -> None:
    # weightlab terms | head -1: exit 141 (SIGPIPE's), nothing on stderr.  The pipe holds
    # 4 KiB and the table is larger, so the command is still writing when it closes.
    import fcntl

    # Buffered output as by default (unbuffered, a write cut short by the closed pipe
    # returns its partial count and Python drops the rest without an error).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "weightlab", "terms"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    fcntl.fcntl(proc.stdout.fileno(), 1031, 4096)  # F_SETPIPE_SZ
    assert os.read(proc.stdout.fileno(), 64)  # a little of the first line, as head does
    proc.stdout.close()
    assert proc.wait(120) == 141
    assert proc.stderr.read() == b""


def test_inspect_inputs_from_a_dataset(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        [
            "inspect",
            "--inputs",
            "digits",
            "--depth",
            "2",
            "--width",
            "16",
            "--no-figures",
            "--json",
        ],
        capsys,
        monkeypatch,
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["input_shape"] == [64]
    layers = payload["schemes"]["he_normal"]["layers"]
    assert layers[0]["fan_in"] == 64
    assert payload["schemes"]["he_normal"]["input_sq"] == pytest.approx(
        1.0, abs=0.05
    )  # standardized training inputs


@pytest.mark.slow
def test_demo_trains_stores_reports_and_reuses_runs(tmp_path: Path) -> None:
    args = [
        sys.executable,
        "-m",
        "weightlab",
        "demo",
        "--store",
        str(tmp_path / "runs"),
        "--out",
        str(tmp_path / "report"),
    ]
    first = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    assert first.returncode == 0, first.stderr
    assert "demo-init: 18 trained, 0 reused" in first.stdout
    assert "demo-regularization: 15 trained, 0 reused" in first.stdout
    assert (tmp_path / "report" / "report.html").is_file()
    assert "of weights to exactly zero" in first.stdout and "Report: " in first.stdout
    second = subprocess.run(
        [*args, "--json"], capture_output=True, text=True, timeout=600, check=False
    )
    assert second.returncode == 0, second.stderr
    payload = json.loads(second.stdout)
    assert payload["report"]["html"].endswith("report.html")
    assert set(payload["report"]["captions"]) == {"demo-init", "demo-regularization", "background"}


def test_figure_landscape_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        [
            "figure",
            "landscape",
            "--function",
            "rosenbrock",
            "--penalty",
            "l1",
            "--lam",
            "0.5",
            "--out",
            str(tmp_path / "l.png"),
            "--json",
        ],
        capsys,
        monkeypatch,
    )
    assert code == 0 and json.loads(out)["function"] == "rosenbrock"
    assert (tmp_path / "l.png").stat().st_size > 10_000
    code, out, _ = run(
        ["figure", "path", "--kinds", "l1,l2", "--out", str(tmp_path / "p.svg"), "--json"],
        capsys,
        monkeypatch,
    )
    payload = json.loads(out)
    assert code == 0 and payload["kinds"] == ["l1", "l2"]
    assert (tmp_path / "p.svg").read_text().startswith("<?xml")


def test_figure_rejects_unknown_kinds(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(["figure", "bogus"], capsys, monkeypatch)
    assert (
        code == 2
        and err.strip()
        == "Error: The 'kind' parameter of figure must be one of 'landscape', 'path', 'agreement'. Got 'bogus'."
    )


def test_every_commands_help_is_whole_paragraphs() -> None:
    """Docstring line breaks would show in --help as lines cut mid-sentence."""
    from weightlab.cli import app as cli_app

    def commands(typer_app: Any) -> list[Any]:
        found = list(typer_app.registered_commands)
        for group in typer_app.registered_groups:
            found += commands(group.typer_instance)
        return found

    helps = [c.help for c in commands(cli_app)]
    assert len(helps) >= 15 and all(helps)
    for text in helps:
        assert all("\n" not in block for block in text.split("\n\n")), text


def test_every_command_has_its_module_in_the_table() -> None:
    """A command missing from COMMANDS would be unknown when typed first."""
    from weightlab.cli import COMMANDS, load_commands

    typer_app = load_commands()
    names = {c.name for c in typer_app.registered_commands}
    names |= {g.name for g in typer_app.registered_groups}
    assert names == set(COMMANDS)


def test_run_imports_neither_matplotlib_nor_the_lab() -> None:
    """``weightlab run`` loads its own command only (start-up time of every sweep)."""
    code = (
        "import sys\n"
        "from weightlab.cli import load_commands\n"
        "app = load_commands(['run', 'spec.yaml'])\n"
        "names = {c.name for c in app.registered_commands}\n"
        "heavy = sorted(m for m in ('matplotlib', 'fastapi', 'weightlab.lab') if m in sys.modules)\n"
        "print({'run', 'runs'} <= names, 'demo' in names, heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True False []"
