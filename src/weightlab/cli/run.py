"""``weightlab run`` and ``weightlab runs``: train a spec into the store, list results."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from weightlab._validate import fail
from weightlab.claims import Verdict
from weightlab.cli.claims import print_claims
from weightlab.cli.common import JsonFlag, app, emit_json, err, num, out
from weightlab.cli.interrupt import graceful_stop
from weightlab.cli.store import StoreOption, open_store, store_errors
from weightlab.cli.tables import fit_table
from weightlab.store import DEFAULT_STORE, Store
from weightlab.sweep import load_spec
from weightlab.sweep.judge import judge_spec
from weightlab.sweep.runner import SweepSummary, check_run_options, final_metrics, run_sweep

__all__ = ["RichProgress", "StoreOption", "progress_columns"]


def progress_columns() -> tuple[ProgressColumn, ...]:
    """What the sweep bar shows, in 80 columns: activity and runs finished, model-steps
    done of all, and the estimated time left."""
    return (
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TextColumn("model-steps  ETA"),
        TimeRemainingColumn(),
    )


class RichProgress:
    """One bar in model-steps (runs × steps) that moves as chunks report, with an
    estimate of the time left; what the sweep is doing and the runs finished in its
    description; notes (a dead worker, the Ray cluster) printed above it."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("starting", total=None)
        self.runs = self.finished = 0
        self.doing = "starting"

    def sweep_started(self, runs: int, finished: int, steps: int, done: int) -> None:
        # A new task, so that the steps already done do not count as speed for the ETA.
        self.progress.remove_task(self.task)
        self.runs, self.finished = runs, finished
        self.task = self.progress.add_task(self._description(), total=steps, completed=done)

    def advanced(self, done: int) -> None:
        self.progress.update(self.task, completed=done)

    def run_finished(self, label: str, status: str) -> None:
        self.finished += 1
        self.progress.update(self.task, description=self._description())
        if status != "done":
            self.progress.console.print(f"{label}: {status}", markup=False)

    def note(self, message: str) -> None:
        self.progress.console.print(message, markup=False, soft_wrap=True)

    def phase(self, text: str) -> None:
        self.doing = text
        self.progress.update(self.task, description=self._description())

    def _description(self) -> str:
        return f"{self.doing}, {self.finished}/{self.runs} runs"


