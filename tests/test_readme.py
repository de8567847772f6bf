"""The README's Python examples run, and print what the README says they print."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def test_readme_python_blocks_print_the_shown_output() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = list(BLOCK.finditer(text))
    namespace: dict[str, object] = {}
    checked = 0
    for i, block in enumerate(blocks):
        if block.group(1) != "python":
            continue
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compile(block.group(2), f"README block {i}", "exec"), namespace)
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        # A text block right after a Python block is that block's output.
        if (
            following
            and following.group(1) == "text"
            and not text[block.end() : following.start()].strip()
        ):
            assert buffer.getvalue().strip() == following.group(2).strip()
            checked += 1
    assert checked >= 1
