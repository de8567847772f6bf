"""Ctrl-C and SIGTERM during training: stop at the next step, give the run back, exit.

A signal only sets a flag; the training loop checks it between steps, so an interrupt
never lands inside autograd or a database write.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["graceful_stop"]


@contextmanager
def graceful_stop() -> Iterator[Callable[[], bool]]:
    """Yield ``should_stop()``; SIGINT and SIGTERM make it answer True.  A second Ctrl-C
    interrupts at once.  The previous handlers come back on exit."""
    requested = {"stop": False}

    def handler(signum: int, _frame: FrameType | None) -> None:
        if requested["stop"] and signum == signal.SIGINT:
            raise KeyboardInterrupt
        requested["stop"] = True

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: requested["stop"]
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
