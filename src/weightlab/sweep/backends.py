"""Where chunks of runs train: in this process, in local worker processes, or on a Ray
cluster.

A chunk is a list of runs the driver has claimed in the store: one run (sequential
engine) or a bucket of runs that stack (see :func:`weightlab.train.stacked.bucket_key`).
Workers only compute; they return every run's results and the driver alone writes them to
the store.  A chunk therefore has no side effects: when one is retried or lost, its runs
are written at most once (the driver writes a run only while it still holds its claim).
A chunk whose worker dies trains again on a fresh worker (or is retried by Ray); one
lost after every try fails its runs with the reason, and the next invocation trains
them again.

Threads: a small model's step is up to 18× slower with two torch threads than with one
on a two-core machine, so every worker runs one torch thread, and parallelism comes from
one worker process per core.

Local workers are forks of a server process that imported torch and the engines once
(``forkserver``; ``spawn`` where the platform lacks it), which under the ``weightlab
run`` command starts before the command line's own imports (:mod:`weightlab._launch`);
they live for the whole sweep and get the driver's datasets through shared memory
instead of loading (or generating) them again.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from typing import Any, Protocol

import torch
import torch.multiprocessing  # registers tensor pickling through shared memory

from weightlab._launch import Started, context, take
from weightlab._optional import require
from weightlab._validate import Described, error_summary, fail
from weightlab.data import Dataset, load_dataset
from weightlab.train import RunConfig, RunOutput, train_run
from weightlab.train.stacked import train_stacked

__all__ = [
    "BACKENDS",
    "ENGINES",
    "ChunkLostError",
    "ChunkResult",
    "Executor",
    "InProcess",
    "LocalProcesses",
    "RayCluster",
    "StepCounter",
    "keep_freed_memory",
    "train_chunk",
    "worker_main",
]

BACKENDS: tuple[str, ...] = ("inprocess", "local", "ray")
REPORT_SECONDS = 0.25  # how often a chunk in training reports its model-steps
ENGINES: tuple[str, ...] = ("auto", "sequential", "stacked")


@dataclass
class ChunkResult:
    """One run's outcome: its results, or the error that stopped it, and the engine."""

    output: RunOutput | None
    error: str | None
    engine: str


def _dataset_key(config: RunConfig | dict[str, Any]) -> str:
    dataset = config.dataset if isinstance(config, RunConfig) else config["dataset"]
    return repr(sorted(dataset.items()))


def dataset_for(config: RunConfig, cache: dict[str, Dataset]) -> Dataset:
    """The run's dataset, loaded once per process (generated data is deterministic)."""
    key = _dataset_key(config)
    if key not in cache:
        params = {k: v for k, v in config.dataset.items() if k != "name"}
        cache[key] = load_dataset(config.dataset["name"], **params)
    return cache[key]


class StepCounter:
    """Counts the model-steps a chunk has trained and reports them now and then.

    The training loops ask ``should_stop()`` before every step, so a counter passed as
    ``should_stop`` sees every step without touching the loops: ``report(done)`` gets
    the model-steps done so far (at most every ``every`` seconds, by default
    :data:`REPORT_SECONDS`), and ``stop()`` still decides whether to stop.
    :meth:`begin` starts one training of ``models`` models (a stack, or one run),
    :meth:`end` adds its full length.

    Example:
        >>> seen = []
        >>> counter = StepCounter(seen.append, every=0)
        >>> counter.begin(4)  # a stack of 4 models, 3 steps
        >>> [counter() for _ in range(3)]
        [False, False, False]
        >>> counter.end(3)
        >>> seen
        [0, 4, 8, 12]
    """

    def __init__(
        self,
        report: Callable[[int], None] | None = None,
        stop: Callable[[], bool] | None = None,
        every: float | None = None,
    ) -> None:
        self.report, self.stop = report, stop
        self.every = REPORT_SECONDS if every is None else every
        self.base = 0  # model-steps of the trainings that ended
        self.models = 1
        self.calls = 0
        self._last = time.monotonic()

    def begin(self, models: int) -> None:
        self.models, self.calls = models, 0

    def end(self, steps: int) -> None:
        """The training ended; it counts in full (a diverged model's steps too)."""
        self.base += self.models * steps
        self.calls = 0
        self._emit()

    def __call__(self) -> bool:
        self.calls += 1
        if time.monotonic() - self._last >= self.every:
            self._emit()
        return self.stop() if self.stop is not None else False

    @property
    def done(self) -> int:
        return self.base + self.models * max(0, self.calls - 1)

    def _emit(self) -> None:
        self._last = time.monotonic()
        if self.report is not None:
            self.report(self.done)


