"""What SQLite and PostgreSQL spell differently, in one place: upserts and self-checks.

The catalog's queries are SQLAlchemy Core and run unchanged on both databases; only
"insert unless it is there", "insert or replace", the planner's statistics and the
database's own integrity check differ. Everything else that depends on the database (the
vector store, the cross-process write lock) is chosen once, by the library's store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Integer, Table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.dml import Insert

__all__ = [
    "before_migrations",
    "broken_references",
    "damage",
    "insert_ignore",
    "insert_replace",
    "integrity_problems",
    "statistics_present",
]


def insert_ignore(conn: Connection, table: Table) -> Insert:
    """INSERT that leaves an existing row (any unique key) alone, as SQLite's OR IGNORE."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        return insert(table).on_conflict_do_nothing()
    return table.insert().prefix_with("OR IGNORE")


def insert_replace(conn: Connection, table: Table, keys: Sequence[str]) -> Insert:
    """INSERT that overwrites the row with the same primary key ``keys``."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        stmt = insert(table)
        values = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=values)
    return table.insert().prefix_with("OR REPLACE")


def statistics_present(conn: Connection) -> bool:
    """Whether the planner has table statistics (PostgreSQL's autovacuum keeps its own)."""
    if conn.dialect.name == "postgresql":
        return True
    return bool(
        conn.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
        ).scalar()
    )


def damage(conn: Connection) -> list[str]:
    """What the database's own integrity check reports, without its "ok".

    PostgreSQL keeps its files consistent itself (write-ahead log, foreign keys checked
    on every write) and has no check to ask for; SQLite is asked with its PRAGMA.
    """
    if conn.dialect.name == "postgresql":
        return []
    return [line for (line,) in conn.exec_driver_sql("PRAGMA integrity_check") if line != "ok"]


def broken_references(conn: Connection) -> list[str]:
    """Rows whose foreign key points nowhere, as readable lines (never on PostgreSQL,
    which refuses such a write)."""
    if conn.dialect.name == "postgresql":
        return []
    return [
        f"database: broken reference in {row[0]} row {row[1]}"
        for row in conn.exec_driver_sql("PRAGMA foreign_key_check")
    ]


def integrity_problems(conn: Connection) -> list[str]:
    """The database's own integrity and foreign-key checks, as readable lines."""
    return [f"database: {line}" for line in damage(conn)] + broken_references(conn)


@compiles(Integer, "postgresql")
def _integer_is_64_bit(type_: Integer, compiler: Any, **kw: Any) -> str:
    """SQLite's INTEGER holds 64 bits (file sizes, nanosecond mtimes); PostgreSQL's holds
    32. Every plain Integer column is a BIGINT there, so the same migrations fit both.
    (An autoincrement primary key stays SERIAL: its ids count rows.) Only columns are
    widened: a bound parameter keeps INTEGER, which functions such as substr() take."""
    if "type_expression" in kw:  # a column's type in CREATE TABLE / ADD COLUMN
        return "BIGINT"
    return compiler.visit_INTEGER(type_, **kw)


def before_migrations(conn: Connection) -> None:
    """What a PostgreSQL database needs before clipdesk's migrations run on it.

    The tag names' column is declared ``COLLATE "NOCASE"`` (SQLite's case-insensitive
    collation). PostgreSQL has none by that name, and case-insensitive collations need
    ICU, which not every server has; the name is made a plain byte-order collation, and
    the tag store looks names up with ``lower()`` on both databases.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql('CREATE COLLATION IF NOT EXISTS "NOCASE" FROM "C"')
