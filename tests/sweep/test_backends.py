"""Engines and backends: the same sweep gives the same results in this process, on worker
processes and on a Ray cluster; the driver alone writes, chunks are idempotent."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch

from weightlab.store import Store
from weightlab.sweep import load_spec
from weightlab.sweep.backends import ChunkResult, InProcess, StepCounter, train_chunk
from weightlab.sweep.runner import (
    SweepSummary,
    _Driver,
    _require_stackable,
    check_run_options,
    final_metrics,
    prepare,
    run_sweep,
)

SPEC: dict[str, Any] = {
    "name": "backends",
    "dataset": {"name": "circle", "n_samples": 200},
    "model": {"arch": "mlp", "hidden": [16, 16], "activation": "tanh"},
    "init": ["xavier_normal", "he_normal"],
    "regularization": ["none", "l2(1e-3)", "l1(1e-3)"],
    "optimizer": {"name": "adam", "lr": 1e-2},
    "train": {"steps": 60, "batch_size": 20, "eval_every": 20},
    "seeds": [0, 1],
}
COMPARED = ("train_loss", "val_loss", "val_acc", "gap", "sparsity_zero", "penalty")


def _finals(store: Store) -> dict[str, dict[str, Any]]:
    return {row["label"]: row for row in final_metrics(store, "backends")}


def _assert_same_finals(a: Store, b: Store) -> None:
    fa, fb = _finals(a), _finals(b)
    assert fa.keys() == fb.keys() and len(fa) == 12
    for label, row in fa.items():
        for key in COMPARED:
            assert fb[label][key] == pytest.approx(row[key], rel=1e-5, abs=1e-6), (label, key)


def _engines(store: Store) -> list[str]:
    with sqlite3.connect(store.path) as db:
        return [e for (e,) in db.execute("SELECT engine FROM runs ORDER BY id")]


@pytest.fixture(scope="module")
def sequential_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("sequential"))
    run_sweep(load_spec(SPEC), store, engine="sequential")
    return store


def test_the_stacked_engine_in_process_gives_the_sequential_results(
    tmp_path: Path, sequential_store: Store
) -> None:
    store = Store(tmp_path)
    summary = run_sweep(load_spec(SPEC), store, engine="auto", chunk_size=5)
    assert len(summary.trained) == 12 and not summary.failed
    assert _engines(sequential_store) == ["sequential"] * 12
    # Chunks of 5, 5 and 2 runs: every run stacked, and the engine recorded per run.
    assert _engines(store) == ["stacked"] * 12
    _assert_same_finals(sequential_store, store)
    assert len(store.metrics(1)["val_loss"]) == len(sequential_store.metrics(1)["val_loss"])


def test_a_lone_run_trains_sequentially(tmp_path: Path) -> None:
    store = Store(tmp_path)
    run_sweep(load_spec({**SPEC, "seeds": [0], "init": "he_normal"}), store, chunk_size=1)
    assert set(_engines(store)) == {"sequential"}


@pytest.mark.slow
def test_local_worker_processes_give_the_same_results(
    tmp_path: Path, sequential_store: Store
) -> None:
    store = Store(tmp_path)
    summary = run_sweep(load_spec(SPEC), store, backend="local", workers=2, chunk_size=4)
    assert len(summary.trained) == 12 and summary.skipped == 0
    assert _engines(store) == ["stacked"] * 12
    _assert_same_finals(sequential_store, store)
    again = run_sweep(load_spec(SPEC), store, backend="local", workers=2)
    assert again.skipped == 12 and not again.trained


@pytest.mark.slow
def test_a_real_ray_cluster_gives_the_local_results(
    tmp_path: Path, sequential_store: Store
) -> None:
    ray = pytest.importorskip("ray")
    # A cluster of its own (address="local": new ports), in a temporary folder of its own
    # (short: Ray's socket paths must fit in 107 bytes), whatever else runs here.
    temp = tempfile.mkdtemp(prefix="wlray", dir="/tmp")
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=temp,
    )
    try:
        store = Store(tmp_path)
        summary = run_sweep(load_spec(SPEC), store, backend="ray", workers=2, chunk_size=3)
        assert len(summary.trained) == 12 and not summary.failed
        _assert_same_finals(sequential_store, store)
        with sqlite3.connect(store.path) as db:
            attempts = [a for (a,) in db.execute("SELECT attempts FROM runs")]
        assert attempts == [1] * 12
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


class _Flaky(InProcess):
    """Delivers the first chunk twice, and loses the second chunk."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.workers = 2

    def submit(self, configs: list[dict[str, Any]], stacked: bool) -> int:
        self.calls += 1
        ticket = super().submit(configs, stacked)
        if self.calls == 2:
            self._done[ticket] = []  # lost: result() raises below
        return ticket

    def result(self, ticket: int) -> list[ChunkResult]:
        results = super().result(ticket)
        if not results:
            raise ConnectionError("worker died")
        return results


