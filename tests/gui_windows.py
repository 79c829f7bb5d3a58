"""A window over a new library of its own, opened and closed as the app does it, for the
GUI tests: closing fails the test if a worker or the folder watcher is left running."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QThreadPool

from clipdesk.core.watch import WatchSettings
from clipdesk.gui.main_window import MainWindow
from clipdesk.gui.service import LibraryService
from clipdesk.gui.settings import Settings

MODEL = "tiny-shapes"
TIMEOUT_MS = 120_000


def open_window(  # type: ignore[no-untyped-def]
    qtbot, directory: Path, watch: WatchSettings | None = None
) -> MainWindow:
    """A shown window whose library is open and whose model is loaded; ``watch``: the
    folder watcher's timings (None: the app's own)."""
    service = LibraryService(str(directory), model=MODEL)
    service.index_workers = 1
    service.folders.settings = watch
    win = MainWindow(service, Settings())
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignals([service.stateChanged, service.modelReady], timeout=TIMEOUT_MS):
        service.open()
    return win


def close_window(qtbot, win: MainWindow) -> None:  # type: ignore[no-untyped-def]
    """Close as the app does; every thread the window started must have ended."""
    watcher = win.service.watcher
    win.shutdown()
    pool = QThreadPool.globalInstance()
    assert pool.waitForDone(TIMEOUT_MS)
    assert pool.activeThreadCount() == 0
    assert win.loader.pool.activeThreadCount() == 0
    qtbot.waitUntil(lambda: not win.service.busy, timeout=5000)  # their last signals
    assert win.service.library is None, "the library was not closed"
    assert watcher is None or not watcher.running, "the watcher thread was left running"
