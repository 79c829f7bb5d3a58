"""Initial catalog: roots, files, embeddings, models, meta.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("path", sa.LargeBinary(), nullable=False, unique=True),
        sa.Column("added_at", sa.Float(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("last_scan_at", sa.Float()),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "root_id",
            sa.Integer(),
            sa.ForeignKey("roots.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("path", sa.LargeBinary(), nullable=False, unique=True),
        sa.Column("dir", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("mtime_ns", sa.Integer(), nullable=False),
        sa.Column("inode", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(32)),
        sa.Column("width", sa.Integer()),
        sa.Column("height", sa.Integer()),
        sa.Column("taken_at", sa.Float()),
        sa.Column("camera", sa.String()),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("skip_reason", sa.String()),
        sa.Column("added_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_files_dir", "files", ["dir"])
    op.create_index("ix_files_fingerprint", "files", ["fingerprint"])
    op.create_index("ix_files_root_status", "files", ["root_id", "status"])
    op.create_table(
        "embeddings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("model_key", sa.String(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("fingerprint", "model_key", name="uq_embeddings_fingerprint_model"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_embeddings_model", "embeddings", ["model_key"])
    op.create_table(
        "models",
        sa.Column("model_key", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("value", sa.String(), nullable=False),
    )


def downgrade() -> None:
    for table in ("meta", "models", "embeddings", "files", "roots"):
        op.drop_table(table)
