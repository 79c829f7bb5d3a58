"""The catalog: what clipdesk knows about roots, files and their embeddings (SQLite)."""

from clipdesk.core.catalog.catalog import Catalog
from clipdesk.core.catalog.database import CatalogError, open_database
from clipdesk.core.catalog.records import (
    DecodedFacts,
    FileRecord,
    RootRecord,
    StatEntry,
    StatusCounts,
)

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
