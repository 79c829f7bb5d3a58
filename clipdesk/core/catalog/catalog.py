"""Catalog operations over the SQLite database.

All writes go through one writer (the indexer or the library's write methods); reads may
come from any thread, each on its own pooled connection, which WAL lets run beside a
writer without blocking.

The operations live with the tables they serve, one module each (``_meta``, ``_roots``,
``_files``, ``_indexing``, ``_embeddings``, ``_report``); :class:`Catalog` puts them on
one engine.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from clipdesk.core.catalog._embeddings import EmbeddingTable, folder_embeddings_query
from clipdesk.core.catalog._files import FileTable
from clipdesk.core.catalog._indexing import IndexingWrites
from clipdesk.core.catalog._meta import MetaTable
from clipdesk.core.catalog._report import Reports
from clipdesk.core.catalog._roots import RootTable
from clipdesk.core.catalog.database import open_database
from clipdesk.core.catalog.rows import folder_range, path_bytes

__all__ = ["Catalog", "folder_embeddings_query", "folder_range", "path_bytes"]


class Catalog(MetaTable, RootTable, FileTable, IndexingWrites, EmbeddingTable, Reports):
    """Roots, files and embeddings of one library."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, path: Path) -> Catalog:
        return cls(open_database(path))

    def close(self) -> None:
        self.engine.dispose()
