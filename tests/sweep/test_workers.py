"""Local worker processes that die: the chunk trains again on a fresh worker, a chunk
whose worker always dies fails with the reason, and nothing waits forever."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from weightlab.store import Store
from weightlab.sweep import load_spec
from weightlab.sweep.backends import LocalProcesses, train_chunk
from weightlab.sweep.runner import prepare

SPEC: dict[str, Any] = {
    "name": "workers",
    "dataset": {"name": "circle", "n_samples": 200},
    "model": {"arch": "mlp", "hidden": [16, 16], "activation": "tanh"},
    "init": ["xavier_normal", "he_normal"],
    "optimizer": {"name": "adam", "lr": 1e-2},
    "train": {"steps": 3000, "batch_size": 20, "eval_every": 500},
    "seeds": [0],
}

# A model that kills the worker process that builds it (the driver, which builds every
# model once to check it, survives): a run whose worker always dies.
POISON = """
import multiprocessing, os, signal
from torch import nn

def net():
    if multiprocessing.parent_process() is not None:
        os.kill(os.getpid(), signal.SIGKILL)
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
"""


def _wait_for(ready: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
def test_a_killed_workers_chunk_trains_again_on_a_fresh_worker(
    workers_of: Callable[[int], list[int]],
) -> None:
    configs = [c.to_dict() for c in prepare(load_spec(SPEC))[0]]
    expected = train_chunk(configs, "cpu", True)
    executor = LocalProcesses(workers=1)
    try:
        ticket = executor.submit(configs, True)
        _wait_for(
            lambda: executor.poll(0.1) == [] and executor.progress()[ticket] > 0, 120, "steps"
        )
        (victim,) = workers_of(os.getpid())
        os.kill(victim, signal.SIGKILL)
        _wait_for(lambda: ticket in executor.poll(0.5), 180, "the retried chunk")
        results = executor.result(ticket)
        notes = executor.notes()
        assert victim not in workers_of(os.getpid())
    finally:
        executor.close()
    assert notes == [
        f"worker process {victim} killed by SIGKILL while training 2 runs; they start again "
        "on a fresh worker (try 2 of 3)."
    ]
    assert [r.engine for r in results] == ["stacked", "stacked"]
    for got, want in zip(results, expected, strict=True):
        assert got.output is not None and want.output is not None
        assert got.output.final == pytest.approx(want.output.final, rel=1e-6)


@pytest.mark.slow
def test_a_run_whose_worker_always_dies_fails_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "wl_poison_models.py").write_text(POISON)
    spec = {
        **SPEC,
        "name": "poison",
        "dataset": {"name": "xor", "n_samples": 200},
        "model": {"arch": "module", "path": "wl_poison_models:net"},
        "init": "xavier_normal",
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))  # JSON is YAML
    args = ["run", "spec.json", "--store", "store", "--workers", "2", "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "weightlab", *args],
        capture_output=True,
        text=True,
        timeout=300,  # it ends; before, the driver waited forever
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr  # a run failed
    ((label, error),) = json.loads(proc.stdout)["failed"]
    pattern = (
        r"chunk lost: its worker process died 3 times \(the last worker process \d+ "
        r"killed by SIGKILL\)"
    )
    assert re.fullmatch(pattern, error), error
    notes = [line for line in proc.stderr.splitlines() if "killed by SIGKILL" in line]
    assert [n.split("; ", 1)[1] for n in notes] == [
        "they start again on a fresh worker (try 2 of 3).",
        "they start again on a fresh worker (try 3 of 3).",
        "that was try 3 of 3, so they are marked failed.",
    ]
    (record,) = Store(tmp_path / "store").runs("poison")
    assert (record.label, record.status, record.error) == (label, "failed", error)


def test_workers_train_on_the_drivers_data_without_loading_it() -> None:
    train = {**SPEC["train"], "steps": 50, "eval_every": 25}
    configs, datasets = prepare(load_spec({**SPEC, "train": train}))
    expected = train_chunk([c.to_dict() for c in configs], "cpu", True)
    # A dataset only the driver has: the workers could not load it by its name.
    hidden = {**configs[0].dataset, "name": "only-in-the-driver"}
    moved = [{**c.to_dict(), "dataset": hidden} for c in configs]
    (data,) = datasets.values()
    executor = LocalProcesses(workers=1)
    try:
        executor.share({repr(sorted(hidden.items())): data})
        ticket = executor.submit(moved, True)
        _wait_for(lambda: ticket in executor.poll(0.5), 180, "the chunk")
        results = executor.result(ticket)
        assert executor.startup and 0 < executor.startup[0] < 120
    finally:
        executor.close()
    assert data.x_train.is_shared()
    for got, want in zip(results, expected, strict=True):
        assert got.error is None and got.output is not None and want.output is not None
        assert got.output.final == pytest.approx(want.output.final, rel=1e-6)
