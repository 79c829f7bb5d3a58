"""Thumbnail keys that can name a second of a video: a path, or a path and a time.

A video result is shown by the frame where its best scene starts, so its thumbnail is
that of the path *and* the time. The two are joined by a NUL, which no file name can
hold, so a key is never mistaken for a path and any file name round-trips.
"""

from __future__ import annotations

from clipdesk.core.search import SearchHit

__all__ = ["key_for", "split_key", "time_label"]

_SEP = "\0t="


def key_for(hit: SearchHit) -> str:
    """The thumbnail key of a result: its path, with the time for a video's scene."""
    return hit.path if hit.time is None else f"{hit.path}{_SEP}{hit.time:.3f}"


def split_key(key: str) -> tuple[str, float | None]:
    """A key's path and time (None for a photo, or a video shown from its start)."""
    path, sep, at = key.partition(_SEP)
    return (path, float(at)) if sep else (key, None)


def time_label(seconds: float) -> str:
    """``0:12``, ``3:05``, ``1:02:09``: a time as players show it."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
