"""A photo's tags in the detail view, each with the user's yes / no, and a field to add one.

Saying yes to a tag makes it the user's own (no model takes it off again), no takes it
off for good, and undo hands the decision back to the models. A name that is not in the
vocabulary yet becomes a custom tag taught by this photo. The editor only emits the
user's word; the window passes it to the service, which re-tags in the background.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from clipdesk.core.tags.service import PhotoTag

MAX_ROWS = 12
SOURCE_WORDS = {"manual": "yours", "learned": "learned", "zero-shot": "found"}


def describe_tag(tag: PhotoTag) -> str:
    """``dog · found 0.83``: the tag, who decided it and how sure the model is."""
    if tag.rejected:
        return f"{tag.name} · not on this photo"
    value = tag.strength
    words = SOURCE_WORDS.get(tag.source, tag.source)
    return f"{tag.name} · {words}" + (f" {value:.2f}" if value is not None else "")


class _TagRow(QWidget):
    def __init__(self, tag: PhotoTag, editor: PhotoTagsEditor) -> None:
        super().__init__(editor)
        self.tag = tag
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(describe_tag(tag))
        self.label.setToolTip(_tooltip(tag))
        if tag.rejected:
            font = self.label.font()
            font.setStrikeOut(True)
            self.label.setFont(font)
            self.label.setEnabled(False)
        layout.addWidget(self.label, 1)
        self.buttons: dict[str, QToolButton] = {}
        choices = [("forget", "Undo", "Let clipdesk decide this tag again")]
        if not tag.rejected:
            choices = [("no", "\u2717", f"This photo does not show {tag.name}")]
            if tag.source != "manual":
                choices.insert(0, ("yes", "\u2713", f"Yes, this photo shows {tag.name}"))
            else:
                choices.append(("forget", "Undo", "Let clipdesk decide this tag again"))
        for decision, text, tip in choices:
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.setAutoRaise(True)
            button.clicked.connect(lambda _=False, d=decision: editor.decided.emit(tag.name, d))
            layout.addWidget(button)
            self.buttons[decision] = button


def _tooltip(tag: PhotoTag) -> str:
    if tag.rejected:
        return "You said this photo does not show it; no model will put it back."
    if tag.source == "manual":
        return "You said this photo shows it; no model will take it off."
    if tag.source == "learned":
        return "Learned from the photos you confirmed and rejected."
    return "Found by the model, with a threshold read from your library."


class PhotoTagsEditor(QWidget):
    """The tags of one photo with yes / no / undo, and a field to add a tag."""

    decided = Signal(str, str)  # tag name, "yes" | "no" | "forget"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.heading = QLabel("Tags")
        self.heading.setObjectName("sectionTitle")
        layout.addWidget(self.heading)
        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(0)
        layout.addLayout(self.rows_box)
        self.more = QLabel()
        self.more.hide()
        layout.addWidget(self.more)
        self.add_field = QLineEdit()
        self.add_field.setObjectName("addTagField")
        self.add_field.setPlaceholderText("Add a tag to this photo…")
        self.add_field.setClearButtonEnabled(True)
        self._names = QStringListModel([])
        completer = QCompleter(self._names, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.add_field.setCompleter(completer)
        self.add_field.returnPressed.connect(self._add)
        layout.addWidget(self.add_field)
        self.rows: list[_TagRow] = []

    def set_vocabulary(self, names: Sequence[str]) -> None:
        self._names.setStringList(list(names))

    def clear(self) -> None:
        self.set_tags([])

    def set_tags(self, tags: Sequence[PhotoTag]) -> None:
        """Show ``tags``: the ones on the photo, most confident first, then rejected ones."""
        for row in self.rows:
            self.rows_box.removeWidget(row)
            row.deleteLater()
        on = [t for t in tags if not t.rejected]
        off = [t for t in tags if t.rejected]
        shown = (on + off)[:MAX_ROWS]
        self.rows = [_TagRow(tag, self) for tag in shown]
        for row in self.rows:
            self.rows_box.addWidget(row)
            row.show()  # now, not on the layout's next turn of the event loop
        hidden = len(tags) - len(shown)
        self.more.setText(f"and {hidden} more" if hidden else "")
        self.more.setVisible(bool(hidden))
        self.heading.setText("Tags" if tags else "Tags: none yet")

    def row(self, name: str) -> _TagRow | None:
        return next((r for r in self.rows if r.tag.name.casefold() == name.casefold()), None)

    def _add(self) -> None:
        name = self.add_field.text().strip()
        if name:
            self.add_field.clear()
            self.decided.emit(name, "yes")
