"""Terms that an installed package registers (entry-point group ``weightlab.terms``) are
known everywhere weightlab runs: spec parsing, worker processes, the lab's form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TERM_MODULE = '''
from weightlab.regularize import STRENGTH, Canonical, Param, register


def pull_to_zero(ops, prev, proposed, lr, *, rate):
    """Shrink every weight by a fixed fraction after each step: w <- (1 - rate) w."""
    return proposed - ops.coef(rate, proposed) * proposed


register(
    "pull_to_zero",
    [Param("rate", STRENGTH, example=0.1)],
    rule=pull_to_zero,
    canonical=lambda params: Canonical(step=True),
    effect="shrinkage",
)
'''


def _package(root: Path, module: str, body: str) -> dict[str, str]:
    """A module and a dist-info declaring it under weightlab.terms, on PYTHONPATH."""
    (root / f"{module}.py").write_text(body)
    info = root / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[weightlab.terms]\nmine = {module}\n")
    return {**os.environ, "PYTHONPATH": str(root)}


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_an_installed_term_trains_on_worker_processes_and_shows_in_the_lab(
    tmp_path: Path,
) -> None:
    env = _package(tmp_path, "my_terms", TERM_MODULE)
    spec = {
        "name": "plugin",
        "dataset": {"name": "moons", "n_samples": 100},
        "model": {"arch": "mlp", "hidden": [8], "activation": "tanh"},
        "regularization": ["none", "pull_to_zero(0.05)"],
        "optimizer": {"name": "sgd", "lr": 0.1},
        "train": {"steps": 20, "batch_size": 20, "eval_every": 20, "diagnose": False},
        "seeds": [0, 1],
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "weightlab",
            "run",
            str(tmp_path / "spec.json"),
            "--store",
            str(tmp_path / "store"),
            "--workers",
            "2",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    runs = json.loads(run.stdout)["runs"]
    norms = {r["regularization"]: r for r in runs if r["seed"] == 0}
    assert {r["status"] for r in runs} == {"done"}
    assert {r["engine"] for r in runs} == {"stacked"}  # trained by worker processes
    assert set(norms) == {"none", "pull_to_zero(0.05)"}
    pulled, plain = norms["pull_to_zero(0.05)"], norms["none"]
    assert pulled["norm/0.weight"] < 0.6 * plain["norm/0.weight"]  # (0.95)^20 ≈ 0.36
    lab = _python(
        """
        from weightlab.lab.schemas import RegularizationSetup
        setup = RegularizationSetup.model_validate({"regularizer": "pull_to_zero"})
        print(setup.spec())
        """,
        env,
    )
    assert lab.stdout.strip() == "pull_to_zero(0.1)", lab.stderr


def test_a_broken_plugin_is_named(tmp_path: Path) -> None:
    env = _package(tmp_path, "broken_terms", "raise RuntimeError('no such thing')\n")
    result = _python("import weightlab.regularize", env)
    assert result.returncode != 0
    assert (
        "The 'mine' parameter of load_plugins must be an importable module. Got "
        "'broken_terms', which failed: RuntimeError: no such thing."
    ) in result.stderr
