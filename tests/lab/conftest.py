"""Fixtures for the lab: a small run store, and the app served by a real uvicorn server
on a free port in a thread (event streams and closed connections need a real server)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from weightlab.store import Store
from weightlab.sweep import load_spec
from weightlab.sweep.runner import run_sweep

if TYPE_CHECKING:
    from fastapi import FastAPI

SPEC = {
    "name": "lab-tiny",
    "dataset": {"name": "circle", "n_samples": 200},
    "model": {"arch": "mlp", "hidden": [16], "activation": "tanh"},
    "init": ["zeros", "xavier_normal"],
    "regularization": ["none", "l1(1e-2)"],
    "optimizer": {"name": "sgd", "lr": 0.2},
    "train": {"steps": 200, "batch_size": 20, "eval_every": 10},
}


@pytest.fixture(scope="session")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with one sweep of four tiny runs (a second or two to train)."""
    directory = tmp_path_factory.mktemp("lab-store")
    run_sweep(load_spec(SPEC), Store(directory))
    return directory


@dataclass
class LiveLab:
    """A running lab: its base URL and the app (to look at its sessions)."""

    url: str
    app: FastAPI


def serve(app: FastAPI) -> Iterator[LiveLab]:
    """Serve ``app`` on 127.0.0.1 and a free port until the generator is closed."""
    uvicorn = pytest.importorskip("uvicorn")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the lab server did not start")
        time.sleep(0.02)
    try:
        yield LiveLab(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def live_lab(small_store: Path) -> Iterator[LiveLab]:
    """A fresh lab per test, with two training slots and fast frames."""
    create_app = pytest.importorskip("weightlab.lab.app").create_app
    yield from serve(create_app(small_store, max_trainings=2, frame_seconds=0.02))


def wait_until(predicate: object, timeout: float = 10.0) -> None:
    """Poll ``predicate()`` until it is true, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)
