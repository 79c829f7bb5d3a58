"""The catalog: what clipdesk knows about roots, files and their embeddings (SQLite).

The database classes are imported on first use, so that decode worker processes, which
only need the plain records, never load SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clipdesk.core.catalog.records import (
    DecodedFacts,
    FileRecord,
    RootRecord,
    StatEntry,
    StatusCounts,
)
from clipdesk.core.errors import CatalogError

if TYPE_CHECKING:
    from clipdesk.core.catalog.catalog import Catalog
    from clipdesk.core.catalog.database import open_database

_LAZY = {
    "Catalog": "clipdesk.core.catalog.catalog",
    "open_database": "clipdesk.core.catalog.database",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = [
    "Catalog",
    "CatalogError",
    "DecodedFacts",
    "FileRecord",
    "RootRecord",
    "StatEntry",
    "StatusCounts",
    "open_database",
]
