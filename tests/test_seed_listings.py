"""Seed 001's code listings, made runnable in examples/: each script runs as a user runs
it, prints one line per model, every model learns the digits, and each weightlab version
reaches the accuracy of the listing it rewrites.  The Keras listings are TensorFlow code:
they run on TensorFlow where it is installed, and on Keras' torch backend, with a note,
where it is not."""

from __future__ import annotations

import importlib.util
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


# Run a script as __main__ with TensorFlow hidden, as on a machine without it.
WITHOUT_TENSORFLOW = (
    "import runpy, sys; sys.modules['tensorflow'] = None; sys.argv = sys.argv[1:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def run_script(
    script: str, *, hide_tensorflow: bool = False
) -> tuple[str, dict[str, dict[str, float]]]:
    """Run ``python examples/<script>`` (the suite's KERAS_BACKEND=torch left in place, as
    a user's setting would be) and parse its result lines; also return its output."""
    path = str(EXAMPLES / script)
    command = (
        [sys.executable, "-c", WITHOUT_TENSORFLOW, path]
        if hide_tensorflow
        else [sys.executable, path]
    )
    env = {**os.environ, "KERAS_BACKEND": "torch", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=env, check=False
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
    return done.stdout, results


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[case.script for case in CASES])
def test_listing_and_weightlab_version_both_learn(case: Case) -> None:
    output, results = run_script(case.script)
    _check(case, results)
    if case.script == "seed_keras.py":
        # The TensorFlow listings run on TensorFlow, as printed, where it is installed.
        backend = "tensorflow" if importlib.util.find_spec("tensorflow") else "torch"
        assert output.splitlines()[-1].startswith(f"keras {_keras_version()} on {backend} ")
        if backend == "tensorflow":
            assert ", 10 epochs each," in output.splitlines()[-1]  # as printed
            assert "Epoch 10/10" in output  # the listings' own fit, verbose as printed
            for label in ("listing[l2]", "listing[dropout]"):
                assert results[label]["val_acc"] > 0.9, (label, results[label])


@pytest.mark.slow
def test_keras_listings_fall_back_to_the_torch_backend_with_a_note() -> None:
    output, results = run_script("seed_keras.py", hide_tensorflow=True)
    lines = output.splitlines()
    assert lines[0].startswith("Note: TensorFlow is not installed (pip install tensorflow)")
    assert lines[-1].startswith(f"keras {_keras_version()} on torch ")
    assert ", 5 epochs each," in lines[-1]
    _check(CASES[0], results)


def _keras_version() -> str:
    from importlib.metadata import version

    return version("keras")


def _check(case: Case, results: dict[str, dict[str, float]]) -> None:
    assert set(results) == case.labels
    for label, metrics in results.items():
        assert all(math.isfinite(v) for v in metrics.values()), label
        assert metrics["val_acc"] >= MIN_VAL_ACC, (label, metrics)
        assert metrics["val_loss"] <= MAX_VAL_LOSS, (label, metrics)
        assert metrics["train_acc"] >= MIN_VAL_ACC, (label, metrics)
    for listing, version in case.pairs:
        gap = abs(results[listing]["val_acc"] - results[version]["val_acc"])
        assert gap <= MAX_ACC_GAP, (listing, version, gap)
