"""The catalog's tables, as SQLAlchemy Core metadata.

Migrations under ``migrations/versions`` create and change these tables; this module is
what the code queries against and must match the latest migration (a test compares them).
Paths are stored as bytes (``os.fsencode``) so that names which are not valid UTF-8
survive a round trip.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    column,
    func,
    literal_column,
    table,
)

metadata = MetaData()

roots = Table(
    "roots",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("path", LargeBinary, nullable=False, unique=True),
    Column("added_at", Float, nullable=False),
    Column("online", Boolean, nullable=False, server_default="1"),
    Column("last_scan_at", Float),
)

files = Table(
    "files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("root_id", Integer, ForeignKey("roots.id", ondelete="CASCADE"), nullable=False),
    Column("path", LargeBinary, nullable=False, unique=True),
    Column("dir", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("mtime_ns", Integer, nullable=False),
    Column("inode", Integer, nullable=False),
    Column("fingerprint", String(32)),
    Column("width", Integer),
    Column("height", Integer),
    Column("taken_at", Float),
    Column("camera", String),
    # pending: found, not read yet; ok: read and fingerprinted; skipped: unreadable.
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("skip_reason", String),
    # The name's extension, lower-case with its dot (".jpg"; "" when none or not ASCII):
    # what a file-type filter selects on (migration 0003).
    Column("ext", String(16), nullable=False, server_default=""),
    # Minutes east of UTC of ``taken_at`` when EXIF says (OffsetTimeOriginal); None when
    # it does not (the time was read as local time) or there is no EXIF time (0005).
    Column("taken_offset", Integer),
    # GPS position from EXIF and the place it names offline ("Lisbon, Lisbon, Portugal");
    # ``place_key`` holds the same names normalised, "|lisbon|portugal|" (0005).
    Column("latitude", Float),
    Column("longitude", Float),
    Column("place", String),
    Column("place_key", String),
    Column("added_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_files_dir", "dir"),
    Index("ix_files_fingerprint", "fingerprint"),
    Index("ix_files_root_status", "root_id", "status"),
    Index("ix_files_ext", "ext"),
)

# When a photo was taken: its EXIF time, else its file's modification time. Date filters
# compare exactly this expression, so SQLite answers them from the index below.
# Dividing (not multiplying by 1e-9) keeps a whole second exact, so a photo modified at
# midnight falls on the right side of a date boundary.
TAKEN = func.coalesce(files.c.taken_at, files.c.mtime_ns.op("/")(literal_column("1e9", Float)))
Index("ix_files_taken", TAKEN)

embeddings = Table(
    "embeddings",
    metadata,
    # AUTOINCREMENT: ids are HNSW labels and must never be reused after a delete.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(32), nullable=False),
    Column("model_key", String, nullable=False),
    Column("vector", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("fingerprint", "model_key", name="uq_embeddings_fingerprint_model"),
    Index("ix_embeddings_model", "model_key"),
    sqlite_autoincrement=True,
)

# -- video scenes (migration 0004) ---------------------------------------------------------

video_scenes = Table(
    "video_scenes",
    metadata,
    # A scene's vector is stored in ``embeddings`` under this fingerprint, derived from the
    # video's (``video/scenes.scene_fingerprint``); keyed by content, so copies and moves
    # of a video share its scenes, as photos share their embedding.
    Column("scene_fp", String(32), primary_key=True),
    Column("fingerprint", String(32), nullable=False),  # the video's content fingerprint
    Column("idx", Integer, nullable=False),  # 0, 1, ... in time order
    Column("start_s", Float, nullable=False),
    Column("end_s", Float, nullable=False),
    Index("ix_video_scenes_fingerprint", "fingerprint"),
)

models = Table(
    "models",
    metadata,
    Column("model_key", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("dim", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", String, nullable=False),
)

# -- tags (migration 0002) ---------------------------------------------------------------

tags = Table(
    "tags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(collation="NOCASE"), nullable=False, unique=True),
    # Phrases put through the prompt templates instead of the name, ";"-separated.
    Column("prompt", String),
    # vocabulary: from the library's vocabulary; custom: created by teaching.
    Column("origin", String(16), nullable=False, server_default="vocabulary"),
    Column("created_at", Float, nullable=False),
    sqlite_autoincrement=True,
)

file_tags = Table(
    "file_tags",
    metadata,
    # Keyed by content fingerprint, so tags follow a photo through moves and copies.
    Column("tag_id", Integer, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Column("fingerprint", String(32), primary_key=True),
    # zero-shot | learned | manual; manual rows are the user's and are never overwritten.
    Column("source", String(16), nullable=False),
    # A manual "no": the tag is kept off this photo whatever the models say.
    Column("rejected", Boolean, nullable=False, server_default="0"),
    Column("score", Float),  # cosine (zero-shot) or probability (learned)
    Column("confidence", Float),  # calibrated 0-1
    Column("model_key", String),
    Column("updated_at", Float, nullable=False),
    Index("ix_file_tags_fingerprint", "fingerprint"),
)

tag_models = Table(
    "tag_models",
    metadata,
    Column("tag_id", Integer, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Column("model_key", String, primary_key=True),
    Column("kind", String(16), nullable=False),  # zero-shot | learned
    Column("threshold", Float),
    Column("probe", LargeBinary),  # a serialised linear probe, for learned tags
    Column("info", String),  # JSON: calibration, example counts
    Column("updated_at", Float, nullable=False),
)

# -- people (migration 0004) -------------------------------------------------------------

persons = Table(
    "persons",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String),  # None until the user names the person ("Person 3")
    # The name folded to lower case: unique, and what a search by name matches on any
    # database (SQLite's NOCASE has no PostgreSQL twin).
    Column("name_key", String, unique=True),
    Column("hidden", Boolean, nullable=False, server_default="0"),
    Column("created_at", Float, nullable=False),
    sqlite_autoincrement=True,
)

faces = Table(
    "faces",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Keyed by content fingerprint, so a moved or copied photo keeps its faces.
    Column("fingerprint", String(32), nullable=False),
    # The box as fractions of the photo's upright width and height.
    Column("left", Float, nullable=False),
    Column("top", Float, nullable=False),
    Column("right", Float, nullable=False),
    Column("bottom", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("embedding", LargeBinary, nullable=False),  # 128 float32
    Column("person_id", Integer, ForeignKey("persons.id", ondelete="SET NULL")),
    # auto: put there by clustering; user: the user's word, never moved by clustering.
    Column("assigned_by", String(8), nullable=False, server_default="auto"),
    Index("ix_faces_fingerprint", "fingerprint"),
    Index("ix_faces_person", "person_id"),
    sqlite_autoincrement=True,
)

# Which photos were looked at for faces (with how many were found), so a photo without
# a face is looked at once, not at every index.
face_scans = Table(
    "face_scans",
    metadata,
    Column("fingerprint", String(32), primary_key=True),
    Column("faces", Integer, nullable=False),
    Column("detector", String(16), nullable=False),
    Column("scanned_at", Float, nullable=False),
)

# "Not this person": the face is kept out of the person whatever clustering finds.
face_rejections = Table(
    "face_rejections",
    metadata,
    Column("face_id", Integer, ForeignKey("faces.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", Integer, ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True),
)
# -- text in photos (migration 0005) -----------------------------------------------------

photo_text = Table(
    "photo_text",
    metadata,
    # Keyed by content fingerprint: what a photo says follows it through moves and copies.
    Column("fingerprint", String(32), primary_key=True),
    # JSON: [[text, confidence, [[x, y] x 4]], ...] in the pixels of the upright photo.
    Column("lines", String, nullable=False),
    # Every word, normalised (``words.normalise``): what the full-text index holds.
    Column("words", String, nullable=False),
    Column("width", Integer, nullable=False),  # the size the boxes are measured in
    Column("height", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# The full-text index over ``photo_text.words``: on SQLite an FTS5 table (a virtual table
# the migration creates, so it is not in ``metadata``); on PostgreSQL a generated tsvector
# column ``photo_text.tsv`` with a GIN index. ``photo_text_fts`` names it for queries.
photo_text_fts = table("photo_text_fts", column("fingerprint"), column("words"))
# SQLite's virtual tables (and FTS5's own shadow tables, named after them), outside
# ``metadata``: the schema test leaves them to SQLite.
VIRTUAL_TABLES = ("photo_text_fts", "photo_text_vocab")
