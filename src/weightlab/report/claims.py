"""Claims in the report: each claim with its verdict, effect and 95% interval, placed
beside the figure it concerns (the figure that draws its metric)."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from weightlab.claims import Verdict

__all__ = ["FIGURE_OF", "claims_html", "figure_for"]

# Which figure shows a metric (the figure's file stem, see report.runs.sweep_figures);
# metrics no figure draws are listed after the section's figures.
FIGURE_OF: dict[str, tuple[str, ...]] = {
    "gap": ("generalization_gap",),
    "val_acc": ("generalization_gap", "init_loss"),
    "val_loss": ("generalization_gap",),
    "train_loss": ("generalization_gap", "init_loss"),
    "val_mse": ("generalization_gap",),
    "sparsity_zero": ("weight_histograms",),
    "sparsity_small": ("weight_histograms",),
    "init_signal": ("init_variance",),
    "init_saturated": ("init_activations",),
    "min_distinct_units_fraction": ("init_activations",),
    "adam_decay_spread": ("effective_lr",),
    "adam_step_median": ("effective_lr",),
}
_COLOURS = {"holds": "#1a7f37", "fails": "#cf222e", "inconclusive": "#9a6700"}


def figure_for(verdict: Verdict, figures: Sequence[str]) -> str | None:
    """The first figure of ``figures`` that draws the claim's metric, or None."""
    call = verdict.claim.metric_call
    name = str(call.arg) if call.name == "recorded" else call.name
    if name.startswith("norm/") or name.startswith("zeros/"):
        name = "sparsity_zero"
    if name.startswith("update_ratio/"):
        name = "adam_decay_spread"
    return next((f for f in FIGURE_OF.get(name, ()) if f in figures), None)


def _number(value: float) -> str:
    return f"{value:+.3g}" if math.isfinite(value) else html.escape(str(value))


def claims_html(verdicts: Sequence[Verdict]) -> str:
    """A table of claims: the claim, its verdict, the effect with its 95% interval, the
    test and what was compared."""
    if not verdicts:
        return ""
    rows = "".join(
        "<tr>"
        f"<td>{html.escape(v.text)}</td>"
        f'<td class="verdict" style="color:{_COLOURS[v.verdict]}"><b>{v.verdict}</b></td>'
        f"<td>{_number(v.effect)} [{_number(v.low)}, {_number(v.high)}]</td>"
        f"<td>{html.escape(v.test)}</td>"
        f"<td>{html.escape(v.detail)}</td>"
        "</tr>"
        for v in verdicts
    )
    return (
        '<table class="claims"><tr><th>claim</th><th>verdict</th>'
        "<th>effect [95% interval]</th><th>test</th><th>compared</th></tr>"
        f"{rows}</table>"
    )
