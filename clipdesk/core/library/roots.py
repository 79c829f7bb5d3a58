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

_SEP = os.sep.encode()


def _below(path: bytes, folder: bytes) -> bool:
    # As clipdesk.core.watch.dirty.is_below, whose package would bring watchdog along.
    return path.startswith(folder.rstrip(_SEP) + _SEP)


def _inside(path: bytes, folder: bytes) -> bool:
    return path == folder or _below(path, folder)


__all__ = ["add_root", "folder_path", "mount_root", "root_named", "root_to_remove"]


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
    for root in catalog.roots():
        if _inside(resolved, root.path):
            return root
    new_root = catalog.add_root(resolved)
    for root in catalog.roots():
        if root.id != new_root.id and _below(root.path, resolved):
            catalog.merge_root_into(root.id, new_root.id)
    return new_root


def root_to_remove(catalog: Catalog, folder: str | os.PathLike[str]) -> RootRecord:
    """The root ``folder`` names; LibraryError when it is not one."""
    root = catalog.root_by_path(os.fsencode(Path(folder).expanduser().resolve()))
    if root is None:
        raise LibraryError(f"not a root of this library: {folder}")
    return root


def root_named(catalog: Catalog, ref: str) -> RootRecord:
    """The root ``ref`` names: its id, the path the library stores it at, or the folder
    where this computer sees it; LibraryError when none."""
    roots = catalog.roots()
    if ref.isdigit():
        found = [r for r in roots if r.id == int(ref)]
    else:
        stored = catalog.stored_roots()
        raw = os.fsencode(ref)
        local = os.fsencode(Path(ref).expanduser().resolve())
        found = [r for r in roots if raw in (r.path, stored.get(r.id)) or r.path == local]
    if not found:
        raise LibraryError(f"not a root of this library: {ref} (`clipdesk library roots`)")
    return found[0]


def mount_root(catalog: Catalog, ref: str, folder: str | os.PathLike[str] | None) -> RootRecord:
    """Record that this computer sees root ``ref`` at ``folder`` (None: at the path the
    library stores it at), in this computer's settings, and translate paths through it
    from now on. Refused when another root is stored inside ``folder``: its photos
    would be shown twice (remove that root first)."""
    from clipdesk.core.mounts import mount_map, set_mount

    root = root_named(catalog, ref)
    library_id = catalog.library_id()
    if library_id is None:
        raise LibraryError(
            "this read-only library has no identity yet: open it once where it can be written"
        )
    stored = catalog.stored_roots()
    local = stored[root.id] if folder is None else os.fsencode(folder_path(folder).resolve())
    for other, path in stored.items():
        if other != root.id and (_inside(path, local) or _inside(local, path)):
            raise LibraryError(
                f"another root is stored at {os.fsdecode(path)} (id {other}), which overlaps "
                f"{os.fsdecode(local)}: remove it first (`clipdesk roots --remove`)"
            )
    set_mount(library_id, root.id, None if local == stored[root.id] else os.fsdecode(local))
    catalog.use_mounts(mount_map(catalog))
    return next(r for r in catalog.roots() if r.id == root.id)
