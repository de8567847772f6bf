"""``weightlab run`` and ``weightlab runs``: train a spec into the store, list results."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from weightlab._validate import fail
from weightlab.cli.common import JsonFlag, app, emit_json, err, num, out
from weightlab.cli.interrupt import graceful_stop
from weightlab.store import DEFAULT_STORE, Store
from weightlab.sweep import load_spec
from weightlab.sweep.runner import final_metrics, run_sweep

StoreOption = Annotated[Path, typer.Option("--store", help="Folder of the run store (runs.db).")]


class RichProgress:
    """Two bars: runs of the sweep, and steps of the current run."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.sweep = progress.add_task("sweep", total=None)
        self.run = progress.add_task("run", total=None, visible=False)

    def sweep_started(self, total: int, finished: int) -> None:
        self.progress.update(
            self.sweep,
            total=total,
            completed=finished,
            description=f"sweep ({finished} already done)",
        )

    def run_started(self, label: str, steps: int) -> None:
        self.progress.reset(self.run, total=steps, visible=True, description=label)

    def run_step(self, step: int, metrics: Mapping[str, float]) -> None:
        loss = metrics.get("val_loss", float("nan"))
        self.progress.update(self.run, completed=step, description=f"val_loss {loss:.4g}")

    def run_finished(self, label: str, status: str) -> None:
        self.progress.advance(self.sweep)
        if status != "done":
            self.progress.console.print(f"{label}: {status}", markup=False)


@app.command("run")
def run(
    spec: Annotated[Path, typer.Argument(help="Experiment spec (YAML).")],
    store: StoreOption = DEFAULT_STORE,
    device: Annotated[str, typer.Option(help="Torch device: cpu or cuda.")] = "cpu",
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
            "(pip install 'weightlab[ray]')."
        ),
    ] = "local",
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes (local) or parallel tasks (ray). [default: cores]"),
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(help="Most runs per stacked chunk. [default: spread over the workers, ≤ 64]"),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to join: 'auto', HOST:PORT or ray://HOST:10001. "
            "[default: start a local one]"
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Train every run of a spec into the store; rerunning resumes where it stopped."""
    sweep_spec = load_spec(spec)
    if address is not None and backend != "ray":
        raise fail("run", "address", "to be given only with --backend ray", address)
    if device.startswith("cuda") and not __import__("torch").cuda.is_available():
        raise fail("run", "device", "'cpu', or 'cuda' on a machine with a GPU", device)
    target = Store(store)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with graceful_stop() as stop, Progress(*columns, console=err, disable=as_json) as bars:
        summary = run_sweep(
            sweep_spec,
            target,
            device=device,
            engine=engine,
            backend=backend,
            workers=workers,
            chunk_size=chunk_size,
            address=address,
            progress=RichProgress(bars),
            should_stop=stop,
        )
    rows = final_metrics(target, sweep_spec.name)
    if as_json:
        emit_json(
            {
                "sweep": summary.sweep,
                "store": str(target.path),
                "trained": len(summary.trained),
                "skipped": summary.skipped,
                "failed": summary.failed,
                "runs": rows,
            }
        )
        return
    _print_runs(rows)
    out.print(
        f"{len(summary.trained)} trained, {summary.skipped} already finished, "
        f"{len(summary.failed)} failed, {len(summary.diverged)} diverged. Store: {target.path}",
        markup=False,
        soft_wrap=True,
    )
    for label, error in summary.failed:
        out.print(f"failed: {label}: {error}", style="red", markup=False, soft_wrap=True)


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


def _print_runs(rows: list[dict[str, Any]]) -> None:
    """One row per run; of the settings, only the columns that vary are shown."""
    settings = [k for k in _SETTINGS if len({str(r[k]) for r in rows}) > 1] or ["init"]
    keys = [k for k in _SHOWN if any(k in r for r in rows)]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for col in (*settings, "status", *(_SHOWN[k] for k in keys), "s"):
        left = col in (*settings, "status") and col not in ("lr", "seed")
        table.add_column(col, justify="left" if left else "right")
    for r in rows:
        table.add_row(
            *(str(r[k]) for k in settings),
            r["status"],
            *(num(r.get(k)) for k in keys),
            num(r.get("seconds"), 2),
        )
    out.print(table)


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
    target = Store(store)
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
