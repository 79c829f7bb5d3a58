"""What the search box suggests as the user types: operators, then places, cameras, words.

The window reads the library's places, cameras and most common words once (after it
opens, and when photos change) and completes the word being typed locally, with
:func:`complete`: a pure function, so the window and tests agree on what it offers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from clipdesk.core.catalog.words import normalise
from clipdesk.core.search.operators import OPERATORS

if TYPE_CHECKING:
    from clipdesk.core.catalog import Catalog

__all__ = ["Suggestions", "complete", "read_suggestions"]

WORDS = 2000  # the most common words read in photos that the box offers after text:


@dataclass(frozen=True)
class Suggestions:
    places: tuple[str, ...] = ()  # cities, regions and countries of the library's photos
    cameras: tuple[str, ...] = ()
    words: tuple[str, ...] = ()  # read in photos, most photos first
    tags: tuple[str, ...] = ()


def read_suggestions(catalog: Catalog, tags: tuple[str, ...] = ()) -> Suggestions:
    """What the library can suggest; read off the GUI thread (three small queries)."""
    return Suggestions(
        places=tuple(catalog.place_names()),
        cameras=tuple(catalog.camera_names()),
        words=tuple(catalog.text_words("", WORDS)),
        tags=tags,
    )


def _quoted(operator: str, value: str) -> str:
    return f'{operator}:"{value}"' if " " in value else f"{operator}:{value}"


def complete(text: str, suggestions: Suggestions, limit: int = 12) -> list[str]:
    """Whole queries that complete the last word of ``text``: an operator's name, or
    the value of ``place:``, ``camera:``, ``text:`` or ``tag:`` from the library."""
    head, _, last = text.rpartition(" ")
    prefix = f"{head} " if head else ""
    if not last:
        return []
    name, colon, value = last.partition(":")
    if not colon:
        return [prefix + f"{op}:" for op in OPERATORS if op.startswith(last.lower())][:limit]
    pools = {
        "place": suggestions.places,
        "camera": suggestions.cameras,
        "text": suggestions.words,
        "tag": suggestions.tags,
    }
    pool = pools.get(name.lower())
    if pool is None:
        return []
    wanted = normalise(value.strip('"'))
    found = [v for v in pool if normalise(v).startswith(wanted)]
    return [prefix + _quoted(name.lower(), v) for v in found[:limit] if v != value]
