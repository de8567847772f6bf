"""The CLI's answers to file-system and decoding errors, missing packages and oversized
counts: one line on stderr and exit code 2, never a traceback; and the long phases say
what they are doing."""

from __future__ import annotations

import io
import sys
import typing
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pytest
from rich.console import Console

from weightlab import cli
from weightlab._optional import MissingExtraError
from weightlab.cli import common
from weightlab.store import Store
from weightlab.sweep import load_spec
from weightlab.sweep.runner import run_sweep

TINY_SPEC = """\
name: tiny
dataset: {name: circle, n_samples: 40}
model: {arch: mlp, hidden: [4]}
train: {steps: 4, eval_every: 2}
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        cli.main(args)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def refused(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a refused command prints (and that it printed nothing else)."""
    code, out, err = run(args, capsys)
    assert (code, out) == (2, ""), err
    assert err.count("\n") == 1 and err.startswith("Error: "), err
    return err.strip()


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder\n")
    return path


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("store")
    spec = tmp_path_factory.mktemp("spec") / "tiny.yaml"
    spec.write_text(TINY_SPEC)
    run_sweep(load_spec(spec), Store(directory), backend="inprocess")
    return directory


# -- output paths --------------------------------------------------------------------------


def test_inspect_out_must_be_a_folder(a_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert refused(["inspect", "--depth", "1", "--width", "4", "--out", str(a_file)], capsys) == (
        f"Error: The 'out' parameter of inspect must be a folder that can be written (it is a "
        f"file). Got '{a_file}'."
    )


def test_inspect_out_below_a_file_cannot_be_made(
    a_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    below = a_file / "figures"
    assert refused(["inspect", "--depth", "1", "--width", "4", "--out", str(below)], capsys) == (
        f"Error: The 'out' parameter of inspect must be a folder that can be created (Not a "
        f"directory). Got '{below}'."
    )


def test_report_out_must_be_a_folder(
    store_dir: Path, a_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert refused(["report", "--store", str(store_dir), "--out", str(a_file)], capsys) == (
        f"Error: The 'out' parameter of report must be a folder that can be written (it is a "
        f"file). Got '{a_file}'."
    )


def test_demo_checks_its_folders_before_any_work(
    a_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = refused(["demo", "--depth", "2", "--width", "8", "--out", str(a_file)], capsys)
    assert message == (
        f"Error: The 'out' parameter of demo must be a folder that can be written (it is a "
        f"file). Got '{a_file}'."
    )
    message = refused(["demo", "--depth", "2", "--width", "8", "--store", str(a_file)], capsys)
    assert message.startswith("Error: The 'store' parameter of demo must be a folder")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("passwd", "a file name ending in .png or .svg"),
        ("figure.pdf", "a file name ending in .png or .svg"),
        ("folder.png", "a file, not a folder"),
    ],
)
def test_figure_out_must_be_a_png_or_svg_file(
    tmp_path: Path, name: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "folder.png").mkdir()
    target = tmp_path / name
    assert refused(["figure", "landscape", "--out", str(target)], capsys) == (
        f"Error: The 'out' parameter of figure must be {expected}. Got '{target}'."
    )


# -- reading files -------------------------------------------------------------------------


def test_a_spec_of_random_bytes_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "noise.yaml"
    spec.write_bytes(bytes(range(128, 256)) * 20)
    assert refused(["run", str(spec)], capsys) == (
        f"Error: The 'spec' parameter of run must be a UTF-8 text file (byte 0 is not UTF-8). "
        f"Got '{spec}'."
    )


def test_inputs_that_are_not_a_tensor_file_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "inputs.npy"
    bad.write_bytes(b"\x93NUMPY garbage")
    message = refused(["inspect", "--inputs", str(bad), "--no-figures"], capsys)
    assert message.startswith(
        "Error: The 'inputs' parameter of inspect must be a readable .npy file of inputs "
        "(ValueError: "
    )
    assert message.endswith(f"Got '{bad}'.")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            OSError(28, "No space left on device", "/full/report.html"),
            "Error: Cannot use '/full/report.html': No space left on device.",
        ),
        (
            FileExistsError(17, "File exists", "/etc/passwd"),
            "Error: Cannot use '/etc/passwd': File exists.",
        ),
        (
            UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
            "Error: A file is not UTF-8 text (byte 0: invalid start byte).",
        ),
        (
            MissingExtraError(
                "Keras initializers need the optional package 'keras', which is not "
                "installed. Install it with: pip install 'weightlab[keras]'"
            ),
            "Error: Keras initializers need the optional package 'keras', which is not "
            "installed. Install it with: pip install 'weightlab[keras]'",
        ),
    ],
)
def test_file_decoding_and_package_errors_anywhere_are_one_line(
    store_dir: Path,
    tmp_path: Path,
    error: Exception,
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fails(*_args: Any, **_kwargs: Any) -> None:
        raise error

    monkeypatch.setattr("weightlab.cli.report.build_report", fails)
    args = ["report", "--store", str(store_dir), "--out", str(tmp_path / "r")]
    assert refused(args, capsys) == message


def test_the_lab_without_its_packages_is_one_line_with_the_pip_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if it were not installed
    assert refused(["lab", "--port", "0"], capsys) == (
        "Error: The browser lab's server and charts need the optional package 'fastapi', "
        "which is not installed. Install it with: pip install 'weightlab[lab]'"
    )


def test_the_lab_is_part_of_the_default_install() -> None:
    import tomllib

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    needed = {d.split(">")[0] for d in project["project"]["dependencies"]}
    assert {"fastapi", "uvicorn", "plotly"} <= needed
    assert project["project"]["optional-dependencies"]["lab"] == []


# -- counts --------------------------------------------------------------------------------


def _int_options() -> list[tuple[str, str]]:
    """(command, --option) for every int option of every registered command."""
    found = []
    for info in cli.app.registered_commands:
        callback = info.callback
        assert callback is not None
        hints = typing.get_type_hints(callback, include_extras=True)
        for name, hint in hints.items():
            if typing.get_origin(hint) is not Annotated:
                continue
            base, *meta = typing.get_args(hint)
            if int not in (base, *typing.get_args(base)):
                continue
            decls = [d for m in meta for d in (getattr(m, "param_decls", None) or ())]
            option = decls[0] if decls else "--" + name.replace("_", "-")
            found.append((info.name or callback.__name__, option))
    return sorted(found)


def test_every_count_option_is_found() -> None:
    options = _int_options()
    assert ("figure", "--steps") in options and ("inspect", "--batch") in options
    assert len(options) >= 12


@pytest.mark.parametrize(("command", "option"), _int_options())
def test_every_count_option_has_an_upper_limit(
    command: str, option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC)
    before = {"run": [str(spec)], "figure": ["agreement", "--setting", "torch:SGD(lr=0.1)"]}
    message = refused([command, *before.get(command, []), option, str(10**30)], capsys)
    assert "1000000000000000000000000000000" in message  # the value is named


def test_agreement_steps_are_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["figure", "agreement", "--setting", "torch:SGD(lr=0.1)", "--steps", "100000000"]
    assert refused(args, capsys) == (
        "Error: The 'steps' parameter of figure must be an int <= 10000. Got 100000000."
    )


# -- what long phases show -----------------------------------------------------------------


def test_figure_shows_what_it_is_doing_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(common, "err", Console(file=screen, force_terminal=True, width=100))
    code, out, _ = run(["figure", "landscape", "--out", str(tmp_path / "l.png")], capsys)
    assert code == 0 and "Wrote" in out
    shown = screen.getvalue()
    assert "Computing the loss landscape and the descent path" in shown
    assert "Saving " in shown


def test_the_report_says_which_sweep_and_figure_it_is_on(store_dir: Path, tmp_path: Path) -> None:
    from weightlab.report import build_report

    said: list[str] = []
    build_report(Store(store_dir), tmp_path / "report", progress=said.append)
    assert said[0] == "tiny (1/1): reading its runs and drawing its figures"
    assert any(s.startswith("tiny (1/1): saving ") for s in said)
    assert said[-1] == "writing report.html and final_metrics.csv"


def test_json_output_shows_no_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(common, "err", Console(file=screen, force_terminal=True, width=100))
    code, _, _ = run(["figure", "landscape", "--out", str(tmp_path / "l.png"), "--json"], capsys)
    assert code == 0 and screen.getvalue() == ""


def test_npy_inputs_still_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "x.npy"
    np.save(good, np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32))
    code, _, err = run(
        ["inspect", "--inputs", str(good), "--depth", "1", "--width", "4", "--no-figures"], capsys
    )
    assert code == 0, err
