"""Damaged stores: opening one is one clear error, `store check` finds the damage, and
`store recover` copies every readable run whole into a new store and counts the rest.

Three kinds of damage, made on copies of a real store: the file truncated to half, a
garbage header, and 40 KB of garbage in the middle."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from weightlab.store import Store
from weightlab.store.recover import check_store, recover_store
from weightlab.store.sqlite import StoreCorruptError

RUNS = 40


def _finish(store: Store, run_id: int, i: int) -> None:
    store.finish(
        run_id,
        status="done",
        metrics=[(step, name, i + step / 1000) for step in range(0, 500, 10) for name in "abcd"],
        histograms=[
            (0, "weight", f"layer{k}", -1.0, 1.0, list(range(i, i + 64))) for k in range(6)
        ],
        diagnostics=[(0, {"layers": [{"var": i * 0.5}] * 20})],
        final={"i": i},
        seconds=1.0,
        versions={"torch": "x"},
    )


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of 40 finished runs in two sweeps (about 1 MB), checkpointed into one file."""
    directory = tmp_path_factory.mktemp("intact")
    store = Store(directory)
    for sweep in ("a", "b"):
        runs = [(f"{sweep}{i}", f"{sweep} run {i}", {"i": i}) for i in range(RUNS // 2)]
        store.add_sweep(sweep, {"name": sweep}, runs)
    i = 0
    while (claimed := store.claim("a", "me") or store.claim("b", "me")) is not None:
        _finish(store, claimed[0], i)
        i += 1
    with sqlite3.connect(store.path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return directory


def _truncated(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def _garbage_header(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.write(b"garbage " * 12)


def _garbage_in_the_middle(path: Path) -> None:
    noise = random.Random(0).randbytes(40 * 1024)
    with path.open("r+b") as handle:
        handle.seek(path.stat().st_size // 2)
        handle.write(noise)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": _truncated,
    "garbage header": _garbage_header,
    "garbage in the middle": _garbage_in_the_middle,
}
REASON = {
    "truncated": "database disk image is malformed",
    "garbage header": "file is not a database",
    "garbage in the middle": "database disk image is malformed",
}


def _damaged(intact: Path, tmp_path: Path, kind: str) -> Path:
    directory = tmp_path / "damaged"
    directory.mkdir()
    shutil.copyfile(intact / "runs.db", directory / "runs.db")
    DAMAGE[kind](directory / "runs.db")
    return directory


def _contents(store: Store, run_id: int) -> tuple[Any, ...]:
    return store.metrics(run_id), store.histograms(run_id), store.diagnostics(run_id)


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_opening_a_damaged_store_is_one_error_naming_the_file_and_the_way_out(
    intact: Path, tmp_path: Path, kind: str
) -> None:
    directory = _damaged(intact, tmp_path, kind)
    with pytest.raises(StoreCorruptError) as raised:
        Store(directory)
    assert str(raised.value) == (
        f"The 'directory' parameter of Store must be an intact run store. Got "
        f"'{directory}/runs.db', which is damaged ({REASON[kind]}). 'weightlab store check "
        f"--store {directory}' shows the damage; 'weightlab store recover --store "
        f"{directory}' copies every readable run into a new store."
    )
    report = check_store(directory)
    assert not report.ok and report.problems  # SQLite's own words: pages, cells, rows
    if kind == "garbage header":
        assert report.problems == ["file is not a database"]


def test_an_intact_store_checks_ok(intact: Path) -> None:
    report = check_store(intact)
    assert report.ok and report.problems == [] and report.statuses == {"done": RUNS}
    assert report.counted


def test_damage_done_after_a_store_was_opened_is_found_on_the_next_open(
    intact: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "store"
    directory.mkdir()
    shutil.copyfile(intact / "runs.db", directory / "runs.db")
    Store(directory)
    _garbage_in_the_middle(directory / "runs.db")
    with pytest.raises(StoreCorruptError):
        Store(directory)


@pytest.mark.parametrize("kind", ["truncated", "garbage in the middle"])
def test_recover_copies_every_readable_run_whole_and_counts_the_lost(
    intact: Path, tmp_path: Path, kind: str
) -> None:
    directory = _damaged(intact, tmp_path, kind)
    before = (directory / "runs.db").read_bytes()
    report = recover_store(directory, tmp_path / "new")
    assert (directory / "runs.db").read_bytes() == before  # the damaged store is untouched
    assert report.complete and report.sweeps == 2
    assert report.copied + len(report.lost) == RUNS
    assert report.copied > 0 and report.lost  # this damage loses some runs, not all
    original, new = Store(intact), Store(tmp_path / "new")
    assert new.integrity() == "ok"
    by_label = {r.label: r for r in original.runs()}
    copied = new.runs()
    assert len(copied) == report.copied
    assert {r.label for r in copied}.isdisjoint(label.split(": ")[1] for label in report.lost)
    for record in copied:
        source = by_label[record.label]
        assert (record.sweep, record.status, record.final) == (source.sweep, "done", source.final)
        assert _contents(new, record.id) == _contents(original, source.id)


def test_recover_of_a_garbage_header_copies_nothing_and_says_why(
    intact: Path, tmp_path: Path
) -> None:
    report = recover_store(_damaged(intact, tmp_path, "garbage header"), tmp_path / "new")
    assert (report.copied, report.lost, report.complete) == (0, [], False)
    assert report.damage == "file is not a database"


def test_a_run_in_training_is_recovered_as_interrupted(tmp_path: Path) -> None:
    store = Store(tmp_path / "old")
    store.add_sweep("s", {}, [("h0", "run 0", {}), ("h1", "run 1", {})])
    first = store.claim("s", "me")
    assert first is not None
    _finish(store, first[0], 0)
    store.claim("s", "me")  # left running, as by a process that was killed
    report = recover_store(tmp_path / "old", tmp_path / "new")
    assert (report.copied, report.lost) == (2, [])
    assert [r.status for r in Store(tmp_path / "new").runs("s")] == ["done", "interrupted"]


def test_recover_will_not_write_into_an_existing_store(tmp_path: Path) -> None:
    Store(tmp_path / "old")
    Store(tmp_path / "new")
    message = r"The 'to' parameter of store recover must be a folder without a runs\.db\."
    with pytest.raises(ValueError, match=message):
        recover_store(tmp_path / "old", tmp_path / "new")


# -- the command line ---------------------------------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "weightlab", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
    )


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_runs_on_a_damaged_store_is_one_line_with_exit_code_2(
    intact: Path, tmp_path: Path, kind: str
) -> None:
    _damaged(intact, tmp_path, kind)
    proc = _cli("runs", "--store", "damaged", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "Error: The 'store' parameter of runs must be an intact run store. Got "
        f"'damaged/runs.db', which is damaged ({REASON[kind]}). 'weightlab store check "
        "--store damaged' shows the damage; 'weightlab store recover --store damaged' "
        "copies every readable run into a new store."
    )


def test_store_check_and_recover_from_the_command_line(intact: Path, tmp_path: Path) -> None:
    _damaged(intact, tmp_path, "garbage in the middle")
    check = _cli("store", "check", "--store", "damaged", "--json", cwd=tmp_path)
    assert check.returncode == 1
    found = json.loads(check.stdout)
    assert found["ok"] is False and found["problems"]
    recover = _cli("store", "recover", "--store", "damaged", "--json", cwd=tmp_path)
    assert recover.returncode == 1  # runs were lost
    report = json.loads(recover.stdout)
    assert report["to"] == "damaged-recovered/runs.db"
    assert report["copied"] + len(report["lost"]) == RUNS
    text = _cli("store", "recover", "--store", "damaged", "--to", "again", cwd=tmp_path)
    assert text.stdout.startswith(
        f"Copied {report['copied']} of {RUNS} runs (2 sweeps) from damaged/runs.db into "
        f"again/runs.db; {len(report['lost'])} lost."
    )
    healthy = _cli("store", "check", "--store", "again", cwd=tmp_path)
    assert healthy.returncode == 0
    assert (
        healthy.stdout.strip()
        == f"again/runs.db: intact ({report['copied']} runs: {report['copied']} done)."
    )


@pytest.mark.parametrize("command", [["store"], ["store", "check"], ["store", "recover"]])
def test_the_store_commands_have_help(tmp_path: Path, command: list[str]) -> None:
    proc = _cli(*command, "--help", cwd=tmp_path)
    assert proc.returncode == 0 and "Usage: weightlab store" in proc.stdout
    if len(command) == 2:
        assert "--json" in proc.stdout and "--store" in proc.stdout
