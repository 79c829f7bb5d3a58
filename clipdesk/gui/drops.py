"""What a drop or a paste carries: image files (from the file manager or the grid), or
raw image data (a screenshot, an image copied in a browser)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication, QImage

from clipdesk.core.imageio import is_image_path
from clipdesk.gui.desktop import save_pasted_image

if TYPE_CHECKING:
    from clipdesk.gui.service import LibraryService


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


def clipboard_image_wins(mime: QMimeData | None) -> bool:
    """Ctrl+V in the search field: a picture (or image file) beats plain text."""
    return carries_image(mime) and not (mime and mime.hasText() and not mime.hasUrls())


class ImageInput:
    """Turns a drop or a paste into the query image: a file is used as it is, raw
    image data is first saved (in a worker) under the cache dir."""

    def __init__(
        self,
        service: LibraryService,
        use_image: Callable[[str], None],
        say: Callable[[str], None],
    ) -> None:
        self._service = service
        self._use_image = use_image
        self._say = say

    def take(self, mime: QMimeData | None) -> bool:
        """Use the first image ``mime`` carries; False if it carries none."""
        files = image_files(mime)
        if files:
            self._use_image(files[0])
            return True
        image = image_data(mime)
        if image is None:
            return False
        self._say("Reading the pasted image…")
        self._service.run_task(save_pasted_image, image.copy(), done=self._use_image)
        return True

    def clipboard(self) -> QMimeData | None:
        return QGuiApplication.clipboard().mimeData()
