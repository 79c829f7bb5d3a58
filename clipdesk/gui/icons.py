"""The application icon: an SVG in resources/icons, with PNGs rendered from it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPen, QPixmap

from clipdesk.core import paths

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def icons_dir() -> Path:
    return paths.resources_dir() / "icons"


def app_icon() -> QIcon:
    """The icon from the PNGs where present (crisp small sizes), else the SVG."""
    icon = QIcon()
    for size in ICON_SIZES:
        png = icons_dir() / f"clipdesk-{size}.png"
        if png.is_file():
            icon.addFile(str(png), QSize(size, size))
    if icon.isNull():
        svg = icons_dir() / "clipdesk.svg"
        if svg.is_file():
            icon.addFile(str(svg))
    return icon


def render_pngs(directory: Path | None = None) -> list[Path]:
    """Render ``clipdesk-<size>.png`` from the SVG (packaging reuses these files)."""
    from PySide6.QtSvg import QSvgRenderer

    directory = directory or icons_dir()
    renderer = QSvgRenderer(str(directory / "clipdesk.svg"))
    written = []
    for size in ICON_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(0)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        target = directory / f"clipdesk-{size}.png"
        image.save(str(target), "PNG")
        written.append(target)
    return written


def magnifier(size: int = 18, colour: str = "#8c8f96", ratio: float = 1.0) -> QPixmap:
    """A search glyph drawn with the painter (no icon theme needed on any platform)."""
    pixmap = QPixmap(round(size * ratio), round(size * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(QColor(colour), size / 9)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    r = size * 0.3
    centre = QPointF(size * 0.42, size * 0.42)
    painter.drawEllipse(centre, r, r)
    painter.drawLine(QPointF(size * 0.64, size * 0.64), QPointF(size * 0.9, size * 0.9))
    painter.end()
    return pixmap
