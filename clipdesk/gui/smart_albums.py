"""Smart albums: searches the user saved, listed in the side panel.

An album is its query (operators and words, as typed in the search box), not a list of
photos: choosing one runs it again, and while it is shown the window runs it again
whenever photos come, change or go, so it fills up as new photos arrive. The queries
are kept in the window's settings.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QVBoxLayout,
    QWidget,
)


class AlbumsPanel(QWidget):
    """Saved searches; a click runs one, a right click removes one. Hidden while there
    are none (the search bar's "Save" button makes the first)."""

    chosen = Signal(str)  # the album's query
    removeRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel("SMART ALBUMS")
        title.setObjectName("panelTitle")
        layout.addWidget(title)
        self.list = QListWidget()
        self.list.setObjectName("albumsList")
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemClicked.connect(lambda item: self.chosen.emit(item.text()))
        layout.addWidget(self.list, 1)
        self.setVisible(False)

    def set_albums(self, queries: list[str]) -> None:
        self.list.clear()
        for query in queries:
            self.list.addItem(QListWidgetItem(query))
        self.setVisible(bool(queries))

    def albums(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _menu(self, point) -> None:  # type: ignore[no-untyped-def]
        item = self.list.itemAt(point)
        if item is None:
            return
        menu = QMenu(self)
        remove = menu.addAction("Remove album")
        if menu.exec(self.list.mapToGlobal(point)) is remove:
            self.removeRequested.emit(item.text())
