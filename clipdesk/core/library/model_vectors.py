"""The model in use paired with its vector index.

A search must never query one model's index with another model's vectors, so the
encoder (held by the :class:`ModelSlot`) and the index are read and replaced together
here, under a lock held for moments and never across a job's yield: searches never wait
for the writer. The index is opened lazily and checked against the database, which is
the source of truth; one repaired in memory is saved only while no other process writes
the library.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

import numpy as np

from clipdesk.core.errors import LibraryError
from clipdesk.core.stores.folder import index_dir_name

if TYPE_CHECKING:
    from clipdesk.core.encoder import Encoder
    from clipdesk.core.model_slot import ModelSlot
    from clipdesk.core.stores import LibraryStore
    from clipdesk.core.vectors.store import VectorStore as VectorIndex

__all__ = ["ModelVectors", "index_dir_name"]


class ModelVectors:
    """The encoder and index of the model in use (see the module docstring)."""

    def __init__(self, store: LibraryStore, model: ModelSlot) -> None:
        self._store = store
        self._catalog = store.catalog
        self._model = model
        self._guard = store.guard
        self._index: VectorIndex | None = None
        self._key: str | None = None
        # Guards lazy loading and the model switch's swap of encoder and index.
        self._lock = threading.RLock()

    @property
    def index(self) -> VectorIndex:
        """The index for the current model, checked against the database on first use."""
        with self._lock:
            if self._index is None:
                encoder = self._model.get()
                index, problems = self.open_index(encoder.model_key, encoder.dim, repair=True)
                if problems or index.unsaved:  # mended, or read from an older format
                    self.save_if_free(index)
                self._index, self._key = index, encoder.model_key
            return self._index

    def searchable(self) -> tuple[Encoder, VectorIndex]:
        """The encoder and index of the model in use, taken together: a model switch
        replaces both at once."""
        with self._lock:
            return self._model.get(), self.index

    def matches_catalog(self) -> bool:
        """Whether the index holds exactly the catalog's vectors of the model in use:
        what a process opening the library now would search (another process may have
        written since this one last took the write lock and caught up)."""
        encoder, index = self.searchable()
        want = np.unique(self._catalog.embedding_ids(encoder.model_key))
        return bool(np.array_equal(index.labels(), want))

    def open_index(
        self, model_key: str, dim: int, *, repair: bool, full: bool = False
    ) -> tuple[VectorIndex, list[str]]:
        """Open one model's vector store and compare it with the database.

        With ``repair`` it is refilled from the database in memory; the caller saves it
        (never while another process writes the library: see :meth:`save_if_free`).
        ``full`` also reads every saved byte against its checksum (``clipdesk check``);
        a store that fails it is refilled whole by a repair.
        """
        index = self._store.open_vectors(model_key, dim)
        problems: list[str] = []
        damaged = index.verify() if full and not index.problem else None
        if damaged:
            problems.append(f"index: {damaged}")
            if repair:
                index.remove(index.labels())  # nothing saved can be trusted: refill all
        if index.problem:
            problems.append(f"index: {index.problem}")
        db_labels = self._catalog.embedding_ids(model_key)
        in_index = index.labels()
        # Both hold each id once (a primary key; the index's labels): no sorting for
        # duplicates, which a cold search would pay for at every start.
        missing = np.setdiff1d(db_labels, in_index, assume_unique=True)
        extra = np.setdiff1d(in_index, db_labels, assume_unique=True)
        if len(missing):
            problems.append(f"index: {len(missing)} vectors in the database are missing")
        if len(extra):
            problems.append(f"index: {len(extra)} vectors are not in the database")
        if repair and (len(missing) or len(extra) or index.problem or damaged):
            index.sync(db_labels, lambda ids: self._catalog.vectors(ids, dim))
        return index, problems

    def repair(self, model_key: str, dim: int) -> None:
        """Rebuild one model's index from the database and save it; run on the writer."""
        index, _ = self.open_index(model_key, dim, repair=True, full=True)
        index.save()
        with self._lock:
            if self._key == model_key:
                self._index = index

    def use_encoder(self, encoder: Encoder) -> None:
        """The same model on a faster runtime (its vectors are the same)."""
        with self._lock:
            self._model.use(encoder)

    def switch_to(self, encoder: Encoder, index: VectorIndex) -> None:
        """Make another model, complete in ``index``, the one in use: both in one step."""
        with self._lock:
            self._model.use(encoder)
            self._index, self._key = index, encoder.model_key

    def catch_up(self) -> None:
        """On taking the inter-process write lock: add what another process wrote."""
        with self._lock:
            index, key = self._index, self._key
        if index is None or key is None:
            return
        dim = index.dim
        index.sync(self._catalog.embedding_ids(key), lambda ids: self._catalog.vectors(ids, dim))

    def save_if_free(self, index: VectorIndex) -> None:
        """Save ``index`` unless another process is writing this library (it keeps the
        index in step itself) or the library is read-only."""
        if self._catalog.read_only:  # a read-only library is mended in memory only
            return
        with contextlib.suppress(OSError, LibraryError):
            if self._guard.try_acquire():
                try:
                    index.save()
                finally:
                    self._guard.release()

    def close(self) -> None:
        """Save an index repaired in memory (see :meth:`save_if_free`)."""
        index = self._index
        if index is not None:
            self.save_if_free(index)
