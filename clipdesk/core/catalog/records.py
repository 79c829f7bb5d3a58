"""Plain records the catalog hands out, so callers never hold database rows."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from clipdesk.core.catalog.mounts import installed, to_local


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
    taken_offset: int | None = None  # minutes east of UTC, when EXIF gave one
    latitude: float | None = None
    longitude: float | None = None
    place: str | None = None  # "City, Region, Country", named offline from GPS

    @property
    def fspath(self) -> str:
        return os.fsdecode(self.path)

    @property
    def taken(self) -> float:
        """When the photo was taken: EXIF's time, else the file's modification time (what
        date filters and the date order use)."""
        return self.taken_at if self.taken_at is not None else self.mtime_ns / 1e9


@dataclass(frozen=True, slots=True)
class TextLine:
    """A line of text read in a photo: the text, how sure OCR is, and its four corners
    (x, y) in the pixels of the upright photo."""

    text: str
    confidence: float
    box: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class PhotoText:
    """What OCR read in one photo; no lines when it found none (the photo is still
    marked as read)."""

    lines: tuple[TextLine, ...]
    width: int
    height: int


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
    taken_offset: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    place: str | None = None  # filled in by the indexer (``core/places.py``), not workers
    place_key: str | None = None
    text: PhotoText | None = None  # None: OCR did not run (switched off, or failed)


@dataclass(frozen=True, slots=True)
class SceneRecord:
    """One scene of a video: the fingerprint its vector is stored under, and its times."""

    scene_fp: str
    video_fp: str
    index: int
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class StatusCounts:
    indexed: int
    pending: int
    skipped: int
    offline: int
    # Searchable photos whose text and faces could not be read (among ``indexed``).
    unread: int = 0


def file_record(row: Sequence[object]) -> FileRecord:
    """A row of ``FILE_COLUMNS`` as a record, its path as this computer sees it (``mounts``)."""
    if not installed():  # nothing mounted elsewhere: every search hit passes here
        return FileRecord(*row)  # type: ignore[arg-type]
    values = list(row)
    values[2] = to_local(values[2])  # type: ignore[arg-type]
    return FileRecord(*values)  # type: ignore[arg-type]


def root_record(row: Sequence[object]) -> RootRecord:
    """A ``roots`` row as a record, its path as this computer sees it (``mounts``)."""
    return RootRecord(row[0], to_local(bytes(row[1])), *row[2:])  # type: ignore[arg-type]


def scene_record(row: Sequence[object]) -> SceneRecord:
    fp, video, idx, start, end = row
    return SceneRecord(fp, video, int(idx), float(start), float(end))  # type: ignore[arg-type]
