"""The window's near-duplicate search: one at a time, off the GUI thread, cancellable.

The core's duplicate search is a generator job that only reads, so it runs in a superqt
worker rather than on the writer lane; its progress and its report come back as signals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from superqt.utils import GeneratorWorker

from clipdesk.core.progress import CancelToken
from clipdesk.gui import jobs

if TYPE_CHECKING:
    from clipdesk.core.library import Library
    from clipdesk.gui.worker_set import Start

__all__ = ["DuplicateSearch"]


class _JobWorker(GeneratorWorker):
    """A generator worker that closes its generator when aborted, so the job's own
    clean-up runs in the worker thread."""

    def work(self):  # type: ignore[no-untyped-def]
        try:
            return super().work()
        finally:
            self._gen.close()


class DuplicateSearch(QObject):
    """Looks for groups of near-duplicate photos (see the module docstring)."""

    progress = Signal(object)  # Progress
    finished = Signal(object)  # DupeReport, or None after an error or a cancel
    message = Signal(str)

    def __init__(self, start: Start, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._start = start  # runs a worker, with the service's bookkeeping
        self._worker: _JobWorker | None = None
        self._cancel: CancelToken | None = None

    def find(self, library: Library, threshold: float | None = None) -> None:
        """Start a search unless one is running; ``finished`` brings the groups."""
        if self._worker is not None:
            return
        cancel = CancelToken()
        worker = _JobWorker(jobs.duplicates_job, library, threshold, cancel)
        worker.yielded.connect(self.progress)
        self._worker, self._cancel = worker, cancel
        self._start(worker, self._finished, self._failed)

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()

    def _failed(self, exc: Exception) -> None:
        self.message.emit(f"Could not look for duplicates: {exc}")
        self._finished(None)

    def _finished(self, report: object) -> None:
        self._worker, self._cancel = None, None
        self.finished.emit(None if getattr(report, "cancelled", False) else report)
