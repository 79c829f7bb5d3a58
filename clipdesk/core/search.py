"""Turning a query (text, image, both, with negative terms) into ranked photos.

Scores are cosine similarities in the model's joint space. For CLIP they sit in a narrow
band (a good text match is often only 0.25-0.35), so nothing here applies a fixed cut-off;
callers decide how many results to show.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from clipdesk.core.catalog import Catalog, FileRecord
    from clipdesk.core.vectors import VectorIndex

# How strongly a negative term pulls a photo down, per unit of similarity above the
# typical similarity of that term to the candidates.
NEGATIVE_WEIGHT = 1.0


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    positive: str
    negatives: tuple[str, ...] = ()


def parse_query(text: str) -> ParsedQuery:
    """Split ``beach -people -"red car"`` into ``beach`` and the negatives."""
    try:
        words = shlex.split(text)
    except ValueError:  # an unbalanced quote: take the text as it is
        words = text.split()
    positive: list[str] = []
    negatives: list[str] = []
    for word in words:
        if len(word) > 1 and word.startswith("-") and not re.match(r"-\d", word):
            negatives.append(word[1:].strip())
        else:
            positive.append(word)
    return ParsedQuery(" ".join(positive).strip(), tuple(n for n in negatives if n))


@dataclass(frozen=True, slots=True)
class SearchHit:
    path: str
    score: float
    file: FileRecord


@dataclass
class SearchResults:
    query: str
    model: str
    hits: list[SearchHit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "query": self.query,
            "model": self.model,
            "results": [{"path": h.path, "score": round(h.score, 6)} for h in self.hits],
            **({"notes": self.notes} if self.notes else {}),
        }


def combine(vectors: list[np.ndarray]) -> np.ndarray:
    """The normalised mean of normalised query vectors (text and image weigh the same)."""
    total = np.sum([v / np.linalg.norm(v) for v in vectors], axis=0)
    return (total / np.linalg.norm(total)).astype(np.float32)


def rank(
    catalog: Catalog,
    index: VectorIndex,
    query: np.ndarray,
    k: int,
    *,
    model_key: str,
    negatives: list[np.ndarray] | None = None,
    folder: str | None = None,
) -> list[SearchHit]:
    """Best ``k`` files for ``query``, lowered by similarity to each negative vector."""
    if k <= 0 or len(index) == 0:
        return []
    folder_bytes = os.fsencode(os.path.abspath(folder)) if folder else None
    allowed = None
    if folder_bytes is not None:
        allowed = catalog.embedding_ids_in_folder(model_key, folder_bytes)
        if len(allowed) == 0:
            return []
    want = k * 4 + 20 if negatives else k + 10
    while True:
        candidates = index.query(query, min(want, len(index)), allowed=allowed)
        hits = _hits_for(catalog, index, candidates, negatives or [], folder_bytes)
        exhausted = len(candidates) < want or want >= len(index)
        if len(hits) >= k or exhausted:
            return hits[:k]
        want *= 4


def _hits_for(
    catalog: Catalog,
    index: VectorIndex,
    candidates: list[tuple[int, float]],
    negatives: list[np.ndarray],
    folder: bytes | None,
) -> list[SearchHit]:
    if not candidates:
        return []
    labels = [label for label, _ in candidates]
    scores = np.array([score for _, score in candidates], dtype=np.float32)
    if negatives:
        stored = index.get_vectors(np.array(labels, dtype=np.int64))
        for negative in negatives:
            similarity = stored @ negative
            baseline = float(np.median(similarity))
            scores = scores - NEGATIVE_WEIGHT * np.maximum(0.0, similarity - baseline)
    files = catalog.files_for_embeddings(labels, folder=folder)
    order = np.argsort(-scores, kind="stable")
    hits: list[SearchHit] = []
    for position in order:
        for record in files.get(labels[position], []):
            hits.append(SearchHit(record.fspath, float(scores[position]), record))
    return hits
