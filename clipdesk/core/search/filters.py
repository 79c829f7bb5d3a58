"""Filters as SQL conditions on ``files``: the allowed set of a search comes from these."""

from __future__ import annotations

import os
from dataclasses import replace

from sqlalchemy import or_

from clipdesk.core.catalog.allowed import (
    Condition,
    below,
    camera_has,
    extension_in,
    has_text,
    in_place,
    not_below,
    tagged,
    taken_before,
    taken_from,
    with_person,
)
from clipdesk.core.catalog.raw_pairs import has_raw_companion
from clipdesk.core.search.filetypes import extensions_of
from clipdesk.core.search.query import Filters

__all__ = ["conditions", "excluded_bytes", "where_only_excludes"]


def _folder(path: str) -> bytes:
    return os.fsencode(os.path.abspath(os.path.expanduser(path)))


def conditions(filters: Filters, *, tag: bool = True) -> list[Condition]:
    """One condition per filter that is set; all must hold. ``tag=False`` leaves the tag
    out, for a listing of the tag's photos that joins the tag itself."""
    out: list[Condition] = []
    if filters.folder:
        out.append(below(_folder(filters.folder)))
    out.extend(not_below(_folder(folder)) for folder in filters.excluded if folder)
    if filters.after is not None:
        out.append(taken_from(filters.after))
    if filters.before is not None:
        out.append(taken_before(filters.before))
    if filters.types:
        by_extension = extension_in(extensions_of(filters.types))
        if any(name.strip().lower() == "raw" for name in filters.types):
            by_extension = or_(by_extension, has_raw_companion())  # a RAW+JPEG pair
        out.append(by_extension)
    if tag and filters.tag is not None:
        out.append(tagged(filters.tag))
    out.extend(with_person(person) for person in filters.persons)
    out.extend(has_text(phrase) for phrase in filters.texts)
    out.extend(in_place(name) for name in filters.places)
    out.extend(camera_has(word) for word in filters.cameras)
    return out


def excluded_bytes(filters: Filters) -> list[bytes]:
    return [_folder(folder) for folder in filters.excluded if folder]


def where_only_excludes(filters: Filters) -> bool:
    """Whether excluded folders are the only filter set."""
    return bool(excluded_bytes(filters)) and replace(filters, excluded=()) == Filters()
