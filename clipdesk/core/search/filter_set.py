"""Filters: which photos a search may return, one field per thing a search is limited by.

Kept apart from the query object so that the query language (``operators.py``), which
builds filters, and the query, which reads what a user typed through it, both stand on it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Filters"]


@dataclass(frozen=True, slots=True)
class Filters:
    """Which photos may be returned; every field left empty lets every photo through.

    ``after`` and ``before`` are epoch seconds (``dates.parse_date``) compared with the
    photo's taken-at time, else its modification time: ``after <= taken < before``.
    ``types`` are names from ``filetypes.FILE_TYPES`` (``photo``, ``jpeg``, ``raw``...).
    Folders are absolute paths; a folder covers everything below it.
    """

    folder: str | None = None
    excluded: tuple[str, ...] = ()
    after: float | None = None
    before: float | None = None
    types: tuple[str, ...] = ()
    tag: str | None = None
    texts: tuple[str, ...] = ()  # words or phrases read in the photo (``text:``), all of them
    places: tuple[str, ...] = ()  # place names (city, region or country), all of them
    cameras: tuple[str, ...] = ()  # words of the camera's make and model, all of them
    # People, by name (any case), id or "Person <id>": every one must be in the photo.
    persons: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self != Filters()
