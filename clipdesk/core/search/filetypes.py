"""File types a search can be limited to, by file-name extension.

``photo`` is every still-image format clipdesk reads; the single formats (``jpeg``,
``png``, ...) narrow it. ``raw`` and ``video`` name camera raw files and videos: clipdesk
does not index them yet, so today they match nothing, but the names are kept stable for
when it does.
"""

from __future__ import annotations

from collections.abc import Iterable

from clipdesk.core.errors import FileTypeError

__all__ = ["FILE_TYPES", "TYPE_NAMES", "FileTypeError", "extensions_of"]

_FORMATS: dict[str, tuple[str, ...]] = {
    "jpeg": (".jpg", ".jpeg", ".jpe"),
    "png": (".png",),
    "heic": (".heic", ".heif", ".hif"),
    "webp": (".webp",),
    "tiff": (".tif", ".tiff"),
    "gif": (".gif",),
    "bmp": (".bmp",),
}

FILE_TYPES: dict[str, tuple[str, ...]] = {
    "photo": tuple(ext for exts in _FORMATS.values() for ext in exts),
    **_FORMATS,
    "raw": (
        ".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf", ".rw2",
        ".raf", ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".rwl", ".erf", ".kdc", ".mrw",
    ),
    "video": (
        ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mts", ".m2ts", ".3gp", ".wmv",
        ".mpg", ".mpeg",
    ),
}  # fmt: skip
TYPE_NAMES: tuple[str, ...] = tuple(FILE_TYPES)


def extensions_of(names: Iterable[str]) -> tuple[str, ...]:
    """Every extension (lower-case, with its dot) the type names cover, sorted."""
    out: set[str] = set()
    for name in names:
        key = name.strip().lower()
        if key not in FILE_TYPES:
            raise FileTypeError(f"unknown file type {name!r} (one of: {', '.join(TYPE_NAMES)})")
        out.update(FILE_TYPES[key])
    return tuple(sorted(out))
