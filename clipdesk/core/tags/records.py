"""The records the tag store hands out: plain values, never database rows."""

from __future__ import annotations

from dataclasses import dataclass

from clipdesk.core.tags.vocabulary import TagDef

__all__ = ["SOURCES", "Assignment", "TagModel", "TagRecord"]

SOURCES = ("zero-shot", "learned", "manual")


@dataclass(frozen=True, slots=True)
class TagRecord:
    id: int
    name: str
    prompt: str | None
    origin: str  # vocabulary | custom

    @property
    def definition(self) -> TagDef:
        return TagDef(self.name, self.prompt)


@dataclass(frozen=True, slots=True)
class Assignment:
    """One tag on one photo (by fingerprint), or the user's "no" to it."""

    tag: TagRecord
    fingerprint: str
    source: str
    score: float | None
    confidence: float | None
    rejected: bool = False


@dataclass(frozen=True)
class TagModel:
    kind: str  # zero-shot | learned
    threshold: float | None
    probe: bytes | None
    info: dict[str, object]
