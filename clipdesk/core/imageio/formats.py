"""Which files are photos, and the decoders allowed to open them.

Only formats that ordinary photo libraries contain are opened (no EPS, which would run
Ghostscript, and none of Pillow's exotic plugins). HEIF comes from the ``pi-heif``
plugin, registered once per process the first time a photo is read: the decode-only
build of ``pillow-heif`` (same code, without the x265 encoder's 23 MB);
AVIF is built into Pillow where Pillow was built with it. Camera RAW files are photos
too, read through LibRaw (``raw.py``).
"""

from __future__ import annotations

import os
import threading

from PIL import features

from clipdesk.core.imageio.raw import RAW_EXTENSIONS
from clipdesk.core.mediatypes import PHOTO_EXTENSIONS

__all__ = ["FORMATS", "IMAGE_EXTENSIONS", "ensure_openers", "is_image_path"]

_BASE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP")


def _heif_available() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("pi_heif") is not None
    except (ImportError, ValueError):
        return False


_HAS_HEIF = _heif_available()
_HAS_AVIF = bool(features.check_module("avif"))

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    PHOTO_EXTENSIONS
    + tuple(RAW_EXTENSIONS)
    + ((".heic", ".heif", ".hif") if _HAS_HEIF else ())
    + ((".avif",) if _HAS_AVIF else ())
)
FORMATS = _BASE_FORMATS + (("HEIF",) if _HAS_HEIF else ()) + (("AVIF",) if _HAS_AVIF else ())

_openers_lock = threading.Lock()
_openers_ready = False


def is_image_path(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> bool:
    """Whether the name looks like a photo we can read (by extension, case-insensitive)."""
    name = os.fsdecode(path)
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def ensure_openers() -> None:
    """Register the HEIF opener once per process (AVIF is built into Pillow)."""
    global _openers_ready
    if _openers_ready:
        return
    with _openers_lock:
        if not _openers_ready and _HAS_HEIF:
            try:
                from pi_heif import register_heif_opener

                register_heif_opener()
            except Exception:  # an unusable plugin means HEIF files get "not an image"
                pass
        _openers_ready = True
