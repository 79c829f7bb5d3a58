"""What a photo leaves behind: rows kept by content fingerprint that no file holds.

Text read in a photo, its faces, the look for faces, a video's scenes and the automatic
tags are stored per content fingerprint, so copies share them and a move keeps them.
When the last file with a fingerprint goes (removed, its root removed, or read again as
other content), :func:`let_go` deletes those rows in the same transaction as the file
change, so no process killed between the two can leave them behind. The user's own yes
and no on a tag stay (they teach the tag, as the photo's vector does), and embeddings
stay too: a photo that comes back reuses its vector (``delete_orphan_embeddings``).

``clipdesk check`` counts what is left anyway (a library written before this, a copy
from elsewhere) with :func:`orphan_counts`, one line per table, and ``check --repair``
removes it with :func:`delete_orphans`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    delete,
    exists,
    false,
    func,
    literal_column,
    select,
    text,
)

from clipdesk.core.catalog.dialect import insert_replace
from clipdesk.core.catalog.schema import (
    face_rejections,
    face_scans,
    faces,
    file_tags,
    files,
    meta,
    persons,
    photo_text,
    photo_text_fts,
    video_scenes,
)

__all__ = [
    "PEOPLE_VERSION",
    "SIDE_TABLES",
    "OrphanRows",
    "delete_orphans",
    "let_go",
    "orphan_counts",
]

# Changed by every write to the people tables, by any process: clustering keeps a copy of
# every face in memory and reads them again when another process changed them since.
PEOPLE_VERSION = "people_version"
_CHUNK = 500


@dataclass(frozen=True)
class SideTable:
    """A table keyed by content fingerprint, and what ``check`` calls its rows."""

    table: Table
    what: str  # "rows of text read in photos"

    def kept(self) -> ColumnElement[bool]:
        """Rows never let go with their photo: the user's word on a tag."""
        if self.table is file_tags:
            return file_tags.c.source == "manual"
        return false()


# Faces first: their "not this person" rows go with them (before the faces they name).
SIDE_TABLES = (
    SideTable(photo_text, "rows of text read in photos"),
    SideTable(faces, "faces"),
    SideTable(face_scans, "records of a look for faces"),
    SideTable(video_scenes, "video scenes"),
    SideTable(file_tags, "automatic tags on photos"),
)


def _unheld(table: Table) -> ColumnElement[bool]:
    return ~exists().where(files.c.fingerprint == table.c.fingerprint)


def _delete_rows(conn: Connection, side: SideTable, where: ColumnElement[bool]) -> int:
    """Delete ``side``'s rows matching ``where`` (with what hangs on them); how many."""
    table = side.table
    condition = where & ~side.kept()
    if table is faces:
        gone_faces = select(faces.c.id).where(condition)
        conn.execute(delete(face_rejections).where(face_rejections.c.face_id.in_(gone_faces)))
    if table is photo_text and conn.dialect.name == "sqlite":
        # The FTS5 row shares the stored row's rowid (``_photo_text.store_text``).
        rowids = select(literal_column("rowid")).select_from(table).where(condition)
        conn.execute(delete(photo_text_fts).where(literal_column("rowid").in_(rowids)))
    return int(conn.execute(delete(table).where(condition)).rowcount or 0)


def _drop_faceless(conn: Connection, among: Iterable[int] | None = None) -> int:
    """People (of ``among``, or all) left with no face and no name: nobody to list or
    search for."""
    used = select(faces.c.person_id).where(faces.c.person_id.is_not(None))
    where = persons.c.name.is_(None) & persons.c.id.not_in(used)
    if among is not None:
        where = where & persons.c.id.in_(list(among))
    return int(conn.execute(delete(persons).where(where)).rowcount or 0)


def _people_changed(conn: Connection) -> None:
    mark = f"{os.getpid()}-{time.monotonic_ns()}"
    conn.execute(insert_replace(conn, meta, ["key"]), {"key": PEOPLE_VERSION, "value": mark})


def let_go(conn: Connection, fingerprints: Iterable[str | None]) -> int:
    """Delete the side rows of ``fingerprints`` that no file holds any more, in the
    caller's transaction (after its change to ``files``); how many rows went."""
    wanted = sorted({fp for fp in fingerprints if fp})
    removed = faces_gone = 0
    people: set[int] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        held = {
            r[0]
            for r in conn.execute(select(files.c.fingerprint).where(files.c.fingerprint.in_(chunk)))
        }
        free = [fp for fp in chunk if fp not in held]
        if not free:
            continue
        people.update(
            r[0]
            for r in conn.execute(
                select(faces.c.person_id).where(
                    faces.c.fingerprint.in_(free), faces.c.person_id.is_not(None)
                )
            )
        )
        for side in SIDE_TABLES:
            count = _delete_rows(conn, side, side.table.c.fingerprint.in_(free))
            removed += count
            if side.table is faces:
                faces_gone += count
    if faces_gone:
        removed += _drop_faceless(conn, people)
        _people_changed(conn)
    return removed


def orphan_counts(conn: Connection) -> dict[str, int]:
    """Rows of every side table that no file holds, by what ``check`` calls them (tables
    with none left out); SQLite's full-text entries without their row are counted too."""
    out: dict[str, int] = {}
    for side in SIDE_TABLES:
        table = side.table
        query = select(func.count()).select_from(table).where(_unheld(table) & ~side.kept())
        count = int(conn.execute(query).scalar() or 0)
        if count:
            out[side.what] = count
    if conn.dialect.name == "sqlite":
        stray = conn.execute(
            text(
                "SELECT count(*) FROM photo_text_fts WHERE rowid NOT IN "
                "(SELECT rowid FROM photo_text)"
            )
        ).scalar()
        if stray:
            out["full-text index entries"] = int(stray)
    return out


def delete_orphans(conn: Connection) -> dict[str, int]:
    """Remove what :func:`orphan_counts` counts, in the caller's transaction."""
    out: dict[str, int] = {}
    faces_gone = 0
    for side in SIDE_TABLES:
        count = _delete_rows(conn, side, _unheld(side.table))
        if count:
            out[side.what] = count
        if side.table is faces:
            faces_gone = count
    if faces_gone:
        _drop_faceless(conn)  # the people only those faces made up
        _people_changed(conn)
    if conn.dialect.name == "sqlite":
        stray = conn.execute(
            text("DELETE FROM photo_text_fts WHERE rowid NOT IN (SELECT rowid FROM photo_text)")
        ).rowcount
        if stray:
            out["full-text index entries"] = int(stray)
    return out


class OrphanRows:
    """Part of :class:`Catalog`: counting and removing what photos left behind."""

    engine: Engine

    def orphan_rows(self) -> dict[str, int]:
        """Rows that belong to no file, by what they are (``check``)."""
        with self.engine.connect() as conn:
            return orphan_counts(conn)

    def delete_orphan_rows(self) -> dict[str, int]:
        """Remove them in one transaction (``check --repair``); what went."""
        with self.engine.begin() as conn:
            return delete_orphans(conn)
