"""VectorIndex: the search index of one model's image vectors (hnswlib plus a dense copy).

The catalog (SQLite) is the truth; this is a cache that is never trusted blindly. A saved
index is one generation of three files (HNSW graph, vectors, labels) named, with sizes and
checksums, in a manifest that is replaced last: a crash at any point leaves the previous
generation whole. Whatever does not check out opens empty, with ``problem`` saying why,
and ``sync`` refills it from the catalog.

Vectors are L2-normalised float32 in an inner-product space, so a score is a cosine.
hnswlib hands stored vectors back slowly (about 50 us each), so a dense copy is kept too:
it answers exact searches (small libraries, small ``allowed`` sets, ``k`` covering
everything) and ``get_vectors``, at the cost of twice the memory (2 KB per 512-d vector).

One writer thread adds, removes, syncs and saves; searches may run on other threads.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np

__all__ = ["EXACT_LIMIT", "FORMAT_VERSION", "SyncReport", "VectorIndex"]

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
EXACT_LIMIT = 20_000  # up to this many candidates an exact scan costs about what HNSW does
# A filtered graph search (hnswlib calls a Python filter for every node it visits) loses
# recall and costs more than an exact scan of the allowed rows up to a larger count:
# at 100k photos, 30% allowed, 0.96 recall in 10 ms against 1.0 in about 15 ms.
FILTERED_EXACT_SHARE = 2.5
OVERSAMPLE = 3  # a filtered search first asks for this many times k / allowed share
_KINDS = {"graph": ".bin", "vectors": ".npy", "labels": ".npy"}


@dataclass(frozen=True, slots=True)
class SyncReport:
    added: int
    removed: int
    rebuilt: bool  # refilled after being lost (``problem``), or compacted after deletions


class _RWLock:
    """Many readers or one writer; a waiting writer goes first so it is not starved."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._waiting = 0

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class _Dense:
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


