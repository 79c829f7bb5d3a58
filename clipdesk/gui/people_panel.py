"""The side panel's People: each person's cover face and name; a click shows their photos.

The covers are cut from the photos off the GUI thread (``cover_faces``, run with the
library's state) and arrive as PNG bytes; the panel only turns them into icons.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

ICON = 48
RefRole = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class PersonEntry:
    """A person as the panel shows them: the id, a label, photos, the cover as PNG."""

    id: int
    label: str
    photos: int
    cover_png: bytes | None


def cover_faces(people: Sequence[object], limit: int = 60) -> list[PersonEntry]:
    """Entries for the panel, each cover face cut from its photo (in a worker thread)."""
    from PIL import Image

    from clipdesk.core.imageio import read_image

    out: list[PersonEntry] = []
    for person in list(people)[:limit]:
        png = None
        path, box = person.cover_path, person.cover_box  # type: ignore[attr-defined]
        if path is not None and box is not None:
            try:
                image = read_image(path, target_size=ICON * 4).image
                w, h = image.size
                face = image.crop((box[0] * w, box[1] * h, box[2] * w, box[3] * h))
                face = face.resize((ICON, ICON), Image.Resampling.BILINEAR)
                buffer = io.BytesIO()
                face.save(buffer, "PNG")
                png = buffer.getvalue()
            except Exception:  # a photo gone or unreadable since: the name still shows
                png = None
        out.append(PersonEntry(person.id, person.label, person.photos, png))  # type: ignore[attr-defined]
    return out


class PeoplePanel(QWidget):
    """People with their cover faces; clicking one limits the results to their photos,
    clicking them again clears it. Hidden while nobody has been found."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel("People")
        title.setObjectName("panelTitle")
        layout.addWidget(title)
        self.list = QListWidget()
        self.list.setObjectName("peopleList")
        self.list.setIconSize(QSize(ICON, ICON))
        layout.addWidget(self.list, 1)
        self.list.itemClicked.connect(self._clicked)
        self._selected: str | None = None
        self.setVisible(False)

    def selected(self) -> str | None:
        """The selected person as a search names them (their id), or None."""
        return self._selected

    def select(self, ref: str | None) -> None:
        if ref != self._selected:
            self._selected = ref
            self._mark()
            self.changed.emit()

    def set_people(self, people: Sequence[PersonEntry]) -> None:
        self.list.clear()
        for person in people:
            item = QListWidgetItem(f"{person.label}  ({person.photos:,})")
            item.setData(RefRole, str(person.id))
            if person.cover_png:
                pixmap = QPixmap()
                pixmap.loadFromData(person.cover_png, "PNG")
                item.setIcon(QIcon(pixmap))
            self.list.addItem(item)
        self._mark()
        self.setVisible(bool(people))
        if self._selected is not None and self._selected not in {str(p.id) for p in people}:
            self.select(None)

    def _clicked(self, item: QListWidgetItem) -> None:
        ref = item.data(RefRole)
        self.select(None if ref == self._selected else ref)

    def _mark(self) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            font = item.font()
            font.setBold(item.data(RefRole) == self._selected)
            item.setFont(font)
        if self._selected is None:
            self.list.clearSelection()
