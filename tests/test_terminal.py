"""What the terminal shows: no text lost to Rich markup in help or tables, whole
sentences, and tables readable at 80 columns (folded or abbreviated with a legend,
never every column cut)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from rich.console import Console
from rich.text import Text
from typer.main import get_command

from weightlab import cli
from weightlab.cli import common
from weightlab.cli.schemes import first_sentence
from weightlab.cli.tables import fit_table


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = 0
    try:
        cli.main(args)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    return code, capsys.readouterr().out


@pytest.fixture(autouse=True)
def eighty_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common.out, "width", 80)


def _helps() -> Iterator[tuple[str, str]]:
    def walk(command: object, path: str) -> Iterator[tuple[str, str]]:
        yield path, getattr(command, "help", None) or ""
        for param in getattr(command, "params", []):
            yield f"{path} {param.name}", getattr(param, "help", None) or ""
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    yield from walk(get_command(cli.app), "weightlab")


@pytest.mark.parametrize(("where", "text"), list(_helps()), ids=[w for w, _ in _helps()])
def test_no_help_text_is_lost_to_markup(where: str, text: str) -> None:
    # Help is Rich markup: a bracket that is meant to show must be escaped.
    assert Text.from_markup(text).plain == text.replace("\\[", "["), where


def test_run_help_shows_the_pip_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["run", "--help"], capsys)
    assert code == 0 and "'weightlab[ray]'" in " ".join(out.split())


def test_schemes_show_brackets_and_whole_sentences(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["schemes"], capsys)
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0
    assert "[a, b]" in flat and "[out, rest]" in flat and "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    _, raw = run(["schemes", "--json"], capsys)
    for row in json.loads(raw):
        summary = row["summary"]
        assert summary.endswith((".", ")")) and "``" not in summary, row["name"]
    truncated = next(r for r in json.loads(raw) if r["name"] == "truncated_normal")
    assert truncated["summary"] == (
        "N(mean, std²) redrawn into [a, b] (absolute bounds, as in "
        "torch.nn.init.trunc_normal_); requires a < b."
    )


def test_first_sentences_join_lines_and_stop_at_the_sentence() -> None:
    doc = """LeCun normal: ``N(0, gain² / fan_in)`` (LeCun, Bottou, Orr & Müller 1998,
    "Efficient BackProp").  Plain normal; Keras' LecunNormal is truncated."""
    assert first_sentence(doc) == (
        "LeCun normal: N(0, gain² / fan_in) (LeCun, Bottou, Orr & Müller 1998, "
        '"Efficient BackProp").'
    )
    assert first_sentence("He et al. 2015 showed it. Then more.") == "He et al. 2015 showed it."


def test_a_comparison_with_long_specs_keeps_its_flags_at_80_columns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    long_spec = "variance_scaling(scale=2.0,mode=fan_avg,distribution=truncated_normal)"
    args = ["inspect", "--depth", "2", "--width", "16", "--no-figures"]
    code, out = run([*args, "--compare", f"normal(std=0.01),{long_spec}"], capsys)
    assert code == 0
    table = out.split("L1, ")[0]
    assert "flags" in table and "vanishing" in table and "…" not in table
    assert max(len(line) for line in table.splitlines()) <= 80
    assert long_spec in "".join(line[:20].strip() for line in table.splitlines())


ROWS = [
    [
        "l1-feature-selection",
        init,
        reg,
        "0.001",
        str(seed),
        "done",
        "0.804",
        "0.44",
        "0.0582",
        "0",
        "0.015",
    ]
    for init in ("xavier_normal", "he_normal(mode='fan_out')")
    for reg in ("l1(0.0001, rule=proximal)", "l2(0.001)+dropout(0.3)")
    for seed in (0, 1)
]
HEADER = ["sweep", "init", "regularization", "lr", "seed", "status"]
HEADER += ["val_loss", "val_acc", "gap", "zeros", "s"]


def _render(table: object, width: int = 80) -> str:
    screen = io.StringIO()
    Console(file=screen, width=width).print(table)
    return screen.getvalue()


def test_a_wide_table_is_abbreviated_with_a_legend_not_cut() -> None:
    # The settings that vary, as `weightlab runs` shows them, then the final metrics.
    table, legend = fit_table(HEADER[1:], [r[1:] for r in ROWS], labels=5, width=80)
    shown = _render(table)
    assert "…" not in shown and max(len(line) for line in shown.splitlines()) <= 80
    assert sorted(legend) == [
        "I1  init = xavier_normal",
        "I2  init = he_normal(mode='fan_out')",
        "R1  regularization = l1(0.0001, rule=proximal)",
        "R2  regularization = l2(0.001)+dropout(0.3)",
    ]
    header = shown.splitlines()[1].split()
    assert header == ["init", "regul.", "lr", "seed", "status", *HEADER[6:]]
    assert shown.count("0.0582") == len(ROWS) and shown.count("I2    R1") == 2


def test_an_even_wider_table_folds_rather_than_cuts() -> None:
    table, legend = fit_table(HEADER, ROWS, labels=6, width=80)
    shown = _render(table)
    assert "…" not in shown and "S1  sweep = l1-feature-selection" in legend
    assert shown.count("0.0582") == len(ROWS)


def test_a_table_that_fits_is_left_alone() -> None:
    rows = [["he_normal", "none", "0.5"], ["zeros", "l2(0.01)", "2.3"]]
    table, legend = fit_table(["init", "regularization", "val_loss"], rows, labels=2, width=80)
    assert legend == []
    assert "he_normal" in _render(table) and "l2(0.01)" in _render(table)


def test_short_labels_are_never_abbreviated() -> None:
    rows = [["0.001", "0", "done", *["123456789"] * 12]]
    header = ["lr", "seed", "status", *[f"metric{i}" for i in range(12)]]
    table, legend = fit_table(header, rows, labels=3, width=80)
    assert legend == []
    assert "…" not in _render(table)  # too many numbers for 80 columns: they fold


def test_cells_are_not_markup() -> None:
    table, _ = fit_table(["init"], [["[bold]x[/bold] in [a, b]"]], labels=1, width=80)
    assert "[bold]x[/bold] in [a, b]" in _render(table)
