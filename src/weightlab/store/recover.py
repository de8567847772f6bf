"""Check a run store for damage, and copy every readable run of a damaged one into a new
store.

SQLite stores each table as a tree of pages; a damaged page (a truncated file, garbage
written over part of it) makes the rows on it unreadable but usually leaves the others
readable.  Recovery therefore reads run by run: a run is copied with all its results, or
counted as lost.  It works on a copy of the file, so the damaged store is never changed.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weightlab._validate import fail
from weightlab.store.sqlite import Store

__all__ = ["CheckReport", "RecoveryReport", "check_store", "recover_store"]

_SHOWN_PROBLEMS = 20
_RUN_COLUMNS = (
    "id, sweep_id, config_hash, config, label, status, owner, heartbeat, started, finished, "
    "seconds, attempts, engine, versions, final, error, diverged_step"
)
_RESULTS = {
    "metrics": "run_id, step, name, value",
    "histograms": "run_id, step, kind, layer, low, high, counts",
    "diagnostics": "run_id, step, data",
}


@dataclass
class CheckReport:
    """What ``PRAGMA integrity_check`` found, and the readable runs by status
    (``counted``: every run could be read)."""

    path: Path
    ok: bool
    problems: list[str]
    statuses: dict[str, int]
    counted: bool


@dataclass
class RecoveryReport:
    """What a recovery copied and what it lost."""

    source: Path
    target: Path
    sweeps: int = 0
    copied: int = 0
    lost: list[str] = field(default_factory=list)
    complete: bool = True  # False: the list of runs itself was damaged; more may be lost
    damage: str | None = None  # what SQLite said when the list of runs could not be read


def _database(directory: str | Path, owner: str) -> Path:
    path = Path(directory) / "runs.db"
    if not path.is_file():
        raise fail(owner, "store", "a folder holding a runs.db", str(directory))
    return path


@contextmanager
def _snapshot(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a private copy of the database and its log (read, never
    written back)."""
    with tempfile.TemporaryDirectory(prefix="weightlab-store-") as tmp:
        copy = Path(tmp) / "runs.db"
        shutil.copyfile(path, copy)
        wal = path.with_name(path.name + "-wal")
        if wal.is_file():
            shutil.copyfile(wal, copy.with_name("runs.db-wal"))
        db = sqlite3.connect(copy, isolation_level=None)
        try:
            # A schema naming pages past the end of a truncated file is otherwise
            # refused as a whole; with this the intact tables stay readable.
            db.execute("PRAGMA writable_schema=ON")
            db.execute("PRAGMA query_only=ON")
            yield db
        finally:
            db.close()


