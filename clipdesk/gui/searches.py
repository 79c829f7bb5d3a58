"""The window's searches: run off the GUI thread, coalesced, answers to old requests dropped.

While one search runs only the newest request waits; when it ends, that one runs. An
answer to a request the user has since replaced is not shown. Searches are reads: they
never go through the writer lane, and a running index or model switch does not hold
them up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from superqt.utils import FunctionWorker

from clipdesk.gui import jobs
from clipdesk.gui.jobs import SearchOutcome, SearchRequest

if TYPE_CHECKING:
    from clipdesk.core.library import Library

Start = Callable[[Any, Callable[[Any], None], Callable[[Exception], None]], None]


class Searches(QObject):
    """Runs :class:`SearchRequest` s for the service (see the module docstring)."""

    searchStarted = Signal(object)  # SearchRequest
    searchFinished = Signal(object)  # SearchOutcome

    def __init__(self, start: Start, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._start = start  # runs a worker, with the service's bookkeeping
        self._running: FunctionWorker | None = None
        self._waiting: SearchRequest | None = None
        self._latest: SearchRequest | None = None
        self.library: Library | None = None
        self.closed = False

    @property
    def searching(self) -> bool:
        return self._running is not None or self._waiting is not None

    @property
    def waiting(self) -> bool:
        return self._waiting is not None

    def search(self, request: SearchRequest) -> bool:
        """Search in the background; False when it waits for the library to open."""
        if self.closed:
            return True
        self._latest = request
        if request.empty:
            self._waiting = None
            self.searchFinished.emit(SearchOutcome(request))
            return True
        if self.library is None or self._running is not None:
            self._waiting = request
            return self.library is not None
        self.searchStarted.emit(request)
        worker = FunctionWorker(jobs.run_search, self.library, request)
        self._running = worker
        self._start(worker, self._done, self._failed)
        return True

    def run_waiting(self) -> None:
        if self._waiting is not None and not self.closed:
            request, self._waiting = self._waiting, None
            self.search(request)

    def drop_waiting(self) -> None:
        self._waiting = None

    def _done(self, outcome: SearchOutcome) -> None:
        self._running = None
        if outcome.request is self._latest:
            self.searchFinished.emit(outcome)
        self.run_waiting()

    def _failed(self, exc: Exception) -> None:
        self._running = None
        if self._latest is not None and self._waiting is None:
            self.searchFinished.emit(SearchOutcome(self._latest, error=str(exc)))
        self.run_waiting()
