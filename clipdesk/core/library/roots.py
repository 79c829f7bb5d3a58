"""A library's roots: the folders it watches.

Plain functions over the catalog, run on the writer lane by the library: roots change in
the long jobs' order, since a root merged in the middle of a scan would pull its files
from under it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from clipdesk.core.errors import LibraryError

if TYPE_CHECKING:
    from clipdesk.core.catalog import Catalog, RootRecord

__all__ = ["add_root", "folder_path", "root_to_remove"]


def folder_path(folder: str | os.PathLike[str]) -> Path:
    """``folder`` with ``~`` expanded; LibraryError unless it is a folder."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise LibraryError(f"not a folder: {path}")
    return path


def add_root(catalog: Catalog, folder: str | os.PathLike[str]) -> RootRecord:
    """Add ``folder`` as a root; a folder inside an existing root adds nothing new, and
    roots inside the new one are merged into it."""
    resolved = os.fsencode(folder_path(folder).resolve())
    sep = os.sep.encode()
    for root in catalog.roots():
        if resolved == root.path or resolved.startswith(root.path.rstrip(sep) + sep):
            return root
    new_root = catalog.add_root(resolved)
    for root in catalog.roots():
        if root.id != new_root.id and root.path.startswith(resolved.rstrip(sep) + sep):
            catalog.merge_root_into(root.id, new_root.id)
    return new_root


def root_to_remove(catalog: Catalog, folder: str | os.PathLike[str]) -> RootRecord:
    """The root ``folder`` names; LibraryError when it is not one."""
    root = catalog.root_by_path(os.fsencode(Path(folder).expanduser().resolve()))
    if root is None:
        raise LibraryError(f"not a root of this library: {folder}")
    return root
