"""``weightlab store check`` and ``weightlab store recover``: find damage in a run store,
and copy every readable run of a damaged one into a new store."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from weightlab.cli.common import JsonFlag, app, emit_json, out
from weightlab.store import DEFAULT_STORE, Store
from weightlab.store.recover import CheckReport, RecoveryReport, check_store, recover_store
from weightlab.store.sqlite import StoreCorruptError

__all__ = ["StoreOption", "open_store", "store_errors"]

StoreOption = Annotated[Path, typer.Option("--store", help="Folder of the run store (runs.db).")]

store_app = typer.Typer(
    help="Check a run store for damage, or copy its readable runs into a new store.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")


def open_store(directory: Path, command: str) -> Store:
    """The store in ``directory``; a damaged one is an error about ``command``'s
    ``--store`` (one line, exit 2)."""
    with store_errors(command):
        return Store(directory)


@contextmanager
def store_errors(command: str) -> Iterator[None]:
    """Damage found while ``command`` works is reported as about its ``--store``."""
    try:
        yield
    except StoreCorruptError as error:
        raise error.named(command, "store") from None


@store_app.command("check")
def check(store: StoreOption = DEFAULT_STORE, as_json: JsonFlag = False) -> None:
    """Run SQLite's full integrity check on the store; exit code 1 if it is damaged."""
    report = check_store(store)
    if as_json:
        emit_json(
            {
                "store": str(report.path),
                "ok": report.ok,
                "problems": report.problems,
                "runs": report.statuses,
                "counted": report.counted,
            }
        )
    else:
        _print_check(report, store)
    if not report.ok:
        raise typer.Exit(1)


def _print_check(report: CheckReport, store: Path) -> None:
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.statuses.items()))
    total = sum(report.statuses.values())
    runs = f"{total} runs" + (f": {counts}" if counts else "")
    if not report.counted:
        runs = f"{total} runs readable" + (f": {counts}" if counts else "")
    if report.ok:
        out.print(f"{report.path}: intact ({runs}).", markup=False, soft_wrap=True)
        return
    out.print(
        f"{report.path}: damaged ({runs}). SQLite's integrity check says:",
        markup=False,
        soft_wrap=True,
    )
    for problem in report.problems:
        out.print(f"  {problem}", markup=False, soft_wrap=True)
    out.print(
        f"'weightlab store recover --store {shlex.quote(str(store))}' copies every readable "
        "run into a new store.",
        markup=False,
        soft_wrap=True,
    )


@store_app.command("recover")
def recover(
    store: StoreOption = DEFAULT_STORE,
    to: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the new store; must not hold a runs.db. \\[default: STORE-recovered]"
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Copy every readable run into a new store and say how many were lost.

    A run is copied whole (metrics, histograms, diagnostics) or counted as lost; the
    damaged store is left as it is.  Exit code 1 when runs were lost.
    """
    target = to if to is not None else store.with_name(store.name + "-recovered")
    report = recover_store(store, target)
    if as_json:
        emit_json(
            {
                "store": str(report.source),
                "to": str(report.target),
                "sweeps": report.sweeps,
                "copied": report.copied,
                "lost": report.lost,
                "complete": report.complete,
                "damage": report.damage,
            }
        )
    else:
        _print_recovery(report, target)
    if report.lost or not report.complete:
        raise typer.Exit(1)


def _print_recovery(report: RecoveryReport, target: Path) -> None:
    if report.copied == 0 and report.sweeps == 0 and not report.complete:
        out.print(
            f"Nothing in {report.source} is readable ({report.damage}): no run could be "
            f"copied. 'weightlab run' of each spec trains its runs again.",
            markup=False,
            soft_wrap=True,
        )
        return
    total = report.copied + len(report.lost)
    plural = "" if report.sweeps == 1 else "s"
    out.print(
        f"Copied {report.copied} of {total} runs ({report.sweeps} sweep{plural}) from "
        f"{report.source} into {report.target}; {len(report.lost)} lost.",
        markup=False,
        soft_wrap=True,
    )
    if not report.complete:
        out.print(
            f"The list of runs is damaged too ({report.damage}): runs it no longer names "
            "are lost without being counted.",
            markup=False,
            soft_wrap=True,
        )
    for label in report.lost:
        out.print(f"lost: {label}", markup=False, soft_wrap=True)
    out.print(
        f"Use it with --store {shlex.quote(str(target))} (or move its runs.db into place); "
        "'weightlab run' of a spec trains its lost runs again.",
        markup=False,
        soft_wrap=True,
    )
