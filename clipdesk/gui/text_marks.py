"""Text read in a photo, drawn on its preview: each line outlined where it was read.

Boxes are stored in the photo's own pixels (with the size they were measured in), so they
are scaled to whatever size the preview shows the photo at. Also the worker job that
reads a photo's text for the photo window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QPolygonF

if TYPE_CHECKING:
    from clipdesk.core.catalog.records import PhotoText
    from clipdesk.core.library import Library

TEXT_BOX = QColor(80, 200, 255)


def draw_text_boxes(pixmap: QPixmap, text: PhotoText | None) -> QPixmap:
    """A copy of ``pixmap`` with each line of ``text`` outlined."""
    out = QPixmap(pixmap)
    if text is None or not text.lines or out.isNull() or not text.width or not text.height:
        return out
    sx, sy = out.width() / text.width, out.height() / text.height
    painter = QPainter(out)
    try:
        painter.setPen(QPen(TEXT_BOX, 2))
        for line in text.lines:
            painter.drawPolygon(QPolygonF([QPointF(x * sx, y * sy) for x, y in line.box]))
    finally:
        painter.end()
    return out


def photo_text(library: Library, path: str) -> tuple[str, PhotoText | None]:
    """What was read in one photo (None: not indexed, or its text never read)."""
    try:
        record = library.catalog.file_by_path(path)
        if record is None or record.fingerprint is None:
            return path, None
        return path, library.catalog.photo_text(record.fingerprint)
    except Exception:  # text is an extra: the preview shows without boxes
        return path, None
