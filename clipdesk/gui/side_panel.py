"""The side panel: watched folders with their state, tags (when available), filters."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import time
from collections.abc import Sequence

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from clipdesk.core.progress import Progress
from clipdesk.gui.jobs import RootInfo
from clipdesk.gui.people_panel import PeoplePanel
from clipdesk.gui.smart_albums import AlbumsPanel

# Labels of the file-type filter and the core's type names (core.search.FILE_TYPES).
FILE_TYPES: dict[str, tuple[str, ...]] = {
    "Any type": (),
    "JPEG": ("jpeg",),
    "PNG": ("png",),
    "HEIC / HEIF": ("heic",),
    "WebP": ("webp",),
    "TIFF": ("tiff",),
    "GIF": ("gif",),
}
PathRole = Qt.ItemDataRole.UserRole + 1


def _ago(when: float | None) -> str:
    if not when:
        return "not scanned yet"
    seconds = max(0, time.time() - when)
    if seconds < 90:
        return "scanned just now"
    if seconds < 5400:
        return f"scanned {round(seconds / 60)} min ago"
    if seconds < 172800:
        return f"scanned {round(seconds / 3600)} h ago"
    return f"scanned {round(seconds / 86400)} days ago"


def _title(text: str) -> QLabel:
    label = QLabel(text.upper())
    label.setObjectName("panelTitle")
    return label


class FoldersPanel(QWidget):
    """Watched folders: add, remove, photo counts, scanning/indexing/offline state."""

    addRequested = Signal(str)
    removeRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_title("Folders"))
        self.list = QListWidget()
        self.list.setObjectName("foldersList")
        self.list.setWordWrap(True)
        self.list.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        layout.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add folder…")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setEnabled(False)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(self._choose_folder)
        self.remove_button.clicked.connect(self._remove_selected)
        self.list.currentItemChanged.connect(
            lambda item, _prev: self.remove_button.setEnabled(item is not None)
        )
        self._roots: list[RootInfo] = []
        self._activity: dict[str, str] = {}  # path -> what is happening to it now

    def set_roots(self, roots: Sequence[RootInfo]) -> None:
        self._roots = list(roots)
        self._render()

    def roots(self) -> list[RootInfo]:
        return list(self._roots)

    def activity(self) -> dict[str, str]:
        return dict(self._activity)

    def set_activity(self, activity: dict[str, str]) -> None:
        """Per-folder state while a job runs (``{}`` when it ends)."""
        self._activity = dict(activity)
        self._render()

    def state_of(self, path: str) -> str:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(PathRole) == path:
                return item.text().split("\n", 1)[-1]
        return ""

    def _render(self) -> None:
        current = self.list.currentItem()
        selected = current.data(PathRole) if current is not None else None
        self.list.clear()
        style = self.style()
        known = {r.path for r in self._roots}
        entries = [(r.path, r) for r in self._roots]
        entries += [(path, None) for path in self._activity if path not in known]
        for path, root in entries:
            if path in self._activity:
                state = self._activity[path]
            elif root is not None and not root.online:
                state = f"offline · {root.photos:,} photos kept"
            elif root is not None:
                state = f"{root.photos:,} photos · {_ago(root.last_scan_at)}"
            else:
                state = ""
            name = os.path.basename(path.rstrip(os.sep)) or path
            item = QListWidgetItem(f"{name}\n{state}")
            offline = root is not None and not root.online
            icon = (
                QStyle.StandardPixmap.SP_DriveNetIcon
                if offline
                else QStyle.StandardPixmap.SP_DirIcon
            )
            item.setIcon(style.standardIcon(icon))
            item.setToolTip(
                path + ("\n(offline: the drive or share is not reachable)" if offline else "")
            )
            item.setData(PathRole, path)
            self.list.addItem(item)
            if path == selected:
                self.list.setCurrentItem(item)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if folder:
            self.addRequested.emit(folder)

    def _remove_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.removeRequested.emit(item.data(PathRole))


class TagsPanel(QWidget):
    """Tags with counts; clicking one filters the results to it, clicking it again
    clears the filter. A right click renames a tag, describes it to the model in other
    words, or removes it; "New tag…" adds one. Hidden while no photo carries a tag."""

    changed = Signal()
    editRequested = Signal(str, str)  # action ("rename" | "describe" | "remove"), tag
    newRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_title("Tags"))
        self.list = QListWidget()
        self.list.setObjectName("tagsList")
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        layout.addWidget(self.list, 1)
        self.new_button = QPushButton("New tag…")
        self.new_button.setToolTip("Add a tag to the vocabulary; clipdesk looks for it")
        self.new_button.clicked.connect(self.newRequested)
        layout.addWidget(self.new_button)
        self.list.itemClicked.connect(self._clicked)
        self._selected: str | None = None
        self.setVisible(False)

    @staticmethod
    def available() -> bool:
        """Whether this clipdesk has a tags module at all."""
        return importlib.util.find_spec("clipdesk.core.tags") is not None

    def selected(self) -> str | None:
        return self._selected

    def select(self, name: str | None) -> None:
        if name != self._selected:
            self._selected = name
            self._mark()
            self.changed.emit()

    def set_tags(self, tags: Sequence[tuple[str, int]]) -> None:
        self.list.clear()
        for name, count in tags:
            item = QListWidgetItem(f"{name}  ({count:,})")
            item.setData(PathRole, name)
            self.list.addItem(item)
        self._mark()
        self.setVisible(bool(tags))
        if self._selected is not None and self._selected not in {n for n, _ in tags}:
            self.select(None)

    def _clicked(self, item: QListWidgetItem) -> None:
        name = item.data(PathRole)
        self.select(None if name == self._selected else name)

    def _menu(self, pos) -> None:  # type: ignore[no-untyped-def]
        item = self.list.itemAt(pos)
        if item is None:
            return
        name = item.data(PathRole)
        menu = QMenu(self)
        for action, text in (
            ("rename", "Rename…"),
            ("describe", "Describe to the model…"),
            ("remove", "Remove tag"),
        ):
            menu.addAction(text, lambda a=action: self.editRequested.emit(a, name))
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def _mark(self) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            font = item.font()
            font.setBold(item.data(PathRole) == self._selected)
            item.setFont(font)
        if self._selected is None:
            self.list.clearSelection()


class FiltersPanel(QWidget):
    """Folder, date range and file type; the search runs again when one changes."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_title("Filters"))
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        self.folder = QComboBox()
        self.folder.addItem("All folders", None)
        self.use_dates = QCheckBox("Taken between")
        self.date_from = QDateEdit(QDate.currentDate().addYears(-1))
        self.date_to = QDateEdit(QDate.currentDate())
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
            edit.dateChanged.connect(self._dates_changed)
        self.file_type = QComboBox()
        for label in FILE_TYPES:
            self.file_type.addItem(label)
        form.addRow("Folder", self.folder)
        form.addRow(self.use_dates)
        form.addRow("from", self.date_from)
        form.addRow("to", self.date_to)
        form.addRow("Type", self.file_type)
        layout.addLayout(form)
        self.folder.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.file_type.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.use_dates.toggled.connect(self._toggle_dates)

    def set_folders(self, folders: Sequence[str]) -> None:
        current = self.folder.currentData()
        self.folder.blockSignals(True)
        self.folder.clear()
        self.folder.addItem("All folders", None)
        for path in folders:
            self.folder.addItem(os.path.basename(path.rstrip(os.sep)) or path, path)
        found = self.folder.findData(current)
        self.folder.setCurrentIndex(max(0, found))
        self.folder.blockSignals(False)
        if current is not None and found < 0:
            self.changed.emit()

    def values(self) -> dict[str, object]:
        """The filters as keyword arguments for :class:`SearchRequest`."""
        date_from = date_to = None
        if self.use_dates.isChecked():
            start = self.date_from.date().toPython()
            end = self.date_to.date().toPython() + dt.timedelta(days=1)
            date_from = dt.datetime.combine(start, dt.time()).timestamp()
            date_to = dt.datetime.combine(end, dt.time()).timestamp()
        return {
            "folder": self.folder.currentData(),
            "date_from": date_from,
            "date_to": date_to,
            "types": FILE_TYPES[self.file_type.currentText()],
        }

    def _toggle_dates(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self.changed.emit()

    def _dates_changed(self) -> None:
        if self.use_dates.isChecked():
            self.changed.emit()


class SidePanel(QWidget):
    """Folders, smart albums, people, tags and filters stacked in one column."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidePanel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(14)
        self.folders = FoldersPanel()
        self.people = PeoplePanel()
        self.tags = TagsPanel()
        self.filters = FiltersPanel()
        self.albums = AlbumsPanel()
        layout.addWidget(self.folders, 3)
        layout.addWidget(self.albums, 1)
        layout.addWidget(self.people, 2)
        layout.addWidget(self.tags, 2)
        layout.addWidget(self.filters, 0)


def progress_text(progress: Progress) -> str:
    """A folder's state line while a job works on it."""
    if progress.stage == "scan":
        return f"scanning… {progress.done:,} files"
    if progress.stage == "embed" and progress.total:
        return f"indexing {progress.done:,} / {progress.total:,}"
    if progress.stage == "read" and progress.total:
        return f"searchable; reading text and faces {progress.done:,} / {progress.total:,}"
    return "waiting"
