"""Text read in photos: stored per content fingerprint, with its full-text index.

``photo_text`` keeps the lines with their boxes (for the photo window) and the photo's
words normalised (``words.normalise``); SQLite's FTS5 table ``photo_text_fts`` indexes
those words and is written here beside it, row for row (PostgreSQL's tsvector column is
generated from them by the database itself).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, delete, insert, select, text

from clipdesk.core.catalog.records import PhotoText, TextLine
from clipdesk.core.catalog.schema import files, photo_text
from clipdesk.core.catalog.words import normalise

__all__ = ["PhotoTexts", "rebuild_text_index", "store_text"]


def _encode(value: PhotoText) -> str:
    return json.dumps(
        [
            [line.text, round(line.confidence, 4), [list(p) for p in line.box]]
            for line in value.lines
        ],
        ensure_ascii=False,
    )


def _decode(lines: str, width: int, height: int) -> PhotoText:
    return PhotoText(
        tuple(
            TextLine(str(t), float(c), tuple((float(x), float(y)) for x, y in box))
            for t, c, box in json.loads(lines)
        ),
        width,
        height,
    )


def store_text(conn: Connection, fingerprint: str, value: PhotoText, now: float) -> None:
    """Replace what is stored of ``fingerprint``'s text, index included (one transaction
    with the caller's other writes)."""
    words = normalise(" ".join(line.text for line in value.lines))
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:  # the index row shares the stored row's rowid: found without a scan
        conn.execute(
            text(
                "DELETE FROM photo_text_fts WHERE rowid = "
                "(SELECT rowid FROM photo_text WHERE fingerprint = :f)"
            ),
            {"f": fingerprint},
        )
    conn.execute(delete(photo_text).where(photo_text.c.fingerprint == fingerprint))
    conn.execute(
        insert(photo_text).values(
            fingerprint=fingerprint,
            lines=_encode(value),
            words=words,
            width=value.width,
            height=value.height,
            updated_at=now,
        )
    )
    if sqlite and words:
        conn.execute(
            text(
                "INSERT INTO photo_text_fts (rowid, fingerprint, words) "
                "SELECT rowid, fingerprint, words FROM photo_text WHERE fingerprint = :f"
            ),
            {"f": fingerprint},
        )


def rebuild_text_index(conn: Connection) -> None:
    """Fill SQLite's full-text table from ``photo_text`` (after a copy into a new
    library, which copies tables, not virtual ones); nothing to do on PostgreSQL."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("DELETE FROM photo_text_fts"))
        conn.execute(
            text(
                "INSERT INTO photo_text_fts (rowid, fingerprint, words) "
                "SELECT rowid, fingerprint, words FROM photo_text WHERE words != ''"
            )
        )


class PhotoTexts:
    """Part of :class:`Catalog`: reading the text found in photos, and the other facts
    the search box suggests (places, cameras)."""

    engine: Engine

    def place_names(self) -> list[str]:
        """Every city, region and country a photo of the library was taken in, sorted."""
        query = select(files.c.place).where(files.c.place.is_not(None)).distinct()
        with self.engine.connect() as conn:
            names = {part.strip() for (place,) in conn.execute(query) for part in place.split(",")}
        return sorted(n for n in names if n)

    def camera_names(self) -> list[str]:
        """Every camera the library's photos were taken with, sorted."""
        query = select(files.c.camera).where(files.c.camera.is_not(None)).distinct()
        with self.engine.connect() as conn:
            return sorted({camera for (camera,) in conn.execute(query) if camera})

    def photo_text(self, fingerprint: str) -> PhotoText | None:
        """What OCR read in the photo, or None if it never ran on it."""
        query = select(photo_text.c.lines, photo_text.c.width, photo_text.c.height).where(
            photo_text.c.fingerprint == fingerprint
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _decode(row[0], row[1], row[2])

    def text_read(self) -> set[str]:
        """Fingerprints whose text was read (some with none found)."""
        with self.engine.connect() as conn:
            return {row[0] for row in conn.execute(select(photo_text.c.fingerprint))}

    def photo_words(self, fingerprints: Iterable[str]) -> dict[str, str]:
        """The text read in each photo, its lines joined by " / " (photos with none left out)."""
        wanted = sorted(set(fingerprints))
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                query = select(
                    photo_text.c.fingerprint,
                    photo_text.c.lines,
                    photo_text.c.width,
                    photo_text.c.height,
                ).where(photo_text.c.fingerprint.in_(wanted[start : start + 500]))
                for fp, lines, w, h in conn.execute(query):
                    found = _decode(lines, w, h)
                    if found.lines:
                        out[fp] = " / ".join(line.text for line in found.lines)
        return out

    def text_words(self, prefix: str, limit: int = 20) -> list[str]:
        """Words read in photos that start with ``prefix`` (normalised; "" for any),
        most photos first: what the search box suggests after ``text:``."""
        start = normalise(prefix).replace(" ", "")
        if self.engine.dialect.name == "postgresql":  # no vocabulary table: count words
            query = text(
                "SELECT word FROM (SELECT regexp_split_to_table(words, ' ') AS word "
                "FROM photo_text) AS w WHERE word <> '' AND word LIKE :lo || '%' "
                "GROUP BY word ORDER BY count(*) DESC, word LIMIT :n"
            )
            with self.engine.connect() as conn:
                return [row[0] for row in conn.execute(query, {"lo": start, "n": limit})]
        query = text(
            "SELECT term FROM photo_text_vocab WHERE term >= :lo AND term < :hi "
            "ORDER BY doc DESC, term LIMIT :n"
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query, {"lo": start, "hi": start + "\U0010ffff", "n": limit})
            return [row[0] for row in rows]
