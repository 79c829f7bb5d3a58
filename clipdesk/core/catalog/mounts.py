"""Where this computer sees a library's roots: stored paths and local ones.

A library stores each root and file under one path, the one its root was first added at
(``/mnt/nas/photos/x.jpg``). A computer that sees the root elsewhere (the same NAS at
``/Volumes/photos``) says so once (``clipdesk library mount``; kept in that computer's
own settings, :mod:`clipdesk.core.mounts`). From then on the catalog hands out paths as
this computer sees them and turns every path it is given back into the stored one, so
indexing, searches, the window and ``check`` all work with local paths, and a photo
indexed from two computers is one row.

The translation belongs to the open library: its store installs it when it opens and
takes it back when it closes. It is process-wide, not a catalog attribute, because file
rows are read in many modules (searches, tags, people) that hold an engine, not a
catalog; a process works with one library's paths at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

__all__ = ["MountMap", "install", "installed", "to_local", "to_stored", "uninstall"]


def _under(path: bytes, folder: bytes) -> bytes | None:
    """What follows ``folder`` in ``path`` (b"" for the folder itself), or None."""
    if path == folder:
        return b""
    base = folder.rstrip(b"/\\") + os.sep.encode()
    return path[len(base) - 1 :] if path.startswith(base) else None


class MountMap:
    """Pairs of (stored root path, local path) for the roots mounted elsewhere here."""

    def __init__(self, pairs: Iterable[tuple[bytes, bytes]] = ()) -> None:
        # Longest first: a root inside another's mount would otherwise lose to it.
        self.pairs = sorted(
            ((s, lo) for s, lo in pairs if s != lo), key=lambda p: -max(len(p[0]), len(p[1]))
        )
        self._reversed = [(lo, s) for s, lo in self.pairs]  # the same order: the key is symmetric

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def to_local(self, path: bytes) -> bytes:
        return _rebase(path, self.pairs)

    def to_stored(self, path: bytes) -> bytes:
        return _rebase(path, self._reversed)


def _rebase(path: bytes, pairs: Iterable[tuple[bytes, bytes]]) -> bytes:
    """``path`` under the first ``old`` of ``pairs``, moved under its ``new``."""
    for old, new in pairs:
        rest = _under(path, old)
        if rest is not None:
            return new.rstrip(b"/\\") + rest if rest else new
    return path


_NONE = MountMap()
_active: MountMap = _NONE


def install(mounts: MountMap) -> None:
    """Make ``mounts`` the translation of every catalog read and write in this process."""
    global _active
    _active = mounts


def uninstall(mounts: MountMap) -> None:
    """Take ``mounts`` back (a no-op when another library's replaced it since)."""
    global _active
    if _active is mounts:
        _active = _NONE


def installed() -> MountMap:
    return _active


def to_local(path: bytes) -> bytes:
    """A stored path as this computer sees it."""
    return _active.to_local(path) if _active else path


def to_stored(path: bytes) -> bytes:
    """A path on this computer as the library stores it."""
    return _active.to_stored(path) if _active else path
