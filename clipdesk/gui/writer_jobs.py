"""The window's writes: each one a job on the library's writer lane, answered by signals.

Indexing, tagging, the user's word on a tag, vocabulary edits, removing a folder and a
model switch are all submitted to :attr:`Library.writer`; the lane runs them in order
and the core decides what follows (an index run that changed photos tags them again).
Nothing here waits: progress and results come back through :class:`LaneClient` on the
GUI thread. The only state kept is what the window shows: the running index (for
pause and cancel), folders asked for meanwhile, and a running model switch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from clipdesk.core.progress import Cancelled, CancelToken, Progress
from clipdesk.gui import jobs
from clipdesk.gui.lane_client import LaneClient

if TYPE_CHECKING:
    from clipdesk.core.encoder import Encoder
    from clipdesk.core.lane import JobHandle
    from clipdesk.core.library import Library
    from clipdesk.core.tags.retag import RetagOutcome

TAG_STAGES = ("tag", "tag-prompts")


class WriterJobs(QObject):
    """Submits the window's writes to the library's lane (see the module docstring)."""

    indexStarted = Signal(object)  # list of folders being added
    indexProgress = Signal(object)  # Progress
    indexFinished = Signal(object)  # IndexReport, or None after an error
    indexPausedChanged = Signal(bool)
    tagProgress = Signal(object)  # Progress of a tagging run
    tagsUpdated = Signal(object)  # TagReport, or None after an error
    photoTagsChanged = Signal(str)  # a photo whose tags the user changed
    photoFacesChanged = Signal(str)  # a photo whose faces the user named
    switchProgress = Signal(object)  # Progress of a model switch (embedding every photo)
    switchFinished = Signal(str, bool)  # model name, whether the library now uses it
    changed = Signal()  # the library changed: counts, folders or tags may differ
    message = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.client = LaneClient(self)
        self.library: Library | None = None
        self.index_workers: int | None = None
        self.find_faces = True  # the settings' "find faces"; on: the library's own setting
        self.read_text = True  # the settings' "read text in photos"; on: the default
        self._index: JobHandle[Any] | None = None
        self._waiting_folders: list[str] | None = None  # None: no index run asked for
        self._switch: JobHandle[Any] | None = None
        self._switching_to: str | None = None

    @property
    def busy(self) -> bool:
        return self.client.busy

    # -- indexing -------------------------------------------------------------------------

    @property
    def indexing(self) -> bool:
        return self._index is not None

    @property
    def paused(self) -> bool:
        return self._index is not None and self._index.paused

    def index(self, folders: Sequence[str] = ()) -> None:
        """Index every root (adding ``folders`` first); after the running run, if any."""
        library = self.library
        if library is None or self._index is not None:
            self._waiting_folders = [*(self._waiting_folders or []), *folders]
            return
        folders = [*(self._waiting_folders or []), *folders]
        self._waiting_folders = None
        cancel = CancelToken()
        job = library.index_job(
            folders,
            cancel=cancel,
            workers=self.index_workers,
            retag=True,
            faces=None if self.find_faces else False,  # on: the library's own setting
            text=None if self.read_text else False,
        )
        self._index = self.client.submit(
            library.writer, job, name="index", cancel=cancel, progress=self._index_step,
            done=self._index_done, failed=self._index_failed, paused=self._index_held,
        )  # fmt: skip
        self.indexStarted.emit(list(folders))

    def start_waiting_index(self) -> None:
        """Run the index asked for before the library was open."""
        if self._waiting_folders is not None and self._index is None:
            self.index()

    def pause_index(self) -> None:
        """Hold the running index after its current step (``indexPausedChanged`` says
        when); edits and searches go on meanwhile."""
        if self._index is not None and not self._index.cancel_token.cancelled:
            self._index.pause()

    def _index_held(self) -> None:
        if self._index is not None and self._index.paused:
            self.indexPausedChanged.emit(True)

    def resume_index(self) -> None:
        if self._index is not None and self._index.paused:
            self._index.resume()
            self.indexPausedChanged.emit(False)

    def cancel_index(self) -> None:
        """Stop the running index at its next step (what it did is kept)."""
        self._waiting_folders = None
        if self._index is not None:
            self._index.cancel()
            if self._index.paused:
                self._index.resume()
                self.indexPausedChanged.emit(False)

    def _index_step(self, progress: Progress) -> None:
        if progress.stage in TAG_STAGES:
            self.tagProgress.emit(progress)
        else:
            self.indexProgress.emit(progress)

    def _index_done(self, report: Any) -> None:
        self._index_ended(report)
        # The tags the run brought are news of their own, after "indexing finished".
        QTimer.singleShot(0, lambda: self._tagged(report.tagging))

    def _index_failed(self, exc: BaseException) -> None:
        if not isinstance(exc, Cancelled):
            self.message.emit(f"Indexing stopped: {exc}")
        self._index_ended(None)

    def _index_ended(self, report: object) -> None:
        was_paused = self._index is not None and self._index.paused
        self._index = None
        if was_paused:
            self.indexPausedChanged.emit(False)
        self.indexFinished.emit(report)
        self.changed.emit()
        if self._waiting_folders is not None:
            self.index()

    # -- tagging --------------------------------------------------------------------------

    def tagged_after_look(self, outcome: RetagOutcome | None) -> None:
        """The folder watcher's look tagged the library again (the core's rule)."""
        self._tagged(outcome)

    def tag_if_stale(self) -> None:
        """Tag the library if photos came, changed or went since it was last tagged."""
        if self.library is not None:
            self._submit_tagging(self.library.retag_job(), self._tagged)

    def tag(self, names: Sequence[str] | None = None) -> None:
        """(Re)tag the library with ``names`` (None: every tag), after the running job."""
        if self.library is None:
            return
        wanted = None if names is None else list(names)
        self._submit_tagging(self.library.tags.job(wanted), self.tagsUpdated.emit)

    def _submit_tagging(self, job: Any, done: Callable[[Any], None]) -> None:
        assert self.library is not None

        def failed(exc: BaseException) -> None:
            if not isinstance(exc, Cancelled):
                self.message.emit(f"Tagging stopped: {exc}")
                self.tagsUpdated.emit(None)

        def finished(result: Any) -> None:
            done(result)
            self.changed.emit()

        self.client.submit(self.library.writer, job, name="tag", progress=self.tagProgress.emit,
                           done=finished, failed=failed)  # fmt: skip

    def _tagged(self, outcome: RetagOutcome | None) -> None:
        if outcome is None:
            return
        if outcome.error is not None:
            self.message.emit(f"Tagging skipped: {outcome.error}")
        self.tagsUpdated.emit(outcome.report)

    # -- edits ----------------------------------------------------------------------------

    def decide_tag(self, path: str, tag: str, decision: str) -> None:
        """The user's word on one photo's tag (``yes``, ``no`` or ``forget``); the tag is
        then learned again and the library re-tagged with it."""
        self._teach(lambda lib: jobs.decide_tag(lib, path, tag, decision), [path])

    def teach_tag(self, tag: str, paths: Sequence[str]) -> None:
        """These photos carry ``tag`` (a new name makes a custom tag); re-tag with it."""
        chosen = list(paths)
        self._teach(lambda lib: jobs.teach_tag(lib, tag, chosen), chosen)

    def _teach(self, change: Callable[[Library], str], paths: list[str]) -> None:
        library = self.library
        if library is None:
            return

        def done(name: str) -> None:
            for path in paths:
                self.photoTagsChanged.emit(path)
            self.tag([name])

        self._edit(lambda: change(library), done, "Could not change the tag")

    def name_face(self, path: str, face_id: int, name: str) -> None:
        """The user's word on one face in ``path``: it is ``name`` (new names make a person)."""
        library = self.library
        if library is None:
            return

        def named(_: object) -> None:
            self.photoFacesChanged.emit(path)
            self.changed.emit()  # the people panel: counts, names, covers

        change = lambda: library.people.set_face(face_id, name)  # noqa: E731
        self._edit(change, named, "Could not name the face", guarded=True)

    def set_faces_on(self, on: bool) -> None:
        """Keep the library's own faces setting (its watcher and the CLI follow it)."""
        library = self.library
        if library is not None:
            change = lambda: library.people.set_faces_on(on)  # noqa: E731
            self._edit(change, lambda _: None, "Could not change the faces setting", guarded=True)

    def set_text_on(self, on: bool) -> None:
        """Keep the library's own "read text" setting (its watcher and the CLI follow it)."""
        library = self.library
        if library is not None:
            change = lambda: library.set_read_text(on)  # noqa: E731
            self._edit(change, lambda _: None, "Could not change the text setting")

    def edit_vocabulary(self, action: str, tag: str, value: str | None = None) -> None:
        """Add, rename, describe or remove a tag; the library is then tagged again (every
        tag: thresholds are read from the whole vocabulary)."""
        library = self.library
        if library is None:
            return

        def edited(_: object) -> None:
            self.changed.emit()
            self.tag()

        change = lambda: jobs.edit_vocabulary(library, action, tag, value)  # noqa: E731
        self._edit(change, edited, "Could not change the tags")

    def _edit(self, change: Callable[[], Any], done: Callable[[Any], None], failure: str,
              *, guarded: bool = False) -> None:  # fmt: skip
        """A short job on the lane; ``guarded`` for the people tables, which another
        process's index writes too (the core's own edit then runs inline, guard held)."""
        assert self.library is not None
        self.client.call(self.library.writer, change, name="edit", done=done, guarded=guarded,
                         failed=lambda exc: self.message.emit(f"{failure}: {exc}"))  # fmt: skip

    def remove_folder(self, folder: str) -> None:
        """Stop watching ``folder``; in the long jobs' order (never in the middle of a scan)."""
        library = self.library
        if library is None:
            return
        self.client.call(
            library.writer, lambda: library.remove_root(folder), name="remove a folder",
            long=True, done=lambda _: self.changed.emit(),
            failed=lambda exc: self.message.emit(f"Could not remove {folder}: {exc}"),
        )  # fmt: skip

    # -- switching model ------------------------------------------------------------------

    @property
    def switching(self) -> bool:
        return self._switch is not None

    @property
    def switch_job(self) -> JobHandle[Any] | None:
        """The running switch (the window's pause and cancel reach it through here)."""
        return self._switch

    def switch_model(self, name: str, encoder: Encoder) -> None:
        """Embed every photo with ``encoder`` on the lane, then use it: until then the
        current model answers every search."""
        library = self.library
        if library is None:
            return
        if self._switch is not None:
            self._switch.cancel()  # the newer wish wins; what it embedded is kept
        cancel = CancelToken()
        job = library.switch_model_job(encoder, cancel=cancel, workers=self.index_workers,
                                       retag=True)  # fmt: skip
        handle: JobHandle[Any] | None = None

        def ended(switched: bool | None) -> None:
            if self._switch is handle:
                self._switch, self._switching_to = None, None
            self.switchFinished.emit(name, bool(switched))
            self.changed.emit()

        def failed(exc: BaseException) -> None:
            if not isinstance(exc, Cancelled):
                self.message.emit(f"Could not switch to {name}: {exc}")
            ended(False)

        handle = self.client.submit(
            library.writer, job, name="switch model", cancel=cancel,
            progress=self.switchProgress.emit, done=ended, failed=failed,
        )  # fmt: skip
        self._switch, self._switching_to = handle, name

    def stop(self) -> None:
        """Ask every running job to stop; the library's close ends them."""
        self._waiting_folders = None
        for handle in (self._index, self._switch):
            if handle is not None:
                handle.cancel()
