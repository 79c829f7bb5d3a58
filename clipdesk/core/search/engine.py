"""The one search: a :class:`SearchQuery` in, ranked photos out.

The window, the command line, ``similar`` and searches by tag all come here. Filters
become an allowed set in SQL; the vector index searches only within it, so a search for
n results returns n whenever n photos pass the filters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from clipdesk.core.errors import SearchError
from clipdesk.core.search.filter_set import Filters
from clipdesk.core.search.query import SearchQuery
from clipdesk.core.search.ranking import combine, rank
from clipdesk.core.search.results import SearchHit, SearchResults
from clipdesk.core.vectors.allowed_query import AllowedQuery

if TYPE_CHECKING:
    from clipdesk.core.catalog import Catalog
    from clipdesk.core.catalog.allowed import Condition
    from clipdesk.core.encoder import Encoder
    from clipdesk.core.vectors import VectorIndex

__all__ = ["SearchParts", "allowed_set", "search"]


@dataclass(frozen=True)
class SearchParts:
    """What a search needs, handed in by its owner (the library)."""

    catalog: Catalog
    model_name: str  # named in results, known without loading the model
    vectors: Callable[[], VectorIndex]  # the current model's index, opened on first use
    encoder: Callable[[], Encoder]  # the current model, loaded on first use
    image_vector: Callable[[str], np.ndarray]  # stored if the library has it, else computed


def search(query: SearchQuery, parts: SearchParts) -> SearchResults:
    """Photos for ``query``: ranked by its vector; or, with filters alone, listed (a
    tag's photos in the tag's order, others newest first). ``sort="date"`` orders what
    was found by taken-at time, newest first."""
    results = _found(query, parts)
    if query.sort == "date":
        results.hits.sort(key=lambda hit: (-hit.file.taken, hit.path))
    if query.filters.texts and results.hits:
        said = parts.catalog.photo_words(h.file.fingerprint or "" for h in results.hits)
        results.hits = [replace(h, text=said.get(h.file.fingerprint or "")) for h in results.hits]
    return results


def _found(query: SearchQuery, parts: SearchParts) -> SearchResults:
    if not query.has_vector:
        if not query.filters.active:
            raise SearchError("nothing to search for: give some text or an image")
        if query.filters.tag is not None and query.sort == "relevance":
            return _list_tagged(query, parts, query.filters.tag)
        return _list_newest(query, parts)
    where = _conditions(query.filters)
    encoder = parts.encoder()
    results = SearchResults(query=query.text, model=encoder.spec.name)
    texts = ([query.text] if query.text.strip() else []) + list(query.negatives)
    vectors: list[np.ndarray] = []
    if texts:
        embedded = encoder.encode_texts(texts)
        for phrase, tokens in zip(texts, embedded.token_counts, strict=True):
            if tokens > encoder.context_length:
                results.notes.append(
                    f"{phrase[:40]!r}... is {tokens} tokens, longer than the model's "
                    f"{encoder.context_length}; it was embedded in parts and averaged"
                )
        vectors = list(embedded.vectors)
    positive = [vectors.pop(0)] if query.text.strip() else []
    if query.image is not None:
        positive.append(parts.image_vector(query.image))
    index = parts.vectors()
    allowed = allowed_set(parts.catalog, query.filters, encoder.model_key, index)
    results.hits = rank(
        parts.catalog,
        index,
        combine(positive),
        query.k,
        negatives=vectors,  # what is left after the positive text: the "-word" terms
        allowed=allowed,
        where=where,
        all_scenes=query.all_scenes,
    )
    return results


def _conditions(filters: Filters, *, tag: bool = True) -> list[Condition]:
    """The filters' SQL conditions. Without filters SQLAlchemy is never imported: the
    quick search (``quick.py``) answers a plain search through this same function."""
    if not filters.active:
        return []
    from clipdesk.core.search.filters import conditions

    return conditions(filters, tag=tag)


def allowed_set(
    catalog: Catalog, filters: Filters, model_key: str, index: VectorIndex
) -> AllowedQuery | None:
    """The embeddings a search with ``filters`` may return (None: all of them), as
    SQL: a store in the same database searches within the select itself; another
    reads the ids (``AllowedQuery.ids``), as every search did before.

    With excluded folders as the only filter nearly everything is allowed: what the
    folders take away is selected instead, and taken from the index's labels.
    """
    where = _conditions(filters)
    if not where:
        return None
    from clipdesk.core.catalog.allowed import excluded_query
    from clipdesk.core.search.filters import excluded_bytes, where_only_excludes

    if where_only_excludes(filters):
        folders = excluded_bytes(filters)
        return AllowedQuery(
            excluded_query(model_key, folders),
            lambda: np.setdiff1d(
                index.labels(),
                catalog.excluded_embeddings(model_key, folders),
                assume_unique=True,
            ),
            denied=True,
        )
    return AllowedQuery(
        catalog.allowed_query(model_key, where),
        lambda: catalog.allowed_embeddings(model_key, where),
    )


def _list_tagged(query: SearchQuery, parts: SearchParts, tag: str) -> SearchResults:
    """A tag's photos, the user's own first, then most confident (the score shown)."""
    others = _conditions(query.filters, tag=False)  # the tag orders the list as well
    rows = parts.catalog.tagged_files(tag, others, limit=max(query.k, 0))
    results = SearchResults(query=query.text, model=parts.model_name)
    results.hits = [SearchHit(f.fspath, score, f) for f, score in rows]
    return results


def _list_newest(query: SearchQuery, parts: SearchParts) -> SearchResults:
    """Photos passing the filters (people among them), newest first; each scores 1.0
    (it matches them all)."""
    records = parts.catalog.newest_files(_conditions(query.filters), limit=max(query.k, 0))
    results = SearchResults(query=query.text, model=parts.model_name, scored=False)
    results.hits = [SearchHit(f.fspath, 1.0, f) for f in records]
    return results
