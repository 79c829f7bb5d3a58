"""Opening the catalog database: SQLite in WAL mode, migrated to the latest schema.

Like rclip and Anki, a library written by a newer clipdesk is refused rather than
guessed at; an older one is upgraded step by step by Alembic.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event

from clipdesk.core.errors import CatalogError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def _known_revision(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except Exception:  # alembic raises CommandError / ResolutionError for unknown ids
        return False


def create_sqlite_engine(path: Path) -> Engine:
    """An engine whose every connection uses WAL, foreign keys and a busy timeout."""
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def open_database(path: Path) -> Engine:
    """Open (creating if needed) the catalog at ``path`` and migrate it to the head schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_sqlite_engine(path)
    config = _alembic_config()
    scripts = ScriptDirectory.from_config(config)
    with engine.begin() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None and not _known_revision(scripts, current):
            raise CatalogError(
                f"{path} was written by a newer clipdesk (schema {current}); "
                "upgrade clipdesk to open it"
            )
        if current != scripts.get_current_head():
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    return engine
