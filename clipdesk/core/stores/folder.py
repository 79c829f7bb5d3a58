"""A library in a folder: the SQLite catalog, usearch indexes and a lock file beside them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from clipdesk.core import paths
from clipdesk.core.files import safe_file_name
from clipdesk.core.write_lock import FileWriteGuard

if TYPE_CHECKING:
    from clipdesk.core.catalog import Catalog
    from clipdesk.core.vectors import VectorIndex

__all__ = ["CATALOG_FILE", "FolderStore", "index_dir_name"]

CATALOG_FILE = "catalog.db"


def index_dir_name(model_key: str) -> str:
    """A file-system-safe folder name for one model's index."""
    return safe_file_name(model_key)


class FolderStore:
    """A :class:`clipdesk.core.stores.LibraryStore` in ``directory``."""

    def __init__(self, directory: Path, catalog: Catalog) -> None:
        self.directory = Path(directory)
        self.catalog = catalog
        self.location = os.fspath(self.directory)
        self.guard = FileWriteGuard(self.directory)

    @classmethod
    def open(cls, directory: Path, *, read_only: bool = False) -> FolderStore:
        """Open (creating if new and allowed) the library folder and its catalog."""
        from clipdesk.core.catalog import Catalog

        path = paths.ensure_folder(directory, "library folder")
        return cls(path, Catalog.open(path / CATALOG_FILE, read_only=read_only))

    @property
    def folder(self) -> Path:
        return self.directory

    def open_vectors(self, model_key: str, dim: int) -> VectorIndex:
        from clipdesk.core.vectors import VectorIndex

        return VectorIndex.open(self.directory / "vectors" / index_dir_name(model_key), dim)

    def excluded_folders(self) -> list[bytes]:
        return [os.fsencode(os.path.realpath(self.directory))]

    def close(self) -> None:
        self.catalog.close()
