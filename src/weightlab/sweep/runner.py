"""Run a sweep into the store: validate everything first, then claim runs one by one,
train, and write each run's results in one transaction.

Running the same spec again skips finished runs and redoes unfinished ones; two
processes on one store share the work without training a run twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from weightlab._validate import error_summary, fail
from weightlab.data import Dataset, load_dataset
from weightlab.models import build_model
from weightlab.store import Store, owner_id
from weightlab.sweep.spec import SweepSpec, expand
from weightlab.train import RunConfig, parse_regularization, train_run, versions

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


def run_sweep(
    spec: SweepSpec,
    store: Store,
    *,
    device: str = "cpu",
    progress: Progress | None = None,
    stop_after: int | None = None,
    on_claim: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SweepSummary:
    """Train every unfinished run of ``spec`` into ``store``.

    Ctrl-C gives the current run back (it is redone next time) and re-raises.  A run
    that raises is marked failed with its error and the sweep goes on; a run whose loss
    becomes NaN or inf is stored as diverged.  ``stop_after`` trains at most that many
    runs (for tests and for splitting work by hand).
    """
    configs, datasets = prepare(spec)
    store.add_sweep(
        spec.name,
        spec.model_dump(mode="json"),
        [(c.hash(), c.label(), c.to_dict()) for c in configs],
    )
    finished = sum(r.status in ("done", "diverged") for r in store.runs(spec.name))
    summary = SweepSummary(spec.name, len(configs), skipped=finished)
    if progress is not None:
        progress.sweep_started(len(configs), finished)
    owner, tried = owner_id(), set[int]()
    while stop_after is None or len(summary.trained) + len(summary.failed) < stop_after:
        claimed = store.claim(spec.name, owner, exclude=tried)
        if claimed is None:
            break
        run_id, raw = claimed
        tried.add(run_id)
        if on_claim is not None:
            on_claim(run_id)
        config = RunConfig.from_dict(raw)
        data = datasets[_dataset_key(config)]
        _train_one(store, run_id, config, data, device, progress, summary, should_stop)
    return summary


def _train_one(
    store: Store,
    run_id: int,
    config: RunConfig,
    data: Dataset,
    device: str,
    progress: Progress | None,
    summary: SweepSummary,
    should_stop: Callable[[], bool] | None = None,
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
    )
    summary.trained.append(label)
    if out.status == "diverged":
        summary.diverged.append(label)
    if progress is not None:
        progress.run_finished(label, out.status)


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
