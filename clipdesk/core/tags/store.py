"""Tag tables: the vocabulary, tags on photos, per-model calibrations and probes.

Queries live here rather than in the catalog so that tagging stays one self-contained
part; it shares the catalog's engine (and so its WAL connection pool). Tags are keyed
by content fingerprint: a moved or copied photo keeps its tags.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import BindParameter, Engine, Select, and_, delete, func, insert, select, update

from clipdesk.core.catalog.dialect import insert_ignore, insert_replace
from clipdesk.core.catalog.records import FileRecord, file_record
from clipdesk.core.catalog.rows import FILE_COLUMNS
from clipdesk.core.catalog.schema import (
    embeddings,
    file_tags,
    files,
    meta,
    roots,
    tag_models,
    tags,
)
from clipdesk.core.tags import photo_reads
from clipdesk.core.tags.kept_decisions import delete_tag, restore_decisions
from clipdesk.core.tags.photo_set import photo_set_digest, tagged_key
from clipdesk.core.tags.records import SOURCES, Assignment, TagModel, TagRecord
from clipdesk.core.tags.vocabulary import TagDef

# The records are named here too: callers import them with the store.
__all__ = ["SOURCES", "Assignment", "TagModel", "TagRecord", "TagStore"]

_TAG_COLUMNS = (tags.c.id, tags.c.name, tags.c.prompt, tags.c.origin)
_ASSIGN_COLUMNS = (
    file_tags.c.fingerprint,
    file_tags.c.source,
    file_tags.c.score,
    file_tags.c.confidence,
    file_tags.c.rejected,
)


def photo_set_query(model_key: str | BindParameter[str]) -> Select[tuple[int, int]]:
    """Count and sum of the embedding ids tagging would read (see
    :meth:`TagStore.photo_set`; the quick search runs the same SQL: ``quick_sql.py``)."""
    return select(func.count(), func.coalesce(func.sum(embeddings.c.id), 0)).where(
        embeddings.c.model_key == model_key, photo_reads.has_readable_file()
    )


class TagStore:
    """Reads and writes of the tag tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- the vocabulary -----------------------------------------------------------------

    def tags(self) -> list[TagRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_TAG_COLUMNS).order_by(tags.c.id))
            return [TagRecord(*row) for row in rows]

    def tag(self, name: str) -> TagRecord | None:
        """The tag called ``name``, ignoring case."""
        with self.engine.connect() as conn:
            # lower() on both sides: PostgreSQL has no NOCASE collation (SQLite's lower()
            # and NOCASE both fold ASCII only).
            wanted = func.lower(tags.c.name) == name.strip().lower()
            row = conn.execute(select(*_TAG_COLUMNS).where(wanted)).first()
        return TagRecord(*row) if row else None

    def add_tag(self, tag: TagDef, origin: str = "vocabulary") -> TagRecord:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(tags),
                {
                    "name": tag.name,
                    "prompt": tag.prompt,
                    "origin": origin,
                    "created_at": time.time(),
                },
            )
            restore_decisions(conn, result.inserted_primary_key[0], tag.name)
        record = self.tag(tag.name)
        assert record is not None
        return record

    def update_tag(self, tag_id: int, *, name: str | None = None, prompt: str | None = "") -> None:
        """Rename and/or set the prompt (``""`` leaves it, ``None`` clears it)."""
        values: dict[str, object] = {}
        if name is not None:
            values["name"] = name
        if prompt != "":
            values["prompt"] = prompt
        if values:
            with self.engine.begin() as conn:
                conn.execute(update(tags).where(tags.c.id == tag_id).values(**values))

    def remove_tag(self, tag_id: int) -> None:
        """Delete a tag; the user's decisions about it are kept for a tag of its name."""
        with self.engine.begin() as conn:
            name = conn.execute(select(tags.c.name).where(tags.c.id == tag_id)).scalar()
            if name is not None:
                delete_tag(conn, tag_id, name)

    def replace_vocabulary(self, new: Sequence[TagDef]) -> tuple[int, int]:
        """Make the vocabulary tags exactly ``new`` (custom tags stay); ``(added, removed)``.

        A tag kept by name keeps its photos, decisions and probes; a removed tag's
        decisions are kept aside, and come back if a tag of its name returns.
        """
        wanted = {t.name.casefold(): t for t in new}
        added = removed = 0
        now = time.time()
        with self.engine.begin() as conn:
            existing = {row.name.casefold(): row for row in conn.execute(select(*_TAG_COLUMNS))}
            for key, row in existing.items():
                if key not in wanted and row.origin == "vocabulary":
                    delete_tag(conn, row.id, row.name)
                    removed += 1
            for key, tag in wanted.items():
                row = existing.get(key)
                if row is None:
                    result = conn.execute(
                        insert(tags),
                        {"name": tag.name, "prompt": tag.prompt, "origin": "vocabulary",
                         "created_at": now},
                    )  # fmt: skip
                    restore_decisions(conn, result.inserted_primary_key[0], tag.name)
                    added += 1
                elif row.prompt != tag.prompt or row.name != tag.name:
                    conn.execute(
                        update(tags)
                        .where(tags.c.id == row.id)
                        .values(name=tag.name, prompt=tag.prompt)
                    )
        return added, removed

    # -- tags on photos -----------------------------------------------------------------

    def counts(self) -> dict[int, dict[str, int]]:
        """Photos (files, copies included) carrying each tag, by source."""
        query = (
            select(file_tags.c.tag_id, file_tags.c.source, func.count(files.c.id))
            .join(files, files.c.fingerprint == file_tags.c.fingerprint)
            .where(file_tags.c.rejected.is_(False), files.c.status == "ok")
            .group_by(file_tags.c.tag_id, file_tags.c.source)
        )
        out: dict[int, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for tag_id, source, count in conn.execute(query):
                out.setdefault(int(tag_id), {})[source] = int(count)
        return out

    def files_with_tag(
        self, tag_id: int, *, limit: int | None = None, online_only: bool = False
    ) -> list[tuple[FileRecord, Assignment]]:
        """Photos carrying a tag, most confident first (the user's own tags first of all)."""
        query = (
            select(*_ASSIGN_COLUMNS, *FILE_COLUMNS)
            .join(files, files.c.fingerprint == file_tags.c.fingerprint)
            .where(file_tags.c.tag_id == tag_id, file_tags.c.rejected.is_(False))
            .where(files.c.status == "ok")
            .order_by(
                (file_tags.c.source == "manual").desc(),
                file_tags.c.confidence.desc(),
                file_tags.c.score.desc(),
                files.c.path,
            )
        )
        if online_only:
            query = query.join(roots, roots.c.id == files.c.root_id).where(roots.c.online.is_(True))
        if limit is not None:
            query = query.limit(limit)
        tag = self._tag_by_id(tag_id)
        with self.engine.connect() as conn:
            return [
                (file_record(row[5:]), Assignment(tag, row[0], row[1], row[2], row[3], row[4]))
                for row in conn.execute(query)
            ]

    def fingerprints_with_tag(self, tag_id: int) -> list[str]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(file_tags.c.fingerprint).where(
                        file_tags.c.tag_id == tag_id, file_tags.c.rejected.is_(False)
                    )
                ).scalars()
            )

    def assignments_for(self, fingerprint: str) -> list[Assignment]:
        """Every tag on a photo, and every tag the user took off it."""
        query = (
            select(*_ASSIGN_COLUMNS, *_TAG_COLUMNS)
            .join(tags, tags.c.id == file_tags.c.tag_id)
            .where(file_tags.c.fingerprint == fingerprint)
            .order_by(file_tags.c.confidence.desc(), tags.c.name)
        )
        with self.engine.connect() as conn:
            return [
                Assignment(TagRecord(*row[5:]), row[0], row[1], row[2], row[3], row[4])
                for row in conn.execute(query)
            ]

    def _tag_by_id(self, tag_id: int) -> TagRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(*_TAG_COLUMNS).where(tags.c.id == tag_id)).one()
        return TagRecord(*row)

    def decide(self, tag_id: int, fingerprints: Iterable[str], positive: bool) -> None:
        """The user's "yes" or "no" for a tag on photos; it wins over every model."""
        now = time.time()
        with self.engine.begin() as conn:
            for fp in dict.fromkeys(fingerprints):
                where = and_(file_tags.c.tag_id == tag_id, file_tags.c.fingerprint == fp)
                old = conn.execute(select(file_tags.c.score, file_tags.c.model_key).where(where))
                score, model_key = old.first() or (None, None)
                conn.execute(delete(file_tags).where(where))
                conn.execute(
                    insert(file_tags),
                    {"tag_id": tag_id, "fingerprint": fp, "source": "manual",
                     "rejected": not positive, "score": score,
                     "confidence": 1.0 if positive else 0.0, "model_key": model_key,
                     "updated_at": now},
                )  # fmt: skip

    def forget_decision(self, tag_id: int, fingerprint: str) -> bool:
        """Drop the user's decision; the models decide again at the next run."""
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(file_tags).where(
                    file_tags.c.tag_id == tag_id,
                    file_tags.c.fingerprint == fingerprint,
                    file_tags.c.source == "manual",
                )
            )
        return bool(result.rowcount)

    def decisions(self, tag_id: int) -> tuple[list[str], list[str]]:
        """``(yes, no)``: fingerprints the user confirmed and rejected for a tag."""
        return self.decisions_of([tag_id])[tag_id]

    def decisions_of(self, tag_ids: Sequence[int]) -> dict[int, tuple[list[str], list[str]]]:
        """:meth:`decisions` of several tags, read at once (the tagging job's chunks)."""
        found: dict[int, tuple[list[str], list[str]]] = {t: ([], []) for t in tag_ids}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(file_tags.c.tag_id, file_tags.c.fingerprint, file_tags.c.rejected).where(
                    file_tags.c.tag_id.in_(list(found)), file_tags.c.source == "manual"
                )
            )
            for tag_id, fp, rejected in rows:
                yes, no = found[tag_id]
                (no if rejected else yes).append(fp)
        return found

    def replace_automatic(
        self,
        tag_id: int,
        rows: Sequence[tuple[str, str, float, float]],
        model_key: str,
        *,
        model: TagModel | None = None,
    ) -> None:
        """Swap a tag's automatic rows ``(fingerprint, source, score, confidence)`` in one
        transaction; photos the user decided about are left as the user left them."""
        self.replace_automatic_of([(tag_id, rows, model)], model_key)

    def replace_automatic_of(
        self,
        tagged: Sequence[tuple[int, Sequence[tuple[str, str, float, float]], TagModel | None]],
        model_key: str,
    ) -> None:
        """:meth:`replace_automatic` for several tags ``(tag_id, rows, model)`` in one
        transaction (a transaction per tag was a sixth of a tagging run)."""
        if not tagged:
            return
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(
                delete(file_tags).where(
                    file_tags.c.tag_id.in_([tag_id for tag_id, _, _ in tagged]),
                    file_tags.c.source != "manual",
                )
            )
            values = [
                {"tag_id": tag_id, "fingerprint": fp, "source": source, "rejected": False,
                 "score": score, "confidence": conf, "model_key": model_key, "updated_at": now}
                for tag_id, rows, _ in tagged
                for fp, source, score, conf in rows
            ]  # fmt: skip
            if values:
                conn.execute(insert_ignore(conn, file_tags), values)
            for tag_id, _, model in tagged:
                if model is not None:
                    self._save_model(conn, tag_id, model_key, model, now)

    # -- per-model state ----------------------------------------------------------------

    def _save_model(self, conn, tag_id: int, model_key: str, model: TagModel, now: float) -> None:  # type: ignore[no-untyped-def]
        conn.execute(
            insert_replace(conn, tag_models, ["tag_id", "model_key"]),
            {"tag_id": tag_id, "model_key": model_key, "kind": model.kind,
             "threshold": model.threshold, "probe": model.probe,
             "info": json.dumps(model.info), "updated_at": now},
        )  # fmt: skip

    def save_model(self, tag_id: int, model_key: str, model: TagModel) -> None:
        with self.engine.begin() as conn:
            self._save_model(conn, tag_id, model_key, model, time.time())

    def model(self, tag_id: int, model_key: str) -> TagModel | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(tag_models.c.kind, tag_models.c.threshold, tag_models.c.probe,
                       tag_models.c.info)
                .where(tag_models.c.tag_id == tag_id, tag_models.c.model_key == model_key)
            ).first()  # fmt: skip
        if row is None:
            return None
        return TagModel(row[0], row[1], row[2], json.loads(row[3] or "{}"))

    def models(self, model_key: str) -> dict[int, TagModel]:
        """Every tag's state for one model, by tag id (one query, for listings)."""
        query = select(
            tag_models.c.tag_id, tag_models.c.kind, tag_models.c.threshold, tag_models.c.info
        ).where(tag_models.c.model_key == model_key)
        with self.engine.connect() as conn:
            return {
                int(tag_id): TagModel(kind, threshold, None, json.loads(info or "{}"))
                for tag_id, kind, threshold, info in conn.execute(query)
            }

    # -- which photos the tags were decided for --------------------------------------------

    def photo_set(self, model_key: str) -> str:
        """A short digest of the set of photos that tagging would read for ``model_key``.

        Count and sum of the embedding ids: a photo added, changed or removed changes it
        (ids only grow), a photo moved or renamed does not (its tags move with it).
        """
        with self.engine.connect() as conn:
            count, total = conn.execute(photo_set_query(model_key)).one()
        return photo_set_digest(count, total)

    def tagged_photo_set(self, model_key: str) -> str | None:
        """:meth:`photo_set` as it was when the whole vocabulary was last decided."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(meta.c.value).where(meta.c.key == tagged_key(model_key))
            ).scalar()

    def set_tagged_photo_set(self, model_key: str, digest: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(meta).where(meta.c.key == tagged_key(model_key)))
            conn.execute(insert(meta).values(key=tagged_key(model_key), value=digest))

    # -- the photos' vectors, files and keywords (see photo_reads) ---------------------

    def library_vectors(self, model_key: str) -> tuple[list[str], np.ndarray]:
        """``(fingerprints, vectors)`` of every readable photo embedded with ``model_key``."""
        return photo_reads.library_vectors(self.engine, model_key)

    def scene_owners(self, fingerprints: Sequence[str]) -> dict[str, str]:
        """The video each of ``fingerprints`` is a scene of (photos are left out)."""
        return photo_reads.scene_owners(self.engine, fingerprints)

    def vectors_for(self, fingerprints: Sequence[str], model_key: str) -> dict[str, np.ndarray]:
        return photo_reads.vectors_for(self.engine, fingerprints, model_key)

    def paths_for(self, fingerprints: Iterable[str]) -> dict[str, list[FileRecord]]:
        """Readable files with each fingerprint (a photo and its copies)."""
        return photo_reads.paths_for(self.engine, fingerprints)

    def keywords_by_fingerprint(
        self, fingerprints: Sequence[str] | None, sources: Sequence[str]
    ) -> dict[str, list[str]]:
        """Tag names on each photo from the given sources; every tagged photo if None."""
        return photo_reads.keywords_by_fingerprint(self.engine, fingerprints, sources)
