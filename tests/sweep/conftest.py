"""Helpers for tests that watch and kill worker processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest


def _processes() -> list[tuple[int, int, bytes]]:
    """Every process as (pid, parent pid, command line)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        found.append((int(stat.parent.name), int(fields[1]), cmdline))
    return found


def _children(pid: int) -> list[int]:
    """The worker processes of ``pid``: the children of its fork server (forks, with the
    server's command line), or its spawned children."""
    processes = _processes()
    servers = {p for p, parent, cmd in processes if parent == pid and b"forkserver" in cmd}
    return sorted(
        p
        for p, parent, cmd in processes
        if parent in servers or (parent == pid and b"spawn_main" in cmd)
    )


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture
def workers_of() -> Callable[[int], list[int]]:
    """``workers_of(pid)``: the worker processes ``pid`` started."""
    return _children


@pytest.fixture
def wait_gone() -> Callable[[list[int], float], list[int]]:
    """``wait_gone(pids, timeout)``: waits until none of ``pids`` runs; returns those
    still running at the timeout."""

    def wait(pids: list[int], timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(_alive(p) for p in pids):
                return []
            time.sleep(0.1)
        return [p for p in pids if _alive(p)]

    return wait
