"""What a drop or a paste carries: image files (from the file manager or the grid), or
raw image data (a screenshot, an image copied in a browser)."""

from __future__ import annotations

import os

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QImage

from clipdesk.core.imageio import is_image_path


def image_files(mime: QMimeData | None) -> list[str]:
    """Local image files named by the data's URLs, in order."""
    if mime is None or not mime.hasUrls():
        return []
    files = []
    for url in mime.urls():
        if url.isLocalFile():
            path = url.toLocalFile()
            if is_image_path(path) and os.path.isfile(path):
                files.append(path)
    return files


def image_data(mime: QMimeData | None) -> QImage | None:
    """Raw image data, when the data holds a picture rather than files."""
    if mime is None or not mime.hasImage():
        return None
    image = mime.imageData()
    if isinstance(image, QImage) and not image.isNull():
        return image
    return None


def carries_image(mime: QMimeData | None) -> bool:
    return bool(image_files(mime)) or image_data(mime) is not None
