"""The main window: search bar on top, folders and filters on the left, results grid.

The window only arranges widgets and routes signals; the work happens in
:class:`LibraryService` (library) and :class:`ThumbnailLoader` (thumbnails).
"""

from __future__ import annotations

import os
import time

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMainWindow,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from clipdesk.core.mediatypes import is_video_path
from clipdesk.core.progress import Progress
from clipdesk.gui import desktop, drops
from clipdesk.gui.detail_view import PREVIEW_SIZE, DetailView, load_preview
from clipdesk.gui.dupes_view import DuplicatesDialog
from clipdesk.gui.jobs import RootInfo, SearchOutcome, SearchRequest, photo_faces
from clipdesk.gui.reader_models import ReaderModelsOffer
from clipdesk.gui.results_model import HitRole, ResultsModel
from clipdesk.gui.results_pager import ResultsPager
from clipdesk.gui.results_view import MoreBar, ResultsView
from clipdesk.gui.scene_strip import load_scenes
from clipdesk.gui.search_bar import SearchBar
from clipdesk.gui.service import LibraryService
from clipdesk.gui.settings import Settings
from clipdesk.gui.side_panel import SidePanel, progress_text
from clipdesk.gui.status_bar import AppStatusBar
from clipdesk.gui.tag_actions import ASK, TagActions
from clipdesk.gui.text_marks import photo_text
from clipdesk.gui.thumbnails import ThumbnailCache, ThumbnailLoader


