"""Face boxes on a photo's preview: drawn with their names, and found under a click.

The boxes are fractions of the photo (as the core stores them), so they fit the preview
at whatever size the window shows it. Unnamed faces are drawn dashed and labelled "?".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QLabel

if TYPE_CHECKING:
    from clipdesk.core.catalog.records import PhotoText
    from clipdesk.core.people.records import PhotoFace

NAMED = QColor(255, 210, 80)
UNNAMED = QColor(230, 230, 230)


def face_label(face: PhotoFace) -> str:
    if face.person_name:
        return face.person_name
    return f"Person {face.person_id}" if face.person_id is not None else "?"


def draw_faces(pixmap: QPixmap, faces: Sequence[PhotoFace]) -> QPixmap:
    """A copy of ``pixmap`` with each face's box and name drawn on it."""
    out = QPixmap(pixmap)
    if not faces or out.isNull():
        return out
    w, h = out.width(), out.height()
    painter = QPainter(out)
    try:
        for face in faces:
            left, top, right, bottom = face.box
            rect = QRectF(left * w, top * h, (right - left) * w, (bottom - top) * h)
            pen = QPen(NAMED if face.person_name else UNNAMED, 2)
            if not face.person_name:
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawRect(rect)
            text = face_label(face)
            metrics = painter.fontMetrics()
            width = metrics.horizontalAdvance(text) + 8
            y = rect.bottom() + 2 if rect.bottom() + metrics.height() + 4 < h else rect.top() - 18
            back = QRectF(rect.left(), y, width, metrics.height() + 2)
            painter.fillRect(back, QColor(0, 0, 0, 170))
            painter.drawText(back, Qt.AlignmentFlag.AlignCenter, text)
    finally:
        painter.end()
    return out


def face_at(faces: Sequence[PhotoFace], x: float, y: float) -> PhotoFace | None:
    """The face under a point given as fractions of the photo; the smallest box wins."""
    inside = [f for f in faces if f.box[0] <= x <= f.box[2] and f.box[1] <= y <= f.box[3]]
    return min(inside, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]), default=None)


class FacePreview(QLabel):
    """The preview label: the photo fitted and centred, its faces boxed; a click on a
    face emits ``faceClicked`` with that face."""

    faceClicked = Signal(object)  # PhotoFace

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.faces: list[PhotoFace] = []
        self.text: PhotoText | None = None  # the text read in the photo, boxed too
        self._shown = QSize()

    def show_pixmap(self, pixmap: QPixmap) -> None:
        from clipdesk.gui.text_marks import draw_text_boxes

        self._shown = pixmap.size()
        self.setPixmap(draw_faces(draw_text_boxes(pixmap, self.text), self.faces))

    def fraction_at(self, point: QPoint) -> tuple[float, float] | None:
        """Where ``point`` falls on the shown photo, as fractions; None off the photo."""
        if self._shown.isEmpty():
            return None
        left = (self.width() - self._shown.width()) / 2
        top = (self.height() - self._shown.height()) / 2
        x = (point.x() - left) / self._shown.width()
        y = (point.y() - top) / self._shown.height()
        return (x, y) if 0 <= x <= 1 and 0 <= y <= 1 else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        where = self.fraction_at(event.position().toPoint())
        face = face_at(self.faces, *where) if where is not None else None
        if face is not None:
            self.faceClicked.emit(face)
        else:
            super().mousePressEvent(event)
