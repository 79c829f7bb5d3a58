"""A video's scenes as a strip of frames in the detail view: each with its start time,
and a click plays the video from there.

The scenes come from the catalog and their frames are decoded in a worker
(``load_scenes``); the strip only shows what arrives.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget

from clipdesk.gui.media_keys import time_label

if TYPE_CHECKING:
    from clipdesk.core.library import Library

FRAME_SIZE = 120
_START_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class SceneFrame:
    start: float
    end: float
    image: QImage | None  # None when the frame could not be read


def load_scenes(library: Library, path: str) -> tuple[str, list[SceneFrame]]:
    """A video's scenes with a frame each (none for a photo); runs in a worker thread."""
    from clipdesk.core.catalog.catalog import path_bytes
    from clipdesk.core.errors import ImageReadError
    from clipdesk.core.video.frames import frame_at

    out: list[SceneFrame] = []
    for scene in library.catalog.scenes_of_file(path_bytes(path)):
        try:
            rgb = frame_at(path, scene.start, FRAME_SIZE).convert("RGB")
        except (ImageReadError, OSError):
            out.append(SceneFrame(scene.start, scene.end, None))
            continue
        image = QImage(
            rgb.tobytes(), rgb.width, rgb.height, rgb.width * 3, QImage.Format.Format_RGB888
        ).copy()
        out.append(SceneFrame(scene.start, scene.end, image))
    return os.fspath(path), out


class SceneStrip(QListWidget):
    """One row of scene frames; ``sceneChosen(start)`` when one is activated."""

    sceneChosen = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(FRAME_SIZE, FRAME_SIZE))
        self.setFixedHeight(FRAME_SIZE + 48)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.itemActivated.connect(self._chosen)
        self.itemClicked.connect(self._chosen)
        self.hide()

    def set_scenes(self, scenes: list[SceneFrame], at: float | None = None) -> None:
        """Show the scenes (hidden when there are none: a photo), the one playing at
        ``at`` seconds selected and scrolled to."""
        self.clear()
        for scene in scenes:
            item = QListWidgetItem(f"{time_label(scene.start)} to {time_label(scene.end)}")
            if scene.image is not None:
                item.setIcon(QIcon(QPixmap.fromImage(scene.image)))
            item.setData(_START_ROLE, scene.start)
            item.setToolTip(f"play from {time_label(scene.start)}")
            self.addItem(item)
        self.setVisible(bool(scenes))
        row = _scene_at(scenes, at)
        if row is not None:
            self.setCurrentRow(row)
            self.scrollToItem(self.item(row))

    def chosen_start(self) -> float | None:
        """The start of the selected scene (the matched one), if any."""
        item = self.currentItem()
        return None if item is None else float(item.data(_START_ROLE))

    def starts(self) -> list[float]:
        return [float(self.item(i).data(_START_ROLE)) for i in range(self.count())]

    def _chosen(self, item: QListWidgetItem) -> None:
        self.sceneChosen.emit(float(item.data(_START_ROLE)))


def _scene_at(scenes: list[SceneFrame], at: float | None) -> int | None:
    """The row of the scene playing at ``at`` seconds (the last that starts by then)."""
    if at is None or not scenes:
        return None
    rows = [i for i, scene in enumerate(scenes) if scene.start <= at + 1e-3]
    return rows[-1] if rows else 0
