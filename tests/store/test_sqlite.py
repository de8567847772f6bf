"""The run store: transactions, claims, resume bookkeeping and concurrent writers."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

from weightlab.store import Store
from weightlab.store.sqlite import FINISHED, STALE_SECONDS


def _runs(n: int) -> list[tuple[str, str, dict[str, int]]]:
    return [(f"h{i}", f"run {i}", {"i": i}) for i in range(n)]


def test_adding_a_sweep_twice_keeps_existing_runs(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add_sweep("s", {"name": "s"}, _runs(3))
    run_id, config = store.claim("s", "me") or (0, {})
    store.finish(
        run_id,
        status="done",
        metrics=[(0, "loss", 1.0)],
        histograms=[],
        diagnostics=[],
        final={"loss": 1.0},
        seconds=0.1,
        versions={},
    )
    store.add_sweep("s", {"name": "s"}, _runs(4))
    statuses = [r.status for r in store.runs("s")]
    assert statuses == ["done", "pending", "pending", "pending"]
    assert config == {"i": 0}


def test_claims_skip_finished_and_live_runs_and_take_dead_ones(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add_sweep("s", {}, _runs(3))
    first = store.claim("s", "host-that-is-elsewhere:1")
    second = store.claim("s", "me:1")
    assert first and second and first[0] != second[0]
    # A claim by this host's pid 2**22+7 (no such process) is stale and is taken again.
    import socket

    dead = f"{socket.gethostname()}:{2**22 + 7}"
    third = store.claim("s", dead)
    assert third is not None
    retaken = store.claim("s", "me:2")
    assert retaken is not None and retaken[0] == third[0]
    assert store.claim("s", "me:3") is None  # the elsewhere-host claim is trusted (fresh heartbeat)


def test_finish_is_all_or_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add_sweep("s", {}, _runs(1))
    run_id, _ = store.claim("s", "me") or (0, {})
    with pytest.raises(sqlite3.IntegrityError):
        # A histogram row with the same key twice violates the primary key mid-write.
        store.finish(
            run_id,
            status="done",
            metrics=[(0, "loss", 1.0)],
            histograms=[(0, "weight", "w", -1.0, 1.0, [1]), (0, "weight", "w", -1.0, 1.0, [1])],
            diagnostics=[],
            final={},
            seconds=0.0,
            versions={},
        )
    (record,) = store.runs("s")
    assert record.status == "running" and store.metrics(run_id) == {}


def test_release_returns_the_run_and_drops_partial_rows(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add_sweep("s", {}, _runs(1))
    run_id, _ = store.claim("s", "me") or (0, {})
    store.release(run_id, "interrupted")
    assert store.runs("s")[0].status == "interrupted"
    again = store.claim("s", "me")
    assert again is not None and again[0] == run_id


def test_metrics_histograms_diagnostics_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add_sweep("s", {}, _runs(1))
    run_id, _ = store.claim("s", "me") or (0, {})
    store.finish(
        run_id,
        status="diverged",
        metrics=[(0, "loss", 1.0), (5, "loss", float("inf")), (5, "acc", float("nan"))],
        histograms=[(0, "weight", "0.weight", -1.0, 1.0, [1, 2, 3])],
        diagnostics=[(0, {"layers": [{"name": "0"}]})],
        final={"loss": 1.0},
        seconds=1.5,
        versions={"torch": "x"},
        diverged_step=5,
    )
    metrics = store.metrics(run_id)
    assert metrics["loss"] == [(0, 1.0), (5, float("inf"))]
    assert metrics["acc"][0][1] != metrics["acc"][0][1]  # NaN survives as NaN
    assert store.histograms(run_id)[0]["counts"] == [1, 2, 3]
    assert store.diagnostics(run_id) == {0: {"layers": [{"name": "0"}]}}
    record = store.runs("s")[0]
    assert record.status in FINISHED and record.diverged_step == 5 and record.seconds == 1.5


def _worker(directory: str, sweep: str, n: int) -> None:
    store = Store(directory)
    store.add_sweep(sweep, {}, _runs(n))
    me = f"worker:{sweep}"
    while (claimed := store.claim(sweep, me)) is not None:
        run_id, config = claimed
        store.finish(
            run_id,
            status="done",
            metrics=[(s, "x", float(config["i"])) for s in range(20)],
            histograms=[],
            diagnostics=[],
            final={"i": config["i"]},
            seconds=0.0,
            versions={},
        )


def test_two_processes_on_one_store_do_not_corrupt_it(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    workers = [
        ctx.Process(target=_worker, args=(str(tmp_path), name, 40)) for name in ("a", "a", "b")
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    store = Store(tmp_path)
    assert store.integrity() == "ok"
    for sweep in ("a", "b"):
        records = store.runs(sweep)
        assert len(records) == 40 and all(r.status == "done" for r in records)
        assert sorted(r.final["i"] for r in records) == list(range(40))
        assert all(len(store.metrics(r.id)["x"]) == 20 for r in records)


def test_a_claim_whose_heartbeat_is_stale_is_taken_over(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add_sweep("s", {}, _runs(1))
    first = store.claim("s", "host-that-is-elsewhere:1")
    assert first is not None
    assert store.claim("s", "me:1") is None  # its heartbeat is fresh
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET heartbeat = ?", (time.time() - STALE_SECONDS - 1,))
    taken = store.claim("s", "me:1")
    assert taken is not None and taken[0] == first[0]


def test_heartbeats_and_writes_of_a_run_taken_over_are_refused(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add_sweep("s", {}, _runs(1))
    run_id, _ = store.claim("s", "old:1") or (0, {})
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET heartbeat = 0")
    store.claim("s", "new:1")  # the stale claim is taken over
    store.heartbeat(run_id, owner="old:1")
    written = store.finish(
        run_id,
        status="done",
        metrics=[(0, "loss", 1.0)],
        histograms=[],
        diagnostics=[],
        final={},
        seconds=0.0,
        versions={},
        owner="old:1",
    )
    assert not written and not store.release(run_id, "failed", "late", owner="old:1")
    with sqlite3.connect(store.path) as db:
        row = db.execute("SELECT status, owner, heartbeat FROM runs").fetchone()
    assert row[:2] == ("running", "new:1") and row[2] > 0 and store.metrics(run_id) == {}
    store.heartbeat(run_id, owner="new:1")
    assert store.release(run_id, "interrupted", owner="new:1")


def test_commits_are_durable_wal_with_full_sync(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store._connect() as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_sweeps_spec_is_stored_as_last_given(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add_sweep("s", {"name": "s", "seeds": [0]}, _runs(1))
    store.add_sweep("s", {"name": "s", "seeds": [0, 1]}, _runs(2))
    assert store.sweep_spec("s") == {"name": "s", "seeds": [0, 1]}
    message = r"The 'sweep' parameter of sweep_spec must be a sweep in the store \(s\)\. Got 't'\."
    with pytest.raises(ValueError, match=message):
        store.sweep_spec("t")
