"""Plain records the catalog hands out, so callers never hold database rows."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RootRecord:
    id: int
    path: bytes
    added_at: float
    online: bool
    last_scan_at: float | None

    @property
    def fspath(self) -> str:
        return os.fsdecode(self.path)


@dataclass(frozen=True, slots=True)
class FileRecord:
    id: int
    root_id: int
    path: bytes
    size: int
    mtime_ns: int
    inode: int
    fingerprint: str | None
    status: str
    skip_reason: str | None = None
    width: int | None = None
    height: int | None = None
    taken_at: float | None = None
    camera: str | None = None

    @property
    def fspath(self) -> str:
        return os.fsdecode(self.path)


@dataclass(frozen=True, slots=True)
class StatEntry:
    """What a scan saw of one file on disk."""

    path: bytes
    size: int
    mtime_ns: int
    inode: int


@dataclass(frozen=True, slots=True)
class DecodedFacts:
    """What reading a file taught us about it."""

    fingerprint: str
    width: int
    height: int
    taken_at: float | None = None
    camera: str | None = None


@dataclass(frozen=True, slots=True)
class StatusCounts:
    indexed: int
    pending: int
    skipped: int
    offline: int
