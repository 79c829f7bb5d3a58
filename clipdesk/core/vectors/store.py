"""What the library asks of one model's vector store, whichever engine keeps it.

Two implementations: :class:`VectorIndex` (a usearch graph plus a dense copy, saved in the
library folder beside the SQLite catalog) and :class:`PgVectorStore` (a pgvector table in
the shared PostgreSQL library). The library's store picks one (``library/stores.py``);
nothing else looks at which it got.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

import numpy as np

from clipdesk.core.vectors.allowed_query import AllowedQuery

__all__ = ["VectorStore"]


class VectorStore(Protocol):
    """One model's image vectors: the catalog holds the truth, this answers searches."""

    dim: int
    problem: str | None  # why a saved copy could not be used (then it is refilled)
    # Whether the store searches within an :class:`AllowedQuery`'s select itself (it
    # lives in the catalog's database); else it is handed the ids.
    filters_in_sql: bool

    def add(self, labels: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, labels: Iterable[int] | np.ndarray) -> int: ...

    def sync(
        self, labels: Iterable[int] | np.ndarray, fetch: Callable[[np.ndarray], np.ndarray]
    ) -> Any: ...

    def save(self) -> None: ...

    @property
    def unsaved(self) -> bool:
        """Changed since it was saved or opened (an older format read counts: saving
        writes it in the current one)."""
        ...

    def verify(self) -> str | None:
        """Why the saved copy is not what was saved, read byte for byte (``clipdesk
        check``), or None."""
        ...

    def __len__(self) -> int: ...

    def __contains__(self, label: object) -> bool: ...

    def labels(self) -> np.ndarray: ...

    def get_vectors(self, labels: Iterable[int] | np.ndarray) -> np.ndarray: ...

    def query(
        self,
        vector: np.ndarray,
        k: int,
        *,
        allowed: AllowedQuery | np.ndarray | set[int] | Iterable[int] | None = None,
    ) -> list[tuple[int, float]]: ...
