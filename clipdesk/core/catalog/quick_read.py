"""Reading a folder library's catalog without SQLAlchemy, for the quick search.

Only reads, through Python's own ``sqlite3`` in read-only mode, and only the catalog's
own statements as compiled in :mod:`.quick_sql`. It offers what a plain search and the
"has anything changed?" check of ``search --update`` need; everything else opens the
whole :class:`~clipdesk.core.catalog.Catalog`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clipdesk.core.catalog import quick_sql
from clipdesk.core.catalog.identity import read_only_uri
from clipdesk.core.catalog.records import (
    FileRecord,
    RootRecord,
    SceneRecord,
    file_record,
    root_record,
    scene_record,
)

__all__ = ["QuickCatalog"]

_CHUNK = 500  # ids per IN list, as the catalog reads them

Statement = tuple[str, tuple[str, ...], dict[str, object]]


def _bound(statement: Statement, given: dict[str, Any]) -> tuple[str, list[object]]:
    """The SQL and its values in order; an expanding (list) parameter becomes its marks."""
    sql, names, constants = statement
    values: list[object] = []
    for name in names:
        value = given[name] if name in given else constants[name]
        if isinstance(value, list):
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", ",".join("?" * len(value)), 1)
            values.extend(value)
        else:
            values.append(value)
    return sql, values


class QuickCatalog:
    """Read-only access to one catalog file (see the module docstring)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    @classmethod
    def open(cls, path: Path) -> QuickCatalog:
        """Open ``path`` read-only (sqlite3.Error if it cannot be)."""
        connection = sqlite3.connect(read_only_uri(path, immutable=False), uri=True, timeout=30)
        connection.execute("PRAGMA query_only=ON")
        return cls(connection)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> QuickCatalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, statement: Statement, **given: Any) -> list[tuple[Any, ...]]:
        sql, values = _bound(statement, given)
        return self._db.execute(sql, values).fetchall()

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        rows = self._rows(quick_sql.META_VALUE, key=key)
        return default if not rows or rows[0][0] is None else rows[0][0]

    def roots(self) -> list[RootRecord]:
        return [root_record(row) for row in self._rows(quick_sql.ROOTS)]

    def files_of_root(self, root_id: int) -> dict[bytes, FileRecord]:
        records = (file_record(row) for row in self._rows(quick_sql.FILES_OF_ROOT, root_id=root_id))
        return {record.path: record for record in records}

    def embedding_ids(self, model_key: str) -> np.ndarray:
        rows = self._db.execute(quick_sql.EMBEDDING_IDS[0], (model_key,))
        return np.fromiter((row[0] for row in rows), dtype=np.int64)

    def waits_for_indexing(self, model_key: str, *, faces: bool, text: bool) -> bool:
        """Whether an index reading ``faces`` and ``text`` would read or embed any file
        (``Catalog.pending_files``)."""
        statement = getattr(
            quick_sql,
            f"PENDING_FILE_{'FACES' if faces else 'NO_FACES'}_{'TEXT' if text else 'NO_TEXT'}",
        )
        sql, values = _bound(statement, {"model_key": model_key})
        return self._db.execute(sql + " LIMIT 1", values).fetchone() is not None

    def tags_stale(self, model_key: str) -> bool:
        """``TagService.stale``: photos came, changed or went since the last tagging."""
        from clipdesk.core.tags.photo_set import photo_set_digest, tagged_key, tags_stale

        current = photo_set_digest(*self._rows(quick_sql.PHOTO_SET, model_key=model_key)[0])
        return tags_stale(current, self.get_meta(tagged_key(model_key)))

    def files_for_embeddings(
        self, ids: Iterable[int], where: Sequence[object] = ()
    ) -> dict[int, list[FileRecord]]:
        """``Catalog.files_for_embeddings`` without conditions (the quick search has none)."""
        if where:
            raise ValueError("the quick catalog reads no filtered searches")
        id_list = [int(i) for i in ids]
        out: dict[int, list[FileRecord]] = {}
        for start in range(0, len(id_list), _CHUNK):
            chunk = id_list[start : start + _CHUNK]
            for statement in (quick_sql.PHOTOS_OF_EMBEDDINGS, quick_sql.VIDEOS_OF_EMBEDDINGS):
                for row in self._rows(statement, ids=chunk):
                    out.setdefault(int(row[0]), []).append(file_record(row[1:]))
        return out

    def scenes_for_embeddings(self, ids: Iterable[int]) -> dict[int, SceneRecord]:
        id_list = [int(i) for i in ids]
        out: dict[int, SceneRecord] = {}
        for start in range(0, len(id_list), _CHUNK):
            rows = self._rows(quick_sql.SCENES_OF_EMBEDDINGS, ids=id_list[start : start + _CHUNK])
            out.update({int(row[0]): scene_record(row[1:]) for row in rows})
        return out
