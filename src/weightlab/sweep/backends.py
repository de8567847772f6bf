"""Where chunks of runs train: in this process, in local worker processes, or on a Ray
cluster.

A chunk is a list of runs the driver has claimed in the store: one run (sequential
engine) or a bucket of runs that stack (see :func:`weightlab.train.stacked.bucket_key`).
Workers only compute; they return every run's results and the driver alone writes them to
the store.  A chunk therefore has no side effects: when one is retried or lost, its runs
are written at most once (the driver writes a run only while it still holds its claim)
and a lost chunk's runs are given back, to be trained by the next invocation.

Threads: a small model's step is up to 18× slower with two torch threads than with one
on a two-core machine, so every worker runs one torch thread, and parallelism comes from
one worker process per core.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from weightlab._optional import require
from weightlab._validate import error_summary
from weightlab.data import Dataset, load_dataset
from weightlab.train import RunConfig, RunOutput, train_run
from weightlab.train.stacked import train_stacked

__all__ = [
    "BACKENDS",
    "ENGINES",
    "ChunkResult",
    "Executor",
    "InProcess",
    "LocalProcesses",
    "RayCluster",
    "train_chunk",
]

BACKENDS: tuple[str, ...] = ("inprocess", "local", "ray")
ENGINES: tuple[str, ...] = ("auto", "sequential", "stacked")


@dataclass
class ChunkResult:
    """One run's outcome: its results, or the error that stopped it, and the engine."""

    output: RunOutput | None
    error: str | None
    engine: str


def dataset_for(config: RunConfig, cache: dict[str, Dataset]) -> Dataset:
    """The run's dataset, loaded once per process (generated data is deterministic)."""
    key = repr(sorted(config.dataset.items()))
    if key not in cache:
        params = {k: v for k, v in config.dataset.items() if k != "name"}
        cache[key] = load_dataset(config.dataset["name"], **params)
    return cache[key]


def _sequential(config: RunConfig, data: Dataset, device: str) -> ChunkResult:
    try:
        return ChunkResult(train_run(config, data, device=device), None, "sequential")
    except KeyboardInterrupt:
        raise
    except Exception as error:  # one bad run must not stop the others
        return ChunkResult(None, error_summary(error), "sequential")


def train_chunk(
    configs: Sequence[dict[str, Any]],
    device: str,
    stacked: bool,
    cache: dict[str, Dataset] | None = None,
) -> list[ChunkResult]:
    """Train one chunk and return each run's result, in order.  A stacked chunk that
    fails as a whole (for example a module the stacked engine cannot express) falls back
    to training its runs one by one."""
    runs = [RunConfig.from_dict(dict(c)) for c in configs]
    cache = {} if cache is None else cache
    data = dataset_for(runs[0], cache)
    if stacked and len(runs) > 1:
        try:
            outputs = train_stacked(runs, data, device=device)
            return [ChunkResult(_slim(o), None, "stacked") for o in outputs]
        except KeyboardInterrupt:
            raise
        except Exception:
            pass
    return [_slimmed(_sequential(c, dataset_for(c, cache), device)) for c in runs]


def _slim(output: RunOutput) -> RunOutput:
    output.parameters = {}  # not stored; no need to send them back to the driver
    return output


def _slimmed(result: ChunkResult) -> ChunkResult:
    if result.output is not None:
        _slim(result.output)
    return result


# ---------------------------------------------------------------------------
# Executors: submit a chunk, poll for finished ones, cancel everything.


class Executor(Protocol):
    """Runs chunks somewhere; ``poll`` returns the tickets of finished chunks."""

    workers: int

    def submit(self, configs: list[dict[str, Any]], stacked: bool) -> int: ...
    def poll(self, timeout: float) -> list[int]: ...
    def result(self, ticket: int) -> list[ChunkResult]: ...
    def cancel(self) -> None: ...


class InProcess:
    """Train each chunk right here, when it is submitted (tests, debugging, one core)."""

    def __init__(self, device: str = "cpu") -> None:
        self.workers = 1
        self.device = device
        self._done: dict[int, list[ChunkResult]] = {}
        self._cache: dict[str, Dataset] = {}

    def submit(self, configs: list[dict[str, Any]], stacked: bool) -> int:
        ticket = len(self._done) + 1
        self._done[ticket] = train_chunk(configs, self.device, stacked, self._cache)
        return ticket

    def poll(self, timeout: float) -> list[int]:
        return list(self._done)

    def result(self, ticket: int) -> list[ChunkResult]:
        return self._done.pop(ticket)

    def cancel(self) -> None:
        self._done.clear()


