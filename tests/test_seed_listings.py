"""Seed 001's code listings, made runnable in examples/: each script runs as a user runs
it, prints one line per model, every model learns the digits, and each weightlab version
reaches the accuracy of the listing it rewrites."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

LINE = re.compile(
    r"^(?P<label>(?:listing|weightlab)\[[\w+]+\]): "
    r"train_loss (?P<train_loss>\d+\.\d{4}) train_acc (?P<train_acc>\d+\.\d{4}) "
    r"val_loss (?P<val_loss>\d+\.\d{4}) val_acc (?P<val_acc>\d+\.\d{4})$"
)

# Ten balanced classes: guessing gives accuracy 0.1 and cross-entropy ln 10 ≈ 2.30.
# Every model here reaches 0.91 or more validation accuracy and 0.55 or less loss.
MIN_VAL_ACC = 0.85
MAX_VAL_LOSS = 1.0
# A weightlab version trains the listing's model with a different init (and, for
# dropout, the classic rule); the runs differ by 0.02 at most.
MAX_ACC_GAP = 0.05


@dataclass(frozen=True)
class Case:
    script: str
    pairs: tuple[tuple[str, str], ...]  # (listing, weightlab version of it)
    extra: tuple[str, ...] = ()  # weightlab runs with no listing counterpart

    @property
    def labels(self) -> set[str]:
        return {label for pair in self.pairs for label in pair} | set(self.extra)


CASES = [
    Case(
        "seed_keras.py",
        (("listing[l2]", "weightlab[l2]"), ("listing[dropout]", "weightlab[dropout]")),
        ("weightlab[adamw]",),
    ),
    Case(
        "seed_torch.py",
        (("listing[adamw]", "weightlab[adamw]"), ("listing[dropout]", "weightlab[dropout]")),
    ),
    Case(
        "seed_mlx.py",
        (("listing[adamw+dropout]", "weightlab[adamw+dropout]"),),
        ("weightlab[l2+dropout]",),
    ),
]


def run_script(script: str) -> dict[str, dict[str, float]]:
    """Run ``python examples/<script>`` and parse its result lines."""
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results: dict[str, dict[str, float]] = {}
    for line in done.stdout.splitlines():
        match = LINE.match(line)
        if match:
            values = match.groupdict()
            label = values.pop("label")
            assert label not in results, f"{label} printed twice"
            results[label] = {key: float(value) for key, value in values.items()}
    return results


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[case.script for case in CASES])
def test_listing_and_weightlab_version_both_learn(case: Case) -> None:
    results = run_script(case.script)

    assert set(results) == case.labels
    for label, metrics in results.items():
        assert all(math.isfinite(v) for v in metrics.values()), label
        assert metrics["val_acc"] >= MIN_VAL_ACC, (label, metrics)
        assert metrics["val_loss"] <= MAX_VAL_LOSS, (label, metrics)
        assert metrics["train_acc"] >= MIN_VAL_ACC, (label, metrics)
    for listing, version in case.pairs:
        gap = abs(results[listing]["val_acc"] - results[version]["val_acc"])
        assert gap <= MAX_ACC_GAP, (listing, version, gap)
