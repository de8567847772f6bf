"""The maths sits below the report and the lab: importing it loads neither, nor
matplotlib."""

from __future__ import annotations

import subprocess
import sys


def test_landscape_imports_no_outer_layer():
    code = (
        "import sys, weightlab.landscape\n"
        "loaded = [m for m in sys.modules if m.startswith(('weightlab.report', "
        "'weightlab.lab', 'weightlab.cli', 'matplotlib'))]\n"
        "print(loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
