"""The application icon: an SVG in resources/icons, with PNGs rendered from it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon, QImage, QPainter

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
