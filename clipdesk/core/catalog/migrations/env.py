"""Alembic environment: always run against the connection clipdesk hands over.

The same migrations run on SQLite and PostgreSQL: plain ``op.*`` calls work on both
(batch mode is SQLite's way to ALTER, and a plain ALTER elsewhere); what only one of
them has goes behind ``op.get_bind().dialect.name``.
"""

from __future__ import annotations

from alembic import context

from clipdesk.core.catalog.dialect import before_migrations
from clipdesk.core.catalog.schema import metadata

connection = context.config.attributes["connection"]
before_migrations(connection)  # PostgreSQL: 64-bit integers, the NOCASE collation
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite can only ALTER TABLE in batch mode
)
with context.begin_transaction():
    context.run_migrations()
