"""The dense copy of the live vectors, and the checks every vector and label passes.

The graph keeps its vectors in float16; this float32 copy, mapped from the saved vectors
file, scores its candidates exactly, answers exact searches and ``get_vectors``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class Dense:
    """Live vectors in rows ``[0, n)`` with a sorted label -> row lookup."""

    def __init__(
        self, dim: int, vectors: np.ndarray | None = None, labels: np.ndarray | None = None
    ):
        self.vecs = np.zeros((1024, dim), np.float32) if vectors is None else vectors
        self.row_label = np.zeros(len(self.vecs), np.int64) if labels is None else labels
        self.n = 0 if labels is None else len(labels)
        self._reindex()

    def _reindex(self) -> None:
        order = np.argsort(self.row_label[: self.n], kind="stable")
        self.sorted_rows = order.astype(np.int64)
        self.sorted_labels = self.row_label[: self.n][order]

    def find(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found mask, rows); rows are meaningful where found."""
        if not self.n:
            return np.zeros(len(labels), bool), np.zeros(len(labels), np.int64)
        pos = np.minimum(np.searchsorted(self.sorted_labels, labels), self.n - 1)
        return self.sorted_labels[pos] == labels, self.sorted_rows[pos]

    def put(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        found, rows = self.find(labels)
        self.vecs[rows[found]] = vectors[found]
        new_labels, new_vecs = labels[~found], vectors[~found]
        m = len(new_labels)
        if not m:
            return
        if self.n + m > len(self.vecs):
            size = max(self.n + m, 2 * len(self.vecs))
            self.vecs = np.concatenate(
                [self.vecs[: self.n], np.zeros((size - self.n, self.vecs.shape[1]), np.float32)]
            )
            self.row_label = np.concatenate(
                [self.row_label[: self.n], np.zeros(size - self.n, np.int64)]
            )
        new_rows = np.arange(self.n, self.n + m, dtype=np.int64)
        self.vecs[new_rows] = new_vecs
        self.row_label[new_rows] = new_labels
        self.n += m
        order = np.argsort(new_labels)
        pos = np.searchsorted(self.sorted_labels, new_labels[order])
        self.sorted_labels = np.insert(self.sorted_labels, pos, new_labels[order])
        self.sorted_rows = np.insert(self.sorted_rows, pos, new_rows[order])

    def drop(self, labels: np.ndarray) -> int:
        found, rows = self.find(labels)
        rows = np.unique(rows[found])
        if not len(rows):
            return 0
        keep_n = self.n - len(rows)
        holes = rows[rows < keep_n]
        tail = np.arange(keep_n, self.n)
        movers = tail[~np.isin(tail, rows)]  # as many as there are holes
        self.vecs[holes] = self.vecs[movers]
        self.row_label[holes] = self.row_label[movers]
        self.n = keep_n
        self._reindex()
        return len(rows)


def as_labels(labels: Iterable[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(labels if isinstance(labels, np.ndarray) else list(labels), dtype=np.int64)
    arr = arr.reshape(-1)
    if len(arr) and arr.min() < 0:
        raise ValueError("labels must be non-negative")
    return arr


def as_vectors(vectors: np.ndarray, n: int, dim: int) -> np.ndarray:
    arr = (
        np.asarray(vectors, dtype=np.float32).reshape(-1, dim)
        if n
        else np.zeros((0, dim), np.float32)
    )
    if arr.shape != (n, dim):
        raise ValueError(f"expected vectors of shape ({n}, {dim}), got {np.shape(vectors)}")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        raise ValueError("vectors must be finite and non-zero")
    return np.ascontiguousarray(arr / norms, dtype=np.float32)


def top(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best scores, best first."""
    if k < len(scores):
        part = np.argpartition(-scores, k - 1)[:k]
        return part[np.argsort(-scores[part], kind="stable")]
    return np.argsort(-scores, kind="stable")
