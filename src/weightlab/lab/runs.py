"""The runs section: sweeps and runs of the store, one run's curves and histograms, and
the HTML report of :func:`weightlab.report.build_report`.

The store is only read, and never created: a folder without a ``runs.db`` is shown as
an empty store.  Reports are built into a private temporary folder, once per set of
sweeps and state of the database.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from weightlab.lab.errors import LabError
from weightlab.report import build_report
from weightlab.store import RunRecord, Store

__all__ = ["RunStore"]

CURVES = (
    "train_loss",
    "val_loss",
    "train_acc",
    "val_acc",
    "train_mse",
    "val_mse",
    "gap",
    "penalty",
    "sparsity_zero",
    "sparsity_small",
)


def _row(r: RunRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "sweep": r.sweep,
        "label": r.label,
        "init": r.config.get("init"),
        "regularization": r.config.get("regularization"),
        "seed": r.config.get("seed"),
        "status": r.status,
        "seconds": r.seconds,
        "final": r.final,
    }


class RunStore:
    """Read access to the store in ``directory`` for the lab."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._reports: Path | None = None
        self._report_lock = threading.Lock()

    def _store(self) -> Store | None:
        if not (self.directory / "runs.db").is_file():
            return None
        return Store(self.directory)

    def summary(self) -> dict[str, Any]:
        """Where the store is, and each sweep with its runs counted by status."""
        store = self._store()
        sweeps = []
        if store is not None:
            runs = store.runs()
            for name in store.sweeps():
                statuses: dict[str, int] = {}
                for r in runs:
                    if r.sweep == name:
                        statuses[r.status] = statuses.get(r.status, 0) + 1
                sweeps.append({"name": name, "runs": sum(statuses.values()), "statuses": statuses})
        return {
            "path": str(self.directory.resolve()),
            "exists": store is not None,
            "sweeps": sweeps,
        }

    def _known(self, store: Store | None, sweeps: list[str]) -> Store:
        names = store.sweeps() if store is not None else []
        for name in sweeps:
            if name not in names:
                known = ", ".join(repr(n) for n in names) or "none yet"
                raise LabError(404, f"No sweep {name!r} in the store (sweeps: {known}).", "sweep")
        if store is None:
            raise LabError(
                404,
                f"No run store in {self.directory} (make one with 'weightlab run SPEC.yaml' "
                "or 'weightlab demo').",
                "store",
            )
        return store

    def runs(self, sweep: str | None) -> list[dict[str, Any]]:
        """Every run, or those of one sweep."""
        store = self._store()
        if sweep is not None:
            store = self._known(store, [sweep])
        return [_row(r) for r in store.runs(sweep)] if store is not None else []

    def run(self, run_id: int) -> dict[str, Any]:
        """One run: its config, final metrics, curves and weight histograms."""
        store = self._store()
        record = next((r for r in store.runs() if r.id == run_id), None) if store else None
        if store is None or record is None:
            raise LabError(404, f"No run with id {run_id} in the store.", "run_id")
        metrics = store.metrics(run_id)
        curves = {
            name: {"step": [s for s, _ in metrics[name]], "value": [v for _, v in metrics[name]]}
            for name in CURVES
            if name in metrics
        }
        histograms = [h for h in store.histograms(run_id) if h["layer"] == "*"]
        return {
            **_row(record),
            "config": record.config,
            "error": record.error,
            "diverged_step": record.diverged_step,
            "curves": curves,
            "histograms": histograms,
        }

    def report(self, sweeps: list[str]) -> Path:
        """``report.html`` for ``sweeps`` (all when empty), built once per set of sweeps
        and state of the store."""
        store = self._known(self._store(), sweeps)
        names = sweeps or store.sweeps()
        if not names:
            raise LabError(404, "The store has no sweep to report on yet.", "sweep")
        state = [
            (p.stat().st_mtime_ns, p.stat().st_size)
            for p in (store.path, store.path.with_name("runs.db-wal"))
            if p.is_file()
        ]
        key = hashlib.sha256(repr((sorted(names), state)).encode()).hexdigest()[:16]
        with self._report_lock:
            if self._reports is None:
                self._reports = Path(tempfile.mkdtemp(prefix="weightlab-lab-reports-"))
            out = self._reports / key
            if not (out / "report.html").is_file():
                build_report(store, out, names)
        return out / "report.html"

    def close(self) -> None:
        """Delete the reports built so far."""
        if self._reports is not None:
            shutil.rmtree(self._reports, ignore_errors=True)
            self._reports = None
