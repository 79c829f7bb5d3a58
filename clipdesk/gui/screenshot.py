"""``clipdesk gui --screenshot FILE.png``: open, search, wait until it looks finished,
save the window to a PNG and quit.

"Finished" means: the library is open, the model is loaded (the status bar names it),
the query's results are in the grid, and every visible result has its thumbnail.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

from clipdesk.gui.jobs import SearchOutcome
from clipdesk.gui.main_window import MainWindow

POLL_MS = 100
SETTLE_POLLS = 3  # consecutive ready polls before grabbing (lets the last paints land)


class ScreenshotDriver(QObject):
    """Watches the window and grabs it once everything has arrived."""

    def __init__(self, window: MainWindow, target: str | Path, *, timeout_s: float = 300) -> None:
        super().__init__(window)
        self.window = window
        self.target = Path(target)
        self.deadline = time.monotonic() + timeout_s
        self.expect_results = False
        self._results: SearchOutcome | None = None
        self._state_seen = False
        self._model_seen = False
        self._ready_polls = 0
        self.exit_code: int | None = None
        window.resultsShown.connect(self._on_results)
        window.service.stateChanged.connect(lambda *_: setattr(self, "_state_seen", True))
        window.service.modelReady.connect(lambda *_: setattr(self, "_model_seen", True))
        window.service.modelFailed.connect(lambda *_: setattr(self, "_model_seen", True))
        window.service.openFailed.connect(
            lambda reason: self._finish(1, f"cannot open the library: {reason}")
        )
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)

    def start(self, query: str | None, similar: str | None) -> None:
        """Put the query in place; the window searches as soon as the library is open."""
        if query:
            self.window.search_bar.set_text(query, submit=False)
        if similar:
            self.window.search_bar.set_image(
                str(Path(similar).expanduser().resolve()), submit=False
            )
        self.expect_results = bool(query or similar)
        self._timer.start()

    def _on_results(self, outcome: SearchOutcome) -> None:
        if not outcome.request.empty or not self.expect_results:
            self._results = outcome

    def ready(self) -> bool:
        if not (self._state_seen and self._model_seen):
            return False
        if self.expect_results and self._results is None:
            return False
        if self.window.service.searching:
            return False
        rows = self.window.view.visible_rows()
        return self.window.model.visible_thumbnails_ready(rows)

    def _poll(self) -> None:
        if time.monotonic() > self.deadline:
            self._finish(1, "timed out waiting for results and thumbnails")
            return
        self._ready_polls = self._ready_polls + 1 if self.ready() else 0
        if self._ready_polls >= SETTLE_POLLS:
            self.grab()

    def grab(self) -> None:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        pixmap = self.window.grab()
        if pixmap.isNull() or not pixmap.save(str(self.target), "PNG"):
            self._finish(1, f"could not write {self.target}")
            return
        shown = self.window.model.rowCount()
        print(
            f"clipdesk: saved {self.target} ({pixmap.width()}x{pixmap.height()}, {shown} results)"
        )
        self._finish(0, None)

    def _finish(self, code: int, problem: str | None) -> None:
        self._timer.stop()
        if problem:
            print(f"clipdesk: screenshot failed: {problem}", file=sys.stderr)
        self.exit_code = code
        QApplication.instance().exit(code)  # type: ignore[union-attr]
