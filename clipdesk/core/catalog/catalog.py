"""Catalog operations over the SQLite database.

All writes go through one writer (the indexer or the library's write methods); reads may
come from any thread, each on its own pooled connection, which WAL lets run beside a
writer without blocking.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, Select, and_, delete, exists, func, insert, or_, select, text, update

from clipdesk.core.catalog.database import open_database
from clipdesk.core.catalog.records import (
    DecodedFacts,
    FileRecord,
    RootRecord,
    StatEntry,
    StatusCounts,
)
from clipdesk.core.catalog.schema import embeddings, files, meta, models, roots

_FILE_COLUMNS = (
    files.c.id,
    files.c.root_id,
    files.c.path,
    files.c.size,
    files.c.mtime_ns,
    files.c.inode,
    files.c.fingerprint,
    files.c.status,
    files.c.skip_reason,
    files.c.width,
    files.c.height,
    files.c.taken_at,
    files.c.camera,
)


def _file_record(row: Sequence[object]) -> FileRecord:
    return FileRecord(*row)  # type: ignore[arg-type]


def path_bytes(path: str | os.PathLike[str] | bytes) -> bytes:
    return path if isinstance(path, bytes) else os.fsencode(path)


def folder_embeddings_query(model_key: str, folder: bytes) -> Select[tuple[int]]:
    """Ids of the model's embeddings of photos under ``folder``."""
    lo, hi = folder_range(folder)
    return (
        select(embeddings.c.id)
        .distinct()
        .join(files, files.c.fingerprint == embeddings.c.fingerprint)
        .where(embeddings.c.model_key == model_key)
        .where(files.c.path >= lo, files.c.path < hi, files.c.status == "ok")
    )


def folder_range(folder: bytes) -> tuple[bytes, bytes]:
    """Bounds such that ``lo <= path < hi`` selects everything below ``folder``."""
    base = folder.rstrip(b"/\\") + os.sep.encode()
    return base, base[:-1] + bytes([base[-1] + 1])


