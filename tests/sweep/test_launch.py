"""The command's first module: it gets ``weightlab run``'s local workers under way before
the command line's imports (a fork server that imports the training code, or spawned
workers the sweep adopts), and what nobody used exits with the command."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from multiprocessing import forkserver
from pathlib import Path

import pytest

from weightlab import _launch
from weightlab.store import Store
from weightlab.sweep import backends, load_spec
from weightlab.sweep.backends import LocalProcesses
from weightlab.sweep.runner import prepare, run_sweep

CORES = os.cpu_count() or 1


@pytest.mark.parametrize(
    ("args", "count"),
    [
        (["run", "spec.yaml"], CORES if CORES > 1 else 0),
        (["run", "spec.yaml", "--workers", "3"], 3),
        (["run", "spec.yaml", "--workers=2", "--backend=local"], 2),
        (["run", "spec.yaml", "--workers", "1"], 0),  # one worker: trained in process
        (["run", "spec.yaml", "--backend", "ray"], 0),
        (["run", "spec.yaml", "--backend=inprocess"], 0),
        (["run", "spec.yaml", "--workers", "many"], 0),  # the command says what is wrong
        (["run", "spec.yaml", "--workers"], 0),
        (["run", "--help"], 0),
        (["runs"], 0),
        ([], 0),
    ],
)
def test_only_run_on_local_workers_starts_them_early(args: list[str], count: int) -> None:
    assert _launch.local_workers(args) == count


SPEC = {
    "name": "early",
    "dataset": {"name": "circle", "n_samples": 100},
    "model": {"arch": "mlp", "hidden": [8], "activation": "tanh"},
    "init": ["xavier_normal", "he_normal"],
    "optimizer": {"name": "sgd", "lr": 0.1},
    "train": {"steps": 20, "batch_size": 20, "eval_every": 10},
    "seeds": [0, 1],
}


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods(), reason="no fork server"
)
def test_workers_are_forks_of_a_server_that_imported_the_training_code(
    tmp_path: Path,
) -> None:
    assert _launch.context().get_start_method() == "forkserver"
    _launch.start(2)
    server = forkserver._forkserver._forkserver_pid
    assert server is not None and _launch._STARTED == []  # nothing spawned
    executor = LocalProcesses(workers=2)
    try:
        pids = [w.process.pid for w in executor._idle]
        assert len(pids) == 2 and all(_parent(pid) == server for pid in pids)
    finally:
        executor.close()
    spec = load_spec(SPEC)
    summary = run_sweep(spec, Store(tmp_path / "store"), backend="local", workers=2)
    assert len(summary.trained) == len(prepare(spec)[0]) == 4
    assert forkserver._forkserver._forkserver_pid == server  # the same server throughout


def test_without_a_fork_server_the_sweep_adopts_the_workers_spawned_early(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def spawn() -> multiprocessing.context.BaseContext:
        return multiprocessing.get_context("spawn")

    monkeypatch.setattr(_launch, "context", spawn)
    monkeypatch.setattr(backends, "context", spawn)
    _launch.start(2)
    early = {w.process.pid for w in _launch._STARTED}
    assert len(early) == 2
    executor = LocalProcesses(workers=2)
    try:
        assert {w.process.pid for w in executor._idle} == early
        assert _launch.take(2) == []  # each taken once
    finally:
        executor.close()
    spec = load_spec(SPEC)
    summary = run_sweep(spec, Store(tmp_path / "store"), backend="local", workers=2)
    assert len(summary.trained) == len(prepare(spec)[0]) == 4


def test_workers_nobody_adopts_exit_with_the_command(tmp_path: Path) -> None:
    # A bad spec ends the command before it needs its workers: neither they nor the fork
    # server may outlive it.
    code = (
        "import sys; from weightlab import _launch; sys.argv = ['weightlab', *sys.argv[1:]]; "
        "from multiprocessing import forkserver; _launch.start(2); "
        "server = forkserver._forkserver._forkserver_pid or ''; "
        "print(*[w.process.pid for w in _launch._STARTED], server, flush=True); "
        "_launch.command()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "run", str(tmp_path / "missing.yaml")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "The 'spec' parameter of run must be an existing YAML file" in done.stderr
    pids = [int(p) for p in done.stdout.split()]
    assert pids
    deadline = time.monotonic() + 60
    while any(_alive(p) for p in pids):
        assert time.monotonic() < deadline, "an early worker outlived its command"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
