"""One run's complete settings: frozen, hashable, and stable as JSON."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RunConfig"]


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's results.

    The dict fields hold plain JSON values (they come from a validated spec); the hash
    of their canonical JSON identifies the run in the store, so the same settings are
    found again on resume.
    """

    dataset: dict[str, Any]
    model: dict[str, Any]
    init: str
    regularization: str
    optimizer: dict[str, Any]
    train: dict[str, Any]
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        return cls(**data)

    def hash(self) -> str:
        """SHA-256 of the canonical JSON (sorted keys), first 16 hex digits."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def label(self) -> str:
        """A short human name: init | regularization | lr | seed."""
        return (
            f"{self.init} | {self.regularization} | lr={self.optimizer['lr']:g} | seed={self.seed}"
        )

    def __hash__(self) -> int:
        return hash(self.hash())
