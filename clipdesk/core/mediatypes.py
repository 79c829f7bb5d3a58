"""Which file-name extensions are camera RAW files, their JPEG companions, and videos.

One list for the scanner, the readers, the catalog's RAW+JPEG pairs and the search's
file types, in a module that imports nothing, so that each of them can use it.
"""

from __future__ import annotations

import os

__all__ = [
    "JPEG_COMPANION_EXTENSIONS",
    "OPTIONAL_PHOTO_EXTENSIONS",
    "PHOTO_EXTENSIONS",
    "RAW_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "is_video_path",
]

# Photos every install reads (Pillow's own decoders), and those it reads only where a
# decoder is present (HEIF with pi_heif, AVIF where Pillow was built with it).
PHOTO_EXTENSIONS: tuple[str, ...] = (
    ".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp",
)  # fmt: skip
OPTIONAL_PHOTO_EXTENSIONS: tuple[str, ...] = (".heic", ".heif", ".hif", ".avif")

RAW_EXTENSIONS: tuple[str, ...] = (
    ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf", ".rw2",
    ".raf", ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".rwl", ".erf", ".kdc", ".mrw", ".mos",
)  # fmt: skip
# What a camera writes beside a RAW file when set to RAW+JPEG (or RAW+HEIF).
JPEG_COMPANION_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".jpe", ".heic", ".heif", ".hif")
VIDEO_EXTENSIONS: tuple[str, ...] = (
    ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mts", ".m2ts", ".3gp", ".wmv",
    ".mpg", ".mpeg",
)  # fmt: skip


def is_video_path(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> bool:
    """Whether the name is a video's (by extension, case-insensitive)."""
    return os.path.splitext(os.fsdecode(path))[1].lower() in VIDEO_EXTENSIONS
