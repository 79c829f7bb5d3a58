"""The one object the window talks to: a thin adapter between its signals and the core.

Reading (a search, the status, a preview) runs in a superqt worker on the global thread
pool; every write (indexing, tagging, the user's word on a tag, vocabulary edits,
removing a folder, a model switch) is a job on the library's writer lane, submitted by
:class:`WriterJobs`. Every answer comes back as a signal on the GUI thread, so the
window never waits on a lock, a disk or torch. The parts each have their own module:
:class:`LibraryOpener` opens and closes the library, :class:`Searches` coalesces
searches, :class:`FolderWatch` relays the folder watcher, :class:`DuplicateSearch` looks
for near-duplicates. Choosing another model switches in the background: the old model
answers every search until the new one has embedded every photo.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThreadPool, Signal
from superqt.utils import FunctionWorker

from clipdesk.gui import jobs
from clipdesk.gui.duplicates import DuplicateSearch
from clipdesk.gui.folder_watch import FolderWatch
from clipdesk.gui.jobs import SearchRequest
from clipdesk.gui.library_opener import LibraryOpener
from clipdesk.gui.native_imports import import_native_modules
from clipdesk.gui.search_serving import SearchServing
from clipdesk.gui.searches import Searches
from clipdesk.gui.worker_set import WorkerSet
from clipdesk.gui.writer_jobs import WriterJobs

if TYPE_CHECKING:
    from collections.abc import Callable

    from clipdesk.core.library import Library
    from clipdesk.core.watch import LibraryWatcher


class LibraryService(QObject):
    """Asynchronous face of :class:`clipdesk.core.library.Library` for the GUI."""

    opened = Signal(object)  # status dict
    openFailed = Signal(str)
    modelReady = Signal(str, str)  # model name, device
    modelFailed = Signal(str)
    stateChanged = Signal(object, object)  # status dict, list[RootInfo]
    tagsChanged = Signal(object)  # list of (tag, photo count), most used first
    peopleChanged = Signal(object)  # list of people_panel.PersonEntry
    searchStarted = Signal(object)  # SearchRequest
    searchFinished = Signal(object)  # SearchOutcome
    indexStarted = Signal(object)  # list of folders being added
    indexProgress = Signal(object)  # Progress
    indexFinished = Signal(object)  # IndexReport, or None after an error
    indexPausedChanged = Signal(bool)
    tagProgress = Signal(object)  # Progress of a tagging run
    tagsUpdated = Signal(object)  # TagReport, or None after an error
    photoTagsChanged = Signal(str)  # a photo whose tags the user changed
    photoFacesChanged = Signal(str)  # a photo whose faces the user named
    switchProgress = Signal(object)  # Progress of a model switch
    switchFinished = Signal(str, bool)  # model name, whether the library now uses it
    dupesProgress = Signal(object)  # Progress
    dupesFinished = Signal(object)  # DupeReport, or None after an error or a cancel
    folderActivity = Signal(str)  # what the folder watcher is doing; "" when up to date
    libraryChanged = Signal(object)  # ReconcileReport: photos came, changed or went on disk
    message = Signal(str)  # a short note for the status bar

    def __init__(
        self,
        directory: str | None = None,
        *,
        model: str | None = None,
        device: str = "auto",
        library: Library | None = None,
        close_library: bool | None = None,
        watch: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._closed = False
        self._model_loading = False
        self._workers = WorkerSet(self._report_error)
        self.serving = SearchServing(self._workers)
        start = self._workers.start
        # A library handed in belongs to the caller (tests share one); ours we close.
        self.opener = LibraryOpener(
            start, directory, model=model, device=device, library=library,
            close_library=close_library, parent=self,
        )  # fmt: skip
        self.opener.opened.connect(self._after_open)
        self.opener.failed.connect(self.openFailed)
        self.writes = WriterJobs(self)
        self._forward_writer_signals()
        self.searches = Searches(start, self)
        self.searches.searchStarted.connect(self.searchStarted)
        self.searches.searchFinished.connect(self.searchFinished)
        self._starting: Library | None = None  # opened; start-up work not yet begun
        self.searches.searchFinished.connect(self._start_background)
        self.folders = FolderWatch(watch, self)
        self.folders.activity.connect(self.folderActivity)
        self.folders.updated.connect(self._after_look)
        self.folders.message.connect(self.message)
        self.duplicates = DuplicateSearch(start, self)
        self.duplicates.progress.connect(self.dupesProgress)
        self.duplicates.finished.connect(self.dupesFinished)
        self.duplicates.message.connect(self.message)

    def _forward_writer_signals(self) -> None:
        w = self.writes
        for name in ("indexStarted", "indexProgress", "indexFinished", "indexPausedChanged",
                     "tagProgress", "tagsUpdated", "photoTagsChanged", "photoFacesChanged",
                     "switchProgress", "message"):  # fmt: skip
            getattr(w, name).connect(getattr(self, name))
        w.changed.connect(self.refresh_state)
        w.indexFinished.connect(self._after_index)
        w.switchFinished.connect(self._after_switch)

    # -- life cycle ---------------------------------------------------------------------

    @property
    def library(self) -> Library | None:
        return self.opener.library

    @property
    def is_open(self) -> bool:
        return self.opener.library is not None

    @property
    def directory(self) -> str | None:
        return self.opener.directory

    @property
    def model(self) -> str | None:
        return self.opener.model

    @property
    def device(self) -> str:
        return self.opener.device

    @property
    def watch_folders(self) -> bool:
        return self.folders.enabled

    @property
    def index_workers(self) -> int | None:
        return self.writes.index_workers

    @index_workers.setter
    def index_workers(self, workers: int | None) -> None:
        self.writes.index_workers = workers

    @property
    def find_faces(self) -> bool:
        return self.writes.find_faces

    @find_faces.setter
    def find_faces(self, on: bool) -> None:
        """Index runs look for faces or not; a change is also kept in the library, so its
        folder watcher and the command line follow it."""
        changed = on != self.writes.find_faces
        self.writes.find_faces = on
        if changed and not self._closed:
            self.writes.set_faces_on(on)

    @property
    def read_text(self) -> bool:
        return self.writes.read_text

    @read_text.setter
    def read_text(self, on: bool) -> None:
        """Index runs read text in photos or not; a change is also kept in the library,
        so its folder watcher and the command line follow it."""
        changed = on != self.writes.read_text
        self.writes.read_text = on
        if changed and not self._closed:
            self.writes.set_text_on(on)

    def open(self) -> None:
        """Open the library (catalog and migrations) in the background, after importing
        on this thread what workers must not import first (``native_imports``)."""
        import_native_modules()
        self.opener.open()

    def _after_open(self, library: Library) -> None:
        self.writes.library = library
        self.searches.library = library
        # A query typed while the library opened goes first: the start-up work beside it
        # (status, the look at the folders, tagging) would share the cores and the
        # interpreter with it, so it starts once that query is answered.
        self.searches.run_waiting()
        self.load_model()
        self._starting = library
        if not self.searches.searching:
            self._start_background()

    def _start_background(self, *_outcome: object) -> None:
        """The start-up work after the library opened (and its first query's answer)."""
        library, self._starting = self._starting, None
        if library is None or library is not self.library or self._closed:
            return
        self.refresh_state(emit_opened=True)
        self.serving.start(library)
        self.folders.start(library)
        self.writes.start_waiting_index()
        if not self.writes.indexing:
            self.writes.tag_if_stale()  # photos it never tagged, e.g. after a crash

    def reopen(self, *, model: str | None, device: str) -> None:
        """Use another model or device.

        Another model on the same device is a switch without downtime: the library embeds
        every photo with it on the writer while the current model answers searches, then
        changes over in one step. Another device closes the library and opens it again.
        """
        if self.library is not None and device == self.device and model:
            self.switch_model(model)
            return
        self.serving.stop()
        if self.library is not None:
            self.writes.stop()
            self.writes.library = self.searches.library = None
        stop_watching = self.folders.detach()
        self.opener.reopen(model=model, device=device, before_close=stop_watching)

    def switch_model(self, name: str) -> None:
        """Load ``name`` off the GUI thread, then switch to it on the writer lane."""
        library = self.library
        if library is None or self._closed:
            return
        if name == library.model_name and not self.writes.switching:
            return

        def failed(exc: Exception) -> None:
            self.message.emit(f"Could not switch to {name}: {exc}")

        self._workers.start(
            FunctionWorker(library.model.load_other, name),
            lambda encoder: self.writes.switch_model(name, encoder),
            failed,
        )

    def _after_switch(self, name: str, switched: bool) -> None:
        self.switchFinished.emit(name, switched)
        if switched and not self._closed:
            self.opener.model = name
            self.message.emit(f"Now searching with {name}")
            self._model_loading = False
            self.load_model()

    def load_model(self) -> None:
        """Load the encoder in the background; the window shows it when ready."""
        if self.library is None or self._model_loading:
            return
        self._model_loading = True

        def done(result: tuple[str, str]) -> None:
            self._model_loading = False
            self.modelReady.emit(*result)

        def failed(exc: Exception) -> None:
            self._model_loading = False
            self.modelFailed.emit(str(exc))

        self._workers.start(FunctionWorker(jobs.warm_up, self.library), done, failed)

    def shutdown(self, msecs: int = 30_000) -> bool:
        """Stop jobs, wait for every worker, close the library; True if all finished."""
        self._closed = self.opener.closed = True
        self.serving.stop()
        self.searches.closed = True
        self.searches.drop_waiting()
        self.writes.stop()
        self.duplicates.cancel()
        self.folders.stop(msecs / 1000)
        finished = QThreadPool.globalInstance().waitForDone(msecs)
        if self.library is not None and finished:
            self.opener.close()  # ends the writer lane and its running job, if ours
            self.writes.library = self.searches.library = None
        return finished

    # -- searching ----------------------------------------------------------------------

    def search(self, request: SearchRequest) -> None:
        """Search in the background; only the answer to the newest request is emitted."""
        if not self.searches.search(request):
            self.open()  # it waits for the library

    @property
    def searching(self) -> bool:
        return self.searches.searching

    # -- writing (on the library's writer lane) ----------------------------------------

    @property
    def indexing(self) -> bool:
        return self.writes.indexing

    @property
    def paused(self) -> bool:
        return self.writes.paused

    @property
    def tagging(self) -> bool:
        return self.writes.busy and not self.writes.indexing

    @property
    def switching(self) -> bool:
        return self.writes.switching

    def add_folder(self, folder: str) -> None:
        """Watch ``folder`` and index it (after the running job, if any)."""
        self.index([folder])

    def index(self, folders: Sequence[str] = ()) -> None:
        """Index every root (adding ``folders`` first) in the background."""
        if self._closed:
            return
        self.writes.index(folders)
        if self.library is None:
            self.open()

    def pause_index(self) -> None:
        self.writes.pause_index()

    def resume_index(self) -> None:
        self.writes.resume_index()

    def cancel_index(self) -> None:
        """Ask the job to stop at its next step; finished work is kept."""
        self.writes.cancel_index()

    def _after_index(self, report: object) -> None:
        if not self._closed and report is not None:
            self.refresh_state()

    def tag(self, names: Sequence[str] | None = None) -> None:
        """(Re)tag the library with ``names`` (None: every tag) after the running jobs."""
        if not self._closed:
            self.writes.tag(names)

    def tag_if_stale(self) -> None:
        """Tag every photo if photos came, changed or went since the last tagging."""
        if not self._closed:
            self.writes.tag_if_stale()

    def decide_tag(self, path: str, tag: str, decision: str) -> None:
        """The user's word on one photo's tag (``yes``, ``no`` or ``forget``)."""
        if not self._closed:
            self.writes.decide_tag(path, tag, decision)

    def name_face(self, path: str, face_id: int, name: str) -> None:
        """The user's word on one face of a photo: whose it is."""
        if not self._closed:
            self.writes.name_face(path, face_id, name)

    def teach_tag(self, tag: str, paths: Sequence[str]) -> None:
        """These photos carry ``tag`` (a new name makes a custom tag); re-tag with it."""
        if not self._closed:
            self.writes.teach_tag(tag, paths)

    def edit_vocabulary(self, action: str, tag: str, value: str | None = None) -> None:
        """Add, rename, describe or remove a tag; the library is then tagged again."""
        if not self._closed:
            self.writes.edit_vocabulary(action, tag, value)

    def remove_folder(self, folder: str) -> None:
        """Stop watching ``folder`` (after the running index job, on the writer)."""
        self.writes.remove_folder(folder)

    # -- following the folders ----------------------------------------------------------

    @property
    def watcher(self) -> LibraryWatcher | None:
        return self.folders.watcher

    def _after_look(self, report: Any) -> None:
        """The watcher brought changes in: new counts, and the tags the core re-ran."""
        self.refresh_state()
        self.libraryChanged.emit(report)
        if report is not None:
            self.writes.tagged_after_look(report.tagging)

    # -- near-duplicates ----------------------------------------------------------------

    def find_duplicates(self, threshold: float | None = None) -> None:
        """Look for groups of near-duplicate photos; ``dupesFinished`` brings them."""
        if self.library is not None and not self._closed:
            self.duplicates.find(self.library, threshold)

    def cancel_duplicates(self) -> None:
        self.duplicates.cancel()

    # -- state ------------------------------------------------------------------------

    def refresh_state(self, *, emit_opened: bool = False) -> None:
        """Re-read status and folders in the background; emits ``stateChanged``."""
        if self.library is None or self._closed:
            return

        def done(result: tuple[dict[str, object], list[jobs.RootInfo], list, list]) -> None:
            status, roots, tags, people = result
            if emit_opened:
                self.opened.emit(status)
            self.stateChanged.emit(status, roots)
            self.tagsChanged.emit(tags)
            self.peopleChanged.emit(people)

        def failed(exc: Exception) -> None:
            if emit_opened:
                self.openFailed.emit(str(exc))
            else:
                self.message.emit(f"Could not read the library: {exc}")

        self._workers.start(FunctionWorker(jobs.library_state, self.library), done, failed)

    def run_task(
        self,
        func: Callable[..., Any],
        *args: Any,
        done: Callable[[Any], None] | None = None,
        failed: Callable[[Exception], None] | None = None,
    ) -> None:
        """Run any small job (a preview, saving a pasted image) off the GUI thread."""
        self._workers.start(FunctionWorker(func, *args), done, failed)

    def _report_error(self, exc: Exception) -> None:
        self.message.emit(str(exc) or type(exc).__name__)

    @property
    def busy(self) -> bool:
        """True while any background job of this service is still running."""
        return self._workers.busy or self.writes.busy
