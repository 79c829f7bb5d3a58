"""The bridge between the core's folder watcher and the window.

While the library is open a :class:`clipdesk.core.watch.LibraryWatcher`, on its own
thread, catches up with what changed while the app was closed, then follows new,
changed, moved and deleted photos (the core tags them again). Its events cross to the
GUI thread through a queued signal and come out here as plain signals the window shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from clipdesk.gui import jobs

if TYPE_CHECKING:
    from clipdesk.core.library import Library
    from clipdesk.core.watch import LibraryWatcher, WatchSettings
    from clipdesk.core.watch.events import WatchEvent

__all__ = ["FolderWatch"]


class FolderWatch(QObject):
    """Runs the library's folder watcher and relays its events (see the module docstring)."""

    activity = Signal(str)  # what the watcher is doing; "" when up to date
    # ReconcileReport: photos came, changed or went on disk (None: a look's new photos
    # can be searched already, while their text and faces are still being read).
    updated = Signal(object)
    message = Signal(str)  # a short note for the status bar
    _event = Signal(object)  # WatchEvent, from the watcher's thread to this one

    def __init__(self, enabled: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.enabled = enabled
        self.closed = False
        self._watcher: LibraryWatcher | None = None
        # The watcher's timings; None for the defaults (tests hand in short ones, so they
        # do not wait on real-world debounce and settle times).
        self.settings: WatchSettings | None = None
        self._event.connect(self._on_event)  # queued: emitted on another thread

    @property
    def watcher(self) -> LibraryWatcher | None:
        return self._watcher

    def start(self, library: Library) -> None:
        """Follow ``library``'s folders, unless watching is off or already running."""
        if not self.enabled or self.closed or self._watcher is not None:
            return
        from clipdesk.core.watch import LibraryWatcher

        self._watcher = LibraryWatcher(library, self.settings, on_event=self._event.emit)
        self._watcher.start()

    def detach(self) -> Callable[[], None]:
        """Let go of the watcher; returns what stops it (for a worker to call, since
        stopping waits for the watcher's thread)."""
        watcher, self._watcher = self._watcher, None
        return watcher.stop if watcher is not None else lambda: None

    def stop(self, timeout_s: float) -> None:
        """Stop for good: the window is closing."""
        self.closed = True
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop(timeout_s)

    def _on_event(self, event: WatchEvent) -> None:
        from clipdesk.core.watch.events import WatchEventKind as Kind

        if self.closed:
            return
        if event.kind == Kind.PROGRESS and event.progress is not None:
            self.activity.emit(jobs.watch_activity(event.progress))
            step = event.progress
            if step.stage == "read" and step.done == 0 and step.total:
                self.updated.emit(None)  # the new photos can be found before their text
        elif event.kind == Kind.IDLE:
            self.activity.emit("")
        elif event.kind == Kind.UPDATED:
            self.updated.emit(event.report)
        elif event.kind in (Kind.OFFLINE, Kind.ONLINE, Kind.MESSAGE, Kind.ERROR):
            self.message.emit(event.message)
        elif event.kind == Kind.MODE and "poll" in event.message:
            self.message.emit(event.message)  # why a folder is walked rather than followed
