"""An allowed set defined by SQL, turned into ids only for a store that needs ids.

A search's filters are SQL conditions on the catalog (``catalog/allowed.py``). A folder
library's vector index lives outside the database and needs the allowed embeddings as
an array of ids; a shared library's vectors (``pgvector_store.py``) live in the same
database as the filter, so there the select itself goes into the statement that orders
by distance, and the ids never travel. The search builds one :class:`AllowedQuery` and
hands it to whichever store the library has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["AllowedQuery"]


@dataclass
class AllowedQuery:
    """The embeddings a search may return, as a select of their ids.

    ``select`` yields the allowed ids (copies may repeat one), or with ``denied`` the
    ids taken away from all the model's vectors (excluded folders alone: nearly
    everything is allowed, and the folders' own rows are the cheap ones to read).
    ``materialise`` reads the allowed ids, sorted and unique, as the catalog always
    has; :meth:`ids` calls it at most once.
    """

    select: Any  # a SQLAlchemy select of one integer column
    materialise: Callable[[], np.ndarray]
    denied: bool = False
    # What a store learnt about this set during one search (its size, bounded), so the
    # search's further queries, for more candidates, need not ask again.
    notes: dict[str, object] = field(default_factory=dict)
    _ids: np.ndarray | None = field(default=None, init=False, repr=False)

    def ids(self) -> np.ndarray:
        """The allowed ids, sorted and unique (read once, then kept)."""
        if self._ids is None:
            self._ids = self.materialise()
        return self._ids
