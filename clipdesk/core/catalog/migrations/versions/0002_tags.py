"""Tags: the vocabulary, tags on photos (by fingerprint), per-model calibrations and probes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(collation="NOCASE"), nullable=False, unique=True),
        sa.Column("prompt", sa.String()),
        sa.Column("origin", sa.String(16), nullable=False, server_default="vocabulary"),
        sa.Column("created_at", sa.Float(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "file_tags",
        sa.Column(
            "tag_id",
            sa.Integer(),
            sa.ForeignKey("tags.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("fingerprint", sa.String(32), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("rejected", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("score", sa.Float()),
        sa.Column("confidence", sa.Float()),
        sa.Column("model_key", sa.String()),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_file_tags_fingerprint", "file_tags", ["fingerprint"])
    op.create_table(
        "tag_models",
        sa.Column(
            "tag_id",
            sa.Integer(),
            sa.ForeignKey("tags.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("model_key", sa.String(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("threshold", sa.Float()),
        sa.Column("probe", sa.LargeBinary()),
        sa.Column("info", sa.String()),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    for table in ("tag_models", "file_tags", "tags"):
        op.drop_table(table)
