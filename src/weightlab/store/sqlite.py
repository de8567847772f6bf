"""The run store: one SQLite file holding sweeps, runs, metrics, histograms and
diagnostics.

Safety rules, each with a test:
- a run's results are written in one transaction together with its ``done`` status, so
  an interrupted process (Ctrl-C, ``kill -9``) never leaves a half-written run that
  looks complete;
- runs are claimed with an atomic update, so two processes working on one store never
  train the same run twice, and a run claimed by a process that died is claimed again;
- WAL journaling and a busy timeout let several processes read and write one file.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_STORE", "RunRecord", "Store", "owner_id"]

DEFAULT_STORE = Path("weightlab-runs")
STALE_SECONDS = 600.0  # a claim whose heartbeat is older than this is abandoned

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sweeps (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    sweep_id INTEGER NOT NULL REFERENCES sweeps(id),
    config_hash TEXT NOT NULL,
    config TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    owner TEXT,
    heartbeat REAL,
    started REAL,
    finished REAL,
    seconds REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    engine TEXT,
    versions TEXT,
    final TEXT,
    error TEXT,
    diverged_step INTEGER,
    UNIQUE (sweep_id, config_hash)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, step, name)
);
CREATE TABLE IF NOT EXISTS histograms (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    step INTEGER NOT NULL,
    kind TEXT NOT NULL,
    layer TEXT NOT NULL,
    low REAL,
    high REAL,
    counts TEXT NOT NULL,
    PRIMARY KEY (run_id, step, kind, layer)
);
CREATE TABLE IF NOT EXISTS diagnostics (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    step INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, step)
);
"""

FINISHED = ("done", "diverged")


