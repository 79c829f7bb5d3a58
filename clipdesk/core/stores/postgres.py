"""A shared library in PostgreSQL: the same catalog tables, pgvector for the vectors.

Several computers may index, tag and search it at once. Searches read the database
directly (nothing is cached on a computer, so there is nothing to fall out of step). The
writer lane's cross-process lock is a PostgreSQL session advisory lock on one connection
held for the length of each long job: two computers' index runs take turns, as two
processes on one folder library do with its lock file, and the catalog's unique keys
(a path is one file, a fingerprint and model one embedding) keep a row from being
written twice even by a writer that does not take the lock.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text

from clipdesk.core.errors import LibraryError

if TYPE_CHECKING:
    from clipdesk.core.catalog import Catalog
    from clipdesk.core.vectors.pgvector_store import PgVectorStore

__all__ = ["AdvisoryWriteGuard", "PostgresStore"]

# The library's writer lock: "cdwriter" in ASCII; one library per database.
WRITER_LOCK = 0x6364777269746572


class AdvisoryWriteGuard:
    """A :class:`clipdesk.core.lane.WriteGuard` over ``pg_try_advisory_lock``.

    The lock belongs to the database session that took it, so the guard keeps that
    connection open until :meth:`release`; if the connection is lost, PostgreSQL drops
    the lock (a killed process never leaves the library locked).
    """

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only
        self._conn: Connection | None = None
        self._mutex = threading.Lock()

    def try_acquire(self) -> bool:
        if self._read_only:
            raise LibraryError("the library is open read-only: reading works, changing it does not")
        with self._mutex:
            if self._conn is not None:
                return True
            conn = self._engine.connect()
            taken = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": WRITER_LOCK})
            if taken.scalar():
                conn.commit()
                self._conn = conn
                return True
            conn.close()
            return False

    def release(self) -> None:
        with self._mutex:
            conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": WRITER_LOCK})
            conn.commit()
        finally:
            conn.close()

    @property
    def held(self) -> bool:
        return self._conn is not None


class PostgresStore:
    """A :class:`clipdesk.core.stores.LibraryStore` in one PostgreSQL database."""

    def __init__(self, catalog: Catalog, location: str) -> None:
        self.catalog = catalog
        self.location = location
        self.guard = AdvisoryWriteGuard(catalog.engine, read_only=catalog.read_only)

    @classmethod
    def open(cls, address: str, *, read_only: bool = False) -> PostgresStore:
        """Open the library in the database at ``address`` (CatalogError, one line and
        nothing created, when the server or database cannot serve one)."""
        from clipdesk.core.catalog import Catalog
        from clipdesk.core.catalog.postgres import open_postgres, parse_address

        database = open_postgres(address, read_only=read_only)
        catalog = Catalog(database.engine, read_only=database.read_only)
        return cls(catalog, parse_address(address).shown)

    @property
    def folder(self) -> Path:
        raise LibraryError(f"the library {self.location} is a database, not a folder")

    def open_vectors(self, model_key: str, dim: int) -> PgVectorStore:
        from clipdesk.core.vectors.pgvector_store import PgVectorStore

        return PgVectorStore.open(self.catalog.engine, model_key, dim)

    def excluded_folders(self) -> list[bytes]:
        return []

    def close(self) -> None:
        self.guard.release()
        self.catalog.close()
