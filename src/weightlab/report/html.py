"""A self-contained HTML report: a summary table of runs, the figures that fit each
sweep (embedded as base64 PNG), and captions derived from the numbers.  The page makes
no network request: styles are inline and images are data URIs."""

from __future__ import annotations

import base64
import csv
import html
import io
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weightlab import __version__
from weightlab._validate import fail
from weightlab.claims import Verdict
from weightlab.report.claims import claims_html, figure_for
from weightlab.report.figures import save
from weightlab.report.runs import FigureItem, sweep_figures
from weightlab.store import Store
from weightlab.sweep.judge import judge

__all__ = ["Report", "build_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 1rem 0; }
th, td { border-bottom: 1px solid #eee; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.95rem; margin-top: 0.4rem; }
.muted { color: #777; font-size: 0.85rem; }
table.claims td { text-align: left; } table.claims td.verdict { white-space: nowrap; }
"""

_COLUMNS = (
    "init",
    "regularization",
    "seed",
    "status",
    "val_loss",
    "val_acc",
    "val_mse",
    "gap",
    "sparsity_zero",
    "selection_precision",
    "selection_recall",
)


@dataclass
class Report:
    """Where the report went and what it holds."""

    html: Path
    figures: list[Path]
    csv: Path
    captions: dict[str, list[str]]
    claims: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _rows(store: Store, sweep: str) -> list[dict[str, Any]]:
    return [
        {
            "sweep": r.sweep,
            "label": r.label,
            "init": r.config["init"],
            "regularization": r.config["regularization"],
            "seed": r.config["seed"],
            "status": r.status,
            "seconds": r.seconds,
            **r.final,
        }
        for r in store.runs(sweep)
    ]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if math.isfinite(value) else str(value)
    return html.escape(str(value))


def _table(rows: Sequence[dict[str, Any]]) -> str:
    cols = [c for c in _COLUMNS if any(c in r for r in rows)]
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(r.get(c, ''))}</td>" for c in cols) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _embed(item: FigureItem) -> str:
    buffer = io.BytesIO()
    item.figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<figure id="{item.name}"><h3>{html.escape(item.title)}</h3>'
        f'<img alt="{html.escape(item.title)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(item.caption)}</figcaption></figure>"
    )


def _write_csv(rows: Sequence[dict[str, Any]], path: Path) -> None:
    fields = list(
        dict.fromkeys(k for r in rows for k in r if not k.startswith(("norm/", "zeros/")))
    )
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def build_report(
    store: Store,
    out_dir: str | Path,
    sweeps: Sequence[str] | None = None,
    extras: Sequence[FigureItem] = (),
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Write ``report.html``, ``figures/*.png`` and ``*.svg``, and ``final_metrics.csv``
    into ``out_dir`` for the given sweeps (default: every sweep in the store); figures
    in ``extras`` (computed directly) go in a last section.  ``progress`` is told what
    is being done (``"demo-init: drawing its figures"``) as the work goes on."""
    say = progress or (lambda _text: None)
    names = list(sweeps) if sweeps else store.sweeps()
    if not names:
        raise fail(
            "report",
            "store",
            "a store with at least one sweep (run 'weightlab run' first)",
            str(store.directory),
        )
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    sections, paths, captions, all_rows = [], [], {}, []
    judged: dict[str, list[dict[str, Any]]] = {}
    for number, sweep in enumerate(names, 1):
        say(f"{sweep} ({number}/{len(names)}): reading its runs and drawing its figures")
        items = sweep_figures(store, sweep)
        rows = _rows(store, sweep)
        all_rows += rows
        captions[sweep] = [item.caption for item in items]
        for item in items:
            say(f"{sweep} ({number}/{len(names)}): saving {item.name}")
            for suffix in ("png", "svg"):
                paths.append(save(item.figure, out / "figures" / f"{sweep}-{item.name}.{suffix}"))
        say(f"{sweep} ({number}/{len(names)}): judging its claims")
        verdicts = judge(store, sweep)
        judged[sweep] = [v.to_json() for v in verdicts]
        sections.append(
            f"<section><h2>{html.escape(sweep)}</h2>"
            f"<p class='muted'>{len(rows)} runs</p>{_table(rows)}"
            + _figures_with_claims(items, verdicts)
            + "</section>"
        )
    if extras:
        say("saving the background figures")
        captions["background"] = [item.caption for item in extras]
        for item in extras:
            for suffix in ("png", "svg"):
                paths.append(
                    save(item.figure, out / "figures" / f"background-{item.name}.{suffix}")
                )
        sections.append(
            "<section><h2>The pictures behind the text</h2>"
            + "".join(_embed(item) for item in extras)
            + "</section>"
        )
    say("writing report.html and final_metrics.csv")
    csv_path = out / "final_metrics.csv"
    _write_csv(all_rows, csv_path)
    stamp = time.strftime("%Y-%m-%d %H:%M")
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>weightlab report</title>"
        f"<style>{_STYLE}</style></head><body><h1>weightlab report</h1>"
        f"<p class='muted'>weightlab {__version__}, {stamp}. "
        f"Store: {html.escape(str(store.path))}</p>" + "".join(sections) + "</body></html>"
    )
    html_path = out / "report.html"
    html_path.write_text(page, encoding="utf-8")
    return Report(html_path, paths, csv_path, captions, judged)


def _figures_with_claims(items: Sequence[FigureItem], verdicts: Sequence[Verdict]) -> str:
    """Each figure followed by the claims about what it draws; the other claims after
    the last figure."""
    names = [item.name for item in items]
    placed = {name: [v for v in verdicts if figure_for(v, names) == name] for name in names}
    rest = [v for v in verdicts if figure_for(v, names) is None]
    parts = [_embed(item) + claims_html(placed[item.name]) for item in items]
    if rest:
        parts.append("<h3>Claims</h3>" + claims_html(rest))
    return "".join(parts)