class Catalog:
    """Roots, files and embeddings of one library."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, path: Path) -> Catalog:
        return cls(open_database(path))

    def close(self) -> None:
        self.engine.dispose()

    # -- meta ---------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
        return default if value is None else value

    def set_meta(self, key: str, value: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text("INSERT OR REPLACE INTO meta(key, value) VALUES (:k, :v)"),
                {"k": key, "v": value},
            )

    def refresh_statistics(self) -> None:
        """Let SQLite's query planner see how big the tables are (``ANALYZE``).

        Without statistics SQLite guesses, and guesses wrong for folder searches: it walks
        every embedding of the model instead of the folder's range of paths (210 ms
        instead of 2 ms for a 1,000-photo folder of a 100k library). A sampled ANALYZE
        (``analysis_limit``) is no cure: from 1,000 rows it concludes that a model's
        embeddings are 1,000, and keeps the bad plan. The full one takes about 50 ms per
        100k photos.
        """
        with self.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")

    def has_statistics(self) -> bool:
        """Whether ``refresh_statistics`` ever ran on this catalog."""
        with self.engine.connect() as conn:
            return bool(
                conn.exec_driver_sql(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
                ).scalar()
            )

    def register_model(self, model_key: str, name: str, dim: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(models).prefix_with("OR IGNORE"),
                {"model_key": model_key, "name": name, "dim": dim, "created_at": time.time()},
            )

    def model_keys(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(models.c.model_key)).scalars())

    # -- roots --------------------------------------------------------------------------

    def add_root(self, path: str | os.PathLike[str] | bytes) -> RootRecord:
        raw = path_bytes(path)
        with self.engine.begin() as conn:
            conn.execute(
                insert(roots).prefix_with("OR IGNORE"),
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

    # -- files --------------------------------------------------------------------------

    def files_of_root(self, root_id: int) -> dict[bytes, FileRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_FILE_COLUMNS).where(files.c.root_id == root_id))
            return {row.path: _file_record(row) for row in rows}

    def files_in_dir(self, directory: bytes) -> dict[bytes, FileRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_FILE_COLUMNS).where(files.c.dir == directory))
            return {row.path: _file_record(row) for row in rows}

    def has_files(self, root_id: int) -> bool:
        with self.engine.connect() as conn:
            query = select(files.c.id).where(files.c.root_id == root_id).limit(1)
            return conn.execute(query).first() is not None

    def files_below(self, directory: bytes) -> dict[bytes, FileRecord]:
        """Every file anywhere below ``directory`` (in it or its sub-folders)."""
        lo, hi = folder_range(directory)
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_FILE_COLUMNS).where(files.c.path >= lo, files.c.path < hi))
            return {row.path: _file_record(row) for row in rows}

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
                    select(*_FILE_COLUMNS).where(files.c.inode.in_(inodes[start : start + 500]))
                )
                for row in rows:
                    key = (row.inode, row.size, row.mtime_ns)
                    if key in wanted:
                        out.setdefault(key, []).append(_file_record(row))
        return out

    def file_by_path(self, path: str | os.PathLike[str] | bytes) -> FileRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(*_FILE_COLUMNS).where(files.c.path == path_bytes(path))
            ).first()
        return _file_record(row) if row else None

    def files_by_ids(self, ids: Iterable[int]) -> list[FileRecord]:
        id_list = list(ids)
        out: list[FileRecord] = []
        with self.engine.connect() as conn:
            for start in range(0, len(id_list), 500):
                chunk = id_list[start : start + 500]
                rows = conn.execute(select(*_FILE_COLUMNS).where(files.c.id.in_(chunk)))
                out.extend(_file_record(row) for row in rows)
        return out

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

        ``changed`` files lose their fingerprint and are read again; ``moved`` files keep
        it (same inode, size and mtime at a new path), so they cost no decoding or encoding.
        """
        now = time.time()
        with self.engine.begin() as conn:
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
                conn.execute(
                    update(files)
                    .where(files.c.id == file_id)
                    .values(
                        root_id=root_id,
                        path=entry.path,
                        dir=os.path.dirname(entry.path),
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
                        fingerprint=None,
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
                            "path": e.path,
                            "dir": os.path.dirname(e.path),
                            "size": e.size,
                            "mtime_ns": e.mtime_ns,
                            "inode": e.inode,
                            "status": "pending",
                            "added_at": now,
                            "updated_at": now,
                        }
                        for e in added
                    ],
                )

    def pending_files(self, model_key: str, limit: int | None = None) -> list[FileRecord]:
        """Online files that still need reading, or an embedding for ``model_key``."""
        has_embedding = exists().where(
            and_(
                embeddings.c.fingerprint == files.c.fingerprint, embeddings.c.model_key == model_key
            )
        )
        query = (
            select(*_FILE_COLUMNS)
            .join(roots, roots.c.id == files.c.root_id)
            .where(roots.c.online.is_(True))
            .where(or_(files.c.status == "pending", and_(files.c.status == "ok", ~has_embedding)))
            .order_by(files.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_file_record(row) for row in conn.execute(query)]

    def record_results(
        self,
        model_key: str,
        *,
        decoded: Sequence[tuple[int, DecodedFacts]] = (),
        skipped: Sequence[tuple[int, str]] = (),
        new_vectors: dict[str, np.ndarray] | None = None,
    ) -> list[tuple[int, np.ndarray]]:
        """Store one batch of indexing results atomically.

        Returns ``(embedding id, vector)`` for each embedding created, for the vector index.
        """
        now = time.time()
        created: list[tuple[int, np.ndarray]] = []
        with self.engine.begin() as conn:
            for fingerprint, vector in (new_vectors or {}).items():
                vec = np.ascontiguousarray(vector, dtype=np.float32)
                result = conn.execute(
                    insert(embeddings).prefix_with("OR IGNORE"),
                    {
                        "fingerprint": fingerprint,
                        "model_key": model_key,
                        "vector": vec.tobytes(),
                        "created_at": now,
                    },
                )
                if result.rowcount:
                    created.append((int(result.inserted_primary_key[0]), vec))
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
                        status="ok",
                        skip_reason=None,
                        updated_at=now,
                    )
                )
            for file_id, reason in skipped:
                conn.execute(
                    update(files)
                    .where(files.c.id == file_id)
                    .values(status="skipped", skip_reason=reason, fingerprint=None, updated_at=now)
                )
        return created

    # -- embeddings ---------------------------------------------------------------------

    def embedding_ids_for(self, fingerprints: Iterable[str], model_key: str) -> dict[str, int]:
        fps = list(set(fingerprints))
        out: dict[str, int] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(fps), 500):
                rows = conn.execute(
                    select(embeddings.c.fingerprint, embeddings.c.id).where(
                        embeddings.c.model_key == model_key,
                        embeddings.c.fingerprint.in_(fps[start : start + 500]),
                    )
                )
                out.update({fp: int(i) for fp, i in rows})
        return out

    def embedding_ids(self, model_key: str) -> np.ndarray:
        with self.engine.connect() as conn:
            ids = conn.execute(
                select(embeddings.c.id).where(embeddings.c.model_key == model_key)
            ).scalars()
            return np.fromiter(ids, dtype=np.int64)

    def vectors(self, ids: Iterable[int], dim: int) -> np.ndarray:
        """Vectors for the given embedding ids, in the same order."""
        id_list = [int(i) for i in ids]
        found: dict[int, bytes] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(id_list), 500):
                rows = conn.execute(
                    select(embeddings.c.id, embeddings.c.vector).where(
                        embeddings.c.id.in_(id_list[start : start + 500])
                    )
                )
                found.update({int(i): v for i, v in rows})
        out = np.empty((len(id_list), dim), dtype=np.float32)
        for row, i in enumerate(id_list):
            out[row] = np.frombuffer(found[i], dtype=np.float32)
        return out

    def vector_for_file(self, path: bytes, model_key: str) -> np.ndarray | None:
        with self.engine.connect() as conn:
            blob = conn.execute(
                select(embeddings.c.vector)
                .join(files, files.c.fingerprint == embeddings.c.fingerprint)
                .where(files.c.path == path, embeddings.c.model_key == model_key)
            ).scalar()
        return None if blob is None else np.frombuffer(blob, dtype=np.float32).copy()

    def files_for_embeddings(
        self, ids: Iterable[int], *, folder: bytes | None = None
    ) -> dict[int, list[FileRecord]]:
        """Readable, online files carrying each embedding (copies share one embedding)."""
        id_list = [int(i) for i in ids]
        out: dict[int, list[FileRecord]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(id_list), 500):
                query = (
                    select(embeddings.c.id, *_FILE_COLUMNS)
                    .join(files, files.c.fingerprint == embeddings.c.fingerprint)
                    .join(roots, roots.c.id == files.c.root_id)
                    .where(embeddings.c.id.in_(id_list[start : start + 500]))
                    .where(files.c.status == "ok", roots.c.online.is_(True))
                    .order_by(files.c.path)
                )
                if folder is not None:
                    lo, hi = folder_range(folder)
                    query = query.where(files.c.path >= lo, files.c.path < hi)
                for row in conn.execute(query):
                    out.setdefault(int(row[0]), []).append(_file_record(row[1:]))
        return out

    def embedding_ids_in_folder(self, model_key: str, folder: bytes) -> np.ndarray:
        with self.engine.connect() as conn:
            ids = conn.execute(folder_embeddings_query(model_key, folder)).scalars()
            return np.fromiter(ids, dtype=np.int64)

    def delete_orphan_embeddings(self, model_key: str | None = None) -> list[int]:
        """Remove embeddings no file refers to any more; returns their ids."""
        orphan = ~exists().where(files.c.fingerprint == embeddings.c.fingerprint)
        query = select(embeddings.c.id).where(orphan)
        if model_key is not None:
            query = query.where(embeddings.c.model_key == model_key)
        with self.engine.begin() as conn:
            ids = [int(i) for i in conn.execute(query).scalars()]
            for start in range(0, len(ids), 500):
                conn.execute(
                    delete(embeddings).where(embeddings.c.id.in_(ids[start : start + 500]))
                )
        return ids

    # -- reporting ----------------------------------------------------------------------

    def counts(self, model_key: str) -> StatusCounts:
        has_embedding = exists().where(
            and_(
                embeddings.c.fingerprint == files.c.fingerprint, embeddings.c.model_key == model_key
            )
        )
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
                select(*_FILE_COLUMNS).where(files.c.status == "skipped").order_by(files.c.path)
            )
            return [_file_record(row) for row in rows]

    def integrity_problems(self) -> list[str]:
        """SQLite's own integrity and foreign-key checks, as readable lines."""
        problems: list[str] = []
        with self.engine.connect() as conn:
            for (line,) in conn.execute(text("PRAGMA integrity_check")):
                if line != "ok":
                    problems.append(f"database: {line}")
            for row in conn.execute(text("PRAGMA foreign_key_check")):
                problems.append(f"database: broken reference in {row[0]} row {row[1]}")
        return problems

    def model_dims(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {k: int(d) for k, d in conn.execute(select(models.c.model_key, models.c.dim))}

    def orphan_embedding_count(self, model_key: str) -> int:
        orphan = ~exists().where(files.c.fingerprint == embeddings.c.fingerprint)
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(embeddings)
                    .where(embeddings.c.model_key == model_key, orphan)
                ).scalar()
                or 0
            )
