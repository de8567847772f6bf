"""The README's Python examples run, and print what the README says they print."""

from __future__ import annotations

from pathlib import Path

from doc_blocks import check_python_blocks

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_print_the_shown_output() -> None:
    assert check_python_blocks(README) >= 1