def _as_labels(labels: Iterable[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(labels if isinstance(labels, np.ndarray) else list(labels), dtype=np.int64)
    arr = arr.reshape(-1)
    if len(arr) and arr.min() < 0:
        raise ValueError("labels must be non-negative")
    return arr


def _as_vectors(vectors: np.ndarray, n: int, dim: int) -> np.ndarray:
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


class _Invalid(Exception):
    """A saved index that must not be used; the message becomes ``problem``."""


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _fsync_path(path: Path, directory: bool = False) -> None:
    if directory and os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write via a temporary name in the same directory: the real name is whole or absent."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    _fsync_path(tmp)
    os.replace(tmp, path)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, array, allow_pickle=False)


def _labels_digest(sorted_labels: np.ndarray) -> str:
    return hashlib.blake2b(sorted_labels.astype("<i8").tobytes(), digest_size=16).hexdigest()


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best scores, best first."""
    if k < len(scores):
        part = np.argpartition(-scores, k - 1)[:k]
        return part[np.argsort(-scores[part], kind="stable")]
    return np.argsort(-scores, kind="stable")


class VectorIndex:
    """The vectors of one model: add, remove, search, save; see the module docstring."""

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
        self._lock = _RWLock()
        self._save_lock = threading.Lock()
        self._generation = 0
        self._dirty = False
        self._dense = _Dense(self.dim)
        self._graph = self._new_graph(1024)

    def _new_graph(self, capacity: int) -> hnswlib.Index:
        graph = hnswlib.Index(space="ip", dim=self.dim)
        graph.init_index(
            max_elements=capacity,
            ef_construction=self.ef_construction,
            M=self.m,
            random_seed=100,
            allow_replace_deleted=True,
        )
        graph.set_ef(self.ef_search)
        return graph

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

        ``m`` and ``ef_construction`` apply to a new graph; a loaded one keeps its own.
        """
        params: dict[str, Any] = {
            "m": m,
            "ef_construction": ef_construction,
            "ef_search": ef_search,
            "exact_limit": exact_limit,
        }
        index = cls(directory, dim, **params)
        try:
            index._load()
        except _Invalid as exc:
            index = cls(directory, dim, **params)
            index.problem = str(exc)
        except Exception as exc:  # anything odd in a saved file means: rebuild, not crash
            index = cls(directory, dim, **params)
            index.problem = f"index unreadable ({type(exc).__name__}: {exc})"[:200]
        return index

    def _load(self) -> None:
        path = self.directory / MANIFEST
        if not path.exists():
            if self.directory.is_dir() and any(self.directory.glob("graph-*.bin")):
                raise _Invalid("index files without a manifest")
            return  # a new index: nothing to report
        try:
            manifest = json.loads(path.read_text("utf-8"))
            files, count = manifest["files"], int(manifest["count"])
            version, dim = int(manifest["format"]), int(manifest["dim"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise _Invalid(f"manifest unreadable ({exc})") from None
        if version != FORMAT_VERSION:
            raise _Invalid(f"index format {version}, this version reads {FORMAT_VERSION}")
        if dim != self.dim:
            raise _Invalid(f"index has dimension {dim}, the model has {self.dim}")
        paths: dict[str, Path] = {}
        for kind in _KINDS:
            entry = files[kind]
            file = self.directory / os.path.basename(entry["name"])
            if not file.is_file():
                raise _Invalid(f"{kind} file missing")
            if file.stat().st_size != entry["size"] or _sha256(file) != entry["sha256"]:
                raise _Invalid(f"{kind} file does not match the manifest")
            paths[kind] = file
        vectors = np.load(paths["vectors"], allow_pickle=False)
        labels = np.load(paths["labels"], allow_pickle=False)
        if vectors.dtype != np.float32 or vectors.shape != (count, self.dim):
            raise _Invalid("vectors file has the wrong shape")
        if labels.dtype != np.int64 or labels.shape != (count,):
            raise _Invalid("labels file has the wrong shape")
        dense = _Dense(self.dim, np.ascontiguousarray(vectors), labels.copy())
        if len(np.unique(labels)) != count or (count and labels.min() < 0):
            raise _Invalid("labels file has duplicates or negative labels")
        if _labels_digest(dense.sorted_labels) != manifest.get("labels_digest"):
            raise _Invalid("labels do not match the manifest")
        graph = hnswlib.Index(space="ip", dim=self.dim)
        graph.load_index(str(paths["graph"]), max_elements=0, allow_replace_deleted=True)
        if graph.dim != self.dim or not np.all(np.isin(labels, graph.get_ids_list())):
            raise _Invalid("graph does not hold the saved labels")
        graph.set_ef(self.ef_search)
        self._graph, self._dense = graph, dense
        self._generation = int(manifest.get("generation", 0))

    def save(self) -> None:
        """Write a new generation and switch the manifest to it; searches go on meanwhile."""
        with self._lock.read(), self._save_lock:
            if not self._dirty and (self.directory / MANIFEST).exists():
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            gen = self._generation + 1
            n = self._dense.n
            writers: dict[str, Callable[[Path], None]] = {
                "graph": lambda p: self._graph.save_index(str(p)),
                "vectors": lambda p: _save_npy(p, self._dense.vecs[:n]),
                "labels": lambda p: _save_npy(p, self._dense.row_label[:n]),
            }
            files = {}
            for kind, write in writers.items():
                path = self.directory / f"{kind}-{gen}{_KINDS[kind]}"
                _write_atomic(path, write)
                files[kind] = {
                    "name": path.name,
                    "size": path.stat().st_size,
                    "sha256": _sha256(path),
                }
            manifest = {
                "format": FORMAT_VERSION,
                "generation": gen,
                "dim": self.dim,
                "count": n,
                "space": "ip",
                "labels_digest": _labels_digest(self._dense.sorted_labels),
                "files": files,
                "params": {"m": self.m, "ef_construction": self.ef_construction},
                "hnswlib": getattr(hnswlib, "__version__", "unknown"),
                "saved_at": time.time(),
            }
            text = json.dumps(manifest, indent=1)
            _write_atomic(self.directory / MANIFEST, lambda p: p.write_text(text, "utf-8"))
            _fsync_path(self.directory, directory=True)
            self._generation, self._dirty = gen, False
            self._remove_stale({f["name"] for f in files.values()})

    def _remove_stale(self, keep: set[str]) -> None:
        for path in self.directory.iterdir():
            name = path.name
            ours = name.endswith(".tmp") or any(
                name.startswith(f"{kind}-") and name.endswith(ext) for kind, ext in _KINDS.items()
            )
            if ours and name not in keep:
                with contextlib.suppress(OSError):
                    path.unlink()

    # ----------------------------------------------------------------- changes
    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace vectors (normalised here); capacity grows by doubling."""
        labels = _as_labels(labels)
        vectors = _as_vectors(vectors, len(labels), self.dim)
        if not len(labels):
            return
        # The last vector given for a label wins, as if they had been added one by one.
        _, last = np.unique(labels[::-1], return_index=True)
        keep = np.sort(len(labels) - 1 - last)
        labels, vectors = labels[keep], vectors[keep]
        with self._lock.write():
            graph = self._graph
            update, _ = self._dense.find(labels)
            for i in np.flatnonzero(~update):
                try:  # still in the graph, marked deleted: bring it back and update it
                    graph.unmark_deleted(int(labels[i]))
                    update[i] = True
                except RuntimeError:
                    pass
            fresh = ~update
            needed = graph.get_current_count() + int(fresh.sum())
            if needed > graph.get_max_elements():
                graph.resize_index(max(needed, 2 * graph.get_max_elements()))
            threads = 1 if len(labels) < 64 else -1
            if update.any():
                ids = labels[update].astype(np.uint64)
                graph.add_items(vectors[update], ids, num_threads=threads, replace_deleted=False)
            if fresh.any():
                # New labels reuse the slots of deleted ones, so churn does not grow the file.
                ids = labels[fresh].astype(np.uint64)
                graph.add_items(vectors[fresh], ids, num_threads=threads, replace_deleted=True)
            self._dense.put(labels, vectors)
            self._dirty = True

    def remove(self, labels: Iterable[int] | np.ndarray) -> int:
        """Forget these labels (unknown ones are ignored); returns how many were removed."""
        labels = np.unique(_as_labels(labels))
        with self._lock.write():
            found, _ = self._dense.find(labels)
            for label in labels[found]:
                self._graph.mark_deleted(int(label))
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
        want = np.unique(_as_labels(labels))
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
            if self._graph.get_current_count() > 2 * self._dense.n + 1024:
                self._rebuild_graph()  # mostly deleted slots: searches would degrade
                rebuilt = True
        return SyncReport(added=len(missing), removed=removed, rebuilt=rebuilt)

    def _rebuild_graph(self) -> None:
        dense = self._dense
        graph = self._new_graph(max(1024, dense.n))
        if dense.n:
            ids = dense.row_label[: dense.n].astype(np.uint64)
            graph.add_items(dense.vecs[: dense.n], ids, num_threads=-1)
        self._graph, self._dirty = graph, True

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
        labels = _as_labels(labels)
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
        allowed: np.ndarray | set[int] | Iterable[int] | None = None,
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest labels with their cosine scores, best first.

        Exact when the candidates (all, or ``allowed``) number at most ``exact_limit`` or
        ``k`` covers them all; HNSW (filtered when ``allowed`` is given) otherwise.
        """
        query = _as_vectors(np.asarray(vector, np.float32).reshape(1, -1), 1, self.dim)[0]
        if k <= 0:
            return []
        with self._lock.read():
            dense = self._dense
            if allowed is not None:
                wanted = np.unique(_as_labels(allowed))
                found, rows = dense.find(wanted)
                rows = rows[found]
                if len(rows) <= max(FILTERED_EXACT_SHARE * self.exact_limit, k):
                    return self._exact(query, k, rows)
                return self._filtered(query, k, wanted[found], rows)
            if dense.n <= max(self.exact_limit, k):
                return self._exact(query, k, None)
            try:
                ids, dist = self._graph.knn_query(query, k=k, num_threads=1)
            except RuntimeError:  # the graph found fewer than k: answer exactly instead
                return self._exact(query, k, None)
            return [(int(i), float(1.0 - d)) for i, d in zip(ids[0], dist[0], strict=True)]

    def _exact(self, query: np.ndarray, k: int, rows: np.ndarray | None) -> list[tuple[int, float]]:
        dense = self._dense
        if rows is None:
            rows = np.arange(dense.n)
            scores = dense.vecs[: dense.n] @ query
        elif 4 * len(rows) < dense.n:
            scores = dense.vecs[rows] @ query  # gathering a few rows beats scanning all
        else:
            scores = (dense.vecs[: dense.n] @ query)[rows]
        best = _top(scores, k)
        labels = dense.row_label[rows[best]]
        return [(int(lab), float(s)) for lab, s in zip(labels, scores[best], strict=True)]

    def _filtered(
        self, query: np.ndarray, k: int, labels: np.ndarray, rows: np.ndarray
    ) -> list[tuple[int, float]]:
        # A large share of the library allowed: search without the filter for a few times
        # more than k and keep the allowed ones. hnswlib calls a Python filter for every
        # node it visits (143 ms at 1M photos with 30% allowed); this costs one ordinary
        # search. If too few of the results are allowed (the allowed photos lie elsewhere
        # in the space, as a folder of one event does), the filtered search decides.
        share = len(rows) / max(self._dense.n, 1)
        wide = int(np.ceil(OVERSAMPLE * k / share)) + k
        if wide <= self.ef_search // 2:  # beyond, the graph's wide answer loses recall
            try:
                ids, dist = self._graph.knn_query(query, k=min(wide, self._dense.n), num_threads=1)
            except RuntimeError:
                ids = None
            if ids is not None:
                keep = np.isin(ids[0], labels)
                if int(keep.sum()) >= k:
                    found = zip(ids[0][keep][:k], dist[0][keep][:k], strict=True)
                    return [(int(i), float(1.0 - d)) for i, d in found]
        allowed = set(labels.tolist())
        try:
            ids, dist = self._graph.knn_query(
                query, k=k, num_threads=1, filter=allowed.__contains__
            )
        except RuntimeError:
            return self._exact(query, k, rows)
        return [(int(i), float(1.0 - d)) for i, d in zip(ids[0], dist[0], strict=True)]
