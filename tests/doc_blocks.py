"""Run a Markdown document's Python blocks in order and compare what each prints with
the ``text`` block right after it (its shown output)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def check_python_blocks(path: Path) -> int:
    """Execute every ``python`` block of ``path`` in one namespace; assert that each one
    followed directly by a ``text`` block prints exactly that text.  Returns how many
    outputs were compared."""
    text = path.read_text(encoding="utf-8")
    blocks = list(BLOCK.finditer(text))
    namespace: dict[str, object] = {}
    checked = 0
    for i, block in enumerate(blocks):
        if block.group(1) != "python":
            continue
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compile(block.group(2), f"{path.name} block {i}", "exec"), namespace)
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        # A text block right after a Python block is that block's output.
        if (
            following
            and following.group(1) == "text"
            and not text[block.end() : following.start()].strip()
        ):
            assert buffer.getvalue().strip() == following.group(2).strip(), f"block {i}"
            checked += 1
    return checked
