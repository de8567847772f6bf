"""The ``weightlab`` command's first module: light on purpose (no torch).

``weightlab run`` on local worker processes spends its first seconds importing: the
command line imports torch and every command (about 2 s), and each worker process needs
torch and the training code too (about 1.5 s).  :func:`command` starts that work first.
Where the platform has the ``forkserver`` start method (Linux, macOS), it starts the
server process, which imports the training code once while the command line imports its
own; every worker is then a fork of it, ready at once (:func:`context`).  Elsewhere it
spawns the workers themselves, which :class:`weightlab.sweep.backends.LocalProcesses`
adopts (:func:`take`).  Nothing else changes: a run that ends before it needs them (bad
input, ``--help``) leaves them, and they exit when this process does.

It is also the module a spawned worker re-imports as the parent's main script, so it
keeps every worker free of the command line's imports.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any

__all__ = ["WORKER_MODULE", "Started", "command", "context", "local_workers", "start", "take"]

WORKER_MODULE = "weightlab.sweep.backends"
"""What a worker process imports before its first chunk (torch, the engines)."""


def context() -> BaseContext:
    """The start method of local worker processes: ``forkserver`` where the platform has
    it, its server importing :data:`WORKER_MODULE` once (three interpreters importing
    torch at once on two cores took about half a second longer than two), else ``spawn``.
    Never a plain fork of the driver, whose threads (progress, shared memory) a fork
    could copy holding a lock."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    server = multiprocessing.get_context("forkserver")
    server.set_forkserver_preload([WORKER_MODULE])
    return server


class Started:
    """A worker process just started: the driver's end of its pipe, the process and
    when it was started."""

    def __init__(self, context: BaseContext) -> None:
        self.conn, child = context.Pipe()
        self.process: Any = context.Process(  # type: ignore[attr-defined]
            target=_worker, args=(child,), daemon=True
        )
        self.started = time.time()
        self.process.start()
        child.close()


def _worker(conn: Connection) -> None:
    from weightlab.sweep.backends import worker_main

    worker_main(conn)


_STARTED: list[Started] = []


def start(count: int) -> None:
    """Get ``count`` worker processes under way now: start the fork server (it imports
    the training code while this process goes on), or spawn the workers for
    :func:`take`."""
    workers = context()
    if workers.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()
        return
    _STARTED.extend(Started(workers) for _ in range(count))


def take(count: int) -> list[Started]:
    """Up to ``count`` of the workers :func:`start` started that are still alive
    (each taken once)."""
    alive = [w for w in _STARTED if w.process.is_alive()]
    taken, _STARTED[:] = alive[:count], alive[count:]
    return taken


def local_workers(args: list[str]) -> int:
    """How many local worker processes ``weightlab <args>`` will start: for ``run`` on
    the default ``local`` backend (``--workers`` or one per core, when more than one),
    else 0.  Anything unusual (``--help``, an option it cannot read) answers 0: the
    command then starts its workers itself."""
    if not args or args[0] != "run" or any(a in ("--help", "-h") for a in args):
        return 0
    options: dict[str, str] = {}
    for i, arg in enumerate(args[1:], start=1):
        name, equals, value = arg.partition("=")
        if name in ("--backend", "--workers"):
            if not equals:
                if i + 1 >= len(args):
                    return 0
                value = args[i + 1]
            options[name] = value
    if options.get("--backend", "local") != "local":
        return 0
    try:
        count = int(options.get("--workers") or os.cpu_count() or 1)
    except ValueError:
        return 0
    return count if 1 < count <= 64 else 0


def command() -> None:
    """The ``weightlab`` console script: local workers for ``weightlab run`` first, then
    the command line (:func:`weightlab.cli.entry`)."""
    count = local_workers(sys.argv[1:])
    if count:
        start(count)
    from weightlab.cli import entry

    entry()