class MainWindow(QMainWindow):
    """The clipdesk window; ``service`` is its only way to the library."""

    resultsShown = Signal(object)  # SearchOutcome, after the grid was filled
    settingsRequested = Signal()
    albumsChanged = Signal()  # the smart albums in ``settings`` changed: save them

    def __init__(self, service: LibraryService, settings: Settings | None = None) -> None:
        super().__init__()
        self.service = service
        self.settings = settings or Settings()
        self.setWindowTitle("clipdesk")
        self.resize(1280, 820)
        self.setAcceptDrops(True)
        self.loader = ThumbnailLoader(
            ThumbnailCache(size=256),
            display_size=round(self.settings.thumbnail_size * self.devicePixelRatioF()),
            parent=self,
        )
        self.model = ResultsModel(self.loader, self)
        self.view = ResultsView(self.settings.thumbnail_size)
        self.view.setObjectName("resultsView")
        self.view.setModel(self.model)
        self.search_bar = SearchBar(self.loader)
        self.side = SidePanel()
        self.more_bar = MoreBar()
        self.status = AppStatusBar()
        self.setStatusBar(self.status)
        self.detail: DetailView | None = None
        self.duplicates: DuplicatesDialog | None = None
        self.image_input = drops.ImageInput(
            service, self.search_similar, lambda text: self.status.showMessage(text, 3000)
        )
        self._build_layout()
        self.pager = ResultsPager(self.model, self.more_bar, lambda: self.settings.results_per_page)
        self._roots: list[RootInfo] = []
        self._status: dict[str, object] = {}
        self._indexing_folders: list[str] = []
        self._model_ready = False
        self.tag_actions = TagActions(
            self,
            service,
            selected_paths=self.view.selected_paths,
            detail=lambda: self.detail,
            show_message=self.status.showMessage,
        )
        self.reader_offer = ReaderModelsOffer(
            self, reindex=service.index, say=lambda text: self.status.showMessage(text, 8000)
        )
        self._watch_text_shown = False
        self._last_stage, self._last_render = "", 0.0
        self._connect()
        self.view.set_empty_message("Opening your library…")

    # -- building -----------------------------------------------------------------------

    def _build_layout(self) -> None:
        top = QWidget()
        top.setObjectName("topBar")
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(12, 10, 12, 10)
        top_layout.addWidget(self.search_bar, 1)
        self.dupes_button = QPushButton("Duplicates")
        self.dupes_button.setObjectName("toolButton")
        self.dupes_button.setToolTip("Find near-duplicate photos: bursts, edits, re-saves")
        top_layout.addWidget(self.dupes_button)
        self.settings_button = QPushButton("Settings")
        self.settings_button.setObjectName("toolButton")
        top_layout.addWidget(self.settings_button)
        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.setSpacing(0)
        results_layout.addWidget(self.view, 1)
        results_layout.addWidget(self.more_bar)
        splitter = QSplitter()
        splitter.addWidget(self.side)
        splitter.addWidget(results)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 1020])
        splitter.setHandleWidth(1)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(top)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

    def _connect(self) -> None:
        s = self.service
        s.opened.connect(self._on_opened)
        s.openFailed.connect(self._on_open_failed)
        s.modelReady.connect(self._on_model_ready)
        s.modelFailed.connect(lambda reason: self.status.model_label.setText("model unavailable"))
        s.modelFailed.connect(lambda reason: self.view.set_empty_message("No model", reason))
        s.stateChanged.connect(self._on_state)
        s.searchFinished.connect(self._on_search_finished)
        s.indexStarted.connect(self._on_index_started)
        s.indexProgress.connect(self._on_index_progress)
        s.indexFinished.connect(self._on_index_finished)
        s.indexPausedChanged.connect(self.status.set_paused)
        s.message.connect(lambda text: self.status.showMessage(text, 8000))
        self.search_bar.queryChanged.connect(lambda *_: self.new_search())
        self.side.folders.addRequested.connect(self.add_folder)
        self.side.folders.removeRequested.connect(s.remove_folder)
        self.side.filters.changed.connect(self.new_search)
        self.side.tags.changed.connect(self.new_search)
        self.side.people.changed.connect(self.new_search)
        self.side.albums.set_albums(self.settings.smart_albums)
        self.side.albums.chosen.connect(self.search_bar.set_text)
        self.search_bar.saveRequested.connect(self.save_album)
        self.side.albums.removeRequested.connect(self.remove_album)
        s.peopleChanged.connect(self.side.people.set_people)
        s.tagsChanged.connect(self.side.tags.set_tags)
        self.side.tags.editRequested.connect(self.edit_tag)
        self.side.tags.newRequested.connect(lambda: self.edit_tag("add"))
        s.tagsChanged.connect(lambda _: self.tag_actions.refresh_names())
        self.status.pauseToggled.connect(
            lambda pause: s.pause_index() if pause else s.resume_index()
        )
        self.status.cancelRequested.connect(s.cancel_index)
        self.more_bar.button.clicked.connect(self.show_more)
        self.view.previewRequested.connect(self.show_detail)
        self.view.openRequested.connect(self._open_index)
        self.settings_button.clicked.connect(self.settingsRequested)
        self.dupes_button.clicked.connect(self.show_duplicates)
        self.view.tagRequested.connect(self.tag_selected)
        s.tagProgress.connect(self._on_tag_progress)
        s.switchProgress.connect(self._on_switch_progress)
        s.tagsUpdated.connect(self._on_tags_updated)
        s.photoTagsChanged.connect(self._reload_detail_tags)
        s.photoFacesChanged.connect(self._reload_detail_faces)
        s.folderActivity.connect(self._on_folder_activity)
        s.libraryChanged.connect(self._on_library_changed)
        self.search_bar.edit.installEventFilter(self)
        for keys, slot in (
            (QKeySequence.StandardKey.Find, self.search_bar.focus_search),
            (QKeySequence.StandardKey.Paste, self.paste),
            (QKeySequence.StandardKey.Preferences, self.settingsRequested.emit),
            (QKeySequence("Ctrl+T"), lambda: self.tag_selected()),
        ):
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

    # -- searching ----------------------------------------------------------------------

    def current_request(self) -> SearchRequest:
        filters = self.side.filters.values()
        return SearchRequest(
            text=self.search_bar.text(),
            image=self.search_bar.image(),
            k=self.pager.k,
            excluded=tuple(self.settings.excluded_folders),
            tag=self.side.tags.selected(),
            person=self.side.people.selected(),
            sort=self.search_bar.order(),
            **filters,  # type: ignore[arg-type]
        )

    def new_search(self) -> None:
        """The query or the filters changed: start again from the first page."""
        self.pager.reset()
        self.run_search()

    def run_search(self) -> None:
        request = self.current_request()
        if not request.empty and self.model.rowCount() == 0:
            self.view.set_empty_message("Searching…")
        self.service.search(request)

    def search_similar(self, path: str) -> None:
        """Look for photos like ``path`` (keeps any typed text: they combine)."""
        self.search_bar.set_image(path)

    def show_more(self) -> None:
        if self.pager.more():  # everything fetched is shown: ask the library for more
            self.run_search()
        self.pager.update_bar()

    def _on_search_finished(self, outcome: SearchOutcome) -> None:
        self.pager.show(outcome)
        if outcome.error:
            self.view.set_empty_message("Search failed", outcome.error)
        elif outcome.request.empty:
            self._set_idle_message()
        elif not outcome.hits:
            detail = "Try other words, or remove a filter."
            if self.service.indexing:
                detail = "Indexing is still running: more photos become searchable soon."
            self.view.set_empty_message("Nothing found", detail)
        if outcome.request.empty or outcome.error:
            self.status.set_results_text("")
        else:
            found = len(outcome.hits)
            self.status.set_results_text(
                f"{found:,} result{'s' if found != 1 else ''} · {outcome.elapsed_s * 1000:.0f} ms"
            )
        for note in outcome.notes:
            self.status.showMessage(note, 8000)
        self.pager.update_bar()
        if self.model.rowCount():
            self.view.scrollToTop()
        self.resultsShown.emit(outcome)

    def _set_idle_message(self) -> None:
        indexed = int(self._status.get("indexed", 0) or 0)
        if not self._roots and not self._indexing_folders:
            self.view.set_empty_message(
                "No photos yet", "Add a folder of photos on the left to start."
            )
        else:
            self.view.set_empty_message(
                "Search your photos",
                f"{indexed:,} photos indexed. Type what you are looking for "
                '("a red circle", "a dog on the beach -people"), or drop a photo here '
                "to find its look-alikes.",
            )

    # -- library state and indexing -----------------------------------------------------

    def _on_model_ready(self, name: str, device: str) -> None:
        self._model_ready = True
        self.status.set_model(name, device)

    def _on_opened(self, status: dict[str, object]) -> None:
        self._status = status
        if not self._model_ready and status.get("model"):
            self.status.model_label.setText(f"{status.get('model')} · loading…")
        self._set_idle_message()
        self.run_search()

    def save_album(self) -> None:
        """Keep the query in the search box as a smart album (once)."""
        query = self.search_bar.text().strip()
        if query and query not in self.settings.smart_albums:
            self.settings.smart_albums.append(query)
            self.side.albums.set_albums(self.settings.smart_albums)
            self.albumsChanged.emit()

    def remove_album(self, query: str) -> None:
        if query in self.settings.smart_albums:
            self.settings.smart_albums.remove(query)
            self.side.albums.set_albums(self.settings.smart_albums)
            self.albumsChanged.emit()

    def _refresh_suggestions(self) -> None:
        """The places, cameras, words and tags the search box offers, read in a worker."""
        from clipdesk.core.search.suggestions import read_suggestions

        library = self.service.library
        if library is not None:
            tags = tuple(self.tag_actions.names)
            self.service.run_task(
                read_suggestions,
                library.catalog,
                tags,
                done=self.search_bar.completer.set_suggestions,
            )

    def _on_open_failed(self, reason: str) -> None:
        self.view.set_empty_message("Cannot open the library", reason)

    def _on_state(self, status: dict[str, object], roots: list[RootInfo]) -> None:
        self._status, self._roots = status, roots
        self._refresh_suggestions()
        self.side.folders.set_roots(roots)
        self.side.filters.set_folders([r.path for r in roots])
        self.status.set_library_text(f"{int(status.get('indexed', 0) or 0):,} photos")
        if self.model.rowCount() == 0 and self.current_request().empty:
            self._set_idle_message()

    def add_folder(self, folder: str) -> None:
        self.service.add_folder(folder)

    def _on_index_started(self, folders: list[str]) -> None:
        self._indexing_folders = [os.path.realpath(f) for f in folders]
        paths = [r.path for r in self._roots if r.online] + self._indexing_folders
        self.side.folders.set_activity({p: "waiting" for p in paths})
        self.status.set_progress(Progress("scan", 0, None))

    def _on_index_progress(self, progress: Progress) -> None:
        self.status.set_progress(progress)
        if progress.stage == "read" and progress.done == 0:
            # Every photo can be found now; text and faces come later.
            self.service.refresh_state()  # the photo count
            if not self.current_request().empty:
                self.run_search()
        # The folder list is rebuilt at most a few times a second, not once per photo.
        now = time.monotonic()
        final = progress.total is not None and progress.done >= progress.total
        if progress.stage == self._last_stage and not final and now - self._last_render < 0.25:
            return
        self._last_stage, self._last_render = progress.stage, now
        activity = self.side.folders.activity()
        if progress.stage == "scan" and progress.message:
            activity[progress.message] = progress_text(progress)
        elif progress.stage in ("embed", "read"):
            activity = dict.fromkeys(activity, progress_text(progress))
        self.side.folders.set_activity(activity)

    def _on_index_finished(self, report: object) -> None:
        self.reader_offer.offer(getattr(report, "models_missing", []))
        self._indexing_folders = []
        self.side.folders.set_activity({})
        cancelled = bool(getattr(report, "cancelled", False))
        done = getattr(report, "decoded", 0)
        self.status.set_idle(
            "Indexing cancelled" if cancelled else f"Indexing finished: {done:,} photos read"
        )
        if not self.current_request().empty:
            self.run_search()  # new photos may match

    def _on_folder_activity(self, text: str) -> None:
        """The watcher's work in the status bar; "up to date" clears only its own words."""
        if self.service.indexing or (not text and not self._watch_text_shown):
            return
        self._watch_text_shown = bool(text)
        self.status.set_idle(text)

    def _on_library_changed(self, report: object) -> None:
        """Photos came, changed or went on disk: the results may be different now."""
        self.reader_offer.offer(getattr(report, "models_missing", []))
        if not self.current_request().empty:
            self.run_search()

    # -- tags ---------------------------------------------------------------------------

    def _on_tag_progress(self, progress: Progress) -> None:
        if not self.service.indexing and progress.stage == "tag" and progress.total:
            self.status.set_idle(f"Finding tags… {progress.done:,} / {progress.total:,} tags")

    def _on_switch_progress(self, progress: Progress) -> None:
        if not self.service.indexing and progress.stage == "embed" and progress.total:
            self.status.set_idle(
                f"Preparing the new model… {progress.done:,} / {progress.total:,} photos "
                "(searches use the current one until then)"
            )

    def _on_tags_updated(self, report: object) -> None:
        if not self.service.indexing:
            cancelled = bool(getattr(report, "cancelled", False))
            if report is not None and not cancelled:
                self.status.set_idle(f"Tags updated for {report.photos:,} photos")
        if self.detail is not None and self.detail.hit is not None:
            self._reload_detail_tags(self.detail.hit.path)
        if self.side.tags.selected() is not None:
            self.run_search()  # which photos carry the tag may have changed

    def _reload_detail_tags(self, path: str) -> None:
        self.tag_actions.reload_detail_tags(path)

    def tag_selected(self, name: str | None = None) -> None:
        """Teach a tag from the selected photos ("our dog Rex" from five of them)."""
        self.tag_actions.teach_selected(name)

    def edit_tag(self, action: str, tag: str | None = None, value: object = ASK) -> None:
        """Add, rename, describe or remove a tag; the user is asked for what is missing."""
        self.tag_actions.edit(action, tag, value)

    def show_duplicates(self) -> None:
        """The near-duplicates window; the search starts when it first opens."""
        if self.duplicates is None:
            self.duplicates = DuplicatesDialog(self.service, self.loader, self)
        self.duplicates.show()
        self.duplicates.raise_()
        if self.duplicates.report is None and self.duplicates.search_button.isEnabled():
            self.duplicates.search()

    # -- detail view and actions --------------------------------------------------------

    def show_detail(self, index: QModelIndex) -> None:
        hit = index.data(HitRole)
        if hit is None:
            return
        if self.detail is None:
            self.detail = DetailView(self)
            self.detail.previewWanted.connect(self._load_preview)
            self.detail.findSimilar.connect(self.search_similar)
            self.detail.stepRequested.connect(self._step_detail)
            self.detail.tagDecided.connect(self.service.decide_tag)
            self.detail.faceClicked.connect(self._name_face)
            self.detail.tag_editor.set_vocabulary(self.tag_actions.names)
        self.detail.show_hit(hit)
        self.detail.show()
        self.detail.raise_()

    def _load_preview(self, path: str, at: float | None = None) -> None:
        detail = self.detail
        library = self.service.library
        if detail is None:
            return
        self.service.run_task(load_preview, path, PREVIEW_SIZE, at, done=detail.set_preview)
        if library is not None and is_video_path(path):
            self.service.run_task(load_scenes, library, path, done=lambda r: detail.set_scenes(*r))
        if library is not None:
            self._reload_detail_tags(path)
            self._reload_detail_faces(path)
            self.service.run_task(photo_text, library, path, done=lambda r: detail.set_text(*r))

    def _reload_detail_faces(self, path: str) -> None:
        detail, library = self.detail, self.service.library
        if detail is not None and library is not None:
            self.service.run_task(photo_faces, library, path, done=lambda r: detail.set_faces(*r))

    def _name_face(self, path: str, face: object) -> None:
        """A click on a face: who is it? The name typed (new or known) is the user's word."""
        from clipdesk.gui.face_marks import face_label

        current = face_label(face)  # type: ignore[arg-type]
        name = self.ask_face_name("" if current == "?" else current)
        if name and name.strip():
            self.service.name_face(path, face.id, name.strip())  # type: ignore[attr-defined]

    def ask_face_name(self, current: str) -> str | None:
        """Ask who a face is (a modal question; tests answer it themselves)."""
        from PySide6.QtWidgets import QInputDialog

        name, ok = QInputDialog.getText(self, "Who is this?", "Name:", text=current)
        return name if ok else None

    def _step_detail(self, step: int) -> None:
        row = self.view.currentIndex().row() + step
        if 0 <= row < self.model.rowCount():
            index = self.model.index(row)
            self.view.setCurrentIndex(index)
            self.show_detail(index)

    def _open_index(self, index: QModelIndex) -> None:
        hit = index.data(HitRole)
        if hit is not None:
            desktop.open_result(hit.path, hit.time)

    # -- drops and paste ----------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if drops.carries_image(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if drops.carries_image(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.image_input.take(event.mimeData()):
            event.acceptProposedAction()

    def paste(self) -> None:
        """Ctrl+V: an image file or picture on the clipboard searches for look-alikes."""
        mime = self.image_input.clipboard()
        if not self.image_input.take(mime) and mime is not None and mime.hasText():
            self.search_bar.edit.paste()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search_bar.edit and event.type() == QEvent.Type.KeyPress:
            key_event: QKeyEvent = event  # type: ignore[assignment]
            if key_event.matches(QKeySequence.StandardKey.Paste):
                mime = self.image_input.clipboard()
                if drops.clipboard_image_wins(mime):
                    self.image_input.take(mime)
                    return True
            if key_event.key() == Qt.Key.Key_Down and self.model.rowCount():
                self.view.setFocus()
                if not self.view.currentIndex().isValid():
                    self.view.setCurrentIndex(self.model.index(0))
                return True
        return super().eventFilter(watched, event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop background work; safe to call twice."""
        for dialog in (self.detail, self.duplicates):
            if dialog is not None:
                dialog.close()
        self.loader.shutdown()
        self.service.shutdown()
