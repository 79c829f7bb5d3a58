"""The window answers ``clipdesk search`` from a terminal while it has a library open.

The library, its model and its index are loaded here already; a terminal search asks
(``clipdesk.core.serve``) and is answered in milliseconds, or searches by itself when
the window declines. The server starts off the GUI thread: starting looks for another
clipdesk serving the same library, which may take a moment to answer.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from superqt.utils import FunctionWorker

from clipdesk.core.serve.start import serve_searches

if TYPE_CHECKING:
    from clipdesk.core.library import Library
    from clipdesk.core.serve.server import SearchServer
    from clipdesk.gui.worker_set import WorkerSet

__all__ = ["SearchServing"]

log = logging.getLogger(__name__)


class SearchServing:
    """Serves the open library's searches from :meth:`start` until :meth:`stop`."""

    def __init__(self, workers: WorkerSet) -> None:
        self._workers = workers
        self._library: Library | None = None
        self.server: SearchServer | None = None

    def start(self, library: Library) -> None:
        self.stop()
        self._library = library

        def started(server: SearchServer | None) -> None:
            if server is None:
                return
            if library is not self._library:  # closed or replaced meanwhile
                server.stop()
                return
            self.server = server

        def failed(exc: Exception) -> None:  # the window works the same without it
            log.info("not answering terminal searches: %s", exc)

        self._workers.start(FunctionWorker(serve_searches, library), started, failed)

    def stop(self) -> None:
        """Stop answering (before the library closes)."""
        self._library = None
        server, self.server = self.server, None
        if server is not None:
            server.stop()
