"""The search box's suggestions: operators, then the library's places, cameras and words.

A QCompleter over a list model that is refilled as the user types with the core's
``suggestions.complete`` (whole queries ending in the completed word), so choosing one
keeps what was typed before it. The library's suggestions arrive from a worker.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QLineEdit

from clipdesk.core.search.suggestions import Suggestions, complete


class QueryCompleter(QObject):
    """Completes the last word of ``edit``; ``set_suggestions`` when the library changes."""

    def __init__(self, edit: QLineEdit) -> None:
        super().__init__(edit)
        self.edit = edit
        self.suggestions = Suggestions()
        self.model = QStringListModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setWidget(edit)
        self.completer.activated.connect(self._chosen)
        edit.textEdited.connect(self.update)

    def set_suggestions(self, suggestions: Suggestions) -> None:
        self.suggestions = suggestions

    def offers(self) -> list[str]:
        return self.model.stringList()

    def update(self, text: str) -> None:
        """Offer completions of what is typed now (nothing when the last word is done)."""
        offers = complete(text, self.suggestions) if not text.endswith(" ") else []
        self.model.setStringList(offers)
        if offers and self.edit.hasFocus():
            self.completer.complete()
        else:
            self.completer.popup().hide()

    def _chosen(self, text: str) -> None:
        self.edit.setText(text if text.endswith(":") else text + " ")
        self.edit.textEdited.emit(self.edit.text())
