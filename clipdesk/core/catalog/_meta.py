"""The catalog's key-value meta table, its models, and SQLite's statistics."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import BindParameter, Engine, Select, select

from clipdesk.core.catalog.dialect import insert_ignore, insert_replace, statistics_present
from clipdesk.core.catalog.identity import LIBRARY_ID_KEY
from clipdesk.core.catalog.schema import meta, models


def meta_value_query(key: str | BindParameter[str]) -> Select[tuple[str]]:
    """One ``meta`` value (the quick search runs the same SQL: ``quick_sql.py``)."""
    return select(meta.c.value).where(meta.c.key == key)


class MetaTable:
    """Part of :class:`Catalog`: meta values, registered models, planner statistics."""

    engine: Engine
    read_only: bool

    def library_id(self, *, create: bool = True) -> str | None:
        """The library's identity: a random id made the first time it is asked for
        (None when it has none yet and ``create`` is false or the library is read-only).
        Copying the library keeps it; this computer's mounts of its roots are kept
        under it."""
        found = self.get_meta(LIBRARY_ID_KEY)
        if found is not None or self.read_only or not create:
            return found
        with self.engine.begin() as conn:  # two computers at once: the first one's wins
            conn.execute(
                insert_ignore(conn, meta), {"key": LIBRARY_ID_KEY, "value": uuid.uuid4().hex}
            )
        return self.get_meta(LIBRARY_ID_KEY)

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(meta_value_query(key)).scalar()
        return default if value is None else value

    def set_meta(self, key: str, value: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert_replace(conn, meta, ["key"]), {"key": key, "value": value})

    def refresh_statistics(self) -> None:
        """Let SQLite's query planner see how big the tables are (``ANALYZE``).

        Without statistics SQLite guesses, and guesses wrong for folder searches: it walks
        every embedding of the model instead of the folder's range of paths (210 ms
        instead of 2 ms for a 1,000-photo folder of a 100k library). A sampled ANALYZE
        (``analysis_limit``) is no cure: from 1,000 rows it concludes that a model's
        embeddings are 1,000, and keeps the bad plan. The full one takes about 50 ms per
        100k photos.
        """
        with self.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")

    def has_statistics(self) -> bool:
        """Whether ``refresh_statistics`` ever ran on this catalog."""
        with self.engine.connect() as conn:
            return statistics_present(conn)

    def register_model(self, model_key: str, name: str, dim: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert_ignore(conn, models),
                {"model_key": model_key, "name": name, "dim": dim, "created_at": time.time()},
            )

    def model_keys(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(models.c.model_key)).scalars())

    def model_dims(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {k: int(d) for k, d in conn.execute(select(models.c.model_key, models.c.dim))}
