"""docs/theory.md's Python examples run and print what the page says they print."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from doc_blocks import check_python_blocks
from weightlab import cli
from weightlab.cli import common

DOC = Path(__file__).resolve().parents[2] / "docs" / "theory.md"


def test_theory_page_python_blocks_print_the_shown_output() -> None:
    assert check_python_blocks(DOC) == 2


def _console_blocks() -> dict[str, str]:
    """The page's ``console`` blocks by command: ``$ weightlab theory phase ...`` → output."""
    text = DOC.read_text(encoding="utf-8")
    blocks = {}
    for block in re.findall(r"```console\n(.*?)```", text, re.DOTALL):
        command, _, output = block.partition("\n")
        blocks[command.removeprefix("$ ")] = output.rstrip("\n")
    return blocks


@pytest.mark.slow
@pytest.mark.parametrize(
    "command", ["weightlab theory phase --out docs", "weightlab theory spectrum --out docs"]
)
def test_the_page_shows_the_commands_real_output(
    command: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown = _console_blocks()[command]
    monkeypatch.setattr(common.out, "width", 80)
    args = command.split()[1:]
    args[args.index("docs")] = str(tmp_path)  # the page's figures stay as they are
    try:
        cli.main(args)
    except SystemExit as exit_:
        assert not exit_.code
    out = capsys.readouterr().out.replace(str(tmp_path), "docs")
    assert [line.rstrip() for line in out.rstrip("\n").splitlines()] == shown.splitlines()
