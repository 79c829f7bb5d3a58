"""Alembic environment: always run against the connection clipdesk hands over."""

from __future__ import annotations

from alembic import context

from clipdesk.core.catalog.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite can only ALTER TABLE in batch mode
)
with context.begin_transaction():
    context.run_migrations()
