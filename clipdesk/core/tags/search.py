"""Searching within a tag: every photo carrying it, or the best text/image matches among them.

With no text and no image, photos come most confident first (the user's own tags, at
confidence 1, lead); the score shown is that confidence. With a query, photos carrying
the tag are ranked by the query as in an ordinary search.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from clipdesk.core.catalog.catalog import folder_range
from clipdesk.core.search import NEGATIVE_WEIGHT, SearchHit, SearchResults, combine, parse_query

if TYPE_CHECKING:
    from clipdesk.core.library import Library


def search_tagged(
    library: Library,
    text: str,
    tag: str,
    *,
    image: str | os.PathLike[str] | None = None,
    k: int = 20,
    folder: str | os.PathLike[str] | None = None,
) -> SearchResults:
    service = library.tags
    record = service._tag(tag)
    parsed = parse_query(text)
    bounds = folder_range(os.fsencode(os.path.abspath(folder))) if folder else None
    if not parsed.positive and image is None:
        results = SearchResults(query=text, model=library.model_name)
        for file, assignment in service.store.files_with_tag(record.id, online_only=True):
            if bounds and not (bounds[0] <= file.path < bounds[1]):
                continue
            score = assignment.confidence if assignment.confidence is not None else 0.0
            results.hits.append(SearchHit(file.fspath, float(score), file))
            if len(results.hits) >= k:
                break
        return results
    encoder = library.encoder
    results = SearchResults(query=text, model=encoder.spec.name)
    texts = ([parsed.positive] if parsed.positive else []) + list(parsed.negatives)
    vectors = list(encoder.encode_texts(texts).vectors) if texts else []
    query = [vectors.pop(0)] if parsed.positive else []
    if image is not None:
        query.append(library.image_vector(image))
    fingerprints = service.store.fingerprints_with_tag(record.id)
    ids = library.catalog.embedding_ids_for(fingerprints, encoder.model_key)
    if not ids or k <= 0:
        return results
    labels = np.array(sorted(ids.values()), dtype=np.int64)
    labels = labels[np.isin(labels, library.vectors.labels())]
    stored = library.vectors.get_vectors(labels)
    scores = stored @ combine(query)
    for negative in vectors:  # the remaining vectors are the "-word" negatives
        similarity = stored @ negative
        scores = scores - NEGATIVE_WEIGHT * np.maximum(0.0, similarity - np.median(similarity))
    order = np.argsort(-scores, kind="stable")
    folder_bytes = os.fsencode(os.path.abspath(folder)) if folder else None
    for start in range(0, len(order), max(k, 64)):
        chunk = order[start : start + max(k, 64)]
        files = library.catalog.files_for_embeddings(labels[chunk].tolist(), folder=folder_bytes)
        for row in chunk:
            for record_file in files.get(int(labels[row]), []):
                results.hits.append(SearchHit(record_file.fspath, float(scores[row]), record_file))
        if len(results.hits) >= k:
            break
    results.hits = results.hits[:k]
    return results
