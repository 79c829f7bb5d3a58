"""Ranking photos by a query vector, lowered by negative terms, within an allowed set.

Scores are cosine similarities in the model's joint space. For CLIP they sit in a narrow
band (a good text match is often only 0.25-0.35), so nothing here applies a fixed cut-off;
callers decide how many results to show.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from clipdesk.core.search.results import SearchHit
from clipdesk.core.vectors.allowed_query import AllowedQuery

if TYPE_CHECKING:
    from clipdesk.core.catalog import Catalog
    from clipdesk.core.catalog.allowed import Condition
    from clipdesk.core.vectors import VectorIndex

__all__ = ["NEGATIVE_WEIGHT", "combine", "lower_by_negatives", "rank"]

# How strongly a negative term pulls a photo down, per unit of similarity above the
# typical similarity of that term to the candidates.
NEGATIVE_WEIGHT = 1.0


def combine(vectors: list[np.ndarray]) -> np.ndarray:
    """The normalised mean of normalised query vectors (text and image weigh the same)."""
    total = np.sum([v / np.linalg.norm(v) for v in vectors], axis=0)
    return (total / np.linalg.norm(total)).astype(np.float32)


def lower_by_negatives(
    scores: np.ndarray, stored: np.ndarray, negatives: Sequence[np.ndarray]
) -> np.ndarray:
    """Scores lowered by each negative term, as far as a candidate resembles it more
    than the candidates typically do (their median), so a term that fits all of them
    alike changes nothing."""
    for negative in negatives:
        similarity = stored @ negative
        baseline = float(np.median(similarity))
        scores = scores - NEGATIVE_WEIGHT * np.maximum(0.0, similarity - baseline)
    return scores


def rank(
    catalog: Catalog,
    index: VectorIndex,
    query: np.ndarray,
    k: int,
    *,
    negatives: Sequence[np.ndarray] = (),
    allowed: AllowedQuery | np.ndarray | None = None,
    where: Sequence[Condition] = (),
    all_scenes: bool = False,
) -> list[SearchHit]:
    """Best ``k`` files for ``query`` among the ``allowed`` embeddings (None: all): ids,
    or a select that a store taking SQL (``index.filters_in_sql``) searches within, and
    that is read as ids for any other.

    Each embedding found stands for its files that pass ``where``; every allowed
    embedding has at least one, so ``k`` embeddings give ``k`` files whenever ``k`` are
    allowed. Negative terms re-rank a wider set of candidates (4k + 20). A video's
    embeddings are its scenes: it is listed once, at its best scene, unless
    ``all_scenes``; more candidates are fetched until ``k`` results remain.
    """
    if isinstance(allowed, AllowedQuery) and not index.filters_in_sql:
        allowed = allowed.ids()  # this store needs the ids themselves
    if k <= 0 or len(index) == 0 or (isinstance(allowed, np.ndarray) and len(allowed) == 0):
        return []
    want = k * 4 + 20 if negatives else k + 10
    # A set left in SQL is not counted: at most every vector, and too few candidates
    # back says it ran out.
    total = len(index) if not isinstance(allowed, np.ndarray) else min(len(index), len(allowed))
    while True:
        candidates = index.query(query, min(want, total), allowed=allowed)
        hits = _hits_for(catalog, index, candidates, negatives, where)
        if not all_scenes:
            hits = _best_per_file(hits)
        exhausted = len(candidates) < want or want >= total
        if len(hits) >= k or exhausted:
            return hits[:k]
        want *= 4  # embeddings whose files are offline or gone: look further


def _hits_for(
    catalog: Catalog,
    index: VectorIndex,
    candidates: list[tuple[int, float]],
    negatives: Sequence[np.ndarray],
    where: Sequence[Condition],
) -> list[SearchHit]:
    if not candidates:
        return []
    labels = [label for label, _ in candidates]
    scores = np.array([score for _, score in candidates], dtype=np.float32)
    if negatives:
        stored = index.get_vectors(np.array(labels, dtype=np.int64))
        scores = lower_by_negatives(scores, stored, negatives)
    files = catalog.files_for_embeddings(labels, where)
    scenes = catalog.scenes_for_embeddings(labels)
    order = np.argsort(-scores, kind="stable")
    hits: list[SearchHit] = []
    for position in order:
        scene = scenes.get(labels[position])
        for record in files.get(labels[position], []):
            score = float(scores[position])
            if scene is None:
                hits.append(SearchHit(record.fspath, score, record))
            else:
                hits.append(
                    SearchHit(record.fspath, score, record, time=scene.start, scene=scene.index)
                )
    return hits


def _best_per_file(hits: list[SearchHit]) -> list[SearchHit]:
    """Each file once, at its best hit (hits come best first): a video at its best scene."""
    seen: set[str] = set()
    out: list[SearchHit] = []
    for hit in hits:
        if hit.path not in seen:
            seen.add(hit.path)
            out.append(hit)
    return out
