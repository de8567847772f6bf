"""The README's Python examples run, and print what the README says they print."""

from __future__ import annotations

from pathlib import Path

from doc_blocks import check_python_blocks
from weightlab.regularize import REGISTRY

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_print_the_shown_output() -> None:
    before = dict(REGISTRY)
    try:
        assert check_python_blocks(README) >= 3
    finally:  # the README registers a term of its own ("add your own regularizer")
        added = set(REGISTRY) - set(before)
        for name in added:
            del REGISTRY[name]
    assert added == {"group_lasso"}