def owner_id() -> str:
    """``host:pid`` of this process, recorded on the runs it claims."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(owner: str | None) -> bool:
    """Whether the claiming process still runs (known only for this host)."""
    if not owner or ":" not in owner:
        return False
    host, pid = owner.rsplit(":", 1)
    if host != socket.gethostname():
        return True  # another machine: trust the heartbeat instead
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class RunRecord:
    """One row of ``runs`` with its config and final metrics decoded."""

    id: int
    sweep: str
    label: str
    config_hash: str
    config: dict[str, Any]
    status: str
    seconds: float | None
    final: dict[str, Any]
    engine: str | None
    error: str | None
    diverged_step: int | None


class Store:
    """A SQLite run store in ``directory`` (``runs.db`` inside it).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     store = Store(d)
        ...     sweep = store.add_sweep("demo", {"name": "demo"}, [("h1", "a", {"x": 1})])
        ...     [r.status for r in store.runs("demo")]
        ['pending']
    """

    def __init__(self, directory: str | Path = DEFAULT_STORE) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "runs.db"
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any error, so nothing is half
        written."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- sweeps and runs -------------------------------------------------------------

    def add_sweep(
        self, name: str, spec: Mapping[str, Any], runs: Sequence[tuple[str, str, Mapping[str, Any]]]
    ) -> int:
        """Create the sweep (or reuse it) and insert every ``(hash, label, config)`` run
        not already there; existing runs keep their status, so a rerun resumes."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO sweeps (name, spec, created) VALUES (?, ?, ?)",
                (name, json.dumps(spec, sort_keys=True), time.time()),
            )
            db.execute(
                "UPDATE sweeps SET spec = ? WHERE name = ?",
                (json.dumps(spec, sort_keys=True), name),
            )
            (sweep_id,) = db.execute("SELECT id FROM sweeps WHERE name = ?", (name,)).fetchone()
            db.executemany(
                "INSERT OR IGNORE INTO runs (sweep_id, config_hash, label, config) "
                "VALUES (?, ?, ?, ?)",
                [(sweep_id, h, label, json.dumps(cfg, sort_keys=True)) for h, label, cfg in runs],
            )
        return int(sweep_id)

    def claim(
        self,
        sweep: str,
        owner: str,
        engine: str = "sequential",
        exclude: set[int] | frozenset[int] = frozenset(),
    ) -> tuple[int, dict[str, Any]] | None:
        """Atomically take the next unfinished run: pending, interrupted, failed, or held
        by a process that died; mark it running.  ``exclude`` skips runs this process
        already tried.  None when nothing is left."""
        taken = self._claim(sweep, owner, lambda raw: None, 1, engine, exclude)
        return taken[0] if taken else None

    def claim_group(
        self,
        sweep: str,
        owner: str,
        group: Callable[[dict[str, Any]], str | None],
        limit: int,
        engine: str | None = None,
        exclude: set[int] | frozenset[int] = frozenset(),
    ) -> list[tuple[int, dict[str, Any]]]:
        """Atomically take up to ``limit`` unfinished runs that ``group`` puts together
        with the first one available (a run whose group is None comes alone); mark them
        running under ``owner``, with ``engine`` (by default ``stacked``, or ``sequential``
        when only one is taken).
        Empty when nothing is left."""
        return self._claim(sweep, owner, group, limit, engine, exclude)

    def _claim(
        self,
        sweep: str,
        owner: str,
        group: Callable[[dict[str, Any]], str | None],
        limit: int,
        engine: str | None,
        exclude: set[int] | frozenset[int],
    ) -> list[tuple[int, dict[str, Any]]]:
        now = time.time()
        taken: list[tuple[int, dict[str, Any]]] = []
        with self._transaction() as db:
            rows = db.execute(
                "SELECT r.id, r.config, r.status, r.owner, r.heartbeat FROM runs r "
                "JOIN sweeps s ON s.id = r.sweep_id WHERE s.name = ? AND r.status IN "
                "('pending', 'running', 'interrupted', 'failed') ORDER BY r.id",
                (sweep,),
            ).fetchall()
            key: str | None = None
            for run_id, config, status, holder, heartbeat in rows:
                if run_id in exclude or len(taken) >= limit:
                    continue
                stale = status == "running" and (
                    not _alive(holder) or (heartbeat or 0) < now - STALE_SECONDS
                )
                if status == "running" and not stale:
                    continue
                decoded = json.loads(config)
                this = group(decoded)
                if taken and (key is None or this != key):
                    continue
                key = this
                taken.append((int(run_id), decoded))
            recorded = engine or ("stacked" if len(taken) > 1 else "sequential")
            for run_id, _ in taken:
                self._clear_results(db, run_id)
                db.execute(
                    "UPDATE runs SET status = 'running', owner = ?, heartbeat = ?, started = ?, "
                    "attempts = attempts + 1, engine = ?, error = NULL WHERE id = ?",
                    (owner, now, now, recorded, run_id),
                )
        return taken

    def holds(self, run_id: int, owner: str) -> bool:
        """Whether ``owner`` still holds ``run_id`` (no other process took it over)."""
        with self._connect() as db:
            row = db.execute("SELECT status, owner FROM runs WHERE id = ?", (run_id,)).fetchone()
        return row is not None and row[0] == "running" and row[1] == owner

    @staticmethod
    def _clear_results(db: sqlite3.Connection, run_id: int) -> None:
        for table in ("metrics", "histograms", "diagnostics"):
            db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))

    def heartbeat(self, run_id: int) -> None:
        """Tell other processes this run's owner is alive."""
        with self._connect() as db:
            db.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (time.time(), run_id))

    def release(self, run_id: int, status: str = "interrupted", error: str | None = None) -> None:
        """Give a claimed run back (Ctrl-C) or mark it failed, without results."""
        with self._transaction() as db:
            self._clear_results(db, run_id)
            db.execute(
                "UPDATE runs SET status = ?, owner = NULL, error = ? WHERE id = ?",
                (status, error, run_id),
            )

    def finish(
        self,
        run_id: int,
        *,
        status: str,
        metrics: Sequence[tuple[int, str, float]],
        histograms: Sequence[tuple[int, str, str, float, float, Sequence[int]]],
        diagnostics: Sequence[tuple[int, Mapping[str, Any]]],
        final: Mapping[str, Any],
        seconds: float,
        versions: Mapping[str, str],
        diverged_step: int | None = None,
        engine: str | None = None,
    ) -> None:
        """Write every result of a run and its final status in one transaction; the
        results replace any earlier ones, so writing a run twice never duplicates rows.
        ``engine`` records which engine trained it, when that differs from the claim's."""
        with self._transaction() as db:
            self._clear_results(db, run_id)
            if engine is not None:
                db.execute("UPDATE runs SET engine = ? WHERE id = ?", (engine, run_id))
            db.executemany(
                "INSERT INTO metrics (run_id, step, name, value) VALUES (?, ?, ?, ?)",
                [(run_id, step, name, _real(value)) for step, name, value in metrics],
            )
            db.executemany(
                "INSERT INTO histograms (run_id, step, kind, layer, low, high, counts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (run_id, s, k, layer, lo, hi, json.dumps(list(c)))
                    for s, k, layer, lo, hi, c in histograms
                ],
            )
            db.executemany(
                "INSERT INTO diagnostics (run_id, step, data) VALUES (?, ?, ?)",
                [(run_id, step, json.dumps(data)) for step, data in diagnostics],
            )
            db.execute(
                "UPDATE runs SET status = ?, finished = ?, seconds = ?, final = ?, versions = ?, "
                "diverged_step = ?, owner = NULL WHERE id = ?",
                (
                    status,
                    time.time(),
                    seconds,
                    json.dumps(dict(final)),
                    json.dumps(dict(versions)),
                    diverged_step,
                    run_id,
                ),
            )

    # -- reading ---------------------------------------------------------------------

    def sweeps(self) -> list[str]:
        """Sweep names, oldest first."""
        with self._connect() as db:
            return [name for (name,) in db.execute("SELECT name FROM sweeps ORDER BY id")]

    def runs(self, sweep: str | None = None) -> list[RunRecord]:
        """Every run (of one sweep), in insertion order."""
        query = (
            "SELECT r.id, s.name, r.label, r.config_hash, r.config, r.status, r.seconds, "
            "r.final, r.engine, r.error, r.diverged_step FROM runs r "
            "JOIN sweeps s ON s.id = r.sweep_id"
        )
        args: tuple[Any, ...] = ()
        if sweep is not None:
            query += " WHERE s.name = ?"
            args = (sweep,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY r.id", args).fetchall()
        return [
            RunRecord(
                id=r[0],
                sweep=r[1],
                label=r[2],
                config_hash=r[3],
                config=json.loads(r[4]),
                status=r[5],
                seconds=r[6],
                final=json.loads(r[7]) if r[7] else {},
                engine=r[8],
                error=r[9],
                diverged_step=r[10],
            )
            for r in rows
        ]

    def metrics(self, run_id: int) -> dict[str, list[tuple[int, float]]]:
        """``{name: [(step, value), ...]}`` for one run."""
        out: dict[str, list[tuple[int, float]]] = {}
        with self._connect() as db:
            for step, name, value in db.execute(
                "SELECT step, name, value FROM metrics WHERE run_id = ? ORDER BY step", (run_id,)
            ):
                out.setdefault(name, []).append(
                    (step, value if value is not None else float("nan"))
                )
        return out

    def histograms(self, run_id: int) -> list[dict[str, Any]]:
        """Every histogram of one run: step, kind, layer, low, high, counts."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT step, kind, layer, low, high, counts FROM histograms WHERE run_id = ? "
                "ORDER BY step, kind, layer",
                (run_id,),
            ).fetchall()
        keys = ("step", "kind", "layer", "low", "high", "counts")
        return [{**dict(zip(keys, r[:5], strict=False)), "counts": json.loads(r[5])} for r in rows]

    def diagnostics(self, run_id: int) -> dict[int, dict[str, Any]]:
        """``{step: summary}`` of the diagnostics recorded for one run."""
        with self._connect() as db:
            rows = db.execute("SELECT step, data FROM diagnostics WHERE run_id = ?", (run_id,))
            return {step: json.loads(data) for step, data in rows}

    def integrity(self) -> str:
        """SQLite's own integrity check: ``'ok'`` when the file is sound."""
        with self._connect() as db:
            return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def _real(value: float) -> float | None:
    # SQLite stores NaN as NULL; keep inf as is.
    return None if value != value else float(value)
