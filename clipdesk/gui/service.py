"""The one object the window talks to: it owns the Library and answers with signals.

Reading (a search, the status, a preview) runs in a superqt worker on the global thread
pool; every write (indexing, tagging, the user's word on a tag, vocabulary edits,
removing a folder, a model switch) is a job on the library's writer lane, submitted by
:class:`WriterJobs`. Every answer comes back as a signal on the GUI thread, so the
window never waits on a lock, a disk or torch. Searches are coalesced: while one runs,
only the newest request waits, and answers to outdated requests are dropped. While the
library is open a folder watcher (:class:`clipdesk.core.watch.LibraryWatcher`, on its
own thread) catches up with what changed while the app was closed, then follows new,
changed, moved and deleted photos; the core tags them again, and its events come back
as signals too. Choosing another model switches in the background: the old model
answers every search until the new one has embedded every photo.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThreadPool, Signal
from superqt.utils import FunctionWorker, GeneratorWorker

from clipdesk.core.progress import CancelToken
from clipdesk.gui import jobs
from clipdesk.gui.jobs import SearchRequest
from clipdesk.gui.searches import Searches
from clipdesk.gui.writer_jobs import WriterJobs

if TYPE_CHECKING:
    from collections.abc import Callable

    from clipdesk.core.library import Library
    from clipdesk.core.watch import LibraryWatcher
    from clipdesk.core.watch.events import WatchEvent

# A search, a status refresh, a model load and a preview may all run at once.
MIN_POOL_THREADS = 8


class _JobWorker(GeneratorWorker):
    """A generator worker that closes its generator when aborted, so the job's own
    clean-up runs in the worker thread."""

    def work(self):  # type: ignore[no-untyped-def]
        try:
            return super().work()
        finally:
            self._gen.close()


class LibraryService(QObject):
    """Asynchronous face of :class:`clipdesk.core.library.Library` for the GUI."""

    opened = Signal(object)  # status dict
    openFailed = Signal(str)
    modelReady = Signal(str, str)  # model name, device
    modelFailed = Signal(str)
    stateChanged = Signal(object, object)  # status dict, list[RootInfo]
    tagsChanged = Signal(object)  # list of (tag, photo count), most used first
    searchStarted = Signal(object)  # SearchRequest
    searchFinished = Signal(object)  # SearchOutcome
    indexStarted = Signal(object)  # list of folders being added
    indexProgress = Signal(object)  # Progress
    indexFinished = Signal(object)  # IndexReport, or None after an error
    indexPausedChanged = Signal(bool)
    tagProgress = Signal(object)  # Progress of a tagging run
    tagsUpdated = Signal(object)  # TagReport, or None after an error
    photoTagsChanged = Signal(str)  # a photo whose tags the user changed
    switchProgress = Signal(object)  # Progress of a model switch
    switchFinished = Signal(str, bool)  # model name, whether the library now uses it
    dupesProgress = Signal(object)  # Progress
    dupesFinished = Signal(object)  # DupeReport, or None after an error or a cancel
    folderActivity = Signal(str)  # what the folder watcher is doing; "" when up to date
    libraryChanged = Signal(object)  # ReconcileReport: photos came, changed or went on disk
    _watchEvent = Signal(object)  # WatchEvent, from the watcher's thread to this one
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
        self.watch_folders = watch
        self._watcher: LibraryWatcher | None = None
        self._watchEvent.connect(self._on_watch_event)  # queued: emitted on another thread
        self.directory = directory
        self.model = model
        self.device = device
        self.writes = WriterJobs(self)
        self._forward_writer_signals()
        self._library = library
        # A library handed in belongs to the caller (tests share one); ours we close.
        self._close_library = library is None if close_library is None else close_library
        self._opening = False
        self._closed = False
        self._workers: set[Any] = set()
        self.searches = Searches(self._start, self)
        self.searches.searchStarted.connect(self.searchStarted)
        self.searches.searchFinished.connect(self.searchFinished)
        self._model_loading = False
        self._dupes_worker: _JobWorker | None = None
        self._dupes_cancel: CancelToken | None = None
        pool = QThreadPool.globalInstance()
        if pool.maxThreadCount() < MIN_POOL_THREADS:
            pool.setMaxThreadCount(MIN_POOL_THREADS)

    def _forward_writer_signals(self) -> None:
        w = self.writes
        for name in ("indexStarted", "indexProgress", "indexFinished", "indexPausedChanged",
                     "tagProgress", "tagsUpdated", "photoTagsChanged", "switchProgress",
                     "message"):  # fmt: skip
            getattr(w, name).connect(getattr(self, name))
        w.changed.connect(self.refresh_state)
        w.indexFinished.connect(self._after_index)
        w.switchFinished.connect(self._after_switch)

    # -- life cycle ---------------------------------------------------------------------

    @property
    def library(self) -> Library | None:
        return self._library

    @property
    def is_open(self) -> bool:
        return self._library is not None

    @property
    def index_workers(self) -> int | None:
        return self.writes.index_workers

    @index_workers.setter
    def index_workers(self, workers: int | None) -> None:
        self.writes.index_workers = workers

    def open(self) -> None:
        """Open the library (catalog and migrations) in the background."""
        if self._library is not None:
            self._after_open(self._library)
            return
        if self._opening:
            return
        self._opening = True
        self._start(
            FunctionWorker(jobs.open_library, self.directory, self.model, self.device),
            self._after_open,
            self._open_failed,
        )

    def _after_open(self, library: Library) -> None:
        if self._closed:  # the window closed while the library was opening
            if self._close_library:
                library.close()
            return
        self._opening = False
        self._library = library
        self.writes.library = library
        self.refresh_state(emit_opened=True)
        self.load_model()
        self._start_watching()
        self.searches.library = library
        self.searches.run_waiting()
        self.writes.start_waiting_index()
        if not self.writes.indexing:
            self.writes.tag_if_stale()  # photos it never tagged, e.g. after a crash

    def reopen(self, *, model: str | None, device: str) -> None:
        """Use another model or device.

        Another model on the same device is a switch without downtime: the library embeds
        every photo with it on the writer while the current model answers searches, then
        changes over in one step. Another device closes the library and opens it again.
        """
        if self._library is not None and device == self.device and model:
            self.switch_model(model)
            return
        self.model, self.device = model, device
        if self._library is None:
            return
        self.writes.stop()
        library, self._library = self._library, None
        self.writes.library = self.searches.library = None
        if not self._close_library:
            library = None  # not ours to close
        self._close_library = True
        self._opening = True
        watcher, self._watcher = self._watcher, None

        def close_and_open() -> Library:
            if watcher is not None:
                watcher.stop()
            if library is not None:
                library.close()
            return jobs.open_library(self.directory, self.model, self.device)

        self._start(FunctionWorker(close_and_open), self._after_open, self._open_failed)

    def switch_model(self, name: str) -> None:
        """Load ``name`` off the GUI thread, then switch to it on the writer lane."""
        library = self._library
        if library is None or self._closed:
            return
        if name == library.model_name and not self.writes.switching:
            return

        def failed(exc: Exception) -> None:
            self.message.emit(f"Could not switch to {name}: {exc}")

        self._start(
            FunctionWorker(library.model.load_other, name),
            lambda encoder: self.writes.switch_model(name, encoder),
            failed,
        )

    def _after_switch(self, name: str, switched: bool) -> None:
        self.switchFinished.emit(name, switched)
        if switched and not self._closed:
            self.model = name
            self.message.emit(f"Now searching with {name}")
            self._model_loading = False
            self.load_model()

    def _open_failed(self, exc: Exception) -> None:
        self._opening = False
        self.openFailed.emit(str(exc) or type(exc).__name__)

    def load_model(self) -> None:
        """Load the encoder in the background; the window shows it when ready."""
        if self._library is None or self._model_loading:
            return
        self._model_loading = True

        def done(result: tuple[str, str]) -> None:
            self._model_loading = False
            self.modelReady.emit(*result)

        def failed(exc: Exception) -> None:
            self._model_loading = False
            self.modelFailed.emit(str(exc))

        self._start(FunctionWorker(jobs.warm_up, self._library), done, failed)

    def shutdown(self, msecs: int = 30_000) -> bool:
        """Stop jobs, wait for every worker, close the library; True if all finished."""
        self._closed = True
        self.searches.closed = True
        self.searches.drop_waiting()
        self.writes.stop()
        self.cancel_duplicates()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop(msecs / 1000)
        finished = QThreadPool.globalInstance().waitForDone(msecs)
        if self._library is not None and finished:
            if self._close_library:
                self._library.close()  # ends the writer lane and its running job
            self._library = None
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
        if self._library is None:
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
        return self._watcher

    def _start_watching(self) -> None:
        if not self.watch_folders or self._library is None or self._closed or self._watcher:
            return
        from clipdesk.core.watch import LibraryWatcher

        self._watcher = LibraryWatcher(self._library, on_event=self._watchEvent.emit)
        self._watcher.start()

    def _on_watch_event(self, event: WatchEvent) -> None:
        from clipdesk.core.watch.events import WatchEventKind as Kind

        if self._closed:
            return
        if event.kind == Kind.PROGRESS and event.progress is not None:
            self.folderActivity.emit(jobs.watch_activity(event.progress))
        elif event.kind == Kind.IDLE:
            self.folderActivity.emit("")
        elif event.kind == Kind.UPDATED:
            self.refresh_state()
            self.libraryChanged.emit(event.report)
            if event.report is not None:
                self.writes.tagged_after_look(event.report.tagging)
        elif event.kind in (Kind.OFFLINE, Kind.ONLINE, Kind.MESSAGE, Kind.ERROR):
            self.message.emit(event.message)
        elif event.kind == Kind.MODE and "poll" in event.message:
            self.message.emit(event.message)  # why a folder is walked rather than followed

    # -- near-duplicates ----------------------------------------------------------------

    def find_duplicates(self, threshold: float | None = None) -> None:
        """Look for groups of near-duplicate photos; ``dupesFinished`` brings them."""
        if self._library is None or self._closed or self._dupes_worker is not None:
            return
        cancel = CancelToken()
        worker = _JobWorker(jobs.duplicates_job, self._library, threshold, cancel)
        worker.yielded.connect(self.dupesProgress)
        self._dupes_worker, self._dupes_cancel = worker, cancel
        self._start(worker, self._dupes_finished, self._dupes_failed)

    def cancel_duplicates(self) -> None:
        if self._dupes_cancel is not None:
            self._dupes_cancel.cancel()

    def _dupes_failed(self, exc: Exception) -> None:
        self.message.emit(f"Could not look for duplicates: {exc}")
        self._dupes_finished(None)

    def _dupes_finished(self, report: object) -> None:
        self._dupes_worker, self._dupes_cancel = None, None
        self.dupesFinished.emit(None if getattr(report, "cancelled", False) else report)

    # -- state ------------------------------------------------------------------------

    def refresh_state(self, *, emit_opened: bool = False) -> None:
        """Re-read status and folders in the background; emits ``stateChanged``."""
        if self._library is None or self._closed:
            return

        def done(result: tuple[dict[str, object], list[jobs.RootInfo], list]) -> None:
            status, roots, tags = result
            if emit_opened:
                self.opened.emit(status)
            self.stateChanged.emit(status, roots)
            self.tagsChanged.emit(tags)

        def failed(exc: Exception) -> None:
            if emit_opened:
                self.openFailed.emit(str(exc))
            else:
                self.message.emit(f"Could not read the library: {exc}")

        self._start(FunctionWorker(jobs.library_state, self._library), done, failed)

    def run_task(
        self,
        func: Callable[..., Any],
        *args: Any,
        done: Callable[[Any], None] | None = None,
        failed: Callable[[Exception], None] | None = None,
    ) -> None:
        """Run any small job (a preview, saving a pasted image) off the GUI thread."""
        self._start(FunctionWorker(func, *args), done, failed)

    # -- workers ------------------------------------------------------------------------

    def _start(
        self,
        worker: Any,
        done: Callable[[Any], None] | None,
        failed: Callable[[Exception], None] | None,
    ) -> None:
        self._workers.add(worker)
        if done is not None:
            worker.returned.connect(done)
        worker.errored.connect(failed or self._report_error)
        worker.finished.connect(lambda: self._workers.discard(worker))
        worker.start()

    def _report_error(self, exc: Exception) -> None:
        self.message.emit(str(exc) or type(exc).__name__)

    @property
    def busy(self) -> bool:
        """True while any background job of this service is still running."""
        return bool(self._workers) or self.writes.busy
