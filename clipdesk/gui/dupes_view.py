"""The near-duplicates window: groups of copies (bursts, edits, re-saves), keeper first.

The search runs in the service (``find_duplicates``, cancellable, with progress); this
window shows its groups as a tree of thumbnails. It never deletes anything: the user
opens or reveals a photo and decides in their own file manager.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from clipdesk.core.dupes import DEFAULT_THRESHOLD
from clipdesk.gui import desktop

if TYPE_CHECKING:
    from clipdesk.core.dupes import DupeGroup, DupePhoto, DupeReport
    from clipdesk.core.progress import Progress
    from clipdesk.gui.service import LibraryService
    from clipdesk.gui.thumbnails import ThumbnailLoader

ICON_SIZE = 96
PathRole = Qt.ItemDataRole.UserRole + 1


def group_title(number: int, group: DupeGroup) -> str:
    return f"Group {number} · {len(group.photos)} photos · similarity {group.similarity:.3f}"


def photo_text(photo: DupePhoto, keeper: bool) -> list[str]:
    """The columns of one photo: name (and "keep"), dimensions, file size, likeness."""
    size = f"{photo.width} \u00d7 {photo.height}" if photo.width and photo.height else "?"
    kilobytes = f"{photo.size / 1000:,.0f} kB"
    match = "" if photo.match is None else f"{photo.match:.3f}"
    name = os.path.basename(photo.path) + ("  (keep)" if keeper else "")
    return [name, size, kilobytes, f"{photo.similarity:.3f}", match]


def summary(report: DupeReport) -> str:
    if not report.groups:
        return f"No near-duplicates among {report.photos:,} photos."
    groups = len(report.groups)
    copies = sum(len(g.photos) - 1 for g in report.groups)
    return (
        f"{groups:,} group{'s' if groups != 1 else ''}: {copies:,} of {report.photos:,} "
        f"photos are copies of another. The first of each group has the most pixels (then "
        "the largest file) and is the one to keep; nothing is deleted here."
    )


class DuplicatesDialog(QDialog):
    """Runs the service's duplicate search and shows its groups."""

    def __init__(
        self, service: LibraryService, loader: ThumbnailLoader, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("duplicatesDialog")
        self.setWindowTitle("Near-duplicates")
        self.resize(900, 640)
        self.service = service
        self.loader = loader
        self.report: DupeReport | None = None
        layout = QVBoxLayout(self)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Similarity at least"))
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.80, 1.0)
        self.threshold.setSingleStep(0.01)
        self.threshold.setDecimals(2)
        self.threshold.setValue(DEFAULT_THRESHOLD)
        self.threshold.setToolTip(
            "How alike two photos' embeddings must be for a burst or an edit; exact "
            "copies, re-saves, resized and slightly cropped copies are found at any value."
        )
        controls.addWidget(self.threshold)
        self.search_button = QPushButton("Search again")
        self.cancel_button = QPushButton("Stop")
        controls.addWidget(self.search_button)
        controls.addWidget(self.cancel_button)
        controls.addStretch(1)
        layout.addLayout(controls)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(10)
        layout.addWidget(self.progress)
        self.tree = QTreeWidget()
        self.tree.setObjectName("duplicateGroups")
        self.tree.setHeaderLabels(["Photo", "Dimensions", "File", "Similarity", "Pixel match"])
        self.tree.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.tree.setColumnWidth(0, 380)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        layout.addWidget(self.tree, 1)
        self.search_button.clicked.connect(self.search)
        self.cancel_button.clicked.connect(service.cancel_duplicates)
        self.tree.itemDoubleClicked.connect(self._open)
        self.tree.customContextMenuRequested.connect(self._menu)
        service.dupesProgress.connect(self._on_progress)
        service.dupesFinished.connect(self._on_finished)
        loader.ready.connect(self._on_thumbnail)
        self._items: dict[str, list[QTreeWidgetItem]] = {}

    def search(self) -> None:
        """Start (or restart) the search with the threshold shown."""
        self.tree.clear()
        self._items.clear()
        self.report = None
        self.status.setText("Looking for near-duplicates…")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.search_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.service.find_duplicates(self.threshold.value())

    def _on_progress(self, progress: Progress) -> None:
        if progress.total:
            self.progress.setRange(0, progress.total)
            self.progress.setValue(progress.done)
        if progress.message:
            self.status.setText(f"Looking for near-duplicates: {progress.message}…")

    def _on_finished(self, report: DupeReport | None) -> None:
        self.search_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.hide()
        if report is None:
            self.status.setText("Stopped before it finished.")
            return
        self.report = report
        self.status.setText(summary(report))
        for number, group in enumerate(report.groups, 1):
            top = QTreeWidgetItem([group_title(number, group)])
            self.tree.addTopLevelItem(top)
            for i, photo in enumerate(group.photos):
                item = QTreeWidgetItem(photo_text(photo, keeper=i == 0))
                item.setData(0, PathRole, photo.path)
                item.setToolTip(0, photo.path)
                top.addChild(item)
                self._items.setdefault(photo.path, []).append(item)
                self._set_icon(photo.path)
            top.setExpanded(True)

    def _set_icon(self, path: str) -> None:
        image = self.loader.image(path)
        if image is None:
            self.loader.request(path)
            return
        icon = QIcon(QPixmap.fromImage(image))
        for item in self._items.get(path, []):
            item.setIcon(0, icon)

    def _on_thumbnail(self, path: str) -> None:
        if path in self._items:
            self._set_icon(path)

    def selected_path(self) -> str | None:
        item = self.tree.currentItem()
        return None if item is None else item.data(0, PathRole)

    def _open(self, item: QTreeWidgetItem) -> None:
        path = item.data(0, PathRole)
        if path:
            desktop.open_file(path)

    def _menu(self, pos) -> None:  # type: ignore[no-untyped-def]
        item = self.tree.itemAt(pos)
        path = None if item is None else item.data(0, PathRole)
        if not path:
            return
        menu = QMenu(self)
        menu.addAction("Open", lambda: desktop.open_file(path))
        menu.addAction("Show in folder", lambda: desktop.reveal_file(path))
        menu.addAction("Copy path", lambda: desktop.copy_text(path))
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    def done(self, result: int) -> None:
        self.service.cancel_duplicates()
        super().done(result)
