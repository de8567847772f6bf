"""Run a sweep into the store: validate everything first, then claim runs one by one,
train, and write each run's results in one transaction.

Running the same spec again skips finished runs and redoes unfinished ones; two
processes on one store share the work without training a run twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from weightlab._optional import installed, pip_command
from weightlab._validate import (
    OPTIONAL,
    Constraint,
    Described,
    Interval,
    OneOf,
    check,
    error_summary,
    fail,
)
from weightlab.data import Dataset, load_dataset
from weightlab.models import build_model
from weightlab.regularize import parse_regularization
from weightlab.store import Store, owner_id
from weightlab.store.sqlite import FINISHED, HEARTBEAT_SECONDS
from weightlab.sweep.backends import (
    BACKENDS,
    ENGINES,
    ChunkLostError,
    ChunkResult,
    Executor,
    InProcess,
    LocalProcesses,
    StepCounter,
    make_executor,
    train_chunk,
)
from weightlab.sweep.spec import SweepSpec, expand
from weightlab.train import RunConfig, RunOutput, versions
from weightlab.train.stacked import bucket_key, stack_problem

__all__ = [
    "Progress",
    "SweepSummary",
    "check_device",
    "check_run_options",
    "prepare",
    "run_sweep",
]


class Progress(Protocol):
    """What the runner reports as it goes (the CLI draws it with Rich).  Progress is
    counted in model-steps: a run of 3000 steps is 3000, a stacked chunk of 8 such runs
    24000, so the count moves while chunks train, not only when they end."""

    def sweep_started(self, runs: int, finished: int, steps: int, done: int) -> None:
        """``runs`` in the sweep, ``finished`` already; ``steps`` model-steps in all,
        ``done`` those of the finished runs."""

    def advanced(self, done: int) -> None:
        """Model-steps done so far, finished runs and runs in training together."""

    def run_finished(self, label: str, status: str) -> None:
        """A run was written to the store (or failed)."""

    def note(self, message: str) -> None:
        """Something the user should read (a worker died, which Ray cluster is used)."""

    def phase(self, text: str) -> None:
        """What the sweep is doing now (training, writing results)."""


@dataclass
class SweepSummary:
    """How a sweep invocation went."""

    sweep: str
    total: int
    trained: list[str] = field(default_factory=list)
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    diverged: list[str] = field(default_factory=list)
    # Where the time went, in seconds: ``prepare`` (checking the spec, loading data,
    # opening the sweep), ``workers`` (from the call's start until the last local worker
    # process was ready: they may have started before it, see weightlab._launch), the runs'
    # phases summed over the runs (``init``, ``train``, ``eval``, ``diagnostics``,
    # ``probes``; worker processes run them side by side), ``store`` (writing results)
    # and ``total`` (the whole call).
    timings: dict[str, float] = field(default_factory=dict)


def _dataset_key(config: RunConfig) -> str:
    return repr(sorted(config.dataset.items()))


def prepare(spec: SweepSpec) -> tuple[list[RunConfig], dict[str, Dataset]]:
    """Expand the grid, load every dataset and build every distinct model once, so an
    impossible combination fails before anything trains."""
    configs = expand(spec)
    datasets: dict[str, Dataset] = {}
    for config in configs:
        key = _dataset_key(config)
        if key not in datasets:
            params = {k: v for k, v in config.dataset.items() if k != "name"}
            datasets[key] = load_dataset(config.dataset["name"], **params)
    checked: set[tuple[str, str]] = set()
    for config in configs:
        data = datasets[_dataset_key(config)]
        if config.model["arch"] == "logistic" and data.task != "classification":
            raise fail("run", "model.arch", "a classification dataset for 'logistic'", data.name)
        p, mode = parse_regularization(config.regularization).dropout
        seen = (_dataset_key(config), f"{p}{mode}")
        if seen in checked:
            continue
        checked.add(seen)
        model = build_model(
            config.model, data.input_shape, data.n_outputs, dropout=p, dropout_mode=mode
        )
        try:
            with torch.no_grad():
                model.eval()(data.x_train[:2])
        except Exception as error:  # the user's model or shape mismatch, before training
            expected = f"a model that accepts {data.name} inputs of shape {list(data.input_shape)}"
            raise fail("run", "model", expected, error_summary(error)) from None
    return configs, datasets


_RUN_TABLE: dict[str, Constraint | tuple[Constraint, ...]] = {
    "engine": OneOf(ENGINES),
    "backend": OneOf(BACKENDS),
    "workers": (Interval(1, 4096, integer=True), OPTIONAL),
    "chunk_size": (Interval(1, 4096, integer=True), OPTIONAL),
}
MAX_CHUNK = 64  # larger stacks gain little and hold more memory


def check_run_options(
    *,
    device: str = "cpu",
    engine: str = "auto",
    backend: str = "inprocess",
    workers: int | None = None,
    chunk_size: int | None = None,
    address: str | None = None,
) -> None:
    """Validate :func:`run_sweep`'s options (the CLI calls it before it opens a store).
    A CUDA device must exist here, except on a Ray cluster named by ``address``, which
    is asked for GPUs when it is joined."""
    check(
        "run",
        {"engine": engine, "backend": backend, "workers": workers, "chunk_size": chunk_size},
        _RUN_TABLE,
    )
    if address is not None and backend != "ray":
        raise fail("run", "address", "given only with backend 'ray'", address)
    if backend == "ray" and not installed("ray"):
        expected = f"'local' or 'inprocess' until Ray is installed ({pip_command('ray')})"
        raise fail("run", "backend", expected, backend)
    check_device(device, here=not (backend == "ray" and address is not None))


def check_device(device: str, here: bool = True) -> None:
    """``device`` must be ``cpu``, ``cuda`` or ``cuda:N``; with ``here``, a GPU that
    torch sees on this machine."""
    kind, _, index = device.partition(":")
    if kind not in ("cpu", "cuda") or (index and (kind == "cpu" or not index.isdigit())):
        raise fail("run", "device", "'cpu', 'cuda' or 'cuda:N' (N a GPU index)", device)
    if kind != "cuda" or not here:
        return
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise fail("run", "device", "'cpu': torch finds no CUDA GPU on this machine", device)
    if index and int(index) >= count:
        expected = f"'cpu', 'cuda' or 'cuda:0' to 'cuda:{count - 1}' ({count} GPUs here)"
        raise fail("run", "device", expected, device)


def run_sweep(
    spec: SweepSpec,
    store: Store,
    *,
    device: str = "cpu",
    engine: str = "auto",
    backend: str = "inprocess",
    workers: int | None = None,
    chunk_size: int | None = None,
    address: str | None = None,
    progress: Progress | None = None,
    stop_after: int | None = None,
    on_claim: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SweepSummary:
    """Train every unfinished run of ``spec`` into ``store``.

    ``engine``: ``"auto"`` trains runs that can stack (same dataset, architecture,
    training settings and optimizer type) as stacked chunks and the rest one by one;
    ``"sequential"`` trains every run alone; ``"stacked"`` is ``auto`` that refuses runs
    that cannot stack.  ``backend``: ``"inprocess"`` (here), ``"local"`` (one worker
    process per core, or ``workers``) or ``"ray"`` (tasks on the cluster at ``address``,
    or a private local one).  The engine of each run is recorded in the store.

    Ctrl-C gives the runs in progress back (they are redone next time) and re-raises.  A
    run that raises is marked failed with its error and the sweep goes on; a run whose
    loss becomes NaN or inf is stored as diverged.  A worker process that dies is
    replaced and its chunk retried; a chunk whose worker dies every time fails with the
    reason.  ``stop_after`` trains at most that many runs (for tests and for splitting
    work by hand).
    """
    check_run_options(
        device=device,
        engine=engine,
        backend=backend,
        workers=workers,
        chunk_size=chunk_size,
        address=address,
    )
    start = time.perf_counter()
    # Local worker processes import torch while the spec is checked and the data load.
    early = None
    if backend == "local":
        local = make_executor(backend, workers=workers, device=device, address=address)
        early = local if isinstance(local, LocalProcesses) else None
    try:
        return _run_sweep(
            spec, store, early, start, device, engine, backend, workers, chunk_size,
            address, progress, stop_after, on_claim, should_stop,
        )  # fmt: skip
    finally:
        if early is not None:
            early.close()


def _run_sweep(
    spec: SweepSpec,
    store: Store,
    early: LocalProcesses | None,
    start: float,
    device: str,
    engine: str,
    backend: str,
    workers: int | None,
    chunk_size: int | None,
    address: str | None,
    progress: Progress | None,
    stop_after: int | None,
    on_claim: Callable[[int], None] | None,
    should_stop: Callable[[], bool] | None,
) -> SweepSummary:
    if progress is not None:
        progress.phase("loading data, checking models")
    configs, datasets = prepare(spec)
    if engine == "stacked":
        _require_stackable(configs)
    store.add_sweep(
        spec.name,
        spec.model_dump(mode="json"),
        [(c.hash(), c.label(), c.to_dict()) for c in configs],
    )
    records = store.runs(spec.name)
    finished = [r for r in records if r.status in FINISHED]
    summary = SweepSummary(spec.name, len(configs), skipped=len(finished))
    if progress is not None:
        steps = sum(int(r.config["train"]["steps"]) for r in records)
        done = sum(int(r.config["train"]["steps"]) for r in finished)
        progress.sweep_started(len(records), len(finished), steps, done)
    executor = early or make_executor(backend, workers=workers, device=device, address=address)
    if isinstance(executor, LocalProcesses):
        executor.share(datasets)
    summary.timings["prepare"] = time.perf_counter() - start
    left = len(configs) - len(finished)
    chunk = chunk_size or max(1, min(MAX_CHUNK, -(-left // executor.workers)))
    driver = _Driver(spec.name, store, engine, chunk, summary, progress, stop_after, on_claim)
    driver.done = sum(int(r.config["train"]["steps"]) for r in finished)
    try:
        if isinstance(executor, InProcess):
            driver.run_here(datasets, device, should_stop)
        else:
            driver.run_on(executor, should_stop)
    finally:
        executor.close()
    started_at = time.time() - (time.perf_counter() - start)
    if isinstance(executor, LocalProcesses) and executor.ready_at:
        # From the sweep's start (workers may have started before it) to the last ready.
        summary.timings["workers"] = max(0.0, max(executor.ready_at) - started_at)
    summary.timings["total"] = time.perf_counter() - start
    return summary


def _require_stackable(configs: list[RunConfig]) -> None:
    for config in configs:
        problem = stack_problem(config)
        if problem is not None:
            expected = "'auto' or 'sequential' for runs that cannot stack"
            raise fail("run", "engine", expected, Described(f"'stacked' ({problem})"))


def _group(engine: str) -> Callable[[dict[str, Any]], str | None]:
    if engine == "sequential":
        return lambda raw: None
    return lambda raw: bucket_key(RunConfig.from_dict(raw))


def _steps(claimed: list[tuple[int, RunConfig]]) -> int:
    """Model-steps of a chunk."""
    return sum(int(c.train["steps"]) for _, c in claimed)


class _Driver:
    """Claims chunks of runs, has them trained, and alone writes their results."""

    def __init__(
        self,
        sweep: str,
        store: Store,
        engine: str,
        chunk: int,
        summary: SweepSummary,
        progress: Progress | None,
        stop_after: int | None,
        on_claim: Callable[[int], None] | None,
    ) -> None:
        self.sweep, self.store, self.engine, self.chunk = sweep, store, engine, chunk
        self.summary, self.progress = summary, progress
        self.stop_after, self.on_claim = stop_after, on_claim
        self.owner = owner_id()
        self.tried: set[int] = set()
        self.open = 0  # runs claimed and not yet written or given back
        self.group = _group(engine)
        self.done = 0  # model-steps of finished runs
        self._beat = time.monotonic()

    def claim(self) -> list[tuple[int, RunConfig]]:
        """The next chunk: up to ``chunk`` runs of one bucket (empty when done)."""
        done = len(self.summary.trained) + len(self.summary.failed) + self.open
        limit = self.chunk
        if self.stop_after is not None:
            limit = min(limit, self.stop_after - done)
            if limit <= 0:
                return []
        claimed = self.store.claim_group(
            self.sweep, self.owner, self.group, limit, exclude=self.tried
        )
        self.open += len(claimed)
        for run_id, _ in claimed:
            self.tried.add(run_id)
            if self.on_claim is not None:
                self.on_claim(run_id)
        return [(run_id, RunConfig.from_dict(raw)) for run_id, raw in claimed]

    def write(self, run_id: int, config: RunConfig, result: ChunkResult) -> None:
        """Store one run's result, while this process still holds the run (a process
        that took over a stale claim writes it instead)."""
        self.open -= 1
        label = config.label()
        if result.output is None:
            error = result.error or "unknown error"
            held = self.store.release(run_id, "failed", error, owner=self.owner)
            if held:
                self.summary.failed.append((label, error))
            status = "failed"
        else:
            out = result.output
            engine = engine_label(config, result.engine, self.engine)
            held = store_output(self.store, run_id, out, engine, owner=self.owner)
            if held:
                self.summary.trained.append(label)
                if out.status == "diverged":
                    self.summary.diverged.append(label)
            status = out.status
        if not held:
            status = "taken over by another process, which writes it"
        self.done += int(config.train["steps"])
        if self.progress is not None:
            self.progress.run_finished(label, status)

    def write_chunk(self, claimed: list[tuple[int, RunConfig]], results: list[ChunkResult]) -> None:
        if self.progress is not None:
            self.progress.phase(f"writing {len(claimed)} runs to the store")
        clock = time.perf_counter()
        timings = self.summary.timings
        for (run_id, config), result in zip(claimed, results, strict=True):
            self.write(run_id, config, result)
            if result.output is not None:
                for phase, seconds in result.output.timings.items():
                    timings[phase] = timings.get(phase, 0.0) + seconds
        timings["store"] = timings.get("store", 0.0) + time.perf_counter() - clock
        if self.progress is not None:
            self.progress.phase("training")
            self.progress.advanced(self.done)

    def release(self, runs: list[tuple[int, RunConfig]]) -> None:
        self.open -= len(runs)
        for run_id, _ in runs:
            self.store.release(run_id, "interrupted", owner=self.owner)

    def heartbeat(self, chunks: list[list[tuple[int, RunConfig]]], now: bool = False) -> None:
        """Every HEARTBEAT_SECONDS, tell other processes these runs are in training."""
        if now or time.monotonic() - self._beat >= HEARTBEAT_SECONDS:
            self._beat = time.monotonic()
            self.store.heartbeat(*(i for c in chunks for i, _ in c), owner=self.owner)

    def note(self, message: str) -> None:
        if self.progress is not None:
            self.progress.note(message)

    # -- in this process: Ctrl-C between steps ----------------------------------------

    def run_here(
        self,
        datasets: dict[str, Dataset],
        device: str,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        if self.progress is not None:
            self.progress.phase("training")
        while claimed := self.claim():
            stacked = self.engine != "sequential" and len(claimed) > 1

            def report(done: int, claimed: list[tuple[int, RunConfig]] = claimed) -> None:
                self.heartbeat([claimed])
                if self.progress is not None:
                    self.progress.advanced(self.done + done)

            counter = StepCounter(report, should_stop)
            try:
                configs = [c.to_dict() for _, c in claimed]
                results = train_chunk(configs, device, stacked, datasets, counter)
            except KeyboardInterrupt:
                self.release(claimed)
                raise
            self.write_chunk(claimed, results)

    # -- on worker processes or a Ray cluster ----------------------------------------

    def collect(
        self, executor: Executor, ticket: int, claimed: list[tuple[int, RunConfig]]
    ) -> None:
        """Write a finished chunk's runs; a chunk that was lost (its worker died after
        every retry) fails its runs with the reason."""
        try:
            results = executor.result(ticket)
        except Exception as error:
            reason = str(error) if isinstance(error, ChunkLostError) else error_summary(error)
            failed = ChunkResult(None, f"chunk lost: {reason}", "sequential")
            results = [failed] * len(claimed)
        self.write_chunk(claimed, results)

    def run_on(self, executor: Executor, should_stop: Callable[[], bool] | None) -> None:
        in_flight: dict[int, list[tuple[int, RunConfig]]] = {}
        try:
            for message in executor.notes():
                self.note(message)
            if self.progress is not None:
                self.progress.phase("training")
            exhausted = False
            while True:
                while not exhausted and len(in_flight) < executor.workers:
                    claimed = self.claim()
                    if not claimed:
                        exhausted = True
                        break
                    stacked = self.engine != "sequential" and len(claimed) > 1
                    ticket = executor.submit([c.to_dict() for _, c in claimed], stacked)
                    in_flight[ticket] = claimed
                if not in_flight:
                    return
                for ticket in executor.poll(timeout=0.5):
                    self.collect(executor, ticket, in_flight.pop(ticket))
                for message in executor.notes():
                    self.note(message)
                if self.progress is not None:
                    self.progress.advanced(self.done + sum(executor.progress().values()))
                # Only chunks still in training are in in_flight: a lost chunk's runs
                # were written as failed above, so their heartbeats stop.
                self.heartbeat(list(in_flight.values()))
                if should_stop is not None and should_stop():
                    raise KeyboardInterrupt
        except BaseException:
            executor.cancel()
            for claimed in in_flight.values():
                self.release(claimed)
            raise


def engine_label(config: RunConfig, engine: str | None, requested: str) -> str | None:
    """The engine recorded for a run (None: the one its claim recorded).  A run that
    trained alone because it cannot stack says why, so that a sweep never silently
    trains some runs another way: ``sequential (arch 'cnn' is not one of ...)``."""
    if requested == "sequential" or engine == "stacked":
        return engine
    problem = stack_problem(config)
    return f"sequential ({problem})" if problem is not None else engine


def store_output(
    store: Store,
    run_id: int,
    out: RunOutput,
    engine: str | None = None,
    owner: str | None = None,
) -> bool:
    """Write one run's results, its status and the engine that trained it (only while
    ``owner``, if given, holds the run); False when it was not written."""
    return store.finish(
        run_id,
        status=out.status,
        metrics=out.metrics,
        histograms=out.histograms,
        diagnostics=out.diagnostics,
        final=out.final,
        seconds=out.seconds,
        versions=versions(),
        diverged_step=out.diverged_step,
        engine=engine,
        owner=owner,
    )


def final_metrics(store: Store, sweep: str | None = None) -> list[dict[str, Any]]:
    """One row per run: sweep, label, status, seconds and the final metrics."""
    return [
        {
            "id": r.id,
            "sweep": r.sweep,
            "label": r.label,
            "init": r.config["init"],
            "regularization": r.config["regularization"],
            "lr": r.config["optimizer"]["lr"],
            "seed": r.config["seed"],
            "status": r.status,
            "seconds": r.seconds,
            "engine": r.engine,
            **r.final,
        }
        for r in store.runs(sweep)
    ]
