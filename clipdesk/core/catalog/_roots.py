"""The folders a library watches."""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy import Engine, Select, delete, select, update

from clipdesk.core.catalog.dialect import insert_ignore
from clipdesk.core.catalog.orphans import let_go
from clipdesk.core.catalog.records import RootRecord, root_record
from clipdesk.core.catalog.rows import stored_path
from clipdesk.core.catalog.schema import files, roots


def all_roots_query() -> Select[Any]:
    """Every root, oldest first (the quick search runs the same SQL: ``quick_sql.py``)."""
    return select(roots).order_by(roots.c.id)


class RootTable:
    """Part of :class:`Catalog`: adding, merging, forgetting and marking roots."""

    engine: Engine

    def add_root(self, path: str | os.PathLike[str] | bytes) -> RootRecord:
        raw = stored_path(path)
        with self.engine.begin() as conn:
            conn.execute(
                insert_ignore(conn, roots),
                {"path": raw, "added_at": time.time(), "online": True},
            )
            row = conn.execute(select(roots).where(roots.c.path == raw)).one()
        return root_record(row)

    def root_by_path(self, path: str | os.PathLike[str] | bytes) -> RootRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(roots).where(roots.c.path == stored_path(path))).first()
        return root_record(row) if row else None

    def roots(self) -> list[RootRecord]:
        with self.engine.connect() as conn:
            return [root_record(row) for row in conn.execute(all_roots_query())]

    def stored_roots(self) -> dict[int, bytes]:
        """Each root's path as the library stores it (as the first computer saw it)."""
        with self.engine.connect() as conn:
            return {int(i): bytes(p) for i, p in conn.execute(select(roots.c.id, roots.c.path))}

    def remove_root(self, root_id: int) -> None:
        """Forget a root and its files, with the text, faces and scenes of photos no other
        root holds (one transaction); embeddings stay, for a photo that comes back."""
        with self.engine.begin() as conn:
            held = select(files.c.fingerprint).where(
                files.c.root_id == root_id, files.c.fingerprint.is_not(None)
            )
            released = {row[0] for row in conn.execute(held)}
            conn.execute(delete(files).where(files.c.root_id == root_id))
            conn.execute(delete(roots).where(roots.c.id == root_id))
            let_go(conn, released)

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