def _sequential(config: RunConfig, data: Dataset, device: str, counter: StepCounter) -> ChunkResult:
    counter.begin(1)
    try:
        result = ChunkResult(
            train_run(config, data, device=device, should_stop=counter), None, "sequential"
        )
    except KeyboardInterrupt:
        raise
    except Exception as error:  # one bad run must not stop the others
        result = ChunkResult(None, error_summary(error), "sequential")
    counter.end(int(config.train["steps"]))
    return result


def train_chunk(
    configs: Sequence[dict[str, Any]],
    device: str,
    stacked: bool,
    cache: dict[str, Dataset] | None = None,
    counter: StepCounter | None = None,
) -> list[ChunkResult]:
    """Train one chunk and return each run's result, in order.  A stacked chunk that
    fails as a whole (for example a module the stacked engine cannot express) falls back
    to training its runs one by one.  ``counter`` counts the model-steps (and may stop
    the chunk by raising ``KeyboardInterrupt``)."""
    runs = [RunConfig.from_dict(dict(c)) for c in configs]
    cache = {} if cache is None else cache
    counter = counter or StepCounter()
    data = dataset_for(runs[0], cache)
    if stacked and len(runs) > 1:
        counter.begin(len(runs))
        try:
            outputs = train_stacked(runs, data, device=device, should_stop=counter)
            counter.end(int(runs[0].train["steps"]))
            return [ChunkResult(_slim(o), None, "stacked") for o in outputs]
        except KeyboardInterrupt:
            raise
        except Exception:
            counter.begin(1)  # the steps of the failed stack do not count
    return [_slimmed(_sequential(c, dataset_for(c, cache), device, counter)) for c in runs]


def _slim(output: RunOutput) -> RunOutput:
    output.parameters = {}  # not stored; no need to send them back to the driver
    return output


def _slimmed(result: ChunkResult) -> ChunkResult:
    if result.output is not None:
        _slim(result.output)
    return result


# ---------------------------------------------------------------------------
# Executors: submit a chunk, poll for finished ones, cancel everything.


class ChunkLostError(RuntimeError):
    """A chunk's worker died every time it was tried; the message says how."""


class Executor(Protocol):
    """Runs chunks somewhere.  ``poll`` returns the tickets of finished chunks;
    ``result`` returns a finished chunk's results or raises (the chunk was lost);
    ``progress`` the model-steps each unfinished chunk has reported; ``notes`` what
    happened that the user should hear (taken once)."""

    workers: int

    def submit(self, configs: list[dict[str, Any]], stacked: bool) -> int: ...
    def poll(self, timeout: float) -> list[int]: ...
    def result(self, ticket: int) -> list[ChunkResult]: ...
    def progress(self) -> dict[int, int]: ...
    def notes(self) -> list[str]: ...
    def cancel(self) -> None: ...
    def close(self) -> None: ...


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

    def progress(self) -> dict[int, int]:
        return {}

    def notes(self) -> list[str]:
        return []

    def cancel(self) -> None:
        self._done.clear()

    def close(self) -> None:
        """Nothing to release."""


# glibc's mallopt parameters: blocks up to this size come from the heap (not a fresh
# mmap whose pages fault in on every use), and freed memory stays in the process until
# this much is free.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
KEEP_FREED_BYTES = 256 << 20
HEAP_BLOCK_BYTES = 64 << 20


