"""The query object: what one search asks for, from the window, the command line or a test.

Everything a search can be limited by is a field of :class:`Filters`; each becomes a
condition in SQL (``filters.py``), so a search for n results returns n whenever n photos
pass. What a user types is read by ``operators.py`` into this query.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from clipdesk.core.errors import QueryError
from clipdesk.core.search.filter_set import Filters

__all__ = ["SORTS", "Filters", "ParsedQuery", "SearchQuery", "parse_query"]

# How results can be ordered: by the ranking, or by taken-at time, newest first.
SORTS = ("relevance", "date")


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    positive: str
    negatives: tuple[str, ...] = ()


def parse_query(text: str) -> ParsedQuery:
    """Split ``beach -people -"red car"`` into ``beach`` and the negatives (operators
    are read, and dropped: :func:`operators.parse_search` keeps them)."""
    from clipdesk.core.search.operators import parse_search

    parsed = parse_search(text)
    return ParsedQuery(parsed.text, parsed.negatives)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A text, an image or both, lowered by negative terms, within filters.

    A video is one result, at its best scene, unless ``all_scenes`` asks for each scene.

    With neither text nor image, a query with a tag lists that tag's photos, most
    confident first; one with other filters lists the photos that pass, newest first;
    one with no filter at all has nothing to search for.
    """

    text: str = ""
    image: str | None = None
    negatives: tuple[str, ...] = ()
    k: int = 20
    filters: Filters = field(default_factory=Filters)
    sort: str = "relevance"  # or "date": newest first (``SORTS``)
    all_scenes: bool = False  # every matching scene of a video, not only its best one

    @classmethod
    def from_text(
        cls,
        text: str = "",
        *,
        image: str | os.PathLike[str] | None = None,
        k: int = 20,
        filters: Filters | None = None,
        sort: str = "relevance",
        all_scenes: bool = False,
    ) -> SearchQuery:
        """A query from what a user types: operators (``operators.py``) narrow
        ``filters``, ``-word`` terms become negatives, the rest is the meaning query.

        Raises :class:`~clipdesk.core.errors.QueryError` for a query it cannot read.
        """
        from clipdesk.core.search.operators import parse_search

        if sort not in SORTS:
            raise QueryError(f"unknown order {sort!r} (one of: {', '.join(SORTS)})")
        parsed = parse_search(text, filters)
        return cls(
            text=parsed.text,
            image=os.fspath(image) if image is not None else None,
            negatives=parsed.negatives,
            k=k,
            filters=parsed.filters,
            sort=sort,
            all_scenes=all_scenes,
        )

    @property
    def has_vector(self) -> bool:
        """Whether there is something to embed and rank by (text or image)."""
        return bool(self.text.strip()) or self.image is not None
