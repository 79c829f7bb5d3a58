"""Catalog operations over the SQLite database.

All writes go through one writer (the indexer or the library's write methods); reads may
come from any thread, each on its own pooled connection, which WAL lets run beside a
writer without blocking.

The operations live with the tables they serve, one module each (``_meta``, ``_roots``,
``_files``, ``_indexing``, ``_embeddings``, ``_scenes``, ``_report``, ``orphans``, and
``allowed`` for the allowed sets of searches); :class:`Catalog` puts them on one engine.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from clipdesk.core.catalog._embeddings import EmbeddingTable
from clipdesk.core.catalog._files import FileTable
from clipdesk.core.catalog._indexing import IndexingWrites
from clipdesk.core.catalog._meta import MetaTable
from clipdesk.core.catalog._photo_text import PhotoTexts
from clipdesk.core.catalog._report import Reports
from clipdesk.core.catalog._roots import RootTable
from clipdesk.core.catalog._scenes import SceneTable
from clipdesk.core.catalog.allowed import AllowedSets
from clipdesk.core.catalog.database import open_database
from clipdesk.core.catalog.mounts import MountMap, install, uninstall
from clipdesk.core.catalog.orphans import OrphanRows
from clipdesk.core.catalog.rows import folder_range, path_bytes

__all__ = ["Catalog", "folder_range", "path_bytes"]


class Catalog(
    MetaTable,
    RootTable,
    FileTable,
    IndexingWrites,
    EmbeddingTable,
    SceneTable,
    AllowedSets,
    PhotoTexts,
    OrphanRows,
    Reports,
):
    """Roots, files and embeddings of one library."""

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        self.read_only = read_only
        self.mounts = MountMap()

    def use_mounts(self, mounts: MountMap) -> None:
        """Translate paths through ``mounts`` (this computer's view of the roots) from
        now until :meth:`close`; see :mod:`clipdesk.core.catalog.mounts`."""
        uninstall(self.mounts)
        self.mounts = mounts
        install(mounts)

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False) -> Catalog:
        """Open (creating or migrating if allowed) the catalog; read-only where clipdesk
        may not write, or when asked."""
        database = open_database(path, read_only=read_only)
        return cls(database.engine, read_only=database.read_only)

    def close(self) -> None:
        uninstall(self.mounts)
        self.engine.dispose()
