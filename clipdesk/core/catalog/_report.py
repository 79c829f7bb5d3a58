"""Counts and checks for `status` and `check`."""

from __future__ import annotations

from sqlalchemy import Engine, and_, func, or_, select

from clipdesk.core.catalog._scenes import carries_vectors
from clipdesk.core.catalog.dialect import integrity_problems
from clipdesk.core.catalog.records import (
    FileRecord,
    StatusCounts,
)
from clipdesk.core.catalog.rows import FILE_COLUMNS, file_record
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
            )

    def skipped_files(self) -> list[FileRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*FILE_COLUMNS).where(files.c.status == "skipped").order_by(files.c.path)
            )
            return [file_record(row) for row in rows]

    def integrity_problems(self) -> list[str]:
        """SQLite's own integrity and foreign-key checks, as readable lines."""
        with self.engine.connect() as conn:
            return integrity_problems(conn)
