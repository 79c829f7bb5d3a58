"""What indexing writes: a scan's findings, then decoded facts and vectors."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import (
    BindParameter,
    Connection,
    Engine,
    Select,
    and_,
    delete,
    exists,
    insert,
    or_,
    select,
    update,
)

from clipdesk.core.catalog._photo_text import store_text
from clipdesk.core.catalog._scenes import carries_vectors
from clipdesk.core.catalog.dialect import insert_ignore
from clipdesk.core.catalog.orphans import let_go
from clipdesk.core.catalog.records import (
    DecodedFacts,
    FileRecord,
    SceneRecord,
    StatEntry,
    file_record,
)
from clipdesk.core.catalog.rows import FILE_COLUMNS, extension, stored_path
from clipdesk.core.catalog.schema import (
    embeddings,
    face_scans,
    files,
    photo_text,
    roots,
    video_scenes,
)


def pending_files_query(
    model_key: str | BindParameter[str], *, faces: bool, text: bool
) -> Select[Any]:
    """``FILE_COLUMNS`` of what :meth:`IndexingTable.pending_files` returns, by id (the
    quick search asks the same SQL whether anything waits: ``quick_sql.py``)."""
    wanting = ~carries_vectors(model_key)
    reads = []
    if faces:
        reads.append(exists().where(face_scans.c.fingerprint == files.c.fingerprint))
    if text:
        reads.append(exists().where(photo_text.c.fingerprint == files.c.fingerprint))
    if reads:
        wanting = or_(wanting, and_(files.c.skip_reason.is_(None), ~and_(*reads)))
    return (
        select(*FILE_COLUMNS)
        .join(roots, roots.c.id == files.c.root_id)
        .where(roots.c.online.is_(True))
        .where(or_(files.c.status == "pending", and_(files.c.status == "ok", wanting)))
        .order_by(files.c.id)
    )


class IndexingWrites:
    """Part of :class:`Catalog`: the writes of scanning and embedding, each one transaction."""

    engine: Engine

    def apply_scan(
        self,
        root_id: int,
        *,
        added: Sequence[StatEntry] = (),
        changed: Sequence[tuple[int, StatEntry]] = (),
        moved: Sequence[tuple[int, StatEntry]] = (),
        removed: Sequence[int] = (),
    ) -> None:
        """Record what a scan found, in one transaction.

        ``changed`` files are read again (pending); until then they keep the fingerprint
        of what they were, so a photo only touched keeps its faces, names and text, and
        ``record_results`` lets it go if it reads as other content. ``moved`` files keep it
        (same inode, size and mtime at a new path), so they cost no decoding or encoding.
        What no file holds any more after this (the text, faces and scenes of a removed
        photo) is deleted in the same transaction (``orphans.let_go``).
        """
        now = time.time()
        with self.engine.begin() as conn:
            released = set(_fingerprints(conn, removed).values())
            if removed:
                for start in range(0, len(removed), 500):
                    chunk = list(removed[start : start + 500])
                    conn.execute(delete(files).where(files.c.id.in_(chunk)))
            if len(moved) > 1:
                # Files may swap names (a -> tmp, b -> a, tmp -> b): park every moved row
                # on a unique placeholder first so no update meets a path still in use.
                for file_id, _ in moved:
                    conn.execute(
                        update(files)
                        .where(files.c.id == file_id)
                        .values(path=b"\0moving\0" + str(file_id).encode())
                    )
            for file_id, entry in moved:
                path = stored_path(entry.path)
                conn.execute(
                    update(files)
                    .where(files.c.id == file_id)
                    .values(
                        root_id=root_id,
                        path=path,
                        dir=os.path.dirname(path),
                        ext=extension(path),
                        updated_at=now,
                    )
                )
            for file_id, entry in changed:
                conn.execute(
                    update(files)
                    .where(files.c.id == file_id)
                    .values(
                        size=entry.size,
                        mtime_ns=entry.mtime_ns,
                        inode=entry.inode,
                        status="pending",
                        skip_reason=None,
                        updated_at=now,
                    )
                )
            if added:
                conn.execute(
                    insert(files),
                    [
                        {
                            "root_id": root_id,
                            "path": path,
                            "dir": os.path.dirname(path),
                            "ext": extension(path),
                            "size": e.size,
                            "mtime_ns": e.mtime_ns,
                            "inode": e.inode,
                            "status": "pending",
                            "added_at": now,
                            "updated_at": now,
                        }
                        for e in added
                        for path in (stored_path(e.path),)
                    ],
                )
            let_go(conn, released)

    def pending_files(
        self, model_key: str, limit: int | None = None, *, faces: bool = False, text: bool = False
    ) -> list[FileRecord]:
        """Online files that still need reading, or an embedding for ``model_key`` (a
        video: its scenes'), or (with ``faces``) a look for faces, or (with ``text``) a
        read of their text. A photo whose text and faces could not be read (``unread``
        in ``record_results``) is not tried again until it changes."""
        query = pending_files_query(model_key, faces=faces, text=text)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [file_record(row) for row in conn.execute(query)]

    def record_results(
        self,
        model_key: str,
        *,
        decoded: Sequence[tuple[int, DecodedFacts]] = (),
        skipped: Sequence[tuple[int, str]] = (),
        unread: Sequence[tuple[int, str]] = (),
        new_vectors: dict[str, np.ndarray] | None = None,
        scenes: Sequence[SceneRecord] = (),
    ) -> list[tuple[int, np.ndarray]]:
        """Store one batch of indexing results atomically (with the scenes of its videos).

        ``skipped`` files could not be read: they leave search. ``unread`` ones are
        searchable photos whose text and faces could not be read (say, the reader
        crashed on them): they stay as they are, with the reason recorded, and are not
        tried again until they change. A file read as other content than before lets its
        old fingerprint go, in the same transaction. Returns ``(embedding id, vector)``
        for each embedding created, for the vector index.
        """
        now = time.time()
        created: list[tuple[int, np.ndarray]] = []
        with self.engine.begin() as conn:
            before = _fingerprints(conn, [i for i, _ in decoded] + [i for i, _ in skipped])
            for fingerprint, vector in (new_vectors or {}).items():
                vec = np.ascontiguousarray(vector, dtype=np.float32)
                result = conn.execute(
                    insert_ignore(conn, embeddings),
                    {
                        "fingerprint": fingerprint,
                        "model_key": model_key,
                        "vector": vec.tobytes(),
                        "created_at": now,
                    },
                )
                if result.rowcount:
                    created.append((int(result.inserted_primary_key[0]), vec))
            for scene in scenes:
                conn.execute(
                    insert_ignore(conn, video_scenes),
                    {
                        "scene_fp": scene.scene_fp,
                        "fingerprint": scene.video_fp,
                        "idx": scene.index,
                        "start_s": scene.start,
                        "end_s": scene.end,
                    },
                )
            for file_id, facts in decoded:
                conn.execute(
                    update(files)
                    .where(files.c.id == file_id)
                    .values(
                        fingerprint=facts.fingerprint,
                        width=facts.width,
                        height=facts.height,
                        taken_at=facts.taken_at,
                        camera=facts.camera,
                        taken_offset=facts.taken_offset,
                        latitude=facts.latitude,
                        longitude=facts.longitude,
                        place=facts.place,
                        place_key=facts.place_key,
                        status="ok",
                        skip_reason=None,
                        updated_at=now,
                    )
                )
                if facts.text is not None:
                    store_text(conn, facts.fingerprint, facts.text, now)
            for file_id, reason in skipped:
                conn.execute(
                    update(files)
                    .where(files.c.id == file_id)
                    .values(status="skipped", skip_reason=reason, fingerprint=None, updated_at=now)
                )
            for file_id, reason in unread:
                conn.execute(
                    update(files)
                    .where(files.c.id == file_id, files.c.status == "ok")
                    .values(skip_reason=reason, updated_at=now)
                )
            now_held = {file_id: facts.fingerprint for file_id, facts in decoded}
            # A file read again as the same content still holds its fingerprint: only the
            # changed ones may have let theirs go (usually none, and no query is made).
            let_go(conn, {fp for i, fp in before.items() if now_held.get(i) != fp})
        return created


def _fingerprints(conn: Connection, file_ids: Sequence[int]) -> dict[int, str]:
    """The fingerprint each of ``file_ids`` holds now (before a change lets some go)."""
    out: dict[int, str] = {}
    for start in range(0, len(file_ids), 500):
        chunk = list(file_ids[start : start + 500])
        query = select(files.c.id, files.c.fingerprint).where(
            files.c.id.in_(chunk), files.c.fingerprint.is_not(None)
        )
        out.update((int(row[0]), row[1]) for row in conn.execute(query))
    return out
