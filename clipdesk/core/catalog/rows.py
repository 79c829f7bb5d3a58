"""Reading file rows and path ranges: shared by the catalog and the tag store.

Paths are bytes (``os.fsencode``); a folder is the half-open range of paths below it, so
that its photos come from the unique index on ``files.path``.
"""

from __future__ import annotations

import os

from clipdesk.core.catalog.mounts import to_stored
from clipdesk.core.catalog.schema import files

FILE_COLUMNS = (
    files.c.id,
    files.c.root_id,
    files.c.path,
    files.c.size,
    files.c.mtime_ns,
    files.c.inode,
    files.c.fingerprint,
    files.c.status,
    files.c.skip_reason,
    files.c.width,
    files.c.height,
    files.c.taken_at,
    files.c.camera,
    files.c.taken_offset,
    files.c.latitude,
    files.c.longitude,
    files.c.place,
)


def path_bytes(path: str | os.PathLike[str] | bytes) -> bytes:
    return path if isinstance(path, bytes) else os.fsencode(path)


def stored_path(path: str | os.PathLike[str] | bytes) -> bytes:
    """A path on this computer as the catalog stores it (``mounts``): what queries compare."""
    return to_stored(path_bytes(path))


def extension(path: bytes) -> str:
    """What the ``ext`` column holds for ``path``: ".jpg"; "" when none or not ASCII."""
    ext = os.path.splitext(os.fsdecode(path))[1].lower()
    return ext if ext.isascii() and len(ext) <= 16 else ""


def folder_range(folder: bytes) -> tuple[bytes, bytes]:
    """Bounds such that ``lo <= path < hi`` selects the stored paths of everything below
    ``folder`` (a folder on this computer)."""
    base = to_stored(folder).rstrip(b"/\\") + os.sep.encode()
    return base, base[:-1] + bytes([base[-1] + 1])
