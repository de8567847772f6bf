"""``weightlab translate``: map a framework setting onto another framework."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from weightlab.cli.common import JsonFlag, app, emit_json, out
from weightlab.interop.translate import Translation, supported, translate


def print_translation(t: Translation) -> None:
    """The target settings, then the formula, the explanation, the caveats, the match and,
    where Keras is on either side, the Keras backends it was checked on."""
    out.print(f"[bold]{escape(t.source)}[/bold] → [bold]{escape(t.target)}[/bold]", soft_wrap=True)
    for line in t.settings:
        out.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
    if t.alternatives:
        out.print("[bold]Alternatives[/bold]")
        for line in t.alternatives:
            out.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
    out.print("[bold]Formula[/bold]")
    for line in t.formula.splitlines():
        out.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
    out.print("[bold]Why[/bold]")
    out.print(f"  {escape(t.explanation)}", highlight=False)
    if t.caveats:
        out.print("[bold]Caveats[/bold]")
        for caveat in t.caveats:
            out.print(f"  • {escape(caveat)}", highlight=False)
    match = "exact" if t.exact else "not exact"
    out.print(f"[bold]Match[/bold]: {match} (tolerance {t.tolerance:g})", highlight=False)
    if t.checked:
        out.print("[bold]Backends[/bold]")
        out.print(f"  {escape(t.checked)}", highlight=False)
        for note in t.backend_notes:
            out.print(f"  • {escape(note)}", highlight=False)


_SETTING_HELP = (
    "The setting, framework:Name(args), several joined by '+' (the framework: prefix "
    "may be left out where only one framework has the name: 'L2(0.01)' is Keras'): "
    "'keras:L2(0.01)', 'torch:AdamW(weight_decay=0.01)', 'mlx:he_normal()', "
    "'weightlab:l2(0.01) + max_norm(3)'. "
    "Supported: "
    + "; ".join(f"{fw}: {', '.join(names)}" for fw, names in supported().items())
    + "."
)


@app.command("translate")
def translate_command(
    setting: Annotated[str, typer.Argument(help=_SETTING_HELP, show_default=False)],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="Target framework (torch, keras, mlx, weightlab; weightlab for "
            "initializers, dropout and settings without an optimizer), optionally with "
            "the optimizer: torch:sgd, keras:adam, mlx:adamw.",
            show_default=False,
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Write a setting in another framework's conventions, with the formula and caveats.

    A penalty, weight decay, update rule, optimizer, initializer or dropout, with the
    formula, why, and what is not exact.
    """
    result = translate(setting, to)
    if as_json:
        emit_json(result.to_json())
    else:
        print_translation(result)
