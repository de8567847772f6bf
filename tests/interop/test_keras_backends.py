"""weightlab.keras and the translator's Keras checks on every Keras 3 backend.

Keras picks its backend once per process, from ``KERAS_BACKEND``, so this module runs the
Keras suites in child processes, one per backend this process is not on (the suite's own
process runs them on torch): ``tests/interop/test_keras.py`` (every initializer,
regularizer, callback and dropout layer: built, trained, serialized), the Keras cases of
``tests/interop/test_framework_terms.py`` (every registered term) and
``tests/interop/test_equivalence.py`` (the translator's 20-step training checks).  It also
runs ``tests/interop/keras_fingerprint.py`` on all three backends and compares: weightlab's
initializers draw the same numbers everywhere (they draw with torch), Keras' own random
draws are each backend's own (reproducible within one, different across), and training
agrees to float32 rounding.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest

from weightlab._optional import installed
from weightlab.interop.trajectory import KERAS_BACKENDS, current_keras_backend
from weightlab.interop.translate import translate

ROOT = Path(__file__).resolve().parents[2]
FINGERPRINT = Path(__file__).with_name("keras_fingerprint.py")
SUITE = (
    "tests/interop/test_keras.py",
    "tests/interop/test_framework_terms.py",
    "tests/interop/test_equivalence.py",
)
SELECT = "keras or test_equivalence"  # all of test_keras.py and test_equivalence.py
HERE = current_keras_backend()
OTHERS = tuple(b for b in KERAS_BACKENDS if b != HERE)
TIMEOUT = 1200  # seconds for one child on a busy two-core machine

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(installed(b) for b in KERAS_BACKENDS),
        reason="needs tensorflow, jax and torch (pip install -e '.[dev]')",
    ),
]


@dataclass
class Child:
    """A child process writing to files (so that a full pipe never blocks it)."""

    name: str
    process: subprocess.Popen[bytes]
    out: IO[bytes]
    err: IO[bytes]
    started: float
    seconds: float = 0.0

    def finish(self) -> tuple[int, str, str]:
        code = self.process.wait(timeout=TIMEOUT)
        self.seconds = self.seconds or time.perf_counter() - self.started
        texts = []
        for stream in (self.out, self.err):
            stream.seek(0)
            texts.append(stream.read().decode(errors="replace"))
        return code, texts[0], texts[1]


def _start(name: str, args: list[str], backend: str, folder: Path) -> Child:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = (folder / f"{name}.out").open("w+b")
    err = (folder / f"{name}.err").open("w+b")
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=err)
    return Child(name, process, out, err, time.perf_counter())


@pytest.fixture(scope="module")
def children(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Child]]:
    """Every child at once: the suites on the other backends, the fingerprint on all."""
    folder = tmp_path_factory.mktemp("keras-backends")
    suite = ["-m", "pytest", *SUITE, "-k", SELECT, "-m", "not slow", "-q", "-p", "no:cacheprovider"]
    started = {f"suite-{b}": _start(f"suite-{b}", suite, b, folder) for b in OTHERS}
    started |= {
        f"fingerprint-{b}": _start(f"fingerprint-{b}", [str(FINGERPRINT)], b, folder)
        for b in KERAS_BACKENDS
    }
    yield started
    for child in started.values():
        if child.process.poll() is None:
            child.process.kill()
        child.process.wait()
        child.out.close()
        child.err.close()


@pytest.fixture(scope="module")
def prints(children: dict[str, Child]) -> dict[str, dict[str, Any]]:
    """Each backend's fingerprint."""
    found = {}
    for backend in KERAS_BACKENDS:
        code, out, err = children[f"fingerprint-{backend}"].finish()
        assert code == 0, err[-3000:]
        found[backend] = json.loads(out.strip().splitlines()[-1])
        assert found[backend]["backend"] == backend
    return found


SUMMARY = re.compile(r"^(?P<counts>\d+ passed.*) in (?P<seconds>[\d.]+)s", re.M)


