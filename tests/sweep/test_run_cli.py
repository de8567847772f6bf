"""`weightlab run` / `weightlab runs` end to end: resume after kill -9, two processes on
one store, JSON and CSV output, and errors."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

SPEC = """
name: resume-test
dataset: {name: circle, n_samples: 200}
model: {arch: mlp, hidden: [32, 32], activation: tanh}
init: [xavier_normal, he_normal]
regularization: [none, "l2(1e-3)", "dropout(0.1)"]
optimizer: {name: adam, lr: 1e-2}
train: {steps: STEPS, batch_size: 20, eval_every: 100}
seeds: [0]
"""


def _spec(tmp_path: Path, steps: int) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.replace("STEPS", str(steps)))
    return path


def _cli(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "weightlab", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _rows(store: Path) -> list[tuple[str, str, int, float | None]]:
    with sqlite3.connect(store / "runs.db") as db:
        return db.execute(
            "SELECT config_hash, status, attempts, finished FROM runs ORDER BY id"
        ).fetchall()


def _wait_for_done(
    store: Path, count: int, timeout: float = 120.0, *, running: bool = False
) -> None:
    """Until ``count`` runs are done (and, with ``running``, another is in training: a
    run one by one is written, then the next claimed, so between the two none is)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (store / "runs.db").exists():
            try:
                statuses = [r[1] for r in _rows(store)]
                if statuses.count("done") >= count and (not running or "running" in statuses):
                    return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    raise AssertionError("runs did not finish in time")