def keep_freed_memory() -> bool:
    """Let this process's allocator reuse freed memory instead of handing it back to the
    system.  A training step allocates and frees its activations and gradients (a few
    megabytes each); by default glibc maps each such block afresh and returns it when
    freed, and touching the new pages costs more than the step's arithmetic on them
    (about 1000 page faults per step of 64 stacked models, 15% of its time).  For
    worker processes, which only train; True where the setting took (glibc)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(
            libc.mallopt(_M_MMAP_THRESHOLD, HEAP_BLOCK_BYTES)
            and libc.mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES)
        )
    except (OSError, AttributeError):
        return False


def worker_main(conn: Connection) -> None:
    """A worker process: train the chunks the driver sends, report model-steps as they
    go, send each chunk's results back.  One torch thread; Ctrl-C is the driver's to
    handle.  A worker whose driver is gone (killed) stops at the next step."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    keep_freed_memory()
    cache: dict[str, Dataset] = {}
    with contextlib.suppress(OSError):
        conn.send(("ready", 0, time.time()))

    # The driver's end of a pipe closes when it exits: a fork server's child (whose
    # parent process is the server) sees the driver go as a spawned one does.
    driver = multiprocessing.parent_process()

    def orphaned() -> bool:
        return driver is not None and not driver.is_alive()

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:  # the driver's goodbye: nothing here needs tearing down
            os._exit(0)  # (an interpreter's orderly exit with torch loaded takes ~0.5 s)
        if message[0] == "data":  # the driver's datasets, in shared memory
            cache.update(message[1])
            continue
        ticket, configs, device, stacked = message

        def report(done: int, ticket: int = ticket) -> None:
            try:
                conn.send(("steps", ticket, done))
            except OSError:  # the driver is gone: stop like Ctrl-C
                raise KeyboardInterrupt from None

        try:
            results = train_chunk(configs, device, stacked, cache, StepCounter(report, orphaned))
        except KeyboardInterrupt:  # orphaned
            return
        except Exception as error:  # e.g. a dataset that cannot load: fails the chunk
            results = [ChunkResult(None, error_summary(error), "sequential") for _ in configs]
        try:
            conn.send(("done", ticket, results))
        except OSError:
            return