@pytest.mark.parametrize("backend", OTHERS)
def test_the_keras_suites_pass_on_every_backend(
    backend: str, children: dict[str, Child], record_property: Any
) -> None:
    child = children[f"suite-{backend}"]
    code, out, err = child.finish()
    assert code == 0, (out + err)[-5000:]
    summary = SUMMARY.search(out)
    assert summary is not None, out[-2000:]
    counts = summary["counts"]
    record_property(f"suite-{backend}", f"{counts} in {summary['seconds']} s")
    print(f"{backend}: {counts} in {summary['seconds']} s ({child.seconds:.0f} s with start-up)")
    passed = int(counts.split()[0])
    assert passed >= 500, counts  # nothing deselected or skipped by accident
    assert "failed" not in counts and "error" not in counts and "skipped" not in counts


def test_weightlab_initializers_draw_the_same_numbers_on_every_backend(
    prints: dict[str, dict[str, Any]],
) -> None:
    # They draw with a seeded torch.Generator and convert: the backend only stores them.
    reference = prints["torch"]["initializers"]
    assert len(reference) >= 14
    for backend in KERAS_BACKENDS:
        assert prints[backend]["initializers"] == reference, backend


@pytest.mark.parametrize("draw", ["keras_glorot_normal", "keras_dropout", "weightlab_dropout"])
def test_keras_random_ops_repeat_on_a_backend_and_differ_across_backends(
    draw: str, prints: dict[str, dict[str, Any]]
) -> None:
    """Keras promises the same draws for the same seed on one backend, not across them:
    its initializers and Dropout (weightlab's Dropout too, which draws its mask with
    keras.random) use each backend's own generator."""
    firsts = {}
    for backend in KERAS_BACKENDS:
        first, again = prints[backend][draw]
        assert first == again, backend
        firsts[backend] = json.dumps(first)
    assert len(set(firsts.values())) == len(KERAS_BACKENDS), firsts


def test_dropout_keeps_about_half_on_every_backend(prints: dict[str, dict[str, Any]]) -> None:
    for backend in KERAS_BACKENDS:
        inverted = np.array(prints[backend]["keras_dropout"][0])
        classic = np.array(prints[backend]["weightlab_dropout"][0])
        assert set(inverted.tolist()) <= {0.0, 2.0} and set(classic.tolist()) <= {0.0, 1.0}
        assert 16 <= int(np.count_nonzero(inverted)) <= 48, backend


def test_truncated_normal_cuts_exactly_except_on_torch(prints: dict[str, dict[str, Any]]) -> None:
    # The translator's caveat: torch keeps the first of four draws, or the first when none
    # is inside (about 4e-6 of 4 000 000 values); TensorFlow and JAX cut exactly.
    for backend in KERAS_BACKENDS:
        outside = prints[backend]["keras_truncated_outside"]
        if backend == "torch":
            assert 0 < outside < 80, outside
        else:
            assert outside == 0, backend


def test_float64_needs_x64_on_jax(prints: dict[str, dict[str, Any]]) -> None:
    expected = {"tensorflow": "float64", "jax": "float32", "torch": "float64"}
    assert {b: prints[b]["float64"] for b in KERAS_BACKENDS} == expected


def test_penalties_are_the_same_on_every_backend(prints: dict[str, dict[str, Any]]) -> None:
    values = {b: prints[b]["penalties"] for b in KERAS_BACKENDS}
    assert values["torch"] == pytest.approx([0.1425, 0.069375], rel=1e-6)
    assert all(v == values["torch"] for v in values.values()), values


def test_keras_training_agrees_across_backends(prints: dict[str, dict[str, Any]]) -> None:
    """Keras' L2, its weight_decay (torch: w·(1 − lr·d), the others w − d·lr·w) and its
    Adam train the same 20 steps on every backend up to float32 rounding: the
    translator's backend notes say below 1e-6."""
    reference = prints["torch"]["paths"]
    moved = 0.0
    for setting, weights in reference.items():
        for backend in KERAS_BACKENDS:
            for name, value in weights.items():
                gap = np.max(np.abs(np.array(prints[backend]["paths"][setting][name]) - value))
                assert gap < 1e-6, (setting, backend, name, gap)
        moved = max(moved, max(float(np.max(np.abs(np.array(v)))) for v in weights.values()))
    assert moved > 0.1


def test_the_translator_states_the_backends_checked_here() -> None:
    t = translate("keras:L2(0.01)", "torch:sgd")
    assert t.keras_backends == sorted(KERAS_BACKENDS, key=KERAS_BACKENDS.index)
    assert {HERE, *OTHERS} == set(t.keras_backends)  # this module runs exactly these
    assert t.checked.startswith("Checked on Keras' tensorflow, jax and torch backends")