# How each engine and backend is asked for: runs one by one in the driver, and stacked
# chunks of two on worker processes.
ENGINES = {
    "sequential": ["--engine", "sequential", "--backend", "inprocess"],
    "stacked-local": [
        "--engine",
        "stacked",
        "--backend",
        "local",
        "--chunk-size",
        "2",
        "--workers",
        "2",
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("engine", list(ENGINES))
def test_resume_after_kill_9_loses_and_repeats_nothing(tmp_path: Path, engine: str) -> None:
    spec, store = _spec(tmp_path, 1500), tmp_path / "store"
    proc = _cli("run", str(spec), "--store", str(store), "--json", *ENGINES[engine])
    _wait_for_done(store, 2, running=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    before = _rows(store)
    done_before = {h: finished for h, status, _, finished in before if status == "done"}
    assert 2 <= len(done_before) < 6
    assert any(status == "running" for _, status, _, _ in before)  # killed mid-run

    rerun = subprocess.run(
        [
            sys.executable,
            "-m",
            "weightlab",
            "run",
            str(spec),
            "--store",
            str(store),
            "--json",
            *ENGINES[engine],
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["skipped"] == len(done_before) and summary["trained"] == 6 - len(done_before)
    after = _rows(store)
    assert len(after) == 6 and len({h for h, *_ in after}) == 6  # nothing duplicated
    assert all(status == "done" for _, status, _, _ in after)  # nothing lost
    for h, _, attempts, finished in after:
        if h in done_before:
            assert finished == done_before[h] and attempts == 1  # finished runs not retrained
    with sqlite3.connect(store / "runs.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # The run that was killed has exactly one set of metrics (its partial rows were dropped).
        counts = db.execute(
            "SELECT run_id, COUNT(*) FROM metrics WHERE name = 'val_loss' GROUP BY run_id"
        ).fetchall()
        assert sorted(c for _, c in counts) == [16] * 6  # steps 0, 100, ..., 1500


@pytest.mark.slow
def test_two_processes_share_a_sweep_without_training_twice(tmp_path: Path) -> None:
    spec, store = _spec(tmp_path, 400), tmp_path / "store"
    procs = [_cli("run", str(spec), "--store", str(store), "--json") for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    rows = _rows(store)
    assert len(rows) == 6 and all(
        status == "done" and attempts == 1 for _, status, attempts, _ in rows
    )
    with sqlite3.connect(store / "runs.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_run_then_runs_with_json_and_csv(tmp_path: Path) -> None:
    spec, store = _spec(tmp_path, 100), tmp_path / "store"
    first = subprocess.run(
        [sys.executable, "-m", "weightlab", "run", str(spec), "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    assert "6 trained, 0 already finished, 0 failed, 0 diverged." in first.stdout
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "weightlab",
            "runs",
            "--store",
            str(store),
            "--json",
            "--csv",
            str(tmp_path / "out.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 6 and {r["status"] for r in rows} == {"done"}
    assert {r["regularization"] for r in rows} == {"none", "l2(0.001)", "dropout(0.1)"}
    with (tmp_path / "out.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 6 and "val_acc" in table[0] and float(table[0]["val_acc"]) > 0.5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "missing.yaml"],
            "Error: The 'spec' parameter of run must be an existing YAML file. Got 'missing.yaml'.",
        ),
        (
            ["runs", "--store", "nowhere"],
            "Error: The 'store' parameter of runs must be a folder holding a runs.db (made by 'weightlab run'). Got 'nowhere'.",
        ),
    ],
)
def test_run_errors_are_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "weightlab", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and proc.stderr.strip() == message


def test_runs_rejects_an_unknown_sweep(tmp_path: Path) -> None:
    spec, store = _spec(tmp_path, 100), tmp_path / "store"
    ran = subprocess.run(
        [sys.executable, "-m", "weightlab", "run", str(spec), "--store", str(store), "--json"],
        capture_output=True,
        timeout=300,
        check=True,
    )
    # Where the time went, with the workers that started before the command's imports.
    timings = json.loads(ran.stdout)["timings"]
    local = {"workers"} if (os.cpu_count() or 1) > 1 else set()  # else trained in process
    assert {"prepare", "train", "eval", "store", "total", *local} <= set(timings)
    assert 0 <= timings["prepare"] <= timings["total"] and timings["train"] > 0
    proc = subprocess.run(
        [sys.executable, "-m", "weightlab", "runs", "--store", str(store), "--sweep", "other"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == "Error: The 'sweep' parameter of runs must be a sweep in the store (resume-test). Got 'other'."
    )


@pytest.mark.parametrize("engine", list(ENGINES))
def test_ctrl_c_gives_the_current_runs_back(tmp_path: Path, engine: str) -> None:
    spec, store = _spec(tmp_path, 20000), tmp_path / "store"
    proc = _cli("run", str(spec), "--store", str(store), "--json", *ENGINES[engine])
    deadline = time.time() + 120
    while time.time() < deadline:
        if (store / "runs.db").exists():
            try:
                if any(status == "running" for _, status, _, _ in _rows(store)):
                    break
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.wait(60)
    assert proc.returncode == 130
    statuses = [status for _, status, _, _ in _rows(store)]
    # One run in training sequentially; two chunks of two on the two workers.
    in_progress = 1 if engine == "sequential" else 4
    assert "running" not in statuses and statuses.count("interrupted") == in_progress


def test_a_users_module_trains_by_import_path(tmp_path: Path) -> None:
    (tmp_path / "wl_run_models.py").write_text(
        "from torch import nn\n\ndef net():\n    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))\n"
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: user-model\ndataset: {name: xor, n_samples: 200}\nmodel: {arch: module, path: 'wl_run_models:net'}\n"
        "init: xavier_normal\noptimizer: {name: adam, lr: 0.01}\ntrain: {steps: 300, batch_size: 20, eval_every: 100}\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "weightlab",
            "run",
            str(spec),
            "--store",
            str(tmp_path / "s"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)["runs"]
    assert row["status"] == "done" and row["val_acc"] > 0.8


def _wait_for_running(store: Path, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (store / "runs.db").exists():
            try:
                if any(status == "running" for _, status, _, _ in _rows(store)):
                    return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)
    raise AssertionError("no run started in time")


@pytest.mark.slow
def test_kill_9_of_a_worker_retries_its_chunk_and_the_sweep_finishes(
    tmp_path: Path, workers_of: Callable[[int], list[int]]
) -> None:
    spec, store = _spec(tmp_path, 3000), tmp_path / "store"
    proc = _cli("run", str(spec), "--store", str(store), "--json", *ENGINES["stacked-local"])
    _wait_for_running(store)
    time.sleep(1.0)  # the workers are training
    victim = workers_of(proc.pid)[0]
    os.kill(victim, signal.SIGKILL)
    out, err = proc.communicate(timeout=300)  # before, this waited forever
    assert proc.returncode == 0, err
    assert (
        f"worker process {victim} killed by SIGKILL while training 2 runs; they start again "
        "on a fresh worker (try 2 of 3)." in err
    )
    assert json.loads(out)["trained"] == 6
    # Retried under the same claim: every run done, claimed once, written once.
    assert [(s, a) for _, s, a, _ in _rows(store)] == [("done", 1)] * 6


@pytest.mark.slow
def test_the_workers_of_a_killed_driver_stop(
    tmp_path: Path,
    workers_of: Callable[[int], list[int]],
    wait_gone: Callable[[list[int], float], list[int]],
) -> None:
    spec, store = _spec(tmp_path, 20000), tmp_path / "store"
    proc = _cli("run", str(spec), "--store", str(store), "--json", *ENGINES["stacked-local"])
    _wait_for_running(store)
    workers = workers_of(proc.pid)
    assert len(workers) == 2
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    # Orphaned, they notice at their next step; their runs are claimed by a dead process,
    # which the next 'weightlab run' takes over at once.
    assert wait_gone(workers, 60) == []


FRAGILE = """
from torch import nn

class Fragile(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))

    def forward(self, x):
        if self.training and x.shape[0] > 2:
            raise RuntimeError("this model breaks on batches of more than 2")
        return self.net(x)

def net():
    return Fragile()
"""


def test_a_failed_run_exits_1_and_a_diverged_one_0(tmp_path: Path) -> None:
    (tmp_path / "wl_fragile_models.py").write_text(FRAGILE)
    (tmp_path / "fragile.yaml").write_text(
        "name: fragile\ndataset: {name: xor, n_samples: 200}\n"
        "model: {arch: module, path: 'wl_fragile_models:net'}\ninit: xavier_normal\n"
        "optimizer: {name: adam, lr: 0.01}\ntrain: {steps: 50, batch_size: 20, eval_every: 25}\n"
    )
    (tmp_path / "diverge.yaml").write_text(
        "name: diverge\ndataset: {name: circle, n_samples: 200}\n"
        "model: {arch: mlp, hidden: [16], activation: relu}\ninit: 'normal(std=10.0)'\n"
        "optimizer: {name: sgd, lr: 1000.0}\ntrain: {steps: 200, batch_size: 20, eval_every: 50}\n"
    )

    def run(name: str) -> subprocess.CompletedProcess[str]:
        args = ["run", name, "--store", "store", "--backend", "inprocess"]
        return subprocess.run(
            [sys.executable, "-m", "weightlab", *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=tmp_path,
        )

    failed = run("fragile.yaml")
    assert failed.returncode == 1, failed.stderr
    assert (
        "failed: xavier_normal | none | lr=0.01 | seed=0: RuntimeError: this model breaks on "
        "batches of more than 2" in failed.stdout
    )
    diverged = run("diverge.yaml")
    assert diverged.returncode == 0, diverged.stderr
    assert "1 trained, 0 already finished, 0 failed, 1 diverged." in diverged.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--device", "bogus"],
            "Error: The 'device' parameter of run must be 'cpu', 'cuda' or 'cuda:N' (N a GPU index). Got 'bogus'.",
        ),
        pytest.param(
            ["--device", "cuda"],
            "Error: The 'device' parameter of run must be 'cpu': torch finds no CUDA GPU on this machine. Got 'cuda'.",
            marks=pytest.mark.skipif(
                __import__("torch").cuda.is_available(), reason="this machine has a GPU"
            ),
        ),
        (
            ["--address", "auto"],
            "Error: The 'address' parameter of run must be given only with backend 'ray'. Got 'auto'.",
        ),
    ],
)
def test_bad_run_options_are_one_line_and_touch_no_store(
    tmp_path: Path, args: list[str], message: str
) -> None:
    spec = _spec(tmp_path, 100)
    proc = subprocess.run(
        [sys.executable, "-m", "weightlab", "run", str(spec), "--store", "store", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert (proc.returncode, proc.stderr.strip()) == (2, message)
    assert not (tmp_path / "store").exists()


def test_the_ray_backend_without_ray_is_one_line_with_the_pip_command(tmp_path: Path) -> None:
    spec = _spec(tmp_path, 100)
    code = (
        "import sys; sys.modules['ray'] = None  # as if Ray were not installed\n"
        "from weightlab.cli import main\n"
        f"main(['run', {str(spec)!r}, '--backend', 'ray', '--store', 'store'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "Error: The 'backend' parameter of run must be 'local' or 'inprocess' until Ray is "
        "installed (pip install 'weightlab[ray]'). Got 'ray'."
    )