def check_store(directory: str | Path) -> CheckReport:
    """Run SQLite's full integrity check on the store in ``directory``.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = Store(d)
        ...     check_store(d).ok
        True
    """
    path = _database(directory, "store check")
    with _snapshot(path) as db:
        try:
            problems = [str(row[0]) for row in db.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as error:
            problems = [str(error)]
        ok = problems == ["ok"]
        rows, counted = _readable(db, "SELECT status FROM runs NOT INDEXED")
        statuses: dict[str, int] = {}
        for (status,) in rows:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        return CheckReport(path, ok, [] if ok else problems[:_SHOWN_PROBLEMS], statuses, counted)


def _readable(
    db: sqlite3.Connection, query: str, args: tuple[Any, ...] = ()
) -> tuple[list[Any], bool]:
    """The rows of ``query`` up to the first damaged page, and whether all were read."""
    rows, damage = _read_until_damage(db, query, args)
    return rows, damage is None


def _read_until_damage(
    db: sqlite3.Connection, query: str, args: tuple[Any, ...] = ()
) -> tuple[list[Any], str | None]:
    """The rows of ``query`` up to the first damaged page, and what SQLite said there."""
    rows: list[Any] = []
    try:
        for row in db.execute(query, args):
            rows.append(row)
    except sqlite3.DatabaseError as error:
        return rows, str(error)
    return rows, None


def _run_ids(db: sqlite3.Connection) -> tuple[list[int], str | None]:
    """Every run id that the table, or failing that its unique index, still lists, and
    the damage that stopped both (None: the list is whole)."""
    table, damage = _read_until_damage(db, "SELECT id FROM runs NOT INDEXED ORDER BY id")
    if damage is None and all(_int(i) for (i,) in table):
        return [i for (i,) in table], None
    query = "SELECT id FROM runs INDEXED BY sqlite_autoindex_runs_1"
    index, index_damage = _read_until_damage(db, query)
    ids = sorted({i for (i,) in table + index if _int(i)})
    return ids, index_damage and (damage or "unreadable run ids")


def _int(value: Any) -> bool:
    return isinstance(value, int)


def _real(value: Any) -> bool:
    return value is None or isinstance(value, (int, float))


def _json(value: Any) -> bool:
    try:
        json.loads(value)
    except (TypeError, ValueError):
        return False
    return True


_STATUSES = ("pending", "running", "interrupted", "failed", "done", "diverged")
# A damaged page can also read as rows of nonsense (a truncated file reads as zeros):
# every row copied must have the types its table was written with.
_SOUND: dict[str, Callable[[Any], bool]] = {
    "metrics": lambda r: _int(r[0]) and _int(r[1]) and isinstance(r[2], str) and _real(r[3]),
    "histograms": lambda r: (
        (_int(r[0]) and _int(r[1]) and isinstance(r[2], str) and isinstance(r[3], str))
        and _real(r[4])
        and _real(r[5])
        and _json(r[6])
    ),
    "diagnostics": lambda r: _int(r[0]) and _int(r[1]) and _json(r[2]),
    "runs": lambda r: (
        _int(r[0])
        and _int(r[1])
        and isinstance(r[2], str)
        and _json(r[3])
        and isinstance(r[4], str)
        and r[5] in _STATUSES
        and _int(r[11])
    ),
}


def _unsound(what: str) -> sqlite3.DatabaseError:
    return sqlite3.DatabaseError(f"unreadable {what}")


class _Results:
    """Reads a run's results: through the ``run_id`` index, or, where index pages are
    damaged, from one scan of the table in insertion order.  A run's rows of one table
    were written in one transaction, so they are consecutive in that order: a run's rows
    from the scan are complete once the scan has read past them."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self._scans: dict[str, tuple[dict[int, list[Any]], set[int]]] = {}

    def rows(self, table: str, run_id: int) -> list[Any]:
        query = f"SELECT {_RESULTS[table]} FROM {table} WHERE run_id = ?"
        try:
            found = self.db.execute(query, (run_id,)).fetchall()
            if not all(_SOUND[table](r) and r[0] == run_id for r in found):
                raise _unsound(table)
            return found
        except sqlite3.DatabaseError:
            rows, complete = self._scan(table)
            if run_id not in complete:
                raise
            return rows[run_id]

    def _scan(self, table: str) -> tuple[dict[int, list[Any]], set[int]]:
        if table not in self._scans:
            query = f"SELECT {_RESULTS[table]} FROM {table} NOT INDEXED ORDER BY rowid"
            found, whole = _readable(self.db, query)
            sound = next((i for i, r in enumerate(found) if not _SOUND[table](r)), None)
            if sound is not None:  # nonsense from here on: treat it as the damage
                found, whole = found[:sound], False
            rows: dict[int, list[Any]] = {}
            for row in found:
                rows.setdefault(int(row[0]), []).append(row)
            complete = set(rows)
            if not whole and found:  # the last run read may have rows past the damage
                complete.discard(int(found[-1][0]))
            self._scans[table] = (rows, complete)
        return self._scans[table]


def _read_run(
    db: sqlite3.Connection, results: _Results, run_id: int
) -> tuple[tuple[Any, ...], dict[str, list[Any]]]:
    """One run's row and every row of its results; raises on a damaged page."""
    row = db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None or not _SOUND["runs"](row) or row[0] != run_id:
        raise _unsound("run")
    return tuple(row), {table: results.rows(table, run_id) for table in _RESULTS}


def recover_store(directory: str | Path, target: str | Path) -> RecoveryReport:
    """Copy every readable run of the store in ``directory`` (damaged or not) into a new
    store in ``target``, which must not hold a ``runs.db`` yet.  A run is copied whole,
    with every metric, histogram and diagnostic, or counted as lost; a run that was
    being trained is copied as ``interrupted``.  ``weightlab run`` of a lost run's spec
    trains it again.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = Store(d).add_sweep("s", {}, [("h", "a run", {})])
        ...     report = recover_store(d, f"{d}/new")
        ...     report.copied, report.lost
        (1, [])
    """
    source = _database(directory, "store recover")
    if (Path(target) / "runs.db").exists():
        raise fail("store recover", "to", "a folder without a runs.db", str(target))
    new = Store(target)
    report = RecoveryReport(source, new.path)
    with _snapshot(source) as db:
        sweeps, _ = _readable(db, "SELECT id, name, spec, created FROM sweeps ORDER BY id")
        known = {int(row[0]): _copy_sweep(new, row) for row in sweeps}
        report.sweeps = len(known)
        names = {int(row[0]): str(row[1]) for row in sweeps}
        ids, report.damage = _run_ids(db)
        report.complete = report.damage is None
        results = _Results(db)
        for run_id in ids:
            _recover_run(db, results, new, run_id, known, report, names)
    return report


def _copy_sweep(new: Store, row: tuple[Any, ...]) -> int:
    with new._transaction() as db:
        cursor = db.execute(
            "INSERT INTO sweeps (name, spec, created) VALUES (?, ?, ?)", tuple(row[1:])
        )
        return int(cursor.lastrowid or 0)


def _recover_run(
    db: sqlite3.Connection,
    results: _Results,
    new: Store,
    run_id: int,
    sweeps: dict[int, int],
    report: RecoveryReport,
    names: dict[int, str],
) -> None:
    try:
        row, rows = _read_run(db, results, run_id)
    except sqlite3.DatabaseError:
        report.lost.append(_name(db, run_id, names))
        return
    if int(row[1]) not in sweeps:
        report.lost.append(f"{row[4]} (its sweep is unreadable)")
        return
    values = list(row[1:])
    values[0] = sweeps[int(row[1])]
    if values[4] == "running":  # its process is not in the new store's world
        values[4:6] = ["interrupted", None]
    with new._transaction() as out:
        cursor = out.execute(
            f"INSERT INTO runs ({_RUN_COLUMNS.split(', ', 1)[1]}) "
            f"VALUES ({', '.join('?' * len(values))})",
            values,
        )
        new_id = cursor.lastrowid
        for table, cols in _RESULTS.items():
            marks = ", ".join("?" * len(cols.split(", ")))
            out.executemany(
                f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                [(new_id, *r[1:]) for r in rows[table]],
            )
    report.copied += 1


def _name(db: sqlite3.Connection, run_id: int, names: dict[int, str]) -> str:
    """``sweep: label`` of a lost run, as much of it as is readable."""
    try:
        row = db.execute("SELECT sweep_id, label FROM runs WHERE id = ?", (run_id,)).fetchone()
    except sqlite3.DatabaseError:
        row = None
    if row is None:
        return f"run {run_id}"
    return f"{names.get(int(row[0]), 'unknown sweep')}: {row[1]}"
