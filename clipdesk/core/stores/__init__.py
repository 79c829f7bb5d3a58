"""Where a library lives: a folder (SQLite + usearch) or a PostgreSQL database (pgvector).

:class:`LibraryStore` is what the :class:`~clipdesk.core.library.Library` needs of either:
the catalog, one vector store per model, the lock that lets one process at a time run
the library's long writing jobs, and the folders indexing must never scan.
:func:`open_store` picks the implementation from the location, once; nothing else in
clipdesk asks which one it got.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from clipdesk.core import paths

if TYPE_CHECKING:
    from clipdesk.core.catalog import Catalog
    from clipdesk.core.lane.writer import WriteGuard
    from clipdesk.core.vectors.store import VectorStore

__all__ = ["LibraryStore", "open_store"]


class LibraryStore(Protocol):
    """One library's storage: see the package docstring."""

    catalog: Catalog
    location: str  # as shown to the user (a PostgreSQL address without its password)
    guard: WriteGuard  # held by the writer lane for each long job, across processes

    @property
    def folder(self) -> Path:
        """The local folder of the library's files; for a shared library, LibraryError."""
        ...

    def open_vectors(self, model_key: str, dim: int) -> VectorStore:
        """One model's vector store, as saved (the caller checks it against the catalog)."""
        ...

    def excluded_folders(self) -> list[bytes]:
        """Folders that are never photos, even inside a root (the library's own)."""
        ...

    def close(self) -> None: ...


def open_store(
    location: str | os.PathLike[str] | None = None, *, read_only: bool = False
) -> LibraryStore:
    """The store at ``location`` (``--library``, else ``CLIPDESK_LIBRARY``, else the data
    dir's folder): a PostgreSQL address opens a shared library, anything else a folder.
    Its catalog translates paths through this computer's mounts of its roots."""
    from clipdesk.core.mounts import mount_map

    where = paths.library_location(location)
    store: LibraryStore
    if isinstance(where, Path):
        from clipdesk.core.stores.folder import FolderStore

        store = FolderStore.open(where, read_only=read_only)
    else:
        from clipdesk.core.stores.postgres import PostgresStore

        store = PostgresStore.open(where, read_only=read_only)
    try:  # this computer's view of the roots (clipdesk.core.mounts)
        store.catalog.use_mounts(mount_map(store.catalog))
    except BaseException:
        store.close()
        raise
    return store