def test_a_lost_chunk_fails_its_runs_with_the_reason_and_a_duplicate_writes_nothing_twice(
    tmp_path: Path,
) -> None:
    spec = load_spec(SPEC)
    store = Store(tmp_path)
    configs, _ = prepare(spec)
    store.add_sweep(spec.name, {}, [(c.hash(), c.label(), c.to_dict()) for c in configs])
    summary = SweepSummary(spec.name, 12)
    driver = _Driver(spec.name, store, "auto", 3, summary, None, 6, None)
    executor = _Flaky()
    driver.run_on(executor, None)
    records = store.runs(spec.name)
    assert [r.status for r in records] == ["done"] * 3 + ["failed"] * 3 + ["pending"] * 6
    reason = "chunk lost: ConnectionError: worker died"
    assert [r.error for r in records[3:6]] == [reason] * 3
    assert [error for _, error in summary.failed] == [reason] * 3
    # A duplicate delivery of a chunk already written changes nothing.
    first = records[0]
    before = store.metrics(first.id)
    duplicate = train_chunk([first.config], "cpu", False)
    driver.write(first.id, configs[0], duplicate[0])
    assert store.metrics(first.id) == before and store.runs(spec.name)[0].status == "done"
    # The next invocation trains the failed runs and those never started.
    rerun = run_sweep(spec, store)
    assert rerun.skipped == 3 and len(rerun.trained) == 9
    assert all(r.status == "done" for r in store.runs(spec.name))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"engine": "fast"},
            r"'engine' parameter of run must be one of 'auto', 'sequential', 'stacked'\. Got 'fast'",
        ),
        (
            {"backend": "slurm"},
            r"'backend' parameter of run must be one of 'inprocess', 'local', 'ray'\. Got 'slurm'",
        ),
        (
            {"workers": 0},
            r"'workers' parameter of run must be an int in \[1, 4096\] or None\. Got 0",
        ),
        (
            {"chunk_size": 0},
            r"'chunk_size' parameter of run must be an int in \[1, 4096\] or None\. Got 0",
        ),
    ],
)
def test_bad_engine_settings_are_named(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        run_sweep(load_spec(SPEC), Store(tmp_path), **kwargs)


def test_forcing_the_stacked_engine_on_a_cnn_says_why_not() -> None:
    config = prepare(load_spec(SPEC))[0][0]
    cnn = dataclasses.replace(config, model={**config.model, "arch": "cnn"})
    with pytest.raises(
        ValueError,
        match=r"'engine' parameter of run must be 'auto' or 'sequential' for runs that cannot stack\. Got 'stacked' \(arch 'cnn' is not one of mlp, linear, logistic\)",
    ):
        _require_stackable([config, cnn])


@pytest.mark.parametrize("backend", ["inprocess", "local"])
def test_runs_that_cannot_stack_train_alone_and_the_store_says_why(
    tmp_path: Path, backend: str
) -> None:
    spec = {
        **SPEC,
        "name": "cnn",
        "dataset": {"name": "digits", "flatten": False},
        "model": {"arch": "cnn", "channels": [4]},
        "init": "he_normal",
        "regularization": ["none", "l2(1e-3)"],
        "train": {"steps": 5, "batch_size": 20, "eval_every": 5, "diagnose": False},
        "seeds": 0,
    }
    store = Store(tmp_path)
    run_sweep(load_spec(spec), store, backend=backend, workers=1)
    reason = "sequential (arch 'cnn' is not one of mlp, linear, logistic)"
    assert _engines(store) == [reason, reason]
    again = Store(tmp_path / "asked")
    run_sweep(load_spec(spec), again, engine="sequential")
    assert _engines(again) == ["sequential", "sequential"]  # asked for: nothing to explain


class _Recorder:
    """A Progress that keeps every call, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def sweep_started(self, runs: int, finished: int, steps: int, done: int) -> None:
        self.calls.append(("started", (runs, finished, steps, done)))

    def advanced(self, done: int) -> None:
        self.calls.append(("advanced", done))

    def run_finished(self, label: str, status: str) -> None:
        self.calls.append(("finished", status))

    def note(self, message: str) -> None:
        self.calls.append(("note", message))

    def phase(self, text: str) -> None:
        self.calls.append(("phase", text))

    def of(self, kind: str) -> list[Any]:
        return [value for k, value in self.calls if k == kind]


def test_a_stacked_chunk_reports_model_steps_while_it_trains(tmp_path: Path) -> None:
    configs = [c.to_dict() for c in prepare(load_spec(SPEC))[0][:4]]
    seen: list[int] = []
    results = train_chunk(configs, "cpu", True, counter=StepCounter(seen.append, every=0))
    assert [r.engine for r in results] == ["stacked"] * 4
    # One report per step, four model-steps each (the stack), then the full chunk.
    assert seen == [4 * s for s in range(60)] + [240]


def test_the_sweep_progress_counts_model_steps_as_chunks_train(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("weightlab.sweep.backends.REPORT_SECONDS", 0.0)
    store, recorder = Store(tmp_path), _Recorder()
    run_sweep(load_spec(SPEC), store, chunk_size=5, stop_after=7, progress=recorder)
    assert recorder.of("started") == [(12, 0, 12 * 60, 0)]
    done = recorder.of("advanced")
    assert done == sorted(done) and done[-1] == 7 * 60
    # Before the first chunk (5 runs) was written, its steps were counted as they went.
    first_write = recorder.calls.index(("phase", "writing 5 runs to the store"))
    during = [v for k, v in recorder.calls[:first_write] if k == "advanced"]
    assert len(during) >= 59 and 0 < during[len(during) // 2] < 5 * 60
    assert recorder.of("phase")[:2] == ["loading data, checking models", "training"]
    assert "writing 2 runs to the store" in recorder.of("phase")
    # A rerun starts from the finished runs' steps.
    again = _Recorder()
    run_sweep(load_spec(SPEC), store, chunk_size=5, stop_after=1, progress=again)
    assert again.of("started") == [(12, 7, 12 * 60, 7 * 60)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"device": "bogus"},
            r"The 'device' parameter of run must be 'cpu', 'cuda' or 'cuda:N' \(N a GPU index\)\. Got 'bogus'\.",
        ),
        (
            {"device": "cuda:first"},
            r"The 'device' parameter of run must be 'cpu', 'cuda' or 'cuda:N' \(N a GPU index\)\. Got 'cuda:first'\.",
        ),
        (
            {"address": "auto"},
            r"The 'address' parameter of run must be given only with backend 'ray'\. Got 'auto'\.",
        ),
    ],
)
def test_bad_run_options_are_named(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_run_options(**options)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_clear_error() -> None:
    message = r"The 'device' parameter of run must be 'cpu': torch finds no CUDA GPU on this machine\. Got 'cuda'\."
    with pytest.raises(ValueError, match=message):
        check_run_options(device="cuda")
    # A Ray cluster named by address is asked for GPUs when it is joined, not here.
    check_run_options(device="cuda", backend="ray", address="ray://elsewhere:10001")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_a_gpu_index_past_the_last_gpu_is_a_clear_error() -> None:
    check_run_options(device="cuda:0")
    count = torch.cuda.device_count()
    with pytest.raises(ValueError, match=rf"\({count} GPUs here\)\. Got 'cuda:{count}'\."):
        check_run_options(device=f"cuda:{count}")


def test_the_ray_backend_without_ray_names_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    message = r"The 'backend' parameter of run must be 'local' or 'inprocess' until Ray is installed \(pip install 'weightlab\[ray\]'\)\. Got 'ray'\."
    with pytest.raises(ValueError, match=message):
        run_sweep(load_spec(SPEC), Store(tmp_path), backend="ray")
    assert Store(tmp_path).sweeps() == []  # refused before anything was written
