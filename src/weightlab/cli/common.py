"""What every command shares: the Typer app, the console, JSON output, number format."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from weightlab._json import to_json
from weightlab._validate import fail

app = typer.Typer(
    name="weightlab",
    help="Neural-network weight initialization and regularization: implemented, shown, measured.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away (``weightlab runs | head``): the command line's entry
        point stops quietly with exit code 141, as a process stopped by SIGPIPE (rich's
        own handler exits 1, which reads as a failure)."""
        self.quiet = True
        raise BrokenPipeError


out = _Console()
err = _Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the results as JSON.")]
SeedOption = Annotated[
    int, typer.Option(help="Random seed for inputs, init and probes.", min=0, max=2**63 - 1)
]


@contextmanager
def activity(text: str, *, quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """A status line on stderr saying what a long phase is doing (drawing figures,
    training in three frameworks); the yielded function replaces its text.  Nothing is
    shown when ``quiet`` (``--json``) or when stderr is not a terminal."""
    if quiet:
        yield lambda _text: None
        return
    with err.status(escape(text)) as status:
        yield lambda new: status.update(escape(new))


def emit_json(payload: Any) -> None:
    """Write ``payload`` to stdout as strict JSON."""
    sys.stdout.write(to_json(payload, indent=2) + "\n")


def num(value: float | None, digits: int = 3) -> str:
    """Compact number for tables: ``''`` for None, ``inf``/``nan`` spelled out."""
    if value is None:
        return ""
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def output_dir(owner: str, path: Path, option: str = "out") -> Path:
    """Create ``path`` (with its parents) as a folder the command can write into, before
    any work; refuse in the one error format when it cannot be one.

    Example:
        >>> output_dir("report", Path("/dev/null"))
        Traceback (most recent call last):
        ...
        weightlab._validate.ParameterError: The 'out' parameter of report must be a folder \
that can be written (it is a file). Got '/dev/null'.
    """
    if path.exists() and not path.is_dir():
        raise fail(owner, option, "a folder that can be written (it is a file)", str(path))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        expected = f"a folder that can be created ({reason})"
        raise fail(owner, option, expected, str(path)) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise fail(owner, option, "a folder that can be written (permission denied)", str(path))
    return path


def output_file(owner: str, path: Path, suffixes: tuple[str, ...], option: str = "out") -> Path:
    """Check ``path`` as a new or replaceable file with one of ``suffixes`` in a folder
    that can be written (created if missing), before any work.

    Example:
        >>> output_file("figure", Path("/etc/passwd"), (".png", ".svg"))
        Traceback (most recent call last):
        ...
        weightlab._validate.ParameterError: The 'out' parameter of figure must be a file \
name ending in .png or .svg. Got '/etc/passwd'.
    """
    if path.suffix.lower() not in suffixes:
        expected = "a file name ending in " + " or ".join(suffixes)
        raise fail(owner, option, expected, str(path))
    if path.is_dir():
        raise fail(owner, option, "a file, not a folder", str(path))
    output_dir(owner, path.parent, option)
    if path.exists() and not os.access(path, os.W_OK):
        raise fail(owner, option, "a file that can be written (permission denied)", str(path))
    return path
