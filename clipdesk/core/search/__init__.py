"""One search path: a query object, filters as SQL allowed sets, one ranking.

- ``query.py``: :class:`SearchQuery`, :class:`Filters`, parsing ``-word`` negatives;
- ``filters.py``: filters -> SQL conditions (``catalog/allowed.py``);
- ``dates.py``, ``filetypes.py``: the values ``--after``/``--before`` and ``--type`` take;
- ``ranking.py``: vector ranking within an allowed set, negative terms;
- ``engine.py``: :func:`search`, the one entry point;
- ``results.py``: :class:`SearchHit`, :class:`SearchResults`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clipdesk.core.search.dates import parse_date
from clipdesk.core.search.filetypes import FILE_TYPES, TYPE_NAMES, extensions_of
from clipdesk.core.search.query import Filters, ParsedQuery, SearchQuery, parse_query
from clipdesk.core.search.results import SearchHit, SearchResults

if TYPE_CHECKING:
    from clipdesk.core.search.engine import SearchParts, search
    from clipdesk.core.search.ranking import NEGATIVE_WEIGHT, combine, lower_by_negatives, rank

# The search itself (numpy, SQLAlchemy) loads on first use, so that building the command
# line's parser, which needs the type names, stays quick.
_LAZY = {
    "SearchParts": "clipdesk.core.search.engine",
    "search": "clipdesk.core.search.engine",
    "NEGATIVE_WEIGHT": "clipdesk.core.search.ranking",
    "combine": "clipdesk.core.search.ranking",
    "lower_by_negatives": "clipdesk.core.search.ranking",
    "rank": "clipdesk.core.search.ranking",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = [
    "FILE_TYPES",
    "NEGATIVE_WEIGHT",
    "TYPE_NAMES",
    "Filters",
    "ParsedQuery",
    "SearchHit",
    "SearchParts",
    "SearchQuery",
    "SearchResults",
    "combine",
    "extensions_of",
    "lower_by_negatives",
    "parse_date",
    "parse_query",
    "rank",
    "search",
]
