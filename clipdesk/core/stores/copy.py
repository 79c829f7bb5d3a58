"""Copying a whole library between stores (folder <-> PostgreSQL), vectors included.

Every catalog table is copied row for row with its ids, so embeddings keep their ids and
tags keep their photos; the vectors come along as the catalog's float32 bytes and each
model's search structure (usearch files, or the pgvector table) is built from them at the
destination. Nothing is embedded again. The destination must be a new, empty library;
its rows are written in one transaction, so a failed copy leaves it empty.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Integer, func, select, text

from clipdesk.core.catalog._photo_text import rebuild_text_index
from clipdesk.core.catalog.dialect import insert_replace
from clipdesk.core.catalog.identity import MARKER_KEY
from clipdesk.core.catalog.schema import embeddings, files, meta, metadata
from clipdesk.core.errors import LibraryError
from clipdesk.core.stores import LibraryStore

__all__ = ["CopyReport", "copy_library"]

CHUNK = 2000


@dataclass(frozen=True)
class CopyReport:
    files: int
    vectors: int
    rows: int  # every row of every table


def copy_library(source: LibraryStore, target: LibraryStore) -> CopyReport:
    """Copy ``source`` into the empty library ``target`` (LibraryError if it is not)."""
    with target.catalog.engine.connect() as conn:
        used = conn.execute(select(func.count()).select_from(files)).scalar()
        used = used or conn.execute(select(func.count()).select_from(embeddings)).scalar()
    if used:
        raise LibraryError(f"{target.location} already holds a library; copy into a new one")
    if not target.guard.try_acquire():
        raise LibraryError(f"another clipdesk is writing to {target.location}")
    try:
        rows = 0
        with source.catalog.engine.connect() as src, target.catalog.engine.begin() as dst:
            for table in metadata.sorted_tables:
                rows += _copy_table(src, dst, table)
            if dst.dialect.name == "postgresql":
                _advance_sequences(dst)
            rebuild_text_index(dst)
        vectors = _build_vectors(target)
        return CopyReport(files=_count(target, files), vectors=vectors, rows=rows)
    finally:
        target.guard.release()


def _copy_table(src: Connection, dst: Connection, table) -> int:  # type: ignore[no-untyped-def]
    keys = [c.name for c in table.primary_key.columns]
    query = select(table)
    if keys:
        query = query.order_by(*table.primary_key.columns)
    copied = 0
    result = src.execution_options(stream_results=True).execute(query)
    while chunk := result.fetchmany(CHUNK):
        values = [dict(row._mapping) for row in chunk]
        if table is meta:  # the destination has its own marker row already
            values = [v for v in values if v["key"] != MARKER_KEY]
            if values:
                dst.execute(insert_replace(dst, meta, ["key"]), values)
        else:
            dst.execute(table.insert(), values)
        copied += len(values)
    return copied


def _advance_sequences(dst: Connection) -> None:
    """Rows came with their ids: the next id PostgreSQL hands out must follow them."""
    for table in metadata.sorted_tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        name, column = table.name, keys[0].name
        # pg_get_serial_sequence is NULL for a key without a sequence: setval skips it.
        dst.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', '{column}'), "
                f"coalesce((SELECT max({column}) FROM {name}), 0) + 1, false)"
            )
        )


def _build_vectors(target: LibraryStore) -> int:
    """Each model's search structure at the destination, from the copied vectors."""
    total = 0
    for model_key, dim in target.catalog.model_dims().items():
        store = target.open_vectors(model_key, dim)
        ids = target.catalog.embedding_ids(model_key)
        store.sync(ids, lambda chunk, d=dim: target.catalog.vectors(chunk, d))
        store.save()
        total += len(ids)
    return total


def _count(store: LibraryStore, table) -> int:  # type: ignore[no-untyped-def]
    with store.catalog.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
