"""Painting one result: thumbnail, score badge in the corner, file name underneath; a
video's scene also gets a play mark and the time it starts.

A delegate paints straight onto the view, so a grid of any size has no widget per item.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QRectF,
    QSize,
    QSizeF,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPalette, QPolygonF
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from clipdesk.gui.media_keys import time_label
from clipdesk.gui.results_model import PaintRole

PADDING = 8
TEXT_GAP = 6
RADIUS = 6.0
_NAME_ALIGN = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop


class ResultDelegate(QStyledItemDelegate):
    """Draws a result card; ``thumb_size`` is the square the thumbnail fits in."""

    def __init__(self, thumb_size: int = 160, parent: object | None = None) -> None:
        super().__init__(parent)
        self.thumb_size = thumb_size
        self.show_scores = True
        self._badge_font: QFont | None = None
        self._badge_metrics: QFontMetrics | None = None
        self._metrics_key: str | None = None
        self._name_metrics: QFontMetrics | None = None
        self._elided: dict[str, str] = {}

    def _metrics(self, option: QStyleOptionViewItem) -> QFontMetrics:
        key = option.font.key()
        if key != self._metrics_key:
            self._metrics_key, self._name_metrics = key, QFontMetrics(option.font)
            self._elided.clear()
        assert self._name_metrics is not None
        return self._name_metrics

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        side = self.thumb_size + 2 * PADDING
        return QSize(side, side + TEXT_GAP + self._metrics(option).height())

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        # One call into the model per item: every data() round trip costs.
        image, error, score, name, at = index.data(PaintRole)
        rect = option.rect
        palette: QPalette = option.palette
        state = option.state
        selected = bool(state & QStyle.StateFlag.State_Selected)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if selected or state & QStyle.StateFlag.State_MouseOver:
            colour = QColor(palette.color(QPalette.ColorRole.Highlight))
            colour.setAlpha(150 if selected else 45)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(QRectF(rect).adjusted(2, 2, -2, -2), RADIUS + 2, RADIUS + 2)

        box = QRect(rect.x() + PADDING, rect.y() + PADDING, self.thumb_size, self.thumb_size)
        if image is not None and not image.isNull():
            picture = self._paint_image(painter, box, image)
        else:
            picture = self._paint_placeholder(painter, box, palette, error)
        if self.show_scores and score is not None:
            self._paint_badge(painter, picture, f"{score:.2f}")
        if at is not None:
            self._paint_play(painter, picture, time_label(at))

        metrics = self._metrics(option)
        text_rect = QRect(
            rect.x() + PADDING, box.bottom() + TEXT_GAP, self.thumb_size, metrics.height()
        )
        elided = self._elided.get(name)
        if elided is None:
            if len(self._elided) > 20_000:
                self._elided.clear()
            elided = metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, self.thumb_size)
            self._elided[name] = elided
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(palette.color(role))
        painter.setFont(option.font)
        painter.drawText(text_rect, _NAME_ALIGN, elided)
        painter.restore()

    def _paint_image(self, painter: QPainter, box: QRect, image: QImage) -> QRectF:
        """Thumbnails come at display size: a plain blit, no scaling, no clipping."""
        ratio = image.devicePixelRatio() or 1.0
        size = QSizeF(image.width() / ratio, image.height() / ratio)
        if size.width() > box.width() + 0.5 or size.height() > box.height() + 0.5:
            size = size.scaled(QSizeF(box.size()), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRectF(
            round(box.x() + (box.width() - size.width()) / 2),
            round(box.y() + (box.height() - size.height()) / 2),
            size.width(),
            size.height(),
        )
        if target.width() != image.width() / ratio:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, image)
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

    def _paint_play(self, painter: QPainter, picture: QRectF, text: str) -> None:
        """A play triangle in a dark disc at the centre, and the time bottom-left."""
        radius = max(8.0, min(picture.width(), picture.height()) * 0.14)
        centre = picture.center()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawEllipse(centre, radius, radius)
        side = radius * 0.9
        triangle = QPolygonF(
            [
                QPointF(centre.x() - side * 0.4, centre.y() - side * 0.55),
                QPointF(centre.x() - side * 0.4, centre.y() + side * 0.55),
                QPointF(centre.x() + side * 0.6, centre.y()),
            ]
        )
        painter.setBrush(QColor(255, 255, 255, 230))
        painter.drawPolygon(triangle)
        self._paint_badge(painter, picture, text, bottom_left=True)

    def _paint_badge(
        self, painter: QPainter, picture: QRectF, text: str, *, bottom_left: bool = False
    ) -> None:
        if self._badge_font is None or self._badge_metrics is None:
            font = QFont(painter.font())
            font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
            font.setBold(True)
            self._badge_font, self._badge_metrics = font, QFontMetrics(font)
        font, metrics = self._badge_font, self._badge_metrics
        width = metrics.horizontalAdvance(text) + 12
        height = metrics.height() + 4
        if bottom_left:
            badge = QRectF(picture.x() + 5, picture.bottom() - height - 5, width, height)
        else:
            badge = QRectF(picture.right() - width - 5, picture.y() + 5, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 170))
        painter.drawRoundedRect(badge, height / 2, height / 2)
        painter.setPen(QColor(255, 255, 255))
        painter.setFont(font)
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
