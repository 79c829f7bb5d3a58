"""Facts read from EXIF: when and where a photo was taken, with which camera, which way up.

Damaged EXIF never rejects an otherwise good photo: each fact is simply missing.
"""

from __future__ import annotations

import datetime as _dt
import re

from PIL import Image

__all__ = ["TRANSPOSE", "camera_name", "gps_position", "orientation", "taken_at", "taken_at_epoch"]

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
_GPS_IFD = 0x8825
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
    return taken_at(im)[0]


def taken_at(im: Image.Image) -> tuple[float | None, int | None]:
    """EXIF capture time in epoch seconds, and its offset in minutes east of UTC when
    EXIF gives one (OffsetTimeOriginal...); without one the time is read as this
    machine's local time and the offset is None."""
    try:
        exif = im.getexif()
        sub = exif.get_ifd(_EXIF_IFD)
        raw = next((sub[t] for t in _DATE_TAGS if sub.get(t)), None) or exif.get(_DATETIME_IFD0)
        if not raw:
            return None, None
        match = _DATE_RE.search(_text(raw))
        if not match:
            return None, None
        y, mo, d, h, mi, sec = (int(g) if g else 0 for g in match.groups())
        if not 1800 <= y <= 2200:
            return None, None
        when = _dt.datetime(y, mo, d, h, mi, sec)
        offset = next(
            (_OFFSET_RE.fullmatch(_text(sub[t])) for t in _OFFSET_TAGS if sub.get(t)), None
        )
        minutes = None
        if offset:
            sign = -1 if offset.group(1) == "-" else 1
            delta = _dt.timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
            when = when.replace(tzinfo=_dt.timezone(sign * delta))
            minutes = sign * (int(offset.group(2)) * 60 + int(offset.group(3)))
        return when.timestamp(), minutes
    except Exception:  # impossible dates, damaged EXIF: no date rather than no photo
        return None, None


def _degrees(value: object) -> float:
    """Degrees from EXIF's (degrees, minutes, seconds) rationals."""
    parts = [float(part) for part in value]  # type: ignore[attr-defined]
    while len(parts) < 3:
        parts.append(0.0)
    return parts[0] + parts[1] / 60 + parts[2] / 3600


def gps_position(im: Image.Image) -> tuple[float, float] | None:
    """(latitude, longitude) in degrees from EXIF GPS; None when missing or impossible
    (0, 0 included: it is what broken GPS writes)."""
    try:
        gps = im.getexif().get_ifd(_GPS_IFD)
        if not gps or 2 not in gps or 4 not in gps:
            return None
        lat, lon = _degrees(gps[2]), _degrees(gps[4])
        if _text(gps.get(1, "N")).upper().startswith("S"):
            lat = -lat
        if _text(gps.get(3, "E")).upper().startswith("W"):
            lon = -lon
    except Exception:  # damaged GPS: no place rather than no photo
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    if lat != lat or lon != lon:  # NaN from a zero denominator
        return None
    return lat, lon


def camera_name(im: Image.Image) -> str | None:
    """'Make Model' from EXIF, without repeating the make when the model already names
    its brand ("NIKON CORPORATION" + "NIKON Z 6" is "NIKON Z 6")."""
    try:
        exif = im.getexif()
        make, model = _text(exif.get(_MAKE) or ""), _text(exif.get(_MODEL) or "")
    except Exception:
        return None
    brand = make.split()[0].lower() if make else ""  # "NIKON CORPORATION" -> "nikon"
    if brand and model.lower().startswith(brand):
        make = ""
    return " ".join(p for p in (make, model) if p) or None


def orientation(im: Image.Image) -> int:
    """The EXIF orientation (1-8); 1 when it is missing or makes no sense."""
    try:
        value = int(im.getexif().get(_ORIENTATION_TAG, 1))
    except Exception:  # damaged EXIF never rejects an otherwise good photo
        return 1
    return value if value in TRANSPOSE else 1