_WORKER_CACHE: dict[str, Dataset] = {}


def _init_worker() -> None:
    """Worker processes: one torch thread; Ctrl-C is the driver's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)


def _worker_chunk(configs: list[dict[str, Any]], device: str, stacked: bool) -> list[ChunkResult]:
    return train_chunk(configs, device, stacked, _WORKER_CACHE)


class LocalProcesses:
    """A pool of worker processes on this machine (spawned: no state shared with the
    driver), one per core by default."""

    def __init__(self, workers: int | None = None, device: str = "cpu") -> None:
        self.workers = workers or os.cpu_count() or 1
        self.device = device
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(self.workers, initializer=_init_worker)
        self._pending: dict[int, Any] = {}
        self._next = 0

    def submit(self, configs: list[dict[str, Any]], stacked: bool) -> int:
        self._next += 1
        self._pending[self._next] = self._pool.apply_async(
            _worker_chunk, (configs, self.device, stacked)
        )
        return self._next

    def poll(self, timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        while True:
            ready = [t for t, r in self._pending.items() if r.ready()]
            if ready or time.monotonic() >= deadline:
                return ready
            time.sleep(0.02)

    def result(self, ticket: int) -> list[ChunkResult]:
        results: list[ChunkResult] = self._pending.pop(ticket).get()
        return results

    def cancel(self) -> None:
        self._pending.clear()
        self._pool.terminate()
        self._pool.join()

    def close(self) -> None:
        self._pool.close()
        self._pool.join()


def _ray_chunk(configs: list[dict[str, Any]], device: str, stacked: bool) -> list[ChunkResult]:
    torch.set_num_threads(1)
    return train_chunk(configs, device, stacked, _WORKER_CACHE)


class RayCluster:
    """Chunks as Ray tasks (one CPU each, retried by Ray when a worker dies).  Connects
    to ``address`` (``"auto"``, ``"HOST:PORT"`` or ``"ray://HOST:10001"``), or starts a
    local cluster with ``workers`` CPUs when ``address`` is None."""

    def __init__(
        self, address: str | None = None, workers: int | None = None, device: str = "cpu"
    ) -> None:
        self.ray = require("ray", "ray", "Sweeps on a Ray cluster")
        self.device = device
        if not self.ray.is_initialized():
            if address is None:
                self.ray.init(
                    num_cpus=workers or os.cpu_count() or 1,
                    include_dashboard=False,
                    log_to_driver=False,
                )
            else:
                self.ray.init(address=address, log_to_driver=False)
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        self.workers = workers or cpus
        gpus = 1 if device.startswith("cuda") else 0
        self._task = self.ray.remote(num_cpus=1, num_gpus=gpus, max_retries=2)(_ray_chunk)
        self._pending: dict[int, Any] = {}
        self._next = 0

    def submit(self, configs: list[dict[str, Any]], stacked: bool) -> int:
        self._next += 1
        self._pending[self._next] = self._task.remote(configs, self.device, stacked)
        return self._next

    def poll(self, timeout: float) -> list[int]:
        refs = {ref: t for t, ref in self._pending.items()}
        if not refs:
            return []
        ready, _ = self.ray.wait(list(refs), num_returns=len(refs), timeout=timeout)
        return [refs[r] for r in ready]

    def result(self, ticket: int) -> list[ChunkResult]:
        results: list[ChunkResult] = self.ray.get(self._pending.pop(ticket))
        return results

    def cancel(self) -> None:
        for ref in self._pending.values():
            self.ray.cancel(ref, force=True)
        self._pending.clear()

    def close(self) -> None:
        """Leave the cluster running (it may be shared); nothing to release."""


def make_executor(
    backend: str, *, workers: int | None, device: str, address: str | None
) -> InProcess | LocalProcesses | RayCluster:
    """The executor for a validated ``backend`` name."""
    if backend == "ray":
        return RayCluster(address, workers, device)
    if backend == "local" and (workers or os.cpu_count() or 1) > 1:
        return LocalProcesses(workers, device)
    return InProcess(device)
