"""What the tag service answers: plain records, each with the JSON the command line prints.

Kept apart from the service so that the window and the command line can name them
without loading the service and its tagging job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["PhotoTag", "TagInfo", "TaggedPhoto"]


@dataclass(frozen=True)
class TagInfo:
    """A tag of the vocabulary, with how many photos carry it and why."""

    name: str
    prompt: str | None
    origin: str  # "vocabulary" or "custom"
    count: int  # photos (files) carrying it
    sources: dict[str, int] = field(default_factory=dict)  # zero-shot/learned/manual -> count
    method: str | None = None  # how the current model decides it: zero-shot, learned, manual

    def to_json(self) -> dict[str, object]:
        return {
            "tag": self.name,
            "count": self.count,
            "sources": self.sources,
            "origin": self.origin,
            "method": self.method,
            "prompt": self.prompt,
        }


@dataclass(frozen=True)
class TaggedPhoto:
    path: str
    source: str
    score: float | None  # cosine (zero-shot) or probability (learned)
    confidence: float | None  # calibrated 0-1; 1 for the user's own tags

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, **_numbers(self.source, self.score, self.confidence)}


@dataclass(frozen=True)
class PhotoTag:
    name: str
    source: str
    score: float | None
    confidence: float | None
    rejected: bool = False  # the user said this tag is wrong for this photo

    @property
    def strength(self) -> float | None:
        """How sure clipdesk is: the calibrated confidence, else the raw score."""
        return self.confidence if self.confidence is not None else self.score

    def to_json(self) -> dict[str, object]:
        out = {"tag": self.name, **_numbers(self.source, self.score, self.confidence)}
        if self.rejected:
            out["rejected"] = True
        return out


def _numbers(source: str, score: float | None, conf: float | None) -> dict[str, object]:
    return {
        "source": source,
        "score": None if score is None else round(score, 6),
        "confidence": None if conf is None else round(conf, 6),
    }
