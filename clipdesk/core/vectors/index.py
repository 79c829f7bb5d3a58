"""VectorIndex: one model's vectors, searched with an HNSW graph and a dense copy.

A saved index is one generation of three files (HNSW graph, vectors, labels) named, with
sizes and checksums, in a manifest that is replaced last (``_files.py``). Whatever does
not check out opens empty, with ``problem`` saying why, and ``sync`` refills it from the
catalog.

Vectors are L2-normalised float32 in an inner-product space, so a score is a cosine. The
dense copy (mapped from the saved vectors file) answers exact searches (small libraries,
small ``allowed`` sets, ``k`` covering everything) and ``get_vectors``, and scores every
answer the graph (usearch, float16 vectors: ``_graph``) proposes.

One writer thread adds, removes, syncs and saves; searches may run on other threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clipdesk.core.vectors import _graph
from clipdesk.core.vectors._dense import Dense, as_labels, as_vectors
from clipdesk.core.vectors._files import (
    MANIFEST,
    Generation,
    Invalid,
    load_generation,
    save_generation,
    verify_generation,
)
from clipdesk.core.vectors._rwlock import RWLock
from clipdesk.core.vectors._search import (
    EXACT_LIMIT,
    FILTERED_EXACT_SHARE,
    exact,
    filtered,
    unfiltered,
)
from clipdesk.core.vectors.allowed_query import AllowedQuery

__all__ = ["SyncReport", "VectorIndex"]


@dataclass(frozen=True, slots=True)
class SyncReport:
    added: int
    removed: int
    rebuilt: bool  # refilled after being lost (``problem``), or compacted after deletions


class VectorIndex:
    """The vectors of one model: add, remove, search, save; see the module docstring."""

    filters_in_sql = False  # an allowed set comes as ids (``AllowedQuery.ids``)

    def __init__(
        self,
        directory: Path,
        dim: int,
        *,
        m: int = 16,
        ef_construction: int = 200,
        ef_search: int = 256,
        exact_limit: int = EXACT_LIMIT,
    ) -> None:
        self.directory = Path(directory)
        self.dim = int(dim)
        self.m, self.ef_construction, self.ef_search = m, ef_construction, ef_search
        self.exact_limit = exact_limit
        self.problem: str | None = None
        self._lock = RWLock()
        self._save_lock = threading.Lock()
        self._generation = 0
        self._dirty = False
        self._dense = Dense(self.dim)
        self._params = _graph.GraphParams(m, ef_construction, ef_search)
        self._graph = _graph.new_graph(self.dim, self._params)

    # ----------------------------------------------------------------- open / save
    @classmethod
    def open(
        cls,
        directory: Path,
        dim: int,
        *,
        m: int = 16,
        ef_construction: int = 200,
        ef_search: int = 256,
        exact_limit: int = EXACT_LIMIT,
    ) -> VectorIndex:
        """Load the saved index if it checks out, else start empty with ``problem`` set.

        ``m`` applies to a new graph; a loaded one keeps its own. An index saved in the
        hnswlib format gets its graph built from its saved vectors (saved on the next
        ``save``).
        """
        params: dict[str, Any] = {
            "m": m,
            "ef_construction": ef_construction,
            "ef_search": ef_search,
            "exact_limit": exact_limit,
        }
        index = cls(directory, dim, **params)
        try:
            loaded = load_generation(index.directory, index.dim, index._params)
        except Invalid as exc:
            index.problem = str(exc)
        except Exception as exc:  # anything odd in a saved file means: rebuild, not crash
            index.problem = f"index unreadable ({type(exc).__name__}: {exc})"[:200]
        else:
            if loaded is not None:
                index._graph, index._dense = loaded.graph, loaded.dense
                index._generation, index._dirty = loaded.number, loaded.migrated
        return index

    def save(self) -> None:
        """Write a new generation and switch the manifest to it; searches go on meanwhile."""
        with self._lock.read(), self._save_lock:
            if not self._dirty and (self.directory / MANIFEST).exists():
                return
            gen = Generation(self._graph, self._dense, self._generation + 1)
            save_generation(self.directory, gen, self._params)
            self._generation, self._dirty = gen.number, False

    @property
    def unsaved(self) -> bool:
        """Changed since saved or opened, or opened from an older format."""
        return self._dirty

    def verify(self) -> str | None:
        """Why the saved files do not match their checksums, hashing every byte (opening
        only compares sizes and times: see ``_files``), or None."""
        with self._save_lock:
            return verify_generation(self.directory)

    # ----------------------------------------------------------------- changes
    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace vectors (normalised here); the graph grows as needed."""
        labels = as_labels(labels)
        vectors = as_vectors(vectors, len(labels), self.dim)
        if not len(labels):
            return
        # The last vector given for a label wins, as if they had been added one by one.
        _, last = np.unique(labels[::-1], return_index=True)
        keep = np.sort(len(labels) - 1 - last)
        labels, vectors = labels[keep], vectors[keep]
        with self._lock.write():
            update, _ = self._dense.find(labels)
            # A changed vector leaves the graph and comes back; new labels reuse the slots
            # of removed ones, so churn does not grow the file.
            _graph.remove(self._graph, labels[update])
            _graph.add(self._graph, labels, vectors)
            self._dense.put(labels, vectors)
            self._dirty = True

    def remove(self, labels: Iterable[int] | np.ndarray) -> int:
        """Forget these labels (unknown ones are ignored); returns how many were removed."""
        labels = np.unique(as_labels(labels))
        with self._lock.write():
            found, _ = self._dense.find(labels)
            _graph.remove(self._graph, labels[found])
            removed = self._dense.drop(labels[found])
            self._dirty = self._dirty or bool(removed)
            return removed

    def sync(
        self,
        labels: Iterable[int] | np.ndarray,
        fetch: Callable[[np.ndarray], np.ndarray],
        *,
        batch_size: int = 4096,
    ) -> SyncReport:
        """Make the index hold exactly ``labels`` (the catalog's truth).

        ``fetch(missing)`` returns the vectors of those labels in that order. Work is
        done in batches, each under the write lock, so searches continue in between.
        """
        want = np.unique(as_labels(labels))
        with self._lock.read():
            have = self._dense.sorted_labels.copy()
        was_empty = not len(have)
        extra = np.setdiff1d(have, want, assume_unique=True)
        missing = np.setdiff1d(want, have, assume_unique=True)
        removed = self.remove(extra) if len(extra) else 0
        for start in range(0, len(missing), batch_size):
            chunk = missing[start : start + batch_size]
            self.add(chunk, fetch(chunk))
        rebuilt = self.problem is not None and was_empty and len(missing) > 0
        with self._lock.write():
            if _graph.slots(self._graph) > 2 * self._dense.n + 1024:
                self._rebuild_graph()  # mostly removed slots: searches would degrade
                rebuilt = True
        return SyncReport(added=len(missing), removed=removed, rebuilt=rebuilt)

    def _rebuild_graph(self) -> None:
        n = self._dense.n
        labels, vectors = self._dense.row_label[:n], self._dense.vecs[:n]
        self._graph, self._dirty = _graph.build(self.dim, self._params, labels, vectors), True

    # ----------------------------------------------------------------- reading
    def __len__(self) -> int:
        return self._dense.n

    def __contains__(self, label: object) -> bool:
        if not isinstance(label, int | np.integer) or label < 0:
            return False
        with self._lock.read():
            return bool(self._dense.find(np.array([label], np.int64))[0][0])

    def labels(self) -> np.ndarray:
        """The live labels, sorted."""
        with self._lock.read():
            return self._dense.sorted_labels.copy()

    def get_vectors(self, labels: Iterable[int] | np.ndarray) -> np.ndarray:
        """The stored (normalised) vectors of these labels; KeyError for unknown ones."""
        labels = as_labels(labels)
        with self._lock.read():
            found, rows = self._dense.find(labels)
            if not found.all():
                raise KeyError(f"labels not in the index: {labels[~found][:5].tolist()}")
            return self._dense.vecs[rows].copy()

    def query(
        self,
        vector: np.ndarray,
        k: int,
        *,
        allowed: AllowedQuery | np.ndarray | set[int] | Iterable[int] | None = None,
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest labels with their cosine scores, best first.

        Exact when the candidates (all, or ``allowed``) number at most ``exact_limit`` or
        ``k`` covers them all; HNSW (filtered when ``allowed`` is given) otherwise.
        """
        query = as_vectors(np.asarray(vector, np.float32).reshape(1, -1), 1, self.dim)[0]
        if k <= 0:
            return []
        if isinstance(allowed, AllowedQuery):
            allowed = allowed.ids()
        with self._lock.read():
            dense = self._dense
            if allowed is not None:
                wanted = np.unique(as_labels(allowed))
                found, rows = dense.find(wanted)
                rows = rows[found]
                if len(rows) <= max(FILTERED_EXACT_SHARE * self.exact_limit, k):
                    return exact(dense, query, k, rows)
                return filtered(self._graph, dense, self.ef_search, query, k, rows)
            if dense.n <= max(self.exact_limit, k):
                return exact(dense, query, k, None)
            return unfiltered(self._graph, dense, query, k)
