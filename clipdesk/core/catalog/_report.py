"""Counts and checks for `status` and `check`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, and_, func, or_, select

from clipdesk.core.catalog._scenes import carries_vectors
from clipdesk.core.catalog.dialect import integrity_problems
from clipdesk.core.catalog.records import (
    FileRecord,
    StatusCounts,
    file_record,
)
from clipdesk.core.catalog.rows import FILE_COLUMNS
from clipdesk.core.catalog.schema import files, roots


class Reports:
    """Part of :class:`Catalog`: what is indexed, pending, skipped; integrity problems."""

    engine: Engine

    def counts(self, model_key: str) -> StatusCounts:
        has_embedding = carries_vectors(model_key)
        online = roots.c.online.is_(True)
        with self.engine.connect() as conn:

            def count(*conditions: object) -> int:
                query = (
                    select(func.count())
                    .select_from(files.join(roots, roots.c.id == files.c.root_id))
                    .where(*conditions)  # type: ignore[arg-type]
                )
                return int(conn.execute(query).scalar() or 0)

            return StatusCounts(
                indexed=count(online, files.c.status == "ok", has_embedding),
                pending=count(
                    online,
                    or_(files.c.status == "pending", and_(files.c.status == "ok", ~has_embedding)),
                ),
                skipped=count(online, files.c.status == "skipped"),
                offline=count(~online),
                unread=count(online, files.c.status == "ok", files.c.skip_reason.is_not(None)),
            )

    def skipped_files(self) -> list[FileRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*FILE_COLUMNS).where(files.c.status == "skipped").order_by(files.c.path)
            )
            return [file_record(row) for row in rows]

    def unread_files(self) -> list[FileRecord]:
        """Searchable photos whose text and faces could not be read, with the reason."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*FILE_COLUMNS)
                .where(files.c.status == "ok", files.c.skip_reason.is_not(None))
                .order_by(files.c.path)
            )
            return [file_record(row) for row in rows]

    def searchable_among(self, file_ids: Sequence[int], model_key: str) -> set[int]:
        """Those of ``file_ids`` that search finds now: read, with a vector of ``model_key``."""
        found: set[int] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(file_ids), 500):
                chunk = list(file_ids[start : start + 500])
                query = select(files.c.id).where(
                    files.c.id.in_(chunk), files.c.status == "ok", carries_vectors(model_key)
                )
                found.update(int(row[0]) for row in conn.execute(query))
        return found

    def integrity_problems(self) -> list[str]:
        """SQLite's own integrity and foreign-key checks, as readable lines."""
        with self.engine.connect() as conn:
            return integrity_problems(conn)
