"""The run store: one SQLite file holding sweeps, runs, metrics, histograms and
diagnostics.

Safety rules, each with a test:
- a run's results are written in one transaction together with its ``done`` status, so
  an interrupted process (Ctrl-C, ``kill -9``) never leaves a half-written run that
  looks complete;
- runs are claimed with an atomic update, so two processes working on one store never
  train the same run twice, and a run claimed by a process that died is claimed again;
- WAL journaling and a busy timeout let several processes read and write one file;
  ``synchronous=FULL`` syncs the log at every commit, so a result that was committed
  survives a power cut as well as a crash;
- opening a store checks it (``PRAGMA quick_check``), and any sign of damage, then or
  later, raises :class:`StoreCorruptError`, which names the file and the way out.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weightlab._validate import ParameterError, fail

__all__ = [
    "DEFAULT_STORE",
    "HEARTBEAT_SECONDS",
    "STALE_SECONDS",
    "RunRecord",
    "Store",
    "StoreCorruptError",
    "owner_id",
]

DEFAULT_STORE = Path("weightlab-runs")
# A process heartbeats the runs it trains every HEARTBEAT_SECONDS; a claim whose heartbeat
# is older than STALE_SECONDS is abandoned (its process hangs, or died on another machine)
# and the next claim takes it over.  A claim by a process of this machine that is gone is
# taken over at once.
HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 120.0

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


class StoreCorruptError(ParameterError):
    """The store's file is damaged.  The message names the file, what SQLite found and
    the commands that inspect it and copy its readable runs into a new store."""

    def __init__(
        self, directory: Path, reason: str, owner: str = "Store", name: str = "directory"
    ) -> None:
        self.directory, self.reason = directory, reason
        folder = shlex.quote(str(directory))
        super().__init__(
            f"The {name!r} parameter of {owner} must be an intact run store. Got "
            f"{str(directory / 'runs.db')!r}, which is damaged ({reason}). "
            f"'weightlab store check --store {folder}' shows the damage; "
            f"'weightlab store recover --store {folder}' copies every readable run into a "
            "new store."
        )

    def named(self, owner: str, name: str) -> StoreCorruptError:
        """The same error, about the parameter ``name`` of ``owner`` (a CLI command)."""
        return StoreCorruptError(self.directory, self.reason, owner, name)


def is_corruption(error: BaseException) -> bool:
    """Whether SQLite reports a damaged file (not a locked or busy one)."""
    return isinstance(error, sqlite3.DatabaseError) and getattr(error, "sqlite_errorname", "") in (
        "SQLITE_CORRUPT",
        "SQLITE_NOTADB",
    )


# Files this process has checked, with their size and time: unchanged files are not
# checked again (the lab opens the store for every request).
_CHECKED: set[tuple[str, tuple[int, ...]]] = set()


def _signature(path: Path) -> tuple[int, ...]:
    """Size and modification time of the database and its write-ahead log."""
    sig: list[int] = []
    for file in (path, path.with_name(path.name + "-wal")):
        try:
            stat = file.stat()
        except FileNotFoundError:
            sig += [-1, -1]
            continue
        sig += [stat.st_ino, stat.st_size, stat.st_mtime_ns]
    return tuple(sig)


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
        self._verify()
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _verify(self) -> None:
        """Raise :class:`StoreCorruptError` if SQLite's quick check finds damage (about
        0.4 s for an 80 MB store; skipped when this process already checked the file as
        it is)."""
        key = (str(self.path.resolve()), _signature(self.path))
        if key in _CHECKED:
            return
        with self._connect() as db:
            problems = [row[0] for row in db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise StoreCorruptError(self.directory, str(problems[0]))
        _CHECKED.add((key[0], _signature(self.path)))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            yield db
        except sqlite3.DatabaseError as error:
            if is_corruption(error):
                raise StoreCorruptError(self.directory, str(error)) from None
            raise
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

    def heartbeat(self, *run_ids: int, owner: str | None = None) -> None:
        """Tell other processes that these runs are being trained (by ``owner``: runs
        another process has taken over are left alone)."""
        now = time.time()
        where = "id = ?" + (" AND owner = ?" if owner is not None else "")
        rows = [(now, i, owner) if owner is not None else (now, i) for i in run_ids]
        with self._transaction() as db:
            db.executemany(f"UPDATE runs SET heartbeat = ? WHERE {where}", rows)

    @staticmethod
    def _held(db: sqlite3.Connection, run_id: int, owner: str | None) -> bool:
        """Inside a transaction: whether ``owner`` (None: anyone) still holds the run."""
        if owner is None:
            return True
        row = db.execute("SELECT status, owner FROM runs WHERE id = ?", (run_id,)).fetchone()
        return row is not None and row[0] == "running" and row[1] == owner

    def release(
        self,
        run_id: int,
        status: str = "interrupted",
        error: str | None = None,
        owner: str | None = None,
    ) -> bool:
        """Give a claimed run back (Ctrl-C) or mark it failed, without results.  With
        ``owner``, only while that owner still holds the claim; False when it did not."""
        with self._transaction() as db:
            if not self._held(db, run_id, owner):
                return False
            self._clear_results(db, run_id)
            db.execute(
                "UPDATE runs SET status = ?, owner = NULL, error = ? WHERE id = ?",
                (status, error, run_id),
            )
        return True

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
        owner: str | None = None,
    ) -> bool:
        """Write every result of a run and its final status in one transaction; the
        results replace any earlier ones, so writing a run twice never duplicates rows.
        ``engine`` records which engine trained it, when that differs from the claim's.
        With ``owner``, the run is written only while that owner still holds its claim
        (another process may have taken it over); False when it was not written."""
        with self._transaction() as db:
            if not self._held(db, run_id, owner):
                return False
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
        return True

    # -- reading ---------------------------------------------------------------------

    def sweeps(self) -> list[str]:
        """Sweep names, oldest first."""
        with self._connect() as db:
            return [name for (name,) in db.execute("SELECT name FROM sweeps ORDER BY id")]

    def sweep_spec(self, sweep: str) -> dict[str, Any]:
        """The spec ``sweep`` was last run with, as stored (JSON values)."""
        with self._connect() as db:
            row = db.execute("SELECT spec FROM sweeps WHERE name = ?", (sweep,)).fetchone()
        if row is None:
            known = ", ".join(self.sweeps()) or "none yet"
            raise fail("sweep_spec", "sweep", f"a sweep in the store ({known})", sweep)
        spec: dict[str, Any] = json.loads(row[0])
        return spec

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
