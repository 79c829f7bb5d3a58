"""Painting one result: thumbnail, score badge in the corner, file name underneath.

A delegate paints straight onto the view, so a grid of any size has no widget per item.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPainterPath, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from clipdesk.gui.results_model import ScoreRole, ThumbErrorRole

PADDING = 8
TEXT_GAP = 6
RADIUS = 6.0


class ResultDelegate(QStyledItemDelegate):
    """Draws a result card; ``thumb_size`` is the square the thumbnail fits in."""

    def __init__(self, thumb_size: int = 160, parent: object | None = None) -> None:
        super().__init__(parent)
        self.thumb_size = thumb_size
        self.show_scores = True

    def _text_height(self, option: QStyleOptionViewItem) -> int:
        return QFontMetrics(option.font).height()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        side = self.thumb_size + 2 * PADDING
        return QSize(side, side + TEXT_GAP + self._text_height(option))

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        palette: QPalette = option.palette
        cell = QRectF(option.rect).adjusted(2, 2, -2, -2)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if selected or hovered:
            colour = QColor(palette.color(QPalette.ColorRole.Highlight))
            colour.setAlpha(150 if selected else 45)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(cell, RADIUS + 2, RADIUS + 2)

        box = QRect(
            option.rect.x() + PADDING, option.rect.y() + PADDING, self.thumb_size, self.thumb_size
        )
        image = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(image, QImage) and not image.isNull():
            picture = self._paint_image(painter, box, image)
        else:
            picture = self._paint_placeholder(painter, box, palette, index.data(ThumbErrorRole))

        score = index.data(ScoreRole)
        if self.show_scores and isinstance(score, float):
            self._paint_badge(painter, picture, f"{score:.2f}")

        name = index.data(Qt.ItemDataRole.DisplayRole) or ""
        text_rect = QRect(
            option.rect.x() + PADDING,
            box.bottom() + TEXT_GAP,
            self.thumb_size,
            self._text_height(option),
        )
        painter.setPen(
            palette.color(
                QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
            )
        )
        elided = QFontMetrics(option.font).elidedText(
            name, Qt.TextElideMode.ElideMiddle, text_rect.width()
        )
        painter.setFont(option.font)
        painter.drawText(
            text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, elided
        )
        painter.restore()

    def _paint_image(self, painter: QPainter, box: QRect, image: QImage) -> QRectF:
        size = image.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRectF(
            box.x() + (box.width() - size.width()) / 2,
            box.y() + (box.height() - size.height()) / 2,
            size.width(),
            size.height(),
        )
        path = QPainterPath()
        path.addRoundedRect(target, RADIUS, RADIUS)
        painter.save()
        painter.setClipPath(path)
        painter.drawImage(target, image)
        painter.restore()
        return target

    def _paint_placeholder(
        self, painter: QPainter, box: QRect, palette: QPalette, error: object
    ) -> QRectF:
        colour = QColor(palette.color(QPalette.ColorRole.AlternateBase))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        inset = QRectF(box).adjusted(6, 6, -6, -6)
        painter.drawRoundedRect(inset, RADIUS, RADIUS)
        if error:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(inset, Qt.AlignmentFlag.AlignCenter, "cannot show\nthis file")
        return inset

    def _paint_badge(self, painter: QPainter, picture: QRectF, text: str) -> None:
        font = QFont(painter.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        font.setBold(True)
        metrics = QFontMetrics(font)
        width = metrics.horizontalAdvance(text) + 12
        height = metrics.height() + 4
        badge = QRectF(picture.right() - width - 5, picture.y() + 5, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 170))
        painter.drawRoundedRect(badge, height / 2, height / 2)
        painter.setPen(QColor(255, 255, 255))
        painter.setFont(font)
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