def _death(exitcode: int | None) -> str:
    """How a process ended: ``killed by SIGKILL``, ``exited with code 1``."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


@dataclass
class _Chunk:
    configs: list[dict[str, Any]]
    stacked: bool
    tries: int = 0
    steps: int = 0
    results: list[ChunkResult] | None = None
    lost: str | None = None


class _Worker:
    """One worker process and the driver's end of its pipe."""

    def __init__(self, started: Started) -> None:
        self.conn, self.process, self.started = started.conn, started.process, started.started
        self.data: set[str] = set()  # the datasets it holds

    @classmethod
    def new(cls, context: BaseContext) -> _Worker:
        return cls(Started(context))

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class LocalProcesses:
    """Worker processes on this machine (forks of a fork server, or spawned: no state
    shared with the driver), one per core by default, each training one chunk at a time.

    The driver watches every worker: a worker that dies (``kill -9``, the out-of-memory
    killer, a crash) is noticed at the next poll, its chunk goes back to a fresh worker,
    and after :attr:`TRIES` deaths the chunk is lost and its runs fail with the reason.
    Workers report the model-steps they have trained a few times a second.
    """

    TRIES = 3

    def __init__(self, workers: int | None = None, device: str = "cpu") -> None:
        self.workers = workers or os.cpu_count() or 1
        self.device = device
        self._context = context()
        # Workers the command line started before its own imports come first.
        adopted = [_Worker(w) for w in take(self.workers)]
        fresh = [_Worker.new(self._context) for _ in range(self.workers - len(adopted))]
        self._idle = [*adopted, *fresh]
        self._busy: dict[int, _Worker] = {}
        self._chunks: dict[int, _Chunk] = {}
        self._notes: list[str] = []
        self._next = 0
        self._datasets: dict[str, Dataset] = {}
        self.startup: list[float] = []  # seconds each worker took to be ready
        self.ready_at: list[float] = []  # when each was ready (time.time())

    def share(self, datasets: dict[str, Dataset]) -> None:
        """Hand ``datasets`` (keyed like :func:`dataset_for`'s cache) to the workers:
        their tensors move to shared memory, and each worker maps them (instead of
        loading the data again) before its first chunk that needs them."""
        for data in datasets.values():
            for name in ("x_train", "y_train", "x_val", "y_val"):
                getattr(data, name).share_memory_()
        self._datasets.update(datasets)

    def submit(self, configs: list[dict[str, Any]], stacked: bool) -> int:
        self._next += 1
        self._chunks[self._next] = _Chunk(configs, stacked)
        self._dispatch(self._next)
        return self._next

    def _dispatch(self, ticket: int) -> None:
        chunk = self._chunks[ticket]
        chunk.tries += 1
        chunk.steps = 0
        while self._idle and not self._idle[-1].process.is_alive():
            self._idle.pop().stop()  # died while idle: nothing was lost
        worker = self._idle.pop() if self._idle else _Worker.new(self._context)
        self._busy[ticket] = worker
        with contextlib.suppress(OSError):  # it died just now: the next poll retries
            keys = {_dataset_key(c) for c in chunk.configs} & set(self._datasets)
            missing = {key: self._datasets[key] for key in keys - worker.data}
            if missing:
                worker.conn.send(("data", missing))
                worker.data |= set(missing)
            worker.conn.send((ticket, chunk.configs, self.device, chunk.stacked))

    def poll(self, timeout: float) -> list[int]:
        if self._busy:
            watched = [w.conn for w in self._busy.values()]
            watched += [w.process.sentinel for w in self._busy.values()]
            wait(watched, timeout)
        for ticket, worker in list(self._busy.items()):
            self._read(ticket, worker)
        return [t for t, c in self._chunks.items() if c.results is not None or c.lost]

    def _read(self, ticket: int, worker: _Worker) -> None:
        chunk = self._chunks[ticket]
        try:
            while worker.conn.poll():
                kind, _, payload = worker.conn.recv()
                if kind == "ready":
                    self.startup.append(payload - worker.started)
                    self.ready_at.append(payload)
                elif kind == "steps":
                    chunk.steps = payload
                else:
                    chunk.results = payload
                    self._idle.append(self._busy.pop(ticket))
                    return
        except (EOFError, OSError):
            pass
        if not worker.process.is_alive():
            self._lost(ticket, self._busy.pop(ticket))

    def _lost(self, ticket: int, worker: _Worker) -> None:
        worker.process.join()
        how = f"worker process {worker.process.pid} {_death(worker.process.exitcode)}"
        worker.stop()
        chunk = self._chunks[ticket]
        runs = _count(len(chunk.configs), "run")
        if chunk.tries < self.TRIES:
            self._notes.append(
                f"{how} while training {runs}; they start again on a fresh worker "
                f"(try {chunk.tries + 1} of {self.TRIES})."
            )
            self._dispatch(ticket)
        else:
            chunk.lost = f"its worker process died {chunk.tries} times (the last {how})"
            self._notes.append(
                f"{how} while training {runs}; that was try {chunk.tries} of "
                f"{self.TRIES}, so they are marked failed."
            )

    def result(self, ticket: int) -> list[ChunkResult]:
        chunk = self._chunks.pop(ticket)
        if chunk.lost is not None:
            raise ChunkLostError(chunk.lost)
        assert chunk.results is not None  # poll returned the ticket
        return chunk.results

    def progress(self) -> dict[int, int]:
        return {t: self._chunks[t].steps for t in self._busy}

    def notes(self) -> list[str]:
        taken, self._notes = self._notes, []
        return taken

    def cancel(self) -> None:
        for worker in [*self._busy.values(), *self._idle]:
            worker.stop()
        self._busy.clear()
        self._idle.clear()
        self._chunks.clear()

    def close(self) -> None:
        """Ask idle workers to exit and stop any still busy (workers that never got a
        chunk, for example of a sweep that had nothing left to train, stop at once)."""
        if self._next == 0:
            self.cancel()
            return
        for worker in self._idle:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in [*self._idle, *self._busy.values()]:
            worker.process.join(5)
            worker.stop()
        self._idle.clear()
        self._busy.clear()


