"""Video scenes: each scene of a video, by the video's content fingerprint.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "video_scenes",
        sa.Column("scene_fp", sa.String(32), primary_key=True),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("start_s", sa.Float, nullable=False),
        sa.Column("end_s", sa.Float, nullable=False),
    )
    op.create_index("ix_video_scenes_fingerprint", "video_scenes", ["fingerprint"])


def downgrade() -> None:
    op.drop_index("ix_video_scenes_fingerprint", "video_scenes")
    op.drop_table("video_scenes")
