"""The lab's trained sections, registered once: name, tab title, URL prefix, request
body (setup) and the builder of its trainer.

The routes (``PUT /api/sessions/{id}/{section}`` and the section parameter of the others),
the session's trainers, ``GET /api/meta`` (with each setup's live fields) and the page's
tabs, forms and URL state all read this table; a new trained section is an entry here,
its page panel (``<section id=NAME>`` in static/index.html) and its draw function
(``DRAW[NAME]`` in static/lab.js).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from weightlab.lab.schemas import InitSetup, RaceSetup, RegularizationSetup, Setup
from weightlab.lab.trainer import Trainer, init_trainer, race_trainer, regularization_trainer

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

    def live(self) -> list[str]:
        """The setup fields a running training takes on without a reset."""
        return sorted(self.setup().live_fields())


SECTIONS: dict[str, Section] = {
    section.name: section
    for section in (
        Section(
            "init",
            "Initialization",
            "init",
            InitSetup,
            init_trainer,
            "Set up the init explorer: build and initialize the network and answer its "
            "first frame.",
        ),
        Section(
            "regularization",
            "Regularization",
            "reg",
            RegularizationSetup,
            regularization_trainer,
            "Set up the regularization explorer: a regularized and a plain network with "
            "the same initial weights.",
        ),
        Section(
            "race",
            "Init race",
            "race",
            RaceSetup,
            race_trainer,
            "Set up the init race: one network and dataset trained in lockstep from each "
            "scheme of inits (zeros, too small, too large, Xavier and He by default).",
        ),
    )
}


def section_names() -> tuple[str, ...]:
    return tuple(SECTIONS)