def _ray_chunk(configs: list[dict[str, Any]], device: str, stacked: bool) -> list[ChunkResult]:
    torch.set_num_threads(1)
    return train_chunk(configs, device, stacked, _WORKER_CACHE)


_WORKER_CACHE: dict[str, Dataset] = {}


class RayCluster:
    """Chunks as Ray tasks (one CPU each, retried by Ray when a worker dies).  Connects
    to ``address`` (``"auto"``, ``"HOST:PORT"`` or ``"ray://HOST:10001"``); without one
    it starts a private local cluster with ``workers`` CPUs, beside any cluster already
    running on this machine (which ``address="auto"`` would join)."""

    RETRIES = 2

    def __init__(
        self, address: str | None = None, workers: int | None = None, device: str = "cpu"
    ) -> None:
        self.ray = require("ray", "ray", "Sweeps on a Ray cluster")
        self.device = device
        self._notes = [self._connect(address, workers)]
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        self.workers = workers or cpus
        gpus = 1 if device.startswith("cuda") else 0
        if gpus and self.ray.cluster_resources().get("GPU", 0) < 1:
            raise fail("run", "device", "'cpu' on a Ray cluster without GPUs", Described(device))
        self._task = self.ray.remote(num_cpus=1, num_gpus=gpus, max_retries=self.RETRIES)(
            _ray_chunk
        )
        self._pending: dict[int, Any] = {}
        self._next = 0

    def _connect(self, address: str | None, workers: int | None) -> str:
        """Join ``address``, or start a private cluster; say which."""
        if self.ray.is_initialized():
            return "Ray: using the cluster this process is connected to."
        quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
        if address is not None:
            try:
                self.ray.init(address=address, **quiet)
            except ConnectionError as error:
                expected = (
                    "the address of a running Ray cluster (one with token authentication "
                    "also needs RAY_AUTH_MODE=token for an address other than 'auto')"
                )
                got = Described(f"{address!r}: {error}")
                raise fail("run", "address", expected, got) from None
            found = _count(int(self.ray.cluster_resources().get("CPU", 0)), "CPU")
            where = getattr(self.ray.get_runtime_context(), "gcs_address", None) or address
            return f"Ray: joined the cluster at {where} ({found})."
        cpus = workers or os.cpu_count() or 1
        # "local" starts a new cluster even where one runs (ray.init() would join it,
        # and refuse the CPU count).
        self.ray.init(address="local", num_cpus=cpus, include_dashboard=False, **quiet)
        return (
            f"Ray: started a private local cluster with {_count(cpus, 'CPU')} for this run "
            "(--address auto joins a running cluster instead)."
        )

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

    def progress(self) -> dict[int, int]:
        return {}  # Ray tasks report when they finish

    def notes(self) -> list[str]:
        taken, self._notes = self._notes, []
        return taken

    def cancel(self) -> None:
        for ref in self._pending.values():
            self.ray.cancel(ref, force=True)
        self._pending.clear()

    def close(self) -> None:
        """Leave the cluster running (it may be shared); nothing to release."""


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


def make_executor(
    backend: str, *, workers: int | None, device: str, address: str | None
) -> InProcess | LocalProcesses | RayCluster:
    """The executor for a validated ``backend`` name."""
    if backend == "ray":
        return RayCluster(address, workers, device)
    if backend == "local" and (workers or os.cpu_count() or 1) > 1:
        return LocalProcesses(workers, device)
    return InProcess(device)
