"""Search filters: a file's extension, and indexes for the type and date filters.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

import os

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _extension(path: bytes) -> str:
    ext = os.path.splitext(os.fsdecode(path))[1].lower()
    return ext if ext.isascii() and len(ext) <= 16 else ""


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("ext", sa.String(16), nullable=False, server_default=""))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, path FROM files")).fetchall()
    updates = [{"i": i, "e": _extension(path)} for i, path in rows]
    if updates:
        conn.execute(sa.text("UPDATE files SET ext = :e WHERE id = :i"), updates)
    op.create_index("ix_files_ext", "files", ["ext"])
    op.create_index("ix_files_taken", "files", [sa.text("coalesce(taken_at, mtime_ns / 1e9)")])


def downgrade() -> None:
    op.drop_index("ix_files_taken", "files")
    op.drop_index("ix_files_ext", "files")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("ext")
