"""The search field: debounced search as you type, Enter at once, a chip for an image.

A dropped or pasted image shows as a removable chip in front of the text; the query is
the image, the text, or both combined (``-word`` in the text lowers photos matching
word: the core parses it).
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)

from clipdesk.gui.icons import magnifier
from clipdesk.gui.query_completer import QueryCompleter
from clipdesk.gui.thumbnails import ThumbnailLoader

DEBOUNCE_MS = 250
CHIP_THUMB = 22


class ImageChip(QFrame):
    """A small removable tag: the image that takes part in the search."""

    removed = Signal()

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageChip")
        self._loader = loader
        self._path: str | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 2, 2)
        layout.setSpacing(4)
        self.thumb = QLabel()
        self.thumb.setFixedSize(CHIP_THUMB, CHIP_THUMB)
        self.label = QLabel()
        self.close_button = QToolButton()
        self.close_button.setText("\u00d7")
        self.close_button.setToolTip("Remove this image from the search")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.removed)
        layout.addWidget(self.thumb)
        layout.addWidget(self.label)
        layout.addWidget(self.close_button)
        loader.ready.connect(self._thumbnail_ready)
        self.hide()

    @property
    def path(self) -> str | None:
        return self._path

    def set_path(self, path: str | None) -> None:
        self._path = path
        if path is None:
            self.hide()
            return
        name = os.path.basename(path)
        metrics = self.label.fontMetrics()
        self.label.setText(metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, 160))
        self.setToolTip(f"Similar to {path}")
        self.thumb.clear()
        self._thumbnail_ready(path)
        if self._loader.image(path) is None:
            self._loader.request(path)
        self.show()

    def _thumbnail_ready(self, path: str) -> None:
        if path != self._path:
            return
        image: QImage | None = self._loader.image(path)
        if image is not None:
            pixmap = QPixmap.fromImage(image).scaled(
                QSize(CHIP_THUMB, CHIP_THUMB),
                Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                Qt.TransformationMode.SmoothTransformation,
            )
            self.thumb.setPixmap(pixmap)


class SearchBar(QFrame):
    """Emits ``queryChanged(text, image)`` 250 ms after typing stops, at once on Enter."""

    queryChanged = Signal(str, object)  # text, image path or None
    saveRequested = Signal()  # keep the query as a smart album

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.setSpacing(6)
        self.icon = QLabel()
        self.icon.setObjectName("searchIcon")
        self.icon.setPixmap(magnifier(18, ratio=self.devicePixelRatioF()))
        self.chip = ImageChip(loader)
        self.edit = QLineEdit()
        self.edit.setObjectName("searchEdit")
        self.edit.setPlaceholderText(
            'Search your photos: "beach at sunset -people", "place:Lisbon text:menu", '
            "or drop a photo"
        )
        self.edit.setClearButtonEnabled(True)
        self.edit.setFrame(False)
        layout.addWidget(self.icon)
        layout.addWidget(self.chip)
        layout.addWidget(self.edit, 1)
        self.completer = QueryCompleter(self.edit)
        self.sort = QComboBox()
        self.sort.setObjectName("sortOrder")
        self.sort.addItem("Best match", "relevance")
        self.sort.addItem("Newest first", "date")
        self.sort.setToolTip("Order of the results: best match, or when the photos were taken")
        layout.addWidget(self.sort)
        self.save = QToolButton()
        self.save.setObjectName("saveSearch")
        self.save.setText("Save")
        self.save.setToolTip("Keep this search as a smart album: it updates as photos arrive")
        self.save.clicked.connect(self.saveRequested)
        layout.addWidget(self.save)
        self.sort.currentIndexChanged.connect(lambda _i: self.submit())
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._emit)
        self.edit.textChanged.connect(lambda _text: self._timer.start())
        self.edit.returnPressed.connect(self.submit)
        self.chip.removed.connect(self.clear_image)
        self._last: tuple[str, str | None, str] | tuple[()] = ()

    def text(self) -> str:
        return self.edit.text()

    def image(self) -> str | None:
        return self.chip.path

    def order(self) -> str:
        """ "relevance" or "date" (newest first)."""
        return str(self.sort.currentData())

    def set_text(self, text: str, *, submit: bool = True) -> None:
        self.edit.setText(text)
        if submit:
            self.submit()

    def set_image(self, path: str | None, *, submit: bool = True) -> None:
        """Put an image in the query (or remove it with ``None``)."""
        self.chip.set_path(path)
        if submit:
            self.submit()

    def clear_image(self) -> None:
        self.set_image(None)

    def submit(self) -> None:
        """Search now, without waiting for the debounce timer."""
        self._timer.stop()
        self._emit(force=True)

    def focus_search(self) -> None:
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.selectAll()

    @property
    def debouncing(self) -> bool:
        return self._timer.isActive()

    def _emit(self, force: bool = False) -> None:
        query = (self.edit.text().strip(), self.chip.path)
        if not force and query == self._last[:2]:
            return
        self._last = (*query, self.order())
        self.queryChanged.emit(*query)
