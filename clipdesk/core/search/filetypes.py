"""File types a search can be limited to, by file-name extension.

``photo`` is every still-image format Pillow reads; the single formats (``jpeg``,
``png``, ...) narrow it. ``raw`` names camera RAW files, and also the JPEG that stands
for a RAW+JPEG pair (``catalog/raw_pairs.py``); ``video`` names videos.
"""

from __future__ import annotations

from collections.abc import Iterable

from clipdesk.core.errors import FileTypeError
from clipdesk.core.mediatypes import RAW_EXTENSIONS, VIDEO_EXTENSIONS

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
    "raw": RAW_EXTENSIONS,
    "video": VIDEO_EXTENSIONS,
}
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
