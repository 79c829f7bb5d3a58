"""Opening and closing the window's library, off the GUI thread.

Opening runs migrations and may wait for another process's creation lock; closing ends
the writer lane and saves the index: neither may freeze the window. A library handed in
by the caller (tests share one) is the caller's to close; one opened here is ours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from superqt.utils import FunctionWorker

from clipdesk.gui import jobs

if TYPE_CHECKING:
    from clipdesk.core.library import Library
    from clipdesk.gui.worker_set import Start

__all__ = ["LibraryOpener"]


class LibraryOpener(QObject):
    """Holds the window's library and opens, reopens and closes it."""

    opened = Signal(object)  # Library, open and ready
    failed = Signal(str)

    def __init__(
        self,
        start: Start,
        directory: str | None,
        *,
        model: str | None,
        device: str,
        library: Library | None,
        close_library: bool | None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._start = start  # runs a worker, with the service's bookkeeping
        self.directory = directory
        self.model = model
        self.device = device
        self._library = library
        self._close_library = library is None if close_library is None else close_library
        self._opening = False
        self.closed = False

    @property
    def library(self) -> Library | None:
        return self._library

    def open(self) -> None:
        """Open the library (catalog and migrations) in the background."""
        if self._library is not None:
            self._opened(self._library)
            return
        if self._opening:
            return
        self._opening = True
        self._start(
            FunctionWorker(jobs.open_library, self.directory, self.model, self.device),
            self._opened,
            self._failed,
        )

    def reopen(self, *, model: str | None, device: str, before_close: Callable[[], None]) -> None:
        """Close the library and open it again with ``model`` on ``device``, both in a
        worker; ``before_close`` runs there first (it stops what uses the library)."""
        self.model, self.device = model, device
        if self._library is None:
            return
        library: Library | None
        library, self._library = self._library, None
        if not self._close_library:
            library = None  # not ours to close
        self._close_library = True
        self._opening = True

        def close_and_open() -> Library:
            before_close()
            if library is not None:
                library.close()
            return jobs.open_library(self.directory, self.model, self.device)

        self._start(FunctionWorker(close_and_open), self._opened, self._failed)

    def close(self) -> None:
        """Close the library if it is ours (ends its writer lane and running job); call
        once no worker uses it any more."""
        self.closed = True
        if self._library is not None:
            if self._close_library:
                self._library.close()
            self._library = None

    def _opened(self, library: Library) -> None:
        if self.closed:  # the window closed while the library was opening
            if self._close_library:
                library.close()
            return
        self._opening = False
        self._library = library
        self.opened.emit(library)

    def _failed(self, exc: Exception) -> None:
        self._opening = False
        self.failed.emit(str(exc) or type(exc).__name__)
