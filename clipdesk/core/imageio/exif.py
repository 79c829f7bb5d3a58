"""Facts read from EXIF: when a photo was taken, with which camera, which way up.

Damaged EXIF never rejects an otherwise good photo: each fact is simply missing.
"""

from __future__ import annotations

import datetime as _dt
import re

from PIL import Image

__all__ = ["TRANSPOSE", "camera_name", "orientation", "taken_at_epoch"]

_ORIENTATION_TAG = 0x0112
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_IFD = 0x8769
_DATE_TAGS = (0x9003, 0x9004)  # DateTimeOriginal, DateTimeDigitized (in the Exif IFD)
_OFFSET_TAGS = (0x9011, 0x9012, 0x9010)  # OffsetTimeOriginal, -Digitized, OffsetTime
_DATETIME_IFD0 = 0x0132
_MAKE, _MODEL = 0x010F, 0x0110
_DATE_RE = re.compile(r"(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?")
_OFFSET_RE = re.compile(r"([+-])(\d{2}):?(\d{2})")


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).replace("\x00", " ").strip()
    return "".join(ch for ch in text if ch.isprintable())[:100].strip()


def taken_at_epoch(im: Image.Image) -> float | None:
    """EXIF capture time in epoch seconds; naive times are read as this machine's local time."""
    try:
        exif = im.getexif()
        sub = exif.get_ifd(_EXIF_IFD)
        raw = next((sub[t] for t in _DATE_TAGS if sub.get(t)), None) or exif.get(_DATETIME_IFD0)
        if not raw:
            return None
        match = _DATE_RE.search(_text(raw))
        if not match:
            return None
        y, mo, d, h, mi, sec = (int(g) if g else 0 for g in match.groups())
        if not 1800 <= y <= 2200:
            return None
        when = _dt.datetime(y, mo, d, h, mi, sec)
        offset = next(
            (_OFFSET_RE.fullmatch(_text(sub[t])) for t in _OFFSET_TAGS if sub.get(t)), None
        )
        if offset:
            sign = -1 if offset.group(1) == "-" else 1
            delta = _dt.timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
            when = when.replace(tzinfo=_dt.timezone(sign * delta))
        return when.timestamp()
    except Exception:  # impossible dates, damaged EXIF: no date rather than no photo
        return None


def camera_name(im: Image.Image) -> str | None:
    """'Make Model' from EXIF, without repeating the make when the model already has it."""
    try:
        exif = im.getexif()
        make, model = _text(exif.get(_MAKE) or ""), _text(exif.get(_MODEL) or "")
    except Exception:
        return None
    if make and model.lower().startswith(make.lower()):
        make = ""
    return " ".join(p for p in (make, model) if p) or None


def orientation(im: Image.Image) -> int:
    """The EXIF orientation (1-8); 1 when it is missing or makes no sense."""
    try:
        value = int(im.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # damaged EXIF never rejects an otherwise good photo
        return 1
    return value if value in TRANSPOSE else 1
