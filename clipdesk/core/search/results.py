"""What a search returns: hits (a file and its score) and notes for the user."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clipdesk.core.catalog import FileRecord

__all__ = ["SearchHit", "SearchResults"]


@dataclass(frozen=True, slots=True)
class SearchHit:
    path: str
    score: float
    file: FileRecord


@dataclass
class SearchResults:
    query: str
    model: str
    hits: list[SearchHit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "query": self.query,
            "model": self.model,
            "results": [{"path": h.path, "score": round(h.score, 6)} for h in self.hits],
            **({"notes": self.notes} if self.notes else {}),
        }
