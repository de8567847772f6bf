"""The lab's trained sections, registered once: name, tab title, URL prefix, request
body (setup) and the builder of its trainer.

The routes (``PUT /api/sessions/{id}/{section}`` and the section parameter of the others),
the session's trainers, ``GET /api/meta`` and the page's tabs, forms and URL state all
read this table; a new trained section is an entry here, its page panel and its draw
function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from weightlab.lab.schemas import InitSetup, RegularizationSetup, Setup
from weightlab.lab.trainer import Trainer, init_trainer, regularization_trainer

__all__ = ["SECTIONS", "Section", "section_names"]


@dataclass(frozen=True)
class Section:
    """One trained section of the lab."""

    name: str
    title: str  # the tab's label
    prefix: str  # the URL's key prefix for its setup ("reg.width=128")
    setup: type[Setup]
    build: Callable[[Any], Trainer]
    description: str  # what its setup endpoint does


SECTIONS: dict[str, Section] = {
    section.name: section
    for section in (
        Section(
            "init",
            "Initialization",
            "init",
            InitSetup,
            init_trainer,
            "Set up the init explorer (pausing it): build and initialize the network and "
            "answer its first frame.",
        ),
        Section(
            "regularization",
            "Regularization",
            "reg",
            RegularizationSetup,
            regularization_trainer,
            "Set up the regularization explorer (pausing it): a regularized and a plain "
            "network with the same initial weights.",
        ),
    )
}


def section_names() -> tuple[str, ...]:
    return tuple(SECTIONS)
