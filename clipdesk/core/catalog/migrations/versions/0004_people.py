"""People: faces found in photos (by fingerprint), the people they form, the user's word.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String()),
        sa.Column("name_key", sa.String(), unique=True),
        sa.Column("hidden", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "faces",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("left", sa.Float(), nullable=False),
        sa.Column("top", sa.Float(), nullable=False),
        sa.Column("right", sa.Float(), nullable=False),
        sa.Column("bottom", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("persons.id", ondelete="SET NULL")),
        sa.Column("assigned_by", sa.String(8), nullable=False, server_default="auto"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_faces_fingerprint", "faces", ["fingerprint"])
    op.create_index("ix_faces_person", "faces", ["person_id"])
    op.create_table(
        "face_scans",
        sa.Column("fingerprint", sa.String(32), primary_key=True),
        sa.Column("faces", sa.Integer(), nullable=False),
        sa.Column("detector", sa.String(16), nullable=False),
        sa.Column("scanned_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "face_rejections",
        sa.Column(
            "face_id",
            sa.Integer(),
            sa.ForeignKey("faces.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("persons.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )


def downgrade() -> None:
    for table in ("face_rejections", "face_scans", "faces", "persons"):
        op.drop_table(table)
