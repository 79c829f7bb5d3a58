"""Allowed sets: which photos a search may return, chosen in SQL over indexed columns.

A filter is a condition on a row of ``files`` (its folder range, its taken-at date, its
extension, a tag on its fingerprint); conditions combine with AND. The same conditions
choose the embeddings a vector search may return (the allowed set) and the files shown
for each embedding found, so a copy of a photo in an excluded folder never shows though
another copy is allowed. New filters (text in photos, places, people) are more
conditions of the same kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import ColumnElement, Engine, Select, and_, exists, not_, select

from clipdesk.core.catalog.records import FileRecord
from clipdesk.core.catalog.rows import FILE_COLUMNS, file_record, folder_range
from clipdesk.core.catalog.schema import TAKEN, embeddings, file_tags, files, roots, tags

Condition = ColumnElement[bool]

__all__ = [
    "AllowedSets",
    "Condition",
    "allowed_embeddings_query",
    "below",
    "extension_in",
    "not_below",
    "tagged",
    "taken_before",
    "taken_from",
]


def below(folder: bytes) -> Condition:
    """Files anywhere below ``folder`` (a range of the unique index on ``path``)."""
    lo, hi = folder_range(folder)
    return and_(files.c.path >= lo, files.c.path < hi)


def not_below(folder: bytes) -> Condition:
    lo, hi = folder_range(folder)
    return not_(and_(files.c.path >= lo, files.c.path < hi))


def taken_from(when: float) -> Condition:
    """Taken (else modified) at ``when`` or later, epoch seconds."""
    return when <= TAKEN


def taken_before(when: float) -> Condition:
    return when > TAKEN


def extension_in(extensions: Iterable[str]) -> Condition:
    """Files whose lower-case extension (with its dot) is one of ``extensions``."""
    return files.c.ext.in_(sorted({e.lower() for e in extensions}))


def tagged(name: str) -> Condition:
    """Files carrying the tag called ``name`` (any case), unless the user took it off."""
    return exists().where(
        file_tags.c.fingerprint == files.c.fingerprint,
        file_tags.c.rejected.is_(False),
        file_tags.c.tag_id == select(tags.c.id).where(tags.c.name == name).scalar_subquery(),
    )


def _visible(where: Sequence[Condition]) -> Condition:
    """Readable files of online roots that pass every condition."""
    online = exists().where(roots.c.id == files.c.root_id, roots.c.online.is_(True))
    return and_(files.c.status == "ok", online, *where)


def allowed_embeddings_query(model_key: str, where: Sequence[Condition]) -> Select[tuple[int]]:
    """Ids of the model's embeddings that at least one visible, passing file carries."""
    return (
        select(embeddings.c.id)
        .distinct()
        .join(files, files.c.fingerprint == embeddings.c.fingerprint)
        .where(embeddings.c.model_key == model_key, _visible(where))
    )


class AllowedSets:
    """Part of :class:`Catalog`: the allowed set of a search and the files it shows."""

    engine: Engine

    def allowed_embeddings(self, model_key: str, where: Sequence[Condition]) -> np.ndarray:
        with self.engine.connect() as conn:
            ids = conn.execute(allowed_embeddings_query(model_key, where)).scalars()
            return np.fromiter(ids, dtype=np.int64)

    def files_for_embeddings(
        self, ids: Iterable[int], where: Sequence[Condition] = ()
    ) -> dict[int, list[FileRecord]]:
        """The visible files carrying each embedding that pass ``where``, by path."""
        id_list = [int(i) for i in ids]
        out: dict[int, list[FileRecord]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(id_list), 500):
                query = (
                    select(embeddings.c.id, *FILE_COLUMNS)
                    .join(files, files.c.fingerprint == embeddings.c.fingerprint)
                    .where(embeddings.c.id.in_(id_list[start : start + 500]), _visible(where))
                    .order_by(files.c.path)
                )
                for row in conn.execute(query):
                    out.setdefault(int(row[0]), []).append(file_record(row[1:]))
        return out

    def tagged_files(
        self, tag: str, where: Sequence[Condition] = (), *, limit: int | None = None
    ) -> list[tuple[FileRecord, float]]:
        """Visible files carrying ``tag`` that pass ``where``, with the tag's confidence.

        The user's own tags first, then most confident, then highest score, then by path:
        the order ``tags show`` and a search by tag alone list them in.
        """
        tag_id = select(tags.c.id).where(tags.c.name == tag).scalar_subquery()
        query = (
            select(file_tags.c.confidence, *FILE_COLUMNS)
            .join(files, files.c.fingerprint == file_tags.c.fingerprint)
            .where(file_tags.c.tag_id == tag_id, file_tags.c.rejected.is_(False))
            .where(_visible(where))
            .order_by(
                (file_tags.c.source == "manual").desc(),
                file_tags.c.confidence.desc(),
                file_tags.c.score.desc(),
                files.c.path,
            )
        )
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [
                (file_record(row[1:]), float(row[0]) if row[0] is not None else 0.0)
                for row in conn.execute(query)
            ]
