"""What a search returns: hits (a file and its score) and notes for the user."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clipdesk.core.catalog import FileRecord

__all__ = ["SearchHit", "SearchResults"]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A file and its score; for a video, ``time`` is where its matching scene starts."""

    path: str
    score: float
    file: FileRecord
    text: str | None = None  # the text read in the photo, when the query asked for text
    time: float | None = None  # seconds into a video (its best scene's start); None for a photo
    scene: int | None = None  # the scene's place in the video (0, 1, ...)

    def to_json(self) -> dict[str, object]:
        """``path`` and ``score``, plus what is known of when, where and what it says,
        and for a video, ``time``: the second its matching scene starts.

        ``taken_at`` is ISO 8601, with the offset when EXIF gave one (else local time);
        ``taken_from`` says whether it is EXIF's time or, lacking one, the file's.
        """
        out: dict[str, object] = {"path": self.path, "score": round(self.score, 6)}
        if self.time is not None:
            out["time"] = round(self.time, 2)
        record = self.file
        if record.taken_at is not None and record.taken_offset is not None:
            zone = dt.timezone(dt.timedelta(minutes=record.taken_offset))
            out["taken_at"] = dt.datetime.fromtimestamp(record.taken_at, zone).isoformat()
        else:
            out["taken_at"] = dt.datetime.fromtimestamp(record.taken).isoformat()
        out["taken_from"] = "exif" if record.taken_at is not None else "file"
        if record.place:
            out["place"] = record.place
        if self.text is not None:
            out["text"] = self.text
        return out


@dataclass
class SearchResults:
    query: str
    model: str
    hits: list[SearchHit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # False for a listing by filters alone: every hit "scores" 1.0, which means nothing.
    scored: bool = True

    def to_json(self) -> dict[str, object]:
        return {
            "query": self.query,
            "model": self.model,
            "results": [hit.to_json() for hit in self.hits],
            **({"notes": self.notes} if self.notes else {}),
        }
