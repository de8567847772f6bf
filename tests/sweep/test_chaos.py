"""Chaos: over several rounds of one sweep, `kill -9` a random worker or the driver at
random (seeded) times.  After every round the store is sound, holds each finished run
once with one set of results, and never changes a finished run; a final `weightlab run`
completes the sweep without training a finished run again."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

SPEC = """
name: chaos
dataset: {name: circle, n_samples: 200}
model: {arch: mlp, hidden: [16, 16], activation: tanh}
init: [xavier_normal, he_normal, lecun_normal]
regularization: [none, "l2(1e-3)"]
optimizer: {name: adam, lr: 1e-2}
train: {steps: 1000, batch_size: 20, eval_every: 250}
seeds: [0, 1]
"""
RUNS = 12
EVALUATIONS = 5  # steps 0, 250, ..., 1000
ROUNDS = 6


def _state(store: Path) -> dict[str, tuple[str, float | None]]:
    """Each run's status and finish time, by config; checks the store on the way."""
    with sqlite3.connect(store / "runs.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT id, config_hash, status, finished FROM runs").fetchall()
        counts = dict(
            db.execute(
                "SELECT run_id, COUNT(*) FROM metrics WHERE name = 'val_loss' GROUP BY run_id"
            ).fetchall()
        )
    assert len(rows) == RUNS and len({h for _, h, _, _ in rows}) == RUNS  # each run once
    for run_id, _, status, _ in rows:
        # A finished run has exactly one set of results; an unfinished one none.
        assert counts.get(run_id, 0) == (EVALUATIONS if status == "done" else 0), status
    return {h: (status, finished) for _, h, status, finished in rows}


def _wait_for_training(store: Path, proc: subprocess.Popen[str]) -> None:
    """Until a run is claimed (or the driver has ended: nothing was left to train)."""
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with sqlite3.connect(store / "runs.db") as db:
                if db.execute("SELECT 1 FROM runs WHERE status = 'running'").fetchone():
                    return
        except sqlite3.OperationalError:
            pass  # not created yet
        time.sleep(0.05)


def _finished(state: dict[str, tuple[str, float | None]]) -> dict[str, float | None]:
    return {h: when for h, (status, when) in state.items() if status == "done"}


@pytest.mark.slow
def test_random_kills_lose_nothing_and_repeat_nothing(
    tmp_path: Path,
    workers_of: Callable[[int], list[int]],
    wait_gone: Callable[[list[int], float], list[int]],
) -> None:
    rng = random.Random(20240601)
    (tmp_path / "spec.yaml").write_text(SPEC)
    command = [sys.executable, "-m", "weightlab", "run", "spec.yaml", "--store", "store"]
    command += ["--workers", "2", "--chunk-size", "2", "--json"]
    done: dict[str, float | None] = {}
    kills = []
    for round_ in range(ROUNDS):
        with (tmp_path / f"round{round_}.err").open("w") as log:
            proc = subprocess.Popen(
                command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=log, text=True
            )
            _wait_for_training(tmp_path / "store", proc)
            time.sleep(rng.uniform(0.5, 10.0))
            workers = workers_of(proc.pid)
            if workers and rng.random() < 0.5:
                victim = rng.choice(workers)
                os.kill(victim, signal.SIGKILL)
                kills.append(("worker", round_))
                time.sleep(rng.uniform(1.0, 4.0))
            workers = sorted(set(workers) | set(workers_of(proc.pid)))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills.append(("driver", round_))
            proc.wait(60)
            assert wait_gone(workers, 60) == []  # orphaned workers stop by themselves
        state = _state(tmp_path / "store")
        now = _finished(state)
        assert {h: now[h] for h in done} == done  # a finished run is never trained again
        done = now
    assert any(kind == "worker" for kind, _ in kills)
    assert done, "no run finished during the rounds: nothing was checked for retraining"
    final = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )
    assert final.returncode == 0, final.stderr
    summary = json.loads(final.stdout)
    assert (summary["skipped"], summary["trained"]) == (len(done), RUNS - len(done))
    end = _finished(_state(tmp_path / "store"))
    assert len(end) == RUNS and {h: end[h] for h in done} == done
