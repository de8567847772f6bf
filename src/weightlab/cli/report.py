"""``weightlab report``: the HTML report of stored sweeps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from weightlab._validate import fail
from weightlab.cli.common import JsonFlag, activity, app, emit_json, out, output_dir
from weightlab.cli.run import StoreOption
from weightlab.report import build_report
from weightlab.store import DEFAULT_STORE, Store


@app.command("report")
def report(
    store: StoreOption = DEFAULT_STORE,
    sweep: Annotated[
        list[str] | None, typer.Option(help="Sweep to include (repeat for several; default all).")
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for report.html and figures.")
    ] = Path("weightlab-report"),
    as_json: JsonFlag = False,
) -> None:
    """Write a self-contained report.html, PNG and SVG figures and a CSV for stored sweeps.

    The CSV holds every run's final metrics; each figure sits beside its sweep's claims.
    """
    if not (Path(store) / "runs.db").is_file():
        expected = "a folder holding a runs.db (made by 'weightlab run')"
        raise fail("report", "store", expected, str(store))
    target = Store(store)
    unknown = [s for s in sweep or [] if s not in target.sweeps()]
    if unknown:
        known = ", ".join(target.sweeps()) or "none yet"
        raise fail("report", "sweep", f"a sweep in the store ({known})", unknown[0])
    output_dir("report", out_dir)
    with activity("Drawing the report's figures", quiet=as_json) as doing:
        result = build_report(target, out_dir, sweep, progress=doing)
    if as_json:
        emit_json(
            {
                "html": str(result.html),
                "csv": str(result.csv),
                "figures": [str(p) for p in result.figures],
                "captions": result.captions,
            }
        )
        return
    for name, captions in result.captions.items():
        for caption in captions:
            out.print(f"• {name}: {caption}", markup=False, soft_wrap=True)
    out.print(f"Report: {result.html.resolve()}", markup=False, soft_wrap=True)
