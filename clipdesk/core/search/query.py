"""The query object: what one search asks for, from the window, the command line or a test.

Everything a search can be limited by is a field of :class:`Filters`; each becomes a
condition in SQL (``filters.py``), so a search for n results returns n whenever n photos
pass. Later filters (text in photos, places, people) are more fields of the same kind.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field

__all__ = ["Filters", "ParsedQuery", "SearchQuery", "parse_query"]


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    positive: str
    negatives: tuple[str, ...] = ()


def parse_query(text: str) -> ParsedQuery:
    """Split ``beach -people -"red car"`` into ``beach`` and the negatives."""
    try:
        words = shlex.split(text)
    except ValueError:  # an unbalanced quote: take the text as it is
        words = text.split()
    positive: list[str] = []
    negatives: list[str] = []
    for word in words:
        if len(word) > 1 and word.startswith("-") and not re.match(r"-\d", word):
            negatives.append(word[1:].strip())
        else:
            positive.append(word)
    return ParsedQuery(" ".join(positive).strip(), tuple(n for n in negatives if n))


@dataclass(frozen=True, slots=True)
class Filters:
    """Which photos may be returned; every field left empty lets every photo through.

    ``after`` and ``before`` are epoch seconds (``dates.parse_date``) compared with the
    photo's taken-at time, else its modification time: ``after <= taken < before``.
    ``types`` are names from ``filetypes.FILE_TYPES`` (``photo``, ``jpeg``, ``raw``...).
    Folders are absolute paths; a folder covers everything below it.
    """

    folder: str | None = None
    excluded: tuple[str, ...] = ()
    after: float | None = None
    before: float | None = None
    types: tuple[str, ...] = ()
    tag: str | None = None
    # People, by name (any case), id or "Person <id>": every one must be in the photo.
    persons: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return bool(
            self.folder
            or self.excluded
            or self.after is not None
            or self.before is not None
            or self.types
            or self.tag is not None
            or bool(self.persons)
        )


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A text, an image or both, lowered by negative terms, within filters.

    With neither text nor image, a query with a tag lists that tag's photos, most
    confident first; one with people lists their photos, newest first; any other such
    query has nothing to search for.
    """

    text: str = ""
    image: str | None = None
    negatives: tuple[str, ...] = ()
    k: int = 20
    filters: Filters = field(default_factory=Filters)

    @classmethod
    def from_text(
        cls,
        text: str = "",
        *,
        image: str | os.PathLike[str] | None = None,
        k: int = 20,
        filters: Filters | None = None,
    ) -> SearchQuery:
        """A query from what a user types, ``-word`` terms becoming negatives."""
        parsed = parse_query(text)
        return cls(
            text=parsed.positive,
            image=os.fspath(image) if image is not None else None,
            negatives=parsed.negatives,
            k=k,
            filters=filters or Filters(),
        )

    @property
    def has_vector(self) -> bool:
        """Whether there is something to embed and rank by (text or image)."""
        return bool(self.text.strip()) or self.image is not None
