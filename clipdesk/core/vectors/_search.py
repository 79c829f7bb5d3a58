"""Answering a query from the dense copy (exact) or the graph (approximate).

The graph proposes candidates by its float16 vectors; they are scored again from the
float32 dense copy, so scores are exact and the order is the true order among them. It is
asked for ``RESCORE`` times ``k`` so that a neighbour float16 ranked just below the k-th
still gets its exact score.

A large allowed set is answered by one ordinary search a few times wider than ``k``,
keeping the allowed results; when too few are allowed (the allowed photos lie elsewhere
in the space, as a folder of one event does), by the exact scan of the allowed rows.
"""

from __future__ import annotations

import numpy as np
from usearch.index import Index

from clipdesk.core.vectors import _graph
from clipdesk.core.vectors._dense import Dense, top

EXACT_LIMIT = 20_000  # up to this many candidates an exact scan costs about what HNSW does
FILTERED_EXACT_SHARE = 2.5
OVERSAMPLE = 3  # a filtered search first asks for this many times k / allowed share
RESCORE = 2  # the graph is asked for this many times k candidates

Hits = list[tuple[int, float]]


def exact(dense: Dense, query: np.ndarray, k: int, rows: np.ndarray | None) -> Hits:
    """The true ``k`` best among ``rows`` (None: every row)."""
    if rows is None:
        rows = np.arange(dense.n)
        scores = dense.vecs[: dense.n] @ query
    elif 4 * len(rows) < dense.n:
        scores = dense.vecs[rows] @ query  # gathering a few rows beats scanning all
    else:
        scores = (dense.vecs[: dense.n] @ query)[rows]
    best = top(scores, k)
    labels = dense.row_label[rows[best]]
    return [(int(lab), float(s)) for lab, s in zip(labels, scores[best], strict=True)]


def _rescored(dense: Dense, query: np.ndarray, k: int, labels: np.ndarray) -> Hits:
    """The ``k`` best of ``labels`` (all in the index), by their float32 vectors."""
    _, rows = dense.find(labels)
    return exact(dense, query, k, rows)


def unfiltered(graph: Index, dense: Dense, query: np.ndarray, k: int) -> Hits:
    labels = _graph.candidates(graph, query, RESCORE * k)
    if len(labels) < min(k, dense.n):  # the graph found fewer than k: answer exactly
        return exact(dense, query, k, None)
    return _rescored(dense, query, k, labels)


def filtered(
    graph: Index, dense: Dense, ef_search: int, query: np.ndarray, k: int, rows: np.ndarray
) -> Hits:
    """``k`` of the allowed ``rows`` (a large set): from the graph, exact if it falls short.

    The graph has no filter: a wide ordinary search keeps the allowed results (one search's
    cost); beyond half of ``ef_search`` the wide answer loses recall, and too few allowed
    among it means the allowed photos are elsewhere: then the exact scan of ``rows``.
    """
    share = len(rows) / max(dense.n, 1)
    wide = int(np.ceil(OVERSAMPLE * k / share)) + k
    if wide <= ef_search // 2:
        found = _graph.candidates(graph, query, min(RESCORE * wide, dense.n))
        _, found_rows = dense.find(found)
        keep = found_rows[np.isin(found_rows, rows)]
        if len(keep) >= k:
            return exact(dense, query, k, keep)
    return exact(dense, query, k, rows)
