"""RAW+JPEG pairs: a camera's RAW file and the JPEG it wrote beside it are one photo.

Cameras set to "RAW+JPEG" write ``IMG_0001.CR2`` and ``IMG_0001.JPG`` into one folder.
Both are indexed (either may be edited, moved or deleted on its own), but a search shows
the pair once, as its JPEG: the picture the camera rendered, which every program opens.
The RAW shows on its own whenever no readable JPEG of the same name is beside it. The
pair is decided in SQL from the ``files`` rows alone (same folder, same name before the
extension), so no table has to be kept in step with the disk.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, exists, func, literal_column

from clipdesk.core.catalog.schema import files
from clipdesk.core.mediatypes import JPEG_COMPANION_EXTENSIONS, RAW_EXTENSIONS

__all__ = ["has_raw_companion", "hidden_raw_of_pair"]


def _one_of(column: ColumnElement[str], extensions: Sequence[str]) -> ColumnElement[bool]:
    """``column IN ('.dng', ...)`` written out: constants, so no expanding parameter
    (which a query compiled once for ``EXPLAIN`` could not carry)."""
    return column.in_([literal_column(f"'{ext}'") for ext in extensions])


def _stem(table: object) -> ColumnElement[bytes]:
    """The path without its extension (``files.ext`` is the extension, lower-cased)."""
    path, ext = table.c.path, table.c.ext  # type: ignore[attr-defined]
    return func.substr(path, 1, func.length(path) - func.length(ext))


def _sibling(extensions: tuple[str, ...], *, readable: bool) -> ColumnElement[bool]:
    other = files.alias()  # Core's alias: no need for the ORM (0.05 s to import)
    conditions = [
        other.c.dir == files.c.dir,
        _one_of(other.c.ext, extensions),
        _stem(other) == _stem(files),
        other.c.id != files.c.id,
    ]
    if readable:
        conditions.append(other.c.status == "ok")
    return exists().where(and_(*conditions))


def hidden_raw_of_pair() -> ColumnElement[bool]:
    """A RAW file shown through the readable JPEG of the same name beside it."""
    return and_(
        _one_of(files.c.ext, RAW_EXTENSIONS), _sibling(JPEG_COMPANION_EXTENSIONS, readable=True)
    )


def has_raw_companion() -> ColumnElement[bool]:
    """A JPEG that stands for a RAW+JPEG pair: it matches the ``raw`` file type too."""
    jpeg = _one_of(files.c.ext, JPEG_COMPANION_EXTENSIONS)
    return and_(jpeg, _sibling(RAW_EXTENSIONS, readable=False))
