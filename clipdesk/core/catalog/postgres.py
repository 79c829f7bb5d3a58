"""Opening a shared catalog on PostgreSQL: reached, recognised, then created or migrated.

The same schema and Alembic migrations as the SQLite catalog, run in one transaction
(PostgreSQL's DDL is transactional: an interrupted migration leaves nothing half made)
under a transaction-level advisory lock, so several computers may open a new library at
once. Every way the server can refuse (unreachable, wrong credentials, no such database,
no pgvector in it, a schema from a newer clipdesk, someone else's tables) is one line for
the user, with nothing created. The password never appears in a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from clipdesk.core.catalog.identity import MARKER_KEY, MARKER_VALUE, VERSION_TABLE
from clipdesk.core.errors import CatalogError

if TYPE_CHECKING:
    from clipdesk.core.catalog.database import Database

__all__ = ["PostgresAddress", "create_postgres_engine", "open_postgres", "parse_address"]

CONNECT_TIMEOUT_S = 10
# pg_advisory_xact_lock key for creating and migrating a library: "clipdesk" in ASCII.
MIGRATE_LOCK = 0x636C6970646B


@dataclass(frozen=True)
class PostgresAddress:
    """A parsed ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME``."""

    url: URL  # with the psycopg driver, password included

    @property
    def shown(self) -> str:
        """The address as messages show it: never the password."""
        return self.url.set(drivername="postgresql").render_as_string(hide_password=True)

    @property
    def server(self) -> str:
        return f"{self.url.host or 'localhost'}:{self.url.port or 5432}"


def parse_address(location: str) -> PostgresAddress:
    """Parse a library address; CatalogError for one without a database name."""
    try:
        url = make_url(location)
    except ArgumentError:
        raise CatalogError(f"not a PostgreSQL address: {location!r}") from None
    if not url.database:
        raise CatalogError(
            "a PostgreSQL library needs a database name: postgresql://USER@HOST[:PORT]/DBNAME"
        )
    return PostgresAddress(url.set(drivername="postgresql+psycopg"))


def create_postgres_engine(address: PostgresAddress, *, read_only: bool = False) -> Engine:
    """An engine for the library's database. SQLAlchemy's psycopg dialect casts every
    bound value to its column's SQL type (``%s::INTEGER``); the catalog's integers are
    64-bit columns there (see ``dialect.py``), so the casts are left to PostgreSQL, which
    infers each parameter's type from where it is used."""
    from sqlalchemy.engine.interfaces import BindTyping

    options = "-c default_transaction_read_only=on" if read_only else ""
    engine = create_engine(
        address.url,
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "options": options},
    )
    engine.dialect.bind_typing = BindTyping.NONE
    return engine


def refusal(address: PostgresAddress, exc: DBAPIError) -> CatalogError:
    """One line for a server that would not let clipdesk in."""
    reason = str(exc.orig).strip().splitlines()[-1] if str(exc.orig).strip() else "refused"
    lowered = str(exc.orig).lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        why = f"wrong user name or password for {address.url.username!r}"
    elif "does not exist" in lowered and "database" in lowered:
        why = f"there is no database {address.url.database!r} on the server"
    elif "connection refused" in lowered or "timeout" in lowered or "could not" in lowered:
        why = f"cannot reach PostgreSQL at {address.server}"
    else:
        why = reason.removeprefix("FATAL:").strip()
    return CatalogError(f"cannot open the library {address.shown}: {why}")


def open_postgres(location: str, *, read_only: bool = False) -> Database:
    """Open (creating or migrating when allowed) the catalog in a PostgreSQL database."""
    from clipdesk.core.catalog.database import Database, revisions

    address = parse_address(location)
    engine = create_postgres_engine(address)
    try:
        with engine.connect() as conn:
            _require_pgvector(conn, address)
            known, head = revisions()
            revision = _identify(conn, address, known)
        if revision != head:
            if read_only:
                raise CatalogError(f"cannot open {address.shown} read-only: it needs upgrading")
            _migrate(engine, address, known, head)
    except DBAPIError as exc:
        engine.dispose()
        raise refusal(address, exc) from None
    except BaseException:
        engine.dispose()
        raise
    if read_only:
        engine.dispose()
        engine = create_postgres_engine(address, read_only=True)
    return Database(engine, read_only)


def _require_pgvector(conn: Connection, address: PostgresAddress) -> None:
    found = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'vector'")).first()
    if found is None:
        raise CatalogError(
            f"the database {address.shown} has no pgvector extension: run "
            "`CREATE EXTENSION vector;` in it as its owner (docs/scale.md), then try again"
        )


def _identify(conn: Connection, address: PostgresAddress, known: tuple[str, ...]) -> str | None:
    """The catalog's revision (None: an empty database, to create)."""
    tables = set(inspect(conn).get_table_names())
    if not tables:
        return None
    if VERSION_TABLE not in tables or "meta" not in tables:
        raise CatalogError(
            f"{address.shown} is not a clipdesk library: the database holds other tables; "
            "give clipdesk a database of its own"
        )
    revision = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    marker = conn.execute(text("SELECT value FROM meta WHERE key = :k"), {"k": MARKER_KEY}).scalar()
    if marker != MARKER_VALUE:
        raise CatalogError(f"{address.shown} is not a clipdesk library (no clipdesk marker)")
    if revision not in known:
        raise CatalogError(
            f"{address.shown} was written by a newer clipdesk (schema {revision}); "
            "upgrade clipdesk to open it"
        )
    return revision


def _migrate(engine: Engine, address: PostgresAddress, known: tuple[str, ...], head: str) -> None:
    """Create or upgrade to the head schema and stamp the marker, in one transaction."""
    from alembic import command

    from clipdesk.core.catalog.database import alembic_config
    from clipdesk.core.catalog.dialect import insert_replace
    from clipdesk.core.catalog.schema import meta

    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK})
        if _identify(conn, address, known) == head:  # another computer did it meanwhile
            return
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        marker = {"key": MARKER_KEY, "value": MARKER_VALUE}
        conn.execute(insert_replace(conn, meta, ["key"]), marker)
