"""Photo facts for the query language: time zone, GPS and place, and text read in photos.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("taken_offset", sa.Integer()))
        batch.add_column(sa.Column("latitude", sa.Float()))
        batch.add_column(sa.Column("longitude", sa.Float()))
        batch.add_column(sa.Column("place", sa.String()))
        batch.add_column(sa.Column("place_key", sa.String()))
    op.create_table(
        "photo_text",
        sa.Column("fingerprint", sa.String(32), primary_key=True),
        sa.Column("lines", sa.String(), nullable=False),
        sa.Column("words", sa.String(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE photo_text ADD COLUMN tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', words)) STORED"
        )
        op.execute("CREATE INDEX ix_photo_text_tsv ON photo_text USING gin (tsv)")
    else:
        # Words arrive normalised (no case, no accents); the tokenizer only splits them.
        op.execute(
            "CREATE VIRTUAL TABLE photo_text_fts USING fts5("
            "fingerprint UNINDEXED, words, tokenize = 'unicode61 remove_diacritics 0')"
        )
        # Its words and how many photos hold each: what the search box suggests.
        op.execute("CREATE VIRTUAL TABLE photo_text_vocab USING fts5vocab(photo_text_fts, row)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE photo_text_vocab")
        op.execute("DROP TABLE photo_text_fts")
    op.drop_table("photo_text")
    with op.batch_alter_table("files") as batch:
        for name in ("place_key", "place", "longitude", "latitude", "taken_offset"):
            batch.drop_column(name)
