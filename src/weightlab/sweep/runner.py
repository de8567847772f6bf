"""Run a sweep into the store: validate everything first, then claim runs one by one,
train, and write each run's results in one transaction.

Running the same spec again skips finished runs and redoes unfinished ones; two
processes on one store share the work without training a run twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

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
from weightlab.sweep.backends import (
    BACKENDS,
    ENGINES,
    ChunkResult,
    Executor,
    InProcess,
    make_executor,
    train_chunk,
)
from weightlab.sweep.spec import SweepSpec, expand
from weightlab.train import RunConfig, RunOutput, train_run, versions
from weightlab.train.stacked import bucket_key, stack_problem, train_stacked

__all__ = ["Progress", "SweepSummary", "prepare", "run_sweep"]


class Progress(Protocol):
    """What the runner reports as it goes (the CLI draws it with Rich)."""

    def sweep_started(self, total: int, finished: int) -> None: ...
    def run_started(self, label: str, steps: int) -> None: ...
    def run_step(self, step: int, metrics: Mapping[str, float]) -> None: ...
    def run_finished(self, label: str, status: str) -> None: ...


@dataclass
class SweepSummary:
    """How a sweep invocation went."""

    sweep: str
    total: int
    trained: list[str] = field(default_factory=list)
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    diverged: list[str] = field(default_factory=list)


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
HEARTBEAT_SECONDS = 30.0
MAX_CHUNK = 64  # larger stacks gain little and hold more memory


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
    or a local one).  The engine of each run is recorded in the store.

    Ctrl-C gives the runs in progress back (they are redone next time) and re-raises.  A
    run that raises is marked failed with its error and the sweep goes on; a run whose
    loss becomes NaN or inf is stored as diverged.  ``stop_after`` trains at most that
    many runs (for tests and for splitting work by hand).
    """
    check(
        "run",
        {"engine": engine, "backend": backend, "workers": workers, "chunk_size": chunk_size},
        _RUN_TABLE,
    )
    configs, datasets = prepare(spec)
    if engine == "stacked":
        _require_stackable(configs)
    store.add_sweep(
        spec.name,
        spec.model_dump(mode="json"),
        [(c.hash(), c.label(), c.to_dict()) for c in configs],
    )
    finished = sum(r.status in ("done", "diverged") for r in store.runs(spec.name))
    summary = SweepSummary(spec.name, len(configs), skipped=finished)
    if progress is not None:
        progress.sweep_started(len(configs), finished)
    executor = make_executor(backend, workers=workers, device=device, address=address)
    chunk = chunk_size or max(1, min(MAX_CHUNK, -(-(len(configs) - finished) // executor.workers)))
    driver = _Driver(spec.name, store, engine, chunk, summary, progress, stop_after, on_claim)
    if isinstance(executor, InProcess):
        driver.run_here(datasets, device, should_stop)
    else:
        try:
            driver.run_on(executor, should_stop)
        finally:
            executor.close()
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
        self.open -= 1
        label = config.label()
        if result.output is None:
            error = result.error or "unknown error"
            self.store.release(run_id, "failed", error)
            self.summary.failed.append((label, error))
            status = "failed"
        else:
            out = result.output
            if self.store.holds(run_id, self.owner):
                engine = engine_label(config, result.engine, self.engine)
                store_output(self.store, run_id, out, engine)
            self.summary.trained.append(label)
            if out.status == "diverged":
                self.summary.diverged.append(label)
            status = out.status
        if self.progress is not None:
            self.progress.run_finished(label, status)

    def release(self, runs: list[tuple[int, RunConfig]]) -> None:
        self.open -= len(runs)
        for run_id, _ in runs:
            self.store.release(run_id, "interrupted")

    # -- in this process: step-level progress and Ctrl-C between steps ---------------

    def run_here(
        self,
        datasets: dict[str, Dataset],
        device: str,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        while claimed := self.claim():
            data = datasets[_dataset_key(claimed[0][1])]
            if len(claimed) == 1:
                run_id, config = claimed[0]
                self.open -= 1  # _train_one writes or gives the run back itself
                _train_one(
                    self.store,
                    run_id,
                    config,
                    data,
                    device,
                    self.progress,
                    self.summary,
                    should_stop,
                    self.engine,
                )
                continue
            self.run_stack_here(claimed, data, device, should_stop)

    def run_stack_here(
        self,
        claimed: list[tuple[int, RunConfig]],
        data: Dataset,
        device: str,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        configs = [c for _, c in claimed]
        if self.progress is not None:
            steps = int(configs[0].train["steps"])
            self.progress.run_started(f"{len(configs)} runs stacked", steps)

        def on_step(step: int, metrics: Mapping[str, float]) -> None:
            for run_id, _ in claimed:
                self.store.heartbeat(run_id)
            if self.progress is not None:
                self.progress.run_step(step, metrics)

        try:
            outputs = train_stacked(
                configs, data, device=device, on_step=on_step, should_stop=should_stop
            )
            results = [ChunkResult(o, None, "stacked") for o in outputs]
        except KeyboardInterrupt:
            self.release(claimed)
            raise
        except Exception:  # the sequential engine is the reference: fall back to it
            results = train_chunk([c.to_dict() for c in configs], device, False)
        for (run_id, config), result in zip(claimed, results, strict=True):
            self.write(run_id, config, result)

    # -- on worker processes or a Ray cluster ----------------------------------------

    def collect(
        self, executor: Executor, ticket: int, claimed: list[tuple[int, RunConfig]]
    ) -> None:
        """Write a finished chunk's runs; a chunk that was lost (its worker died after
        every retry) gives its runs back, to be trained on the next invocation."""
        try:
            results = executor.result(ticket)
        except Exception as error:
            self.release(claimed)
            message = f"chunk lost, run again to retry: {error_summary(error)}"
            for _, config in claimed:
                self.summary.failed.append((config.label(), message))
                if self.progress is not None:
                    self.progress.run_finished(config.label(), "interrupted")
            return
        for (run_id, config), result in zip(claimed, results, strict=True):
            self.write(run_id, config, result)

    def run_on(self, executor: Executor, should_stop: Callable[[], bool] | None) -> None:
        in_flight: dict[int, list[tuple[int, RunConfig]]] = {}
        beat = time.monotonic()
        try:
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
                if time.monotonic() - beat > HEARTBEAT_SECONDS:
                    beat = time.monotonic()
                    for claimed in in_flight.values():
                        for run_id, _ in claimed:
                            self.store.heartbeat(run_id)
                if should_stop is not None and should_stop():
                    raise KeyboardInterrupt
        except BaseException:
            executor.cancel()
            for claimed in in_flight.values():
                self.release(claimed)
            raise


def _train_one(
    store: Store,
    run_id: int,
    config: RunConfig,
    data: Dataset,
    device: str,
    progress: Progress | None,
    summary: SweepSummary,
    should_stop: Callable[[], bool] | None = None,
    requested: str = "auto",
) -> None:
    label = config.label()
    if progress is not None:
        progress.run_started(label, int(config.train["steps"]))

    def on_step(step: int, metrics: Mapping[str, float]) -> None:
        store.heartbeat(run_id)
        if progress is not None:
            progress.run_step(step, metrics)

    try:
        out = train_run(config, data, device=device, on_step=on_step, should_stop=should_stop)
    except KeyboardInterrupt:
        store.release(run_id, "interrupted")
        raise
    except Exception as error:  # one bad run must not stop the sweep
        store.release(run_id, "failed", error_summary(error))
        summary.failed.append((label, error_summary(error)))
        if progress is not None:
            progress.run_finished(label, "failed")
        return
    store_output(store, run_id, out, engine_label(config, None, requested))
    summary.trained.append(label)
    if out.status == "diverged":
        summary.diverged.append(label)
    if progress is not None:
        progress.run_finished(label, out.status)


def engine_label(config: RunConfig, engine: str | None, requested: str) -> str | None:
    """The engine recorded for a run (None: the one its claim recorded).  A run that
    trained alone because it cannot stack says why, so that a sweep never silently
    trains some runs another way: ``sequential (arch 'cnn' is not one of ...)``."""
    if requested == "sequential" or engine == "stacked":
        return engine
    problem = stack_problem(config)
    return f"sequential ({problem})" if problem is not None else engine


def store_output(store: Store, run_id: int, out: RunOutput, engine: str | None = None) -> None:
    """Write one run's results, its status and the engine that trained it."""
    store.finish(
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
