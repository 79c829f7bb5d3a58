"""Opening the catalog database: recognised first, created or migrated under a file lock.

Like rclip and Anki, a library written by a newer clipdesk is refused rather than
guessed at; an older one is upgraded step by step by Alembic. Before anything is written
the file is identified (``identity``): clipdesk never adds its tables to a file that is
not its own. Creating, migrating and stamping happen under a lock file beside the
database, so any number of clipdesk processes may open a new library at once; each
migration runs in one SQLite transaction, so an interrupted one leaves nothing half made.

A catalog clipdesk may not write (a read-only folder or file) is opened with SQLite's
read-only modes: searching and reporting work, writing fails.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout
from sqlalchemy import Engine, create_engine, event, text

from clipdesk.core.catalog.identity import (
    MARKER_KEY,
    MARKER_VALUE,
    State,
    identify,
    read_only_uri,
    writable,
)
from clipdesk.core.catalog.revisions import MIGRATIONS_DIR, head_revision, revisions
from clipdesk.core.errors import CatalogError

if TYPE_CHECKING:
    from alembic.config import Config

LOCK_SUFFIX = ".lock"
# Waiting for another process to create or migrate the same catalog: migrations of a
# large library can take a while, a lock held longer than this is reported.
LOCK_TIMEOUT_S = 600.0

__all__ = [
    "CatalogError",
    "Database",
    "create_sqlite_engine",
    "head_revision",
    "lock_path",
    "open_database",
    "revisions",
]


@dataclass(frozen=True)
class Database:
    """An open catalog: its engine, and whether clipdesk may write to it."""

    engine: Engine
    read_only: bool


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def lock_path(path: Path) -> Path:
    """The lock file that serialises creating and migrating the catalog at ``path``."""
    return path.with_name(path.name + LOCK_SUFFIX)


def create_sqlite_engine(path: Path, *, read_only: bool = False) -> Engine:
    """An engine whose every connection uses WAL, foreign keys and a busy timeout.

    A read-only engine never writes: SQLite opens the file with ``mode=ro`` (and
    ``immutable`` where the folder is not writable, since SQLite could not create its
    shared-memory file there) and refuses any write with ``query_only``.
    """
    if read_only:
        immutable = not os.access(path.parent, os.W_OK | os.X_OK)
        url = f"sqlite:///{read_only_uri(path, immutable=immutable)}&uri=true"
    else:
        url = f"sqlite:///{path}"
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        else:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def open_database(path: Path, *, read_only: bool = False) -> Database:
    """Open the catalog at ``path``, creating or migrating it if needed and allowed.

    Raises CatalogError, having changed nothing, for a file that is not a clipdesk
    catalog, a damaged one, one written by a newer clipdesk, or one that needs writing
    (creating, migrating) where clipdesk may not write.
    """
    known, head = revisions()
    found = identify(path, known, head)
    may_write = not read_only and writable(path)
    if found.state is State.CURRENT or (
        not may_write and found.state is State.UNMARKED and found.revision == head
    ):
        return Database(create_sqlite_engine(path, read_only=not may_write), not may_write)
    if not may_write:
        need = {
            State.NEW: "there is no library there to read",
            State.OLDER: "it was written by an older clipdesk and needs upgrading",
            State.UNMARKED: "it was written by an older clipdesk and needs upgrading",
        }[found.state]
        raise CatalogError(f"cannot open {path} read-only: {need}")
    try:
        with FileLock(lock_path(path), timeout=LOCK_TIMEOUT_S):
            found = identify(path, known, head)  # another process may have done it meanwhile
            if found.state is not State.CURRENT:
                _migrate(path)
    except Timeout:
        raise CatalogError(
            f"another clipdesk has been creating or upgrading {path} for over "
            f"{LOCK_TIMEOUT_S:.0f} s; try again when it is done"
        ) from None
    return Database(create_sqlite_engine(path), False)


def _migrate(path: Path) -> None:
    """Create or upgrade the catalog to the head schema and stamp clipdesk's marker, all
    in one transaction (pysqlite would otherwise commit each CREATE TABLE on its own)."""
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # let the BEGIN below own the transaction
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    from alembic import command

    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.execute(
                text("INSERT OR REPLACE INTO meta(key, value) VALUES (:k, :v)"),
                {"k": MARKER_KEY, "v": MARKER_VALUE},
            )
    finally:
        engine.dispose()