@app.command("run")
def run(
    spec: Annotated[Path, typer.Argument(help="Experiment spec (YAML).")],
    store: StoreOption = DEFAULT_STORE,
    device: Annotated[str, typer.Option(help="Torch device: cpu, cuda or cuda:N.")] = "cpu",
    engine: Annotated[
        str,
        typer.Option(
            help="auto: runs that share an architecture and training settings train together "
            "as stacked tensors, the rest one by one; sequential: one by one; stacked: "
            "like auto, but refuse runs that cannot stack."
        ),
    ] = "auto",
    backend: Annotated[
        str,
        typer.Option(
            help="local: worker processes on this machine, one per core (one torch thread "
            "each); inprocess: in this process; ray: tasks on a Ray cluster "
            "(pip install 'weightlab\\[ray]')."
        ),
    ] = "local",
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes (local) or parallel tasks (ray). \\[default: cores]"),
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(
            help="Most runs per stacked chunk. \\[default: spread over the workers, ≤ 64]"
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to join: 'auto' (the one running on this machine), HOST:PORT "
            "or ray://HOST:10001. \\[default: start a private local one]"
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Train every run of a spec into the store; rerunning resumes where it stopped.

    Exit code 0 when every run is done or diverged, 1 when a run failed, 2 for bad input
    (spec, options, a damaged store), 130 when interrupted.
    """
    sweep_spec = load_spec(spec)
    options: dict[str, Any] = {
        "device": device,
        "engine": engine,
        "backend": backend,
        "workers": workers,
        "chunk_size": chunk_size,
        "address": address,
    }
    check_run_options(**options)
    target = open_store(store, "run")
    with (
        store_errors("run"),
        graceful_stop() as stop,
        Progress(*progress_columns(), console=err, disable=as_json) as bars,
    ):
        progress = RichProgress(bars)
        summary = run_sweep(sweep_spec, target, progress=progress, should_stop=stop, **options)
        progress.phase("reading the results")
        rows = final_metrics(target, sweep_spec.name)
        if sweep_spec.claims:
            progress.phase("judging the claims")
        verdicts = judge_spec(sweep_spec, target)
    _print_outcome(summary, rows, target, as_json, verdicts)
    if summary.failed:
        raise typer.Exit(1)


def _print_outcome(
    summary: SweepSummary,
    rows: list[dict[str, Any]],
    target: Store,
    as_json: bool,
    verdicts: Sequence[Verdict] = (),
) -> None:
    """The end of ``weightlab run``'s output: every run's final metrics, the counts, each
    failure with its reason, and the spec's claims judged."""
    if as_json:
        emit_json(
            {
                "sweep": summary.sweep,
                "store": str(target.path),
                "trained": len(summary.trained),
                "skipped": summary.skipped,
                "failed": summary.failed,
                "runs": rows,
                "claims": [v.to_json() for v in verdicts],
                "timings": summary.timings,
            }
        )
        return
    _print_settings(rows)
    out.print(
        f"{len(summary.trained)} trained, {summary.skipped} already finished, "
        f"{len(summary.failed)} failed, {len(summary.diverged)} diverged. Store: {target.path}",
        markup=False,
        soft_wrap=True,
    )
    for label, error in summary.failed:
        out.print(f"failed: {label}: {error}", style="red", markup=False, soft_wrap=True)
    print_claims(verdicts, title="Claims")


# Final metrics shown in the table, with their column titles.
_SHOWN = {
    "val_loss": "val_loss",
    "val_acc": "val_acc",
    "val_mse": "val_mse",
    "gap": "gap",
    "sparsity_zero": "zeros",
    "selection_precision": "precision",
    "selection_recall": "recall",
}


_SETTINGS = ("sweep", "init", "regularization", "lr", "seed")


def _print_settings(rows: list[dict[str, Any]]) -> None:
    """One row per setting (the runs of every seed together): how many runs finished
    how, and the mean of each final metric over them; a single seed is shown per run."""
    if len({r["seed"] for r in rows}) < 2:
        _print_runs(rows)
        return
    settings = [k for k in _SETTINGS if k != "seed" and len({str(r[k]) for r in rows}) > 1]
    settings = settings or ["init"]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(str(r[k]) for k in settings), []).append(r)
    keys = [k for k in _SHOWN if any(k in r for r in rows)]
    header = [*settings, "seeds", *(f"{_SHOWN[k]}" for k in keys), "s"]
    cells = [
        [
            *key,
            _statuses(group),
            *(num(_mean(group, k)) for k in keys),
            num(_mean(group, "seconds"), 2),
        ]
        for key, group in groups.items()
    ]
    table, legend = fit_table(header, cells, labels=len(settings) + 1, width=out.width)
    out.print(table)
    for line in legend:
        out.print(line, markup=False, soft_wrap=True)
    out.print("Metrics: means over the seeds; 'weightlab runs' lists every run.", markup=False)


def _statuses(group: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for r in group:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    if set(counts) == {"done"}:
        return str(counts["done"])
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def _mean(group: list[dict[str, Any]], key: str) -> float | None:
    values = [float(r[key]) for r in group if r.get(key) is not None]
    return sum(values) / len(values) if values else None


def _print_runs(rows: list[dict[str, Any]]) -> None:
    """One row per run; of the settings, only the columns that vary are shown."""
    settings = [k for k in _SETTINGS if len({str(r[k]) for r in rows}) > 1] or ["init"]
    keys = [k for k in _SHOWN if any(k in r for r in rows)]
    header = [*settings, "status", *(_SHOWN[k] for k in keys), "s"]
    cells = [
        [
            *(str(r[k]) for k in settings),
            r["status"],
            *(num(r.get(k)) for k in keys),
            num(r.get("seconds"), 2),
        ]
        for r in rows
    ]
    table, legend = fit_table(header, cells, labels=len(settings) + 1, width=out.width)
    out.print(table)
    for line in legend:
        out.print(line, markup=False, soft_wrap=True)


@app.command("runs")
def runs(
    store: StoreOption = DEFAULT_STORE,
    sweep: Annotated[str | None, typer.Option(help="Only this sweep.")] = None,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Also write the rows to this CSV file.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List runs and their final metrics."""
    if not (Path(store) / "runs.db").is_file():
        raise fail(
            "runs", "store", "a folder holding a runs.db (made by 'weightlab run')", str(store)
        )
    target = open_store(store, "runs")
    if sweep is not None and sweep not in target.sweeps():
        known = ", ".join(target.sweeps()) or "none yet"
        raise fail("runs", "sweep", f"a sweep in the store ({known})", sweep)
    rows = final_metrics(target, sweep)
    if csv_path is not None:
        _write_csv(rows, csv_path)
    if as_json:
        emit_json(rows)
        return
    _print_runs(rows)
    if csv_path is not None:
        out.print(f"Wrote {csv_path}", soft_wrap=True)


def _write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    fields = list(dict.fromkeys(k for r in rows for k in r if not k.startswith("norm/")))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
