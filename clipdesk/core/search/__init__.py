"""One search path: a query object, filters as SQL allowed sets, one ranking.

- ``query.py``: :class:`SearchQuery`, :class:`Filters`, parsing ``-word`` negatives;
- ``filters.py``: filters -> SQL conditions (``catalog/allowed.py``);
- ``dates.py``, ``filetypes.py``: the values ``--after``/``--before`` and ``--type`` take;
- ``ranking.py``: vector ranking within an allowed set, negative terms;
- ``engine.py``: :func:`search`, the one entry point;
- ``results.py``: :class:`SearchHit`, :class:`SearchResults`.
"""

from __future__ import annotations

from clipdesk.core.search.dates import parse_date
from clipdesk.core.search.engine import SearchParts, search
from clipdesk.core.search.filetypes import FILE_TYPES, TYPE_NAMES, extensions_of
from clipdesk.core.search.query import Filters, ParsedQuery, SearchQuery, parse_query
from clipdesk.core.search.ranking import NEGATIVE_WEIGHT, combine, lower_by_negatives, rank
from clipdesk.core.search.results import SearchHit, SearchResults

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
