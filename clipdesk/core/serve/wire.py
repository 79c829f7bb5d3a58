"""What a search request and its answer look like between two clipdesk processes.

JSON only, never pickle: a client and a server may be different versions of clipdesk
(``endpoint.PROTOCOL`` tells them apart), and neither runs what the other sends. File
names that are not valid UTF-8 travel as Python's surrogate escapes (``\\udcXX``), which
JSON carries unchanged; floats travel as their shortest repr, so scores arrive exact.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from clipdesk.core.search.filter_set import Filters
from clipdesk.core.search.query import SearchQuery

if TYPE_CHECKING:
    from clipdesk.core.search.results import SearchResults

__all__ = [
    "ServedHit",
    "ServedResults",
    "decode",
    "encode",
    "query_from_wire",
    "query_to_wire",
    "results_from_wire",
    "results_to_wire",
]


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=True, allow_nan=False).encode("ascii")


def decode(data: bytes) -> dict[str, Any]:
    """The message in ``data``; ValueError for anything but a JSON object."""
    message = json.loads(data.decode("ascii"))
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    return message


def query_to_wire(query: SearchQuery) -> dict[str, Any]:
    return asdict(query)


def _tuples(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` for ``cls``'s fields only, lists turned back into tuples."""
    names = {f.name for f in fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


def query_from_wire(data: dict[str, Any]) -> SearchQuery:
    """The query a client sent; ValueError or TypeError when it is not one."""
    values = _tuples(SearchQuery, dict(data))
    filters = values.pop("filters", None) or {}
    if not isinstance(filters, dict):
        raise ValueError("filters must be an object")
    return SearchQuery(**values, filters=Filters(**_tuples(Filters, filters)))


@dataclass(frozen=True, slots=True)
class ServedHit:
    """What the command line prints of a hit in text form."""

    path: str
    score: float
    time: float | None


@dataclass
class ServedResults:
    """A search's results as a server sent them: what ``SearchResults`` prints."""

    notes: list[str]
    hits: list[ServedHit]
    document: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return self.document


def results_to_wire(results: SearchResults) -> dict[str, Any]:
    """A ``SearchResults`` as the client rebuilds it (:func:`results_from_wire`)."""
    return {
        "notes": list(results.notes),
        "hits": [[hit.path, hit.score, hit.time] for hit in results.hits],
        "document": results.to_json(),
    }


def results_from_wire(data: dict[str, Any]) -> ServedResults:
    hits = [ServedHit(str(path), float(score), time) for path, score, time in data["hits"]]
    return ServedResults([str(note) for note in data["notes"]], hits, dict(data["document"]))
