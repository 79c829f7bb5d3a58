"""What a video's container says about it: when it was taken (and in which time zone),
with which camera, and where.

MP4 and MOV keep ``creation_time`` in UTC; a phone adds its local time with the offset
(Apple's ``com.apple.quicktime.creationdate``), which is preferred, so a video's time is
shown as the clock on the spot showed it, like a photo's EXIF time with its offset. The
position is an ISO 6709 string (Apple's ``com.apple.quicktime.location.ISO6709``, the
``location`` that Android and FFmpeg write): decimal degrees, signed. Damaged or absurd
values are simply missing, never an error.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["VideoFacts", "video_facts"]

_APPLE_DATE = "com.apple.quicktime.creationdate"
_LOCATIONS = ("com.apple.quicktime.location.ISO6709", "location", "location-eng")
_ISO6709 = re.compile(r"\s*([+-]\d{1,2}(?:\.\d+)?)([+-]\d{1,3}(?:\.\d+)?)")


@dataclass(frozen=True, slots=True)
class VideoFacts:
    taken_at: float | None = None
    taken_offset: int | None = None  # minutes east of UTC
    camera: str | None = None
    position: tuple[float, float] | None = None  # (latitude, longitude)


def _when(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    try:
        when = _dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)  # MP4 times are UTC
    return when if 1900 <= when.year <= 2200 else None


def _taken(metadata: Mapping[str, str]) -> tuple[float | None, int | None]:
    local = _when(metadata.get(_APPLE_DATE))
    when = local or _when(metadata.get("creation_time"))
    if when is None:
        return None, None
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    return when.timestamp(), minutes if abs(minutes) <= 18 * 60 else 0


def _camera(metadata: Mapping[str, str]) -> str | None:
    make = metadata.get("com.apple.quicktime.make", "").strip()
    model = metadata.get("com.apple.quicktime.model", "").strip()
    if make and model.lower().startswith(make.lower()):
        make = ""
    return " ".join(p for p in (make, model) if p)[:100] or None


def _position(metadata: Mapping[str, str]) -> tuple[float, float] | None:
    text = next((metadata[k] for k in _LOCATIONS if metadata.get(k)), None)
    match = _ISO6709.match(text) if text else None
    if match is None:
        return None
    lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None  # impossible, or what broken GPS writes
    return lat, lon


def video_facts(metadata: Mapping[str, str]) -> VideoFacts:
    """The facts in a container's metadata (its tags, as FFmpeg reads them)."""
    taken, offset = _taken(metadata)
    return VideoFacts(taken, offset, _camera(metadata), _position(metadata))
