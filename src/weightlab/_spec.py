"""Parse short spec strings such as ``he_normal`` or ``normal(std=0.01)``.

A spec is a name, optionally called with literal arguments.  Bare identifiers inside the
call are read as strings, so ``he_normal(mode=fan_out)`` and ``he_normal(mode='fan_out')``
mean the same.  Nothing is evaluated: the text is parsed with :mod:`ast` and only
literals are accepted.
"""

from __future__ import annotations

import ast
from typing import Any

from weightlab._validate import fail

__all__ = ["SpecCall", "format_spec", "parse_spec", "split_terms"]

SpecCall = tuple[str, tuple[Any, ...], dict[str, Any]]

_FORMAT_HINT = "a name or a call with literal arguments such as 'normal(std=0.01)'"


def parse_spec(text: str, owner: str, param: str = "spec") -> SpecCall:
    """Return ``(name, args, kwargs)`` for a spec string.

    Raises:
        ValueError: in the project's one error format, naming ``param`` of ``owner``.

    Example:
        >>> parse_spec("normal(0, std=0.01)", "resolve")
        ('normal', (0,), {'std': 0.01})
    """
    if not isinstance(text, str):
        raise fail(owner, param, "a str", text, wrong_type=True)
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise _malformed(text, owner, param) from None
    if isinstance(node, ast.Name):
        return node.id, (), {}
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise _malformed(text, owner, param)
    try:
        args = tuple(_literal(a) for a in node.args)
        kwargs = {kw.arg: _literal(kw.value) for kw in node.keywords if kw.arg is not None}
    except ValueError:
        raise _malformed(text, owner, param) from None
    if len(kwargs) != len(node.keywords):
        raise _malformed(text, owner, param)
    return node.func.id, args, kwargs


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
        raise ValueError("a sign before a non-number")
    if isinstance(node, ast.Name):
        # Bare words are strings, except the non-finite floats a user may type.
        return float(node.id) if node.id in ("nan", "inf") else node.id
    return ast.literal_eval(node)


def _malformed(text: str, owner: str, param: str) -> Exception:
    return fail(owner, param, _FORMAT_HINT, text)


def format_spec(name: str, params: dict[str, Any]) -> str:
    """Inverse of :func:`parse_spec` for keyword calls: ``normal(mean=0.0, std=0.01)``."""
    if not params:
        return name
    inner = ", ".join(f"{k}={v!r}" for k, v in params.items())
    return f"{name}({inner})"


def split_terms(text: str) -> list[str]:
    """Split ``"A(...) + B(...)"`` at its top-level ``+`` signs (a ``+`` inside a literal,
    as in ``1e+3``, stays); malformed text comes back whole, for :func:`parse_spec` to
    report.

    Example:
        >>> split_terms("l2(1e+3) + dropout(0.5)")
        ['l2(1e+3)', 'dropout(0.5)']
    """
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return [text.strip()]
    operands: list[ast.expr] = []

    def flatten(n: ast.expr) -> None:
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add):
            flatten(n.left)
            flatten(n.right)
        else:
            operands.append(n)

    flatten(node)
    source = text.strip()
    return [(ast.get_source_segment(source, n) or "").strip() for n in operands]
