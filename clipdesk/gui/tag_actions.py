"""The window's tag actions: teaching a tag from the selected photos, editing the
vocabulary, and keeping the tag names and the detail view's tags current.

The window routes its menus, shortcuts and the side panel's requests here; the changes
themselves go to the service (and so to the library's writer lane), and the dialogs
only ask the user for what a request left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from clipdesk.gui.jobs import photo_tags, tag_names

if TYPE_CHECKING:
    from clipdesk.gui.detail_view import DetailView
    from clipdesk.gui.service import LibraryService

__all__ = ["ASK", "TagActions"]

ASK = object()  # edit: ask the user


class TagActions(QObject):
    """Tags as the window handles them (see the module docstring)."""

    def __init__(
        self,
        window: QWidget,
        service: LibraryService,
        *,
        selected_paths: Callable[[], list[str]],
        detail: Callable[[], DetailView | None],
        show_message: Callable[[str, int], None],
    ) -> None:
        super().__init__(window)
        self._window = window  # the dialogs' parent
        self._service = service
        self._selected_paths = selected_paths
        self._detail = detail  # the detail view exists once a photo was opened
        self._show_message = show_message
        self.names: list[str] = []  # the vocabulary, for completing a typed tag

    def refresh_names(self) -> None:
        library = self._service.library
        if library is not None:
            self._service.run_task(tag_names, library, done=self._set_names)

    def _set_names(self, names: list[str]) -> None:
        self.names = names
        detail = self._detail()
        if detail is not None:
            detail.tag_editor.set_vocabulary(names)

    def reload_detail_tags(self, path: str) -> None:
        """Show ``path``'s tags again in the detail view, if it still shows that photo."""
        detail, library = self._detail(), self._service.library
        if detail is None or library is None or detail.hit is None or detail.hit.path != path:
            return
        self._service.run_task(
            photo_tags, library, path, done=lambda result: detail.set_tags(*result)
        )

    def teach_selected(self, name: str | None = None) -> None:
        """Teach a tag from the selected photos ("our dog Rex" from five of them)."""
        paths = self._selected_paths()
        if not paths:
            return
        if name is None:
            name = self._ask_name(len(paths))
        if name:
            self._service.teach_tag(name, paths)
            self._show_message(
                f"Tagged {len(paths)} photo{'s' if len(paths) != 1 else ''} as {name}; "
                "learning the tag for the rest of the library…",
                8000,
            )

    def edit(self, action: str, tag: str | None = None, value: object = ASK) -> None:
        """Add, rename, describe or remove a tag; the user is asked for what is missing."""
        if value is ASK:
            asked = self._ask_edit(action, tag)
            if asked is None:
                return  # the user changed their mind
            tag, value = asked
        if tag:
            self._service.edit_vocabulary(action, tag, value)  # type: ignore[arg-type]

    def _ask_name(self, count: int) -> str:
        from PySide6.QtWidgets import QInputDialog

        name, ok = QInputDialog.getItem(
            self._window,
            "Tag photos",
            f"Tag for the {count} selected photo{'s' if count != 1 else ''} "
            "(a new name makes a tag of your own):",
            self.names,
            editable=True,
        )
        return name.strip() if ok else ""

    def _ask_edit(self, action: str, tag: str | None) -> tuple[str, str | None] | None:
        from PySide6.QtWidgets import QInputDialog, QMessageBox

        parent = self._window
        if action == "add":
            name, ok = QInputDialog.getText(parent, "New tag", "Name of the new tag:")
            return (name.strip(), None) if ok and name.strip() else None
        if tag is None:
            return None
        if action == "rename":
            name, ok = QInputDialog.getText(parent, "Rename tag", f"New name for {tag}:", text=tag)
            return (tag, name.strip()) if ok and name.strip() and name.strip() != tag else None
        if action == "describe":
            words, ok = QInputDialog.getText(
                parent,
                "Describe a tag",
                f"How to describe {tag} to the model (phrases separated by ';'; empty: its name):",
            )
            return (tag, words.strip() or None) if ok else None
        answer = QMessageBox.question(
            parent, "Remove tag", f"Remove the tag {tag} from every photo?"
        )
        return (tag, None) if answer == QMessageBox.StandardButton.Yes else None
