"""The search index of one model's image vectors (an HNSW graph plus a dense copy).

The catalog (SQLite) is the truth; this is a cache that is never trusted blindly.

- ``index.py``: :class:`VectorIndex`, changes, sync with the catalog, queries;
- ``_dense.py``: the dense copy of the live vectors, label checks;
- ``_graph.py``: the HNSW graph (usearch, float16 vectors), saved and loaded;
- ``_search.py``: exact and graph (filtered) answers, rescored from the dense copy;
- ``_files.py``: saved generations, manifest and atomic writes;
- ``_rwlock.py``: many readers or one writer.
"""

from __future__ import annotations

from clipdesk.core.vectors._files import FORMAT_VERSION
from clipdesk.core.vectors._search import EXACT_LIMIT, FILTERED_EXACT_SHARE, OVERSAMPLE
from clipdesk.core.vectors.index import SyncReport, VectorIndex

__all__ = [
    "EXACT_LIMIT",
    "FILTERED_EXACT_SHARE",
    "FORMAT_VERSION",
    "OVERSAMPLE",
    "SyncReport",
    "VectorIndex",
]
