"""The ``weightlab`` command line: thin commands that build configs, call the library and
print tables (Rich) or JSON (``--json``).  No training logic lives here.

Bad input exits with code 2 and one line on stderr.
"""

from __future__ import annotations

import importlib
import inspect as pyinspect
import os
import sys
from typing import Annotated, Any, NoReturn

import torch
import typer

from weightlab import __version__
from weightlab._optional import MissingExtraError
from weightlab._validate import ParameterError, ParameterTypeError, error_summary
from weightlab.cli import common
from weightlab.cli.common import out

__all__ = ["COMMANDS", "app", "entry", "file_problem", "load_commands", "main", "paragraphs"]

# Each command's module (importing it registers the command on ``common.app``).  A
# command line imports only its command's module: ``weightlab run`` then starts without
# the report's, the lab's and the other commands' imports (matplotlib, the web server).
COMMANDS: dict[str, str] = {
    "claims": "claims",
    "demo": "demo",
    "figure": "figure",
    "inspect": "inspect",
    "lab": "lab",
    "report": "report",
    "run": "run",
    "runs": "run",
    "schemes": "schemes",
    "seed-example": "seed",
    "store": "store",
    "terms": "terms",
    "theory": "theory",
    "translate": "translate",
}


def paragraphs(text: str) -> str:
    r"""``text`` with the lines of each paragraph joined, so that ``--help`` wraps each
    paragraph to the terminal instead of keeping the source's line breaks.

    Example:
        >>> paragraphs("One line\n    and more.\n\n    Next.")
        'One line and more.\n\nNext.'
    """
    blocks = pyinspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in b.splitlines()) for b in blocks)


def _unwrap_help(typer_app: typer.Typer) -> None:
    """Every command's help (its docstring unless given) as :func:`paragraphs`."""
    for command in typer_app.registered_commands:
        source = command.help or (command.callback.__doc__ if command.callback else None)
        if source:
            command.help = paragraphs(source)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _unwrap_help(group.typer_instance)


def load_commands(args: list[str] | None = None) -> typer.Typer:
    """The command line's app with the command ``args`` names registered, or every
    command when ``args`` names none (``--help``, ``--version``, a typo)."""
    name = args[0] if args else None
    modules = [COMMANDS[name]] if name in COMMANDS else sorted(set(COMMANDS.values()))
    for module in modules:
        importlib.import_module(f"weightlab.cli.{module}")
    _unwrap_help(common.app)
    return common.app


def __getattr__(name: str) -> Any:
    # ``weightlab.cli.app``: the app with every command.
    if name == "app":
        return load_commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _version(value: bool) -> None:
    if value:
        out.print(f"weightlab {__version__}")
        raise typer.Exit()


@common.app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Neural-network weight initialization and regularization: implemented, shown, measured."""


def _fail(message: str, hint: str = "") -> None:
    # Plain writes, not Rich: an error stays on one line whatever the terminal width.
    sys.stderr.write(f"Error: {message}" + (f" {hint}" if hint else "") + "\n")
    sys.exit(2)


def _received(error: Exception, args: list[str]) -> str:
    """' Got X.' for the value the user gave the option an error is about, if any."""
    param = getattr(error, "param", None)
    for opt in getattr(param, "opts", []):
        for i, arg in enumerate(args):
            if arg.startswith(f"{opt}="):
                return f" Got {arg.split('=', 1)[1]!r}."
            if arg == opt and i + 1 < len(args):
                return f" Got {args[i + 1]!r}."
    return ""


def main(argv: list[str] | None = None) -> None:
    """Entry point: one torch thread (small models run fastest so on few cores), and bad
    input reported as one line with exit code 2."""
    torch.set_num_threads(1)
    args = (sys.argv[1:] if argv is None else argv) or ["--help"]
    app = load_commands(args)
    try:
        code = app(args=args, prog_name="weightlab", standalone_mode=False)
    except (ParameterError, ParameterTypeError) as error:
        _fail(str(error))
    except typer.TyperException as error:  # usage errors found by the option parser
        format_message = getattr(error, "format_message", error.__str__)
        known = {c.name for c in app.registered_commands}
        command = f"{args[0]} " if args[0] in known else ""
        message = format_message().rstrip(".") + "." + _received(error, args)
        _fail(message, f"See 'weightlab {command}--help'.")
    except (typer.Abort, KeyboardInterrupt):  # Ctrl-C outside a command's own handling
        sys.stderr.write("Aborted.\n")
        sys.exit(130)
    except MissingExtraError as error:  # its message names the pip command
        _fail(str(error))
    except BrokenPipeError:  # the reader went away (weightlab runs | head): stop quietly
        _reader_gone()
    except SystemExit:
        # The option parser turns a reader that went away into exit code 1, after
        # wrapping the streams so that they swallow the error.
        if "PacifyFlushWrapper" in type(sys.stdout).__name__:
            _reader_gone()
        raise
    except OSError as error:  # a file or folder that cannot be read, made or written
        _fail(file_problem(error))
    except UnicodeDecodeError as error:
        _fail(f"A file is not UTF-8 text (byte {error.start}: {error.reason}).")
    sys.exit(code if isinstance(code, int) else 0)


def _reader_gone() -> NoReturn:
    """Exit 141 (as a process killed by SIGPIPE), writing nothing more."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(141)


def entry() -> None:
    """The ``weightlab`` command: :func:`main`, then leave without the interpreter's
    orderly teardown of torch and the other modules (about half a second of every
    command), once the output is flushed and every resource was released by the
    command itself.  Runs that used Ray exit the ordinary way: Ray stops a private
    cluster at exit."""
    try:
        main()
        code: int | str | None = 0
    except SystemExit as stop:
        code = stop.code
    if "ray" in sys.modules or not isinstance(code, int | None):
        raise SystemExit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away before the last of the output
        code = 141
    except ValueError:  # a stream closed already
        pass
    os._exit(code or 0)


def file_problem(error: OSError) -> str:
    """One line for a file-system error: the paths involved and the system's reason.

    Example:
        >>> file_problem(FileExistsError(17, "File exists", "/etc/passwd"))
        "Cannot use '/etc/passwd': File exists."
    """
    reason = error.strerror or error_summary(error)
    paths = [str(p) for p in (error.filename, error.filename2) if p is not None]
    if not paths:
        return f"A file operation failed: {reason}."
    return f"Cannot use {' and '.join(repr(p) for p in paths)}: {reason}."
