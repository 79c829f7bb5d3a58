"""The folders a library watches."""

from __future__ import annotations

import os
import time

from sqlalchemy import Engine, delete, select, update

from clipdesk.core.catalog.dialect import insert_ignore
from clipdesk.core.catalog.records import (
    RootRecord,
)
from clipdesk.core.catalog.rows import path_bytes
from clipdesk.core.catalog.schema import files, roots


class RootTable:
    """Part of :class:`Catalog`: adding, merging, forgetting and marking roots."""

    engine: Engine

    def add_root(self, path: str | os.PathLike[str] | bytes) -> RootRecord:
        raw = path_bytes(path)
        with self.engine.begin() as conn:
            conn.execute(
                insert_ignore(conn, roots),
                {"path": raw, "added_at": time.time(), "online": True},
            )
        root = self.root_by_path(raw)
        assert root is not None
        return root

    def root_by_path(self, path: str | os.PathLike[str] | bytes) -> RootRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(roots).where(roots.c.path == path_bytes(path))).first()
        return RootRecord(*row) if row else None

    def roots(self) -> list[RootRecord]:
        with self.engine.connect() as conn:
            return [RootRecord(*row) for row in conn.execute(select(roots).order_by(roots.c.id))]

    def remove_root(self, root_id: int) -> None:
        """Forget a root and its files; embeddings stay until garbage-collected."""
        with self.engine.begin() as conn:
            conn.execute(delete(files).where(files.c.root_id == root_id))
            conn.execute(delete(roots).where(roots.c.id == root_id))

    def merge_root_into(self, child_id: int, parent_id: int) -> None:
        """Hand a root's files to a root that contains it, then forget the inner root."""
        with self.engine.begin() as conn:
            conn.execute(update(files).where(files.c.root_id == child_id).values(root_id=parent_id))
            conn.execute(delete(roots).where(roots.c.id == child_id))

    def set_root_online(self, root_id: int, online: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(roots).where(roots.c.id == root_id).values(online=online))

    def mark_root_scanned(self, root_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(roots).where(roots.c.id == root_id).values(last_scan_at=time.time())
            )
