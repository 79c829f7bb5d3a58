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
from sqlalchemy import ColumnElement, Engine, Select, and_, func, not_, or_, select

from clipdesk.core.catalog.raw_pairs import hidden_raw_of_pair
from clipdesk.core.catalog.records import FileRecord
from clipdesk.core.catalog.rows import FILE_COLUMNS, file_record, folder_range
from clipdesk.core.catalog.schema import (
    TAKEN,
    embeddings,
    faces,
    file_tags,
    files,
    persons,
    roots,
    tags,
)

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
    "with_person",
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
    """Files carrying the tag called ``name`` (any case), unless the user took it off.

    An IN list, not a correlated EXISTS: SQLite can then start from the tag's photos.
    """
    tag_id = select(tags.c.id).where(tags.c.name == name).scalar_subquery()
    return files.c.fingerprint.in_(
        select(file_tags.c.fingerprint).where(
            file_tags.c.tag_id == tag_id, file_tags.c.rejected.is_(False)
        )
    )


def with_person(ref: str) -> Condition:
    """Files in which the person ``ref`` (a name in any case, an id, or "Person <id>")
    has a face. An IN list over the faces' fingerprint index, like a tag's."""
    key = " ".join(ref.split()).casefold()
    by_name = select(persons.c.id).where(persons.c.name_key == key).scalar_subquery()
    digits = key.removeprefix("person").strip()
    person = by_name
    if digits.isdigit():
        by_id = select(persons.c.id).where(persons.c.id == int(digits)).scalar_subquery()
        person = func.coalesce(by_name, by_id)
    return files.c.fingerprint.in_(select(faces.c.fingerprint).where(faces.c.person_id == person))


def _visible(where: Sequence[Condition]) -> Condition:
    """Readable files of online roots that pass every condition; the RAW of a RAW+JPEG
    pair shows as its JPEG (``raw_pairs.py``)."""
    online = files.c.root_id.in_(select(roots.c.id).where(roots.c.online.is_(True)))
    return and_(files.c.status == "ok", online, not_(hidden_raw_of_pair()), *where)


def allowed_embeddings_query(model_key: str, where: Sequence[Condition]) -> Select[tuple[int]]:
    """Ids of the model's embeddings that at least one visible, passing file carries.

    The files' conditions lead: ``model_key || ''`` keeps SQLite from walking every
    embedding of the model first (it would, as the model's index looks selective), so
    a date or type filter starts from its own index (at 100k photos, newest 10%: 34 ms
    instead of 165 ms). Copies may repeat an id; callers take the unique ones.
    """
    return (
        select(embeddings.c.id)
        .select_from(files)
        .join(
            embeddings,
            and_(
                embeddings.c.fingerprint == files.c.fingerprint,
                embeddings.c.model_key.concat("") == model_key,
            ),
        )
        .where(_visible(where))
    )


class AllowedSets:
    """Part of :class:`Catalog`: the allowed set of a search and the files it shows."""

    engine: Engine

    def allowed_embeddings(self, model_key: str, where: Sequence[Condition]) -> np.ndarray:
        """The allowed set: sorted, unique embedding ids."""
        with self.engine.connect() as conn:
            rows = conn.execute(allowed_embeddings_query(model_key, where))
            return np.unique(np.fromiter((row[0] for row in rows), dtype=np.int64))

    def excluded_embeddings(self, model_key: str, folders: Sequence[bytes]) -> np.ndarray:
        """Embeddings that excluding ``folders`` takes away: every visible file carrying
        them lies below one of the folders (a copy elsewhere keeps one allowed).

        When excluded folders are the only filter the allowed set is nearly everything,
        and reading it costs a pass over every file (200 ms at 100k photos); this reads
        only the folders' own range of paths.
        """
        if not folders:
            return np.zeros(0, np.int64)
        inside = or_(*(below(folder) for folder in folders))
        inside_fps = select(files.c.fingerprint).where(inside, files.c.status == "ok")
        elsewhere = (
            select(files.c.id)
            .where(files.c.fingerprint == embeddings.c.fingerprint, _visible([not_(inside)]))
            .exists()
        )
        query = select(embeddings.c.id).where(
            embeddings.c.model_key == model_key,
            embeddings.c.fingerprint.in_(inside_fps),
            ~elsewhere,
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query)
            return np.unique(np.fromiter((row[0] for row in rows), dtype=np.int64))

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

    def newest_files(
        self, where: Sequence[Condition] = (), *, limit: int | None = None
    ) -> list[FileRecord]:
        """Visible files that pass ``where``, newest (taken, else modified) first: a
        search by person with nothing to rank by lists these."""
        query = select(*FILE_COLUMNS).where(_visible(where)).order_by(TAKEN.desc(), files.c.path)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [file_record(row) for row in conn.execute(query)]
