"""Reading the files table: by root, folder, identity, path or id."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BindParameter, Engine, Select, select

from clipdesk.core.catalog.records import (
    FileRecord,
    file_record,
)
from clipdesk.core.catalog.rows import FILE_COLUMNS, folder_range, stored_path
from clipdesk.core.catalog.schema import files


def _by_path(rows: Iterable[Sequence[object]]) -> dict[bytes, FileRecord]:
    records = (file_record(row) for row in rows)
    return {record.path: record for record in records}


def files_of_root_query(root_id: int | BindParameter[int]) -> Select[Any]:
    """``FILE_COLUMNS`` of one root's files (the quick search runs the same SQL:
    ``quick_sql.py``)."""
    return select(*FILE_COLUMNS).where(files.c.root_id == root_id)


class FileTable:
    """Part of :class:`Catalog`: the files a scan or a search asks about."""

    engine: Engine

    def files_of_root(self, root_id: int) -> dict[bytes, FileRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(files_of_root_query(root_id))
            return _by_path(rows)

    def files_in_dir(self, directory: bytes) -> dict[bytes, FileRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(*FILE_COLUMNS).where(files.c.dir == stored_path(directory)))
            return _by_path(rows)

    def has_files(self, root_id: int) -> bool:
        with self.engine.connect() as conn:
            query = select(files.c.id).where(files.c.root_id == root_id).limit(1)
            return conn.execute(query).first() is not None

    def files_below(self, directory: bytes) -> dict[bytes, FileRecord]:
        """Every file anywhere below ``directory`` (in it or its sub-folders)."""
        lo, hi = folder_range(directory)
        with self.engine.connect() as conn:
            rows = conn.execute(select(*FILE_COLUMNS).where(files.c.path >= lo, files.c.path < hi))
            return _by_path(rows)

    def files_by_identity(
        self, identities: Iterable[tuple[int, int, int]]
    ) -> dict[tuple[int, int, int], list[FileRecord]]:
        """Files by ``(inode, size, mtime_ns)``: how a moved file is recognised."""
        wanted = set(identities)
        inodes = sorted({inode for inode, _, _ in wanted})
        out: dict[tuple[int, int, int], list[FileRecord]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(inodes), 500):
                rows = conn.execute(
                    select(*FILE_COLUMNS).where(files.c.inode.in_(inodes[start : start + 500]))
                )
                for row in rows:
                    key = (row.inode, row.size, row.mtime_ns)
                    if key in wanted:
                        out.setdefault(key, []).append(file_record(row))
        return out

    def file_by_path(self, path: str | os.PathLike[str] | bytes) -> FileRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*FILE_COLUMNS).where(files.c.path == stored_path(path))
            ).first()
        return file_record(row) if row else None

    def files_by_ids(self, ids: Iterable[int]) -> list[FileRecord]:
        id_list = list(ids)
        out: list[FileRecord] = []
        with self.engine.connect() as conn:
            for start in range(0, len(id_list), 500):
                chunk = id_list[start : start + 500]
                rows = conn.execute(select(*FILE_COLUMNS).where(files.c.id.in_(chunk)))
                out.extend(file_record(row) for row in rows)
        return out
