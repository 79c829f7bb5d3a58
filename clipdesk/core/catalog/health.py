"""Is an open catalog sound? SQLite's own checks plus clipdesk's tables, never a crash.

``clipdesk check`` must report damage, not die of it: every read here turns SQLite's
errors into lines for the user. A damaged file (pages overwritten, truncated) cannot be
rebuilt from anything else clipdesk keeps; a missing table can be made again, empty; a
damaged SQLite index can be rebuilt from its table.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from clipdesk.core.catalog.dialect import broken_references, damage
from clipdesk.core.catalog.schema import metadata

# integrity_check lines that name an index, not a table: REINDEX rebuilds those.
_INDEX_ONLY = ("missing from index", "wrong # of entries in index", "row not in index")


UNREBUILDABLE = (
    "the catalog file is damaged and clipdesk keeps nothing to rebuild it from (roots, "
    "photos, tags and your tag decisions live only there): restore catalog.db from a "
    "backup, or move the library folder aside and run `clipdesk index` to build a new one. "
    "The vector index is rebuilt from the catalog once the catalog is sound; nothing was "
    "changed"
)


@dataclass
class Health:
    """What is wrong with a catalog, as lines for the user."""

    problems: list[str] = field(default_factory=list)
    missing_tables: list[str] = field(default_factory=list)
    unreadable: bool = False  # SQLite reports damage: nothing else can be trusted
    index_only: bool = False  # only SQLite's indexes are damaged: REINDEX mends them

    @property
    def sound(self) -> bool:
        return not self.problems


def catalog_health(engine: Engine) -> Health:
    health = Health()
    try:
        with engine.connect() as conn:
            found = damage(conn)
            health.problems.extend(f"database: {line}" for line in found)
            health.index_only = bool(found) and all(
                any(mark in line for mark in _INDEX_ONLY) for line in found
            )
            health.unreadable = bool(found) and not health.index_only
            if health.unreadable:
                return health
            tables = set(inspect(conn).get_table_names())
            health.missing_tables = sorted(set(metadata.tables) - tables)
            health.problems.extend(
                f"database: table {name} is missing" for name in health.missing_tables
            )
            health.problems.extend(broken_references(conn))
    except DBAPIError as exc:
        health.unreadable = True
        health.problems.append(f"database: cannot be read ({exc.orig})")
    return health


def mend(engine: Engine, health: Health) -> tuple[list[str], list[str]]:
    """Rebuild what can be rebuilt: (what was done, what could not be) as lines."""
    done: list[str] = []
    not_done: list[str] = []
    if health.unreadable:
        not_done.append(UNREBUILDABLE)
        return done, not_done
    try:
        if health.index_only:
            with engine.begin() as conn:
                conn.execute(text("REINDEX"))
            done.append("database: rebuilt SQLite's indexes from their tables")
        if health.missing_tables:
            wanted = [metadata.tables[name] for name in health.missing_tables]
            metadata.create_all(engine, tables=wanted)
            names = ", ".join(health.missing_tables)
            done.append(f"database: made the missing tables again, empty ({names})")
    except DBAPIError as exc:
        not_done.append(f"database: could not be mended ({exc.orig})")
    return done, not_done


def database_error_message(exc: DBAPIError | sqlite3.DatabaseError, directory: object) -> str:
    """One line for the user about an SQLite error met while using a library (wrapped by
    SQLAlchemy, or raw from the driver's own cursor where a read bypasses it)."""
    reason = str(exc.orig) if isinstance(exc, DBAPIError) else str(exc)
    if "readonly" in reason or "read-only" in reason:
        return f"the library {directory} is read-only: reading works, changing it does not"
    return (
        f"the catalog of the library {directory} cannot be used ({reason}); "
        "`clipdesk check` says what is wrong"
    )
